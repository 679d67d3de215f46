import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { unreadOf } from "../conversation";
import type { ChatClient, ChatState } from "../client";
import { formatWhen } from "../format";
import { isGroup } from "../groups";
import { navigate, roomPath } from "../router";
import type { User } from "../types";
import { Avatar, PresenceText } from "./bits";
import { NewGroup } from "./NewGroup";
import { SearchPanel } from "./SearchPanel";
import { usePeople } from "./usePeople";

interface Props {
  client: ChatClient;
  state: ChatState;
  activeRoomId: string | null;
  onLogout: () => void;
}

type Tab = "chats" | "people" | "search";
const TABS: { id: Tab; label: string }[] = [
  { id: "chats", label: "Chats" },
  { id: "people", label: "People" },
  { id: "search", label: "Search" },
];

export function Sidebar({ client, state, activeRoomId, onLogout }: Props) {
  const [tab, setTab] = useState<Tab>("chats");
  const [creating, setCreating] = useState(false);
  const tabRefs = useRef<Record<Tab, HTMLButtonElement | null>>({ chats: null, people: null, search: null });

  // Arrow keys move between tabs, as the ARIA tabs pattern expects.
  function onTabKey(e: KeyboardEvent) {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    e.preventDefault();
    const at = TABS.findIndex((t) => t.id === tab);
    const step = e.key === "ArrowRight" ? 1 : TABS.length - 1;
    const next = TABS[(at + step) % TABS.length].id;
    setTab(next);
    tabRefs.current[next]?.focus();
  }

  return (
    <aside className="sidebar" aria-label="Conversations">
      <header className="sidebar-head">
        <Avatar id={state.me._id} name={state.me.name} />
        <div className="me">
          <span className="me-name">{state.me.name}</span>
          <span className="me-email">{state.me.email}</span>
        </div>
        <button type="button" className="ghost" onClick={onLogout}>
          Log out
        </button>
      </header>
      <div className="tabs" role="tablist" aria-label="Sidebar" onKeyDown={onTabKey}>
        {TABS.map((t) => (
          <button
            key={t.id}
            ref={(el) => {
              tabRefs.current[t.id] = el;
            }}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-controls={`panel-${t.id}`}
            aria-selected={tab === t.id}
            tabIndex={tab === t.id ? 0 : -1}
            onClick={() => setTab(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div
        className="tab-panel"
        role="tabpanel"
        id="panel-chats"
        aria-labelledby="tab-chats"
        hidden={tab !== "chats"}
      >
        {creating ? (
          <NewGroup
            client={client}
            onCancel={() => setCreating(false)}
            onCreated={(roomId) => {
              setCreating(false);
              navigate(roomPath(roomId));
            }}
          />
        ) : (
          <>
            <div className="list-actions">
              <button type="button" className="link" onClick={() => setCreating(true)}>
                + New group
              </button>
            </div>
            <RoomList client={client} state={state} activeRoomId={activeRoomId} onFindPeople={() => setTab("people")} />
          </>
        )}
      </div>
      <div
        className="tab-panel"
        role="tabpanel"
        id="panel-people"
        aria-labelledby="tab-people"
        hidden={tab !== "people"}
      >
        {tab === "people" && (
          <PeopleList
            client={client}
            onStarted={(roomId) => {
              setTab("chats");
              navigate(roomPath(roomId));
            }}
          />
        )}
      </div>
      <div
        className="tab-panel"
        role="tabpanel"
        id="panel-search"
        aria-labelledby="tab-search"
        hidden={tab !== "search"}
      >
        {tab === "search" && <SearchPanel client={client} state={state} activeRoomId={activeRoomId} />}
      </div>
    </aside>
  );
}

function RoomList({
  client,
  state,
  activeRoomId,
  onFindPeople,
}: {
  client: ChatClient;
  state: ChatState;
  activeRoomId: string | null;
  onFindPeople: () => void;
}) {
  if (!state.roomsLoaded) return <p className="muted pad">Loading conversations…</p>;
  if (state.roomsError && state.rooms.length === 0) {
    return (
      <div className="pad">
        <p className="error" role="alert">
          Couldn't load your conversations: {state.roomsError}
        </p>
        <button type="button" onClick={() => void client.refreshRooms()}>
          Try again
        </button>
      </div>
    );
  }
  if (state.rooms.length === 0) {
    return (
      <div className="pad muted">
        <p>No conversations yet.</p>
        <button type="button" className="link" onClick={onFindPeople}>
          Find people to talk to
        </button>
      </div>
    );
  }
  return (
    <nav aria-label="Chats">
      <ul className="room-list">
        {state.rooms.map((room) => {
          const last = room.last_message;
          const group = isGroup(room);
          const online = group ? undefined : client.isOnline(room.receiver_id, room.online);
          const mine = last?.sender_id === state.me._id;
          const unread = unreadOf(room);
          const text = last?.deleted ? "Message deleted" : last?.message;
          const preview = !last
            ? null
            : last.event
              ? last.message
              : (mine ? "You: " : group ? `${last.sender_name}: ` : "") +
                (text || (last.attachments ?? []).map((f) => f.name).join(", "));
          return (
            <li key={room._id}>
              <a
                className="room"
                href={roomPath(room._id)}
                aria-current={room._id === activeRoomId ? "page" : undefined}
                data-testid="room"
                onClick={(e) => {
                  e.preventDefault();
                  navigate(roomPath(room._id));
                }}
              >
                <Avatar id={group ? room._id : room.receiver_id} name={room.receiver_name} online={online} />
                <span className="room-body">
                  <span className="room-top">
                    <span className="room-name">
                      {room.receiver_name}
                      <PresenceText online={online} />
                    </span>
                    {last && (
                      <time className="room-time" dateTime={last.timestamp}>
                        {formatWhen(last.timestamp)}
                      </time>
                    )}
                  </span>
                  <span className="room-last">
                    <span className="room-preview">{preview ?? <em>No messages yet</em>}</span>
                    {unread > 0 && room._id !== activeRoomId && (
                      <span className="unread-badge" data-testid="unread" aria-label={`${unread} unread`}>
                        {unread > 99 ? "99+" : unread}
                      </span>
                    )}
                  </span>
                </span>
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

function PeopleList({
  client,
  onStarted,
}: {
  client: ChatClient;
  onStarted: (roomId: string) => void;
}) {
  const [q, setQ] = useState("");
  const people = usePeople(q);
  const users = people.users;
  const [startError, setError] = useState<string | null>(null);
  const error = startError ?? people.error;
  const [starting, setStarting] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => input.current?.focus(), []);

  async function start(user: User) {
    setStarting(user._id);
    setError(null);
    try {
      const room = await client.startChat(user._id);
      onStarted(room._id);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setStarting(null);
    }
  }

  return (
    <div className="people">
      <div className="search">
        <label htmlFor="people-search" className="sr-only">
          Search people
        </label>
        <input
          ref={input}
          id="people-search"
          type="search"
          placeholder="Search people by name or email"
          autoComplete="off"
          value={q}
          onChange={(e) => setQ(e.target.value)}
        />
      </div>
      {error && (
        <p className="error pad" role="alert">
          {error}
        </p>
      )}
      {users === null ? (
        <p className="muted pad">Loading people…</p>
      ) : users.length === 0 ? (
        <p className="muted pad">{q ? "Nobody matches that search." : "Nobody else is here yet."}</p>
      ) : (
        <ul className="people-list" aria-label="People">
          {users.map((u) => {
            const online = client.isOnline(u._id, u.online);
            return (
              <li key={u._id}>
                <button
                  type="button"
                  className="person"
                  data-testid="person"
                  disabled={starting !== null}
                  onClick={() => void start(u)}
                  aria-label={`Chat with ${u.name}`}
                >
                  <Avatar id={u._id} name={u.name} online={online} />
                  <span className="room-body">
                    <span className="room-name">
                      {u.name}
                      <PresenceText online={online} />
                    </span>
                    <span className="room-last">{u.email}</span>
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
