import { useEffect, useState, useSyncExternalStore } from "react";
import { api, socketUrl } from "../api";
import { ChatClient } from "../client";
import { pageTitle, totalUnread } from "../conversation";
import type { ConnectionStatus } from "../socket";
import type { User } from "../types";
import { ChatView } from "./ChatView";
import { Sidebar } from "./Sidebar";

interface Props {
  me: User;
  roomId: string | null;
  onLogout: () => void;
}

/** Owns one ChatClient for the logged-in user, for as long as the user stays logged in. */
export function ChatApp({ me, roomId, onLogout }: Props) {
  const [client, setClient] = useState<ChatClient | null>(null);

  useEffect(() => {
    const c = new ChatClient({
      me,
      api,
      groupApi: api,
      conversationApi: api,
      socketUrl: () => socketUrl(me._id),
    });
    c.start();
    setClient(c);
    const online = () => c.retryNow();
    window.addEventListener("online", online);
    return () => {
      window.removeEventListener("online", online);
      c.stop();
    };
    // One client per user; `me` only changes with the user.
  }, [me._id]);

  if (!client) return null;
  return <Shell client={client} roomId={roomId} onLogout={onLogout} />;
}

function Shell({
  client,
  roomId,
  onLogout,
}: {
  client: ChatClient;
  roomId: string | null;
  onLogout: () => void;
}) {
  const state = useSyncExternalStore(client.subscribe, client.getState);
  const room = roomId ? state.rooms.find((r) => r._id === roomId) : undefined;

  const unread = totalUnread(state.rooms);
  useEffect(() => {
    document.title = pageTitle(room ? `${room.receiver_name} · Chat` : "Chat", unread);
  }, [room, unread]);

  // The room on screen is read as long as the page is visible; coming back to the tab reads
  // what arrived meanwhile.
  useEffect(() => {
    client.setViewing(roomId);
    const visible = () => {
      if (document.visibilityState === "visible") client.setViewing(roomId);
    };
    document.addEventListener("visibilitychange", visible);
    return () => {
      document.removeEventListener("visibilitychange", visible);
      client.setViewing(null);
    };
  }, [client, roomId]);

  return (
    <div className="shell" data-pane={roomId ? "room" : "list"}>
      <ConnectionBanner status={state.connection} />
      <Sidebar client={client} state={state} activeRoomId={roomId} onLogout={onLogout} />
      <main className="main">
        {roomId ? (
          <ChatView key={roomId} client={client} state={state} roomId={roomId} room={room} />
        ) : (
          <div className="empty-main">
            <h2>Welcome, {state.me.name}</h2>
            <p>Pick a conversation on the left, or find someone under People to start one.</p>
          </div>
        )}
      </main>
    </div>
  );
}

function ConnectionBanner({ status }: { status: ConnectionStatus }) {
  const text = status === "reconnecting" ? "Connection lost. Reconnecting…" : "";
  // The live region stays in the page so screen readers announce the change of its text.
  return (
    <div className={text ? "banner" : "banner banner-hidden"} role="status" aria-live="polite">
      {text}
    </div>
  );
}
