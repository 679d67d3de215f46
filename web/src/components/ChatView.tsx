import { useEffect, useMemo, useState } from "react";
import type { ChatClient, ChatState } from "../client";
import { navigate } from "../router";
import { isGroup } from "../groups";
import { typingLine, typingNames } from "../conversation";
import { EMPTY_TIMELINE, maxSeq } from "../timeline";
import type { Room } from "../types";
import { Avatar, PresenceText } from "./bits";
import { Composer } from "./Composer";
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
    return () => client.clearFocus(roomId);
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
            focusSeq={state.focus?.roomId === roomId ? state.focus.seq : undefined}
            behind={timeline.loaded && maxSeq(timeline) < (room?.last_message?.seq ?? 0)}
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
              roomId={roomId}
              disabled={!!timeline.error && !timeline.loaded}
              onSend={(text, files) => client.send(roomId, text, files)}
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
