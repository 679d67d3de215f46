import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import type { ChatClient, ChatState } from "../client";
import { navigate } from "../router";
import { EMPTY_TIMELINE } from "../timeline";
import type { Room } from "../types";
import { Avatar, PresenceText } from "./bits";
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

  useEffect(() => {
    void client.openRoom(roomId);
  }, [client, roomId]);

  // A room that is not in the list yet (opened from a link): the list may just be stale.
  useEffect(() => {
    if (state.roomsLoaded && !room) void client.refreshRooms();
  }, [client, state.roomsLoaded, room]);

  const online = room ? client.isOnline(room.receiver_id, room.online) : undefined;
  const title = room?.receiver_name ?? (state.roomsLoaded ? "Conversation" : "Loading…");

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
        {room && <Avatar id={room.receiver_id} name={room.receiver_name} online={online} />}
        <div className="chat-title">
          <h2 id="chat-title">
            {title}
            <PresenceText online={online} />
          </h2>
          {online !== undefined && <span className="chat-sub">{online ? "Online" : "Offline"}</span>}
        </div>
      </header>
      <MessageList
        client={client}
        roomId={roomId}
        meId={state.me._id}
        timeline={timeline}
        loadingOlder={!!state.loadingOlder[roomId]}
      />
      <Composer
        disabled={!!timeline.error && !timeline.loaded}
        onSend={(text) => client.send(roomId, text)}
        label={room ? `Message ${room.receiver_name}` : "Message"}
      />
    </section>
  );
}

const MAX_LENGTH = 16_384;

function Composer({
  onSend,
  disabled,
  label,
}: {
  onSend: (text: string) => void;
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
        onChange={(e) => setText(e.target.value)}
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
