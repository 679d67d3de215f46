import { useEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import type { ChatClient, ChatState } from "../client";
import { navigate } from "../router";
import { isGroup } from "../groups";
import { typingLine, typingNames } from "../conversation";
import { EMPTY_TIMELINE } from "../timeline";
import type { Room } from "../types";
import { Avatar, PresenceText } from "./bits";
import { GroupPanel } from "./GroupPanel";
import { MessageList } from "./MessageList";

interface Props {
  client: ChatClient;
  state: ChatState;
  roomId: string;
  /** Undefined until the room list has it (a link opened directly, a room just created). */
  room: Room | undefined;
}

export function ChatView({ client, state, roomId, room }: Props) {
  const timeline = state.timelines[roomId] ?? EMPTY_TIMELINE;
  const group = state.groups[roomId];
  const left = roomId in state.leftRooms;
  const groupRoom = isGroup(room) || !!group || left;
  const [showMembers, setShowMembers] = useState(false);

  useEffect(() => {
    void client.openRoom(roomId);
  }, [client, roomId]);

  useEffect(() => {
    if (isGroup(room)) void client.loadGroup(roomId);
  }, [client, roomId, room?.kind]);

  // A room that is not in the list yet (opened from a link): the list may just be stale.
  useEffect(() => {
    if (state.roomsLoaded && !room && !left) void client.refreshRooms();
  }, [client, state.roomsLoaded, room, left]);

  const online = room && !groupRoom ? client.isOnline(room.receiver_id, room.online) : undefined;
  const title =
    group?.name ??
    room?.receiver_name ??
    (state.leftRooms[roomId] || (state.roomsLoaded ? "Conversation" : "Loading…"));
  const names = useMemo(() => new Map(Object.entries(state.names)), [state.names]);
  const typing = typingLine(typingNames(state.typing[roomId], Date.now()));
  const moderator = group?.members.some(
    (m) => m.user_id === state.me._id && (m.role === "owner" || m.role === "admin"),
  );
  const otherRead = room && !groupRoom ? state.reads[roomId]?.[room.receiver_id] ?? room.other_read_seq : undefined;

  return (
    <section className="chat" aria-labelledby="chat-title">
      <header className="chat-head">
        <a
          href="/"
          className="back"
          aria-label="Back to conversations"
          onClick={(e) => {
            e.preventDefault();
            navigate("/");
          }}
        >
          ‹
        </a>
        {room && (
          <Avatar id={groupRoom ? room._id : room.receiver_id} name={title} online={online} />
        )}
        <div className="chat-title">
          <h2 id="chat-title">
            {title}
            <PresenceText online={online} />
          </h2>
          {online !== undefined && <span className="chat-sub">{online ? "Online" : "Offline"}</span>}
          {group && !left && (
            <button
              type="button"
              className="link chat-sub"
              aria-expanded={showMembers}
              aria-controls="group-panel"
              onClick={() => setShowMembers(!showMembers)}
            >
              {group.member_count} {group.member_count === 1 ? "member" : "members"}:{" "}
              {group.members
                .slice(0, 5)
                .map((m) => (m.user_id === state.me._id ? "you" : m.name))
                .join(", ")}
              {group.member_count > 5 ? "…" : ""}
            </button>
          )}
        </div>
      </header>
      <div className="chat-body">
        <div className="chat-column">
          <MessageList
            client={client}
            roomId={roomId}
            meId={state.me._id}
            group={groupRoom}
            names={names}
            timeline={timeline}
            loadingOlder={!!state.loadingOlder[roomId]}
            reads={state.reads[roomId]}
            otherRead={otherRead}
            otherOnline={online}
            moderator={!!moderator}
          />
          <p className="typing" role="status" aria-live="polite" data-testid="typing">
            {typing}
          </p>
          {left ? (
            <p className="left-notice" role="status">
              You are no longer a member of this group.
            </p>
          ) : (
            <Composer
              disabled={!!timeline.error && !timeline.loaded}
              onSend={(text) => client.send(roomId, text)}
              onType={() => client.typing(roomId)}
              label={`Message ${title}`}
            />
          )}
        </div>
        {showMembers && group && !left && (
          <div id="group-panel">
            <GroupPanel client={client} group={group} meId={state.me._id} />
          </div>
        )}
      </div>
    </section>
  );
}

const MAX_LENGTH = 16_384;

function Composer({
  onSend,
  onType,
  disabled,
  label,
}: {
  onSend: (text: string) => void;
  /** The user changed the text: the room hears "typing" (throttled by the client). */
  onType: () => void;
  disabled: boolean;
  label: string;
}) {
  const [text, setText] = useState("");
  const area = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    // On a phone, focusing would pop the keyboard over the conversation the user came to read.
    if (window.matchMedia("(min-width: 721px)").matches) area.current?.focus();
  }, []);

  // Grow with the text up to a few lines, then scroll.
  useEffect(() => {
    const el = area.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = Math.min(el.scrollHeight, 160) + "px";
  }, [text]);

  function submit(e?: FormEvent) {
    e?.preventDefault();
    if (!text.trim() || disabled) return;
    onSend(text);
    setText("");
    area.current?.focus();
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends, Shift+Enter breaks the line; an IME composition keeps its own Enter.
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  }

  return (
    <form className="composer" onSubmit={submit}>
      <label htmlFor="composer-input" className="sr-only">
        {label}
      </label>
      <textarea
        ref={area}
        id="composer-input"
        rows={1}
        placeholder="Write a message"
        aria-describedby="composer-hint"
        maxLength={MAX_LENGTH}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value.trim()) onType();
        }}
        onKeyDown={onKeyDown}
      />
      <span id="composer-hint" className="sr-only">
        Enter sends, Shift+Enter starts a new line.
      </span>
      <button type="submit" className="primary send" disabled={disabled || !text.trim()}>
        Send
      </button>
    </form>
  );
}
