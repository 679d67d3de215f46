import { Fragment, useLayoutEffect, useMemo, useRef, useState } from "react";
import type { ChatClient } from "../client";
import { Attachments, FileChip } from "./Attachments";
import { Avatar } from "./bits";
import { dayKey, formatDay, formatFull, formatTime } from "../format";
import { describeEntry, showsSender } from "../groups";
import { timelineItems, type Timeline, type TimelineItem } from "../timeline";
import { seenBy, tickOf, type Tick } from "../conversation";
import type { Message } from "../types";

/** The reactions the message menu offers. */
export const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "😢"];

interface Props {
  client: ChatClient;
  roomId: string;
  meId: string;
  /** A group: others' messages carry their sender's name. */
  group: boolean;
  /** User id → name, for membership entries. */
  names: ReadonlyMap<string, string>;
  timeline: Timeline;
  loadingOlder: boolean;
  /** Members' read positions in this room (user id → seq). */
  reads: Readonly<Record<string, number>> | undefined;
  /** A direct room: the other member's read position and presence, for ticks. */
  otherRead: number | undefined;
  otherOnline: boolean | undefined;
  /** I may delete others' messages (a group's owner or admin). */
  moderator: boolean;
  /** A message to scroll to and highlight once it is loaded (a search hit). */
  focusSeq?: number;
  /** The room has newer messages than the list holds (opened at an older message). */
  behind: boolean;
}

/** Within this many pixels of the top, the next older page is fetched. */
const LOAD_OLDER_PX = 300;
/** Within this many pixels of the bottom, the view counts as "at the latest" and follows new ones. */
const STICK_PX = 48;

/** What the view showed before a render, to put it back after the DOM changed. */
interface ScrollSnapshot {
  atBottom: boolean;
  /** The first message at least partly visible, and its distance from the top of the viewport. */
  anchorKey: string | null;
  anchorOffset: number;
  lastKey: string | null;
  count: number;
}

function itemTime(item: TimelineItem): string {
  return item.kind === "message" ? item.message.timestamp : item.pending.created_at;
}

/** The first keyed row whose bottom edge is below the top of the viewport (binary search). */
function findAnchor(el: HTMLElement): HTMLElement | null {
  const rows = el.querySelectorAll<HTMLElement>("[data-key]");
  let lo = 0;
  let hi = rows.length - 1;
  let found: HTMLElement | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const row = rows[mid];
    if (row.offsetTop + row.offsetHeight > el.scrollTop) {
      found = row;
      hi = mid - 1;
    } else {
      lo = mid + 1;
    }
  }
  return found;
}

export function MessageList({
  client,
  roomId,
  meId,
  group,
  names,
  timeline,
  loadingOlder,
  reads,
  otherRead,
  otherOnline,
  moderator,
  focusSeq,
  behind,
}: Props) {
  const items = useMemo(() => timelineItems(timeline), [timeline]);
  const lastOwnSeq = useMemo(() => {
    for (let i = timeline.messages.length - 1; i >= 0; i--) {
      const m = timeline.messages[i];
      if (m.sender_id === meId && !m.event) return m.seq;
    }
    return 0;
  }, [timeline, meId]);
  const scroller = useRef<HTMLDivElement>(null);
  const snap = useRef<ScrollSnapshot | null>(null);
  /** The focus already scrolled to: the view centres it once, then the reader scrolls freely. */
  const shownFocus = useRef<number | null>(null);
  const [showJump, setShowJump] = useState(false);

  const capture = () => {
    const el = scroller.current;
    if (!el) return;
    const anchor = findAnchor(el);
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight <= STICK_PX;
    snap.current = {
      atBottom,
      anchorKey: anchor?.dataset.key ?? null,
      anchorOffset: anchor ? anchor.offsetTop - el.scrollTop : 0,
      lastKey: items.length ? items[items.length - 1].key : null,
      count: items.length,
    };
    setShowJump(!atBottom);
  };

  const maybeLoadOlder = () => {
    const el = scroller.current;
    if (!el || !timeline.loaded || timeline.reachedStart || loadingOlder) return;
    // Near the top, or the loaded messages do not even fill the view.
    if (el.scrollTop < LOAD_OLDER_PX || el.scrollHeight <= el.clientHeight) {
      void client.loadOlder(roomId);
    }
  };

  // After every change of the DOM, before paint: keep what the user was looking at in place.
  // Older pages and the loading row above it would otherwise push the view down; new messages
  // at the bottom are followed only when the user was already there, or sent them.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const prev = snap.current;
    const last = items[items.length - 1];
    const lastChanged = (last?.key ?? null) !== prev?.lastKey;
    const sentByMe = lastChanged && last?.kind === "pending";
    if (!prev || prev.count === 0 || sentByMe || (prev.atBottom && lastChanged)) {
      el.scrollTop = el.scrollHeight;
    } else if (prev.atBottom && !lastChanged && el.scrollHeight > el.clientHeight) {
      el.scrollTop = el.scrollHeight;
    } else if (prev.anchorKey) {
      const anchor = el.querySelector<HTMLElement>(`[data-key="${CSS.escape(prev.anchorKey)}"]`);
      if (anchor) el.scrollTop = anchor.offsetTop - prev.anchorOffset;
    }
    if (focusSeq !== undefined && shownFocus.current !== focusSeq) {
      const row = el.querySelector<HTMLElement>(`[data-seq="${focusSeq}"]`);
      if (row) {
        el.scrollTop = row.offsetTop - (el.clientHeight - row.offsetHeight) / 2;
        shownFocus.current = focusSeq;
      }
    }
    capture();
    maybeLoadOlder();
  });

  // At the bottom first, so the newer messages a catch-up brings are followed.
  const jumpToLatest = () => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
    if (behind) void client.catchUp(roomId);
  };

  let prevDay: string | null = null;
  let prevMessage: TimelineItem | undefined;
  return (
    <div className="messages-wrap">
      <div
        className="messages"
        ref={scroller}
        onScroll={() => {
          capture();
          maybeLoadOlder();
        }}
        role="log"
        aria-label="Messages"
        tabIndex={0}
      >
        <div className="history-edge">
          {timeline.error ? (
            <p className="error" role="alert">
              Couldn't load messages: {timeline.error}{" "}
              <button
                type="button"
                onClick={() => void (timeline.loaded ? client.loadOlder(roomId) : client.openRoom(roomId))}
              >
                Retry
              </button>
            </p>
          ) : !timeline.loaded ? (
            <p className="muted">Loading messages…</p>
          ) : timeline.reachedStart ? (
            <p className="muted">{items.length ? "This is the beginning of the conversation." : "No messages yet. Say hello!"}</p>
          ) : loadingOlder ? (
            <p className="muted" role="status">
              Loading older messages…
            </p>
          ) : (
            <button type="button" className="link" onClick={() => void client.loadOlder(roomId)}>
              Load older messages
            </button>
          )}
        </div>
        <ol className="message-list">
          {items.map((item) => {
            const day = dayKey(itemTime(item));
            const separator = day !== prevDay;
            prevDay = day;
            const previous = prevMessage?.kind === "message" && !separator ? prevMessage.message : undefined;
            prevMessage = item;
            const sender =
              item.kind === "message" && showsSender(group, item.message, previous, meId)
                ? item.message.sender_name
                : null;
            return (
              <Fragment key={item.key}>
                {separator && (
                  <li className="day-separator">
                    <span>{formatDay(itemTime(item))}</span>
                  </li>
                )}
                <MessageRow
                  item={item}
                  focused={item.kind === "message" && item.message.seq === focusSeq}
                  meId={meId}
                  sender={sender}
                  names={names}
                  onRetry={(id) => client.retry(roomId, id)}
                  onDiscard={(id) => client.discard(roomId, id)}
                  receipt={
                    item.kind !== "message" || item.message.sender_id !== meId || item.message.event
                      ? null
                      : group
                        ? item.message.seq === lastOwnSeq
                          ? { seen: seenBy(reads, item.message.seq, meId) }
                          : null
                        : { tick: tickOf(item.message, otherRead, otherOnline) }
                  }
                  actions={{
                    canDelete: moderator,
                    edit: (id, text) => client.editMessage(roomId, id, text),
                    remove: (id) => client.deleteMessage(roomId, id),
                    react: (id, emoji) => client.toggleReaction(roomId, id, emoji),
                  }}
                />
              </Fragment>
            );
          })}
        </ol>
      </div>
      {(showJump || behind) && items.length > 0 && (
        <button type="button" className="jump" onClick={jumpToLatest}>
          ↓ Latest
        </button>
      )}
    </div>
  );
}

/** What a message can have done to it from its menu. */
interface Actions {
  /** Others' messages too (owners and admins of a group). */
  canDelete: boolean;
  edit: (id: string, text: string) => Promise<void>;
  remove: (id: string) => Promise<void>;
  react: (id: string, emoji: string) => Promise<void>;
}

const TICK_TEXT: Record<Tick, string> = { sent: "✓", delivered: "✓✓", read: "✓✓" };
const TICK_LABEL: Record<Tick, string> = { sent: "Sent", delivered: "Delivered", read: "Read" };

function MessageRow({
  item,
  focused,
  meId,
  sender,
  names,
  onRetry,
  onDiscard,
  receipt,
  actions,
}: {
  item: TimelineItem;
  /** The message a search hit opened: highlighted. */
  focused: boolean;
  meId: string;
  /** The sender's name to show above the bubble, if any. */
  sender: string | null;
  names: ReadonlyMap<string, string>;
  onRetry: (clientId: string) => void;
  onDiscard: (clientId: string) => void;
  /** My message's tick (direct rooms) or how many have seen it (a group's latest). */
  receipt: { tick: Tick } | { seen: number } | null;
  actions: Actions;
}) {
  if (item.kind === "message") {
    const m = item.message;
    if (m.event) {
      return (
        <li className="system" data-key={item.key} data-seq={m.seq} data-testid="system">
          <span>{describeEntry(m, names, meId)}</span>{" "}
          <time dateTime={m.timestamp} title={formatFull(m.timestamp)}>
            {formatTime(m.timestamp)}
          </time>
        </li>
      );
    }
    return (
      <ChatMessage
        m={m}
        focused={focused}
        meId={meId}
        sender={sender}
        rowKey={item.key}
        receipt={receipt}
        actions={actions}
      />
    );
  }
  const p = item.pending;
  const failed = p.status === "failed";
  return (
    <li
      className={failed ? "msg own failed" : "msg own pending"}
      data-key={item.key}
      data-testid="message"
      data-status={p.status}
    >
      <div className="bubble">
        <span className="sr-only">You: </span>
        {p.attachments && p.attachments.length > 0 && (
          <div className="attachments">
            {p.attachments.map((f) => (
              <FileChip key={f.file_id} name={f.name} size={f.size} />
            ))}
          </div>
        )}
        {p.message && <p className="text">{p.message}</p>}
        <span className="meta">{failed ? "Not sent" : "Sending…"}</span>
      </div>
      {failed && (
        <div className="failed-row">
          <span role="alert">{p.error ?? "Not sent."}</span>
          <button type="button" onClick={() => onRetry(p.client_id)}>
            Retry
          </button>
          <button type="button" onClick={() => onDiscard(p.client_id)}>
            Discard
          </button>
        </div>
      )}
    </li>
  );
}

function ChatMessage({
  m,
  focused,
  meId,
  sender,
  rowKey,
  receipt,
  actions,
}: {
  m: Message;
  /** The message a search hit opened: highlighted. */
  focused: boolean;
  meId: string;
  sender: string | null;
  rowKey: string;
  receipt: { tick: Tick } | { seen: number } | null;
  actions: Actions;
}) {
  const own = m.sender_id === meId;
  const [menu, setMenu] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = (what: Promise<void>) => {
    setMenu(false);
    setError(null);
    what.catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
  };
  const save = () => {
    if (editing === null || !editing.trim()) return;
    const text = editing;
    setEditing(null);
    run(actions.edit(m._id, text));
  };
  return (
    <li
      className={(own ? "msg own" : "msg other") + (focused ? " focus" : "")}
      data-key={rowKey}
      data-seq={m.seq}
      data-testid="message"
      data-deleted={m.deleted ? "true" : undefined}
      aria-current={focused ? "true" : undefined}
    >
      {sender && (
        <span className="sender" aria-hidden="true">
          <Avatar id={m.sender_id} name={sender} />
          <span className="sender-name">{sender}</span>
        </span>
      )}
      <div className="bubble">
        <span className="sr-only">{own ? "You" : m.sender_name}: </span>
        {!m.deleted && m.attachments && <Attachments files={m.attachments} />}
        {m.deleted ? (
          <p className="text deleted-text">Message deleted</p>
        ) : editing !== null ? (
          <form
            className="edit-form"
            onSubmit={(e) => {
              e.preventDefault();
              save();
            }}
          >
            <label className="sr-only" htmlFor={`edit-${m._id}`}>
              Edit message
            </label>
            <textarea
              id={`edit-${m._id}`}
              value={editing}
              onChange={(e) => setEditing(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Escape") setEditing(null);
                if (e.key === "Enter" && !e.shiftKey) {
                  e.preventDefault();
                  save();
                }
              }}
              autoFocus
            />
            <button type="submit" className="primary">
              Save
            </button>
            <button type="button" onClick={() => setEditing(null)}>
              Cancel
            </button>
          </form>
        ) : (
          m.message && <p className="text">{m.message}</p>
        )}
        <span className="meta">
          {m.edited_at && !m.deleted && (
            <span className="edited" title={formatFull(m.edited_at)}>
              edited
            </span>
          )}
          <time dateTime={m.timestamp} title={formatFull(m.timestamp)}>
            {formatTime(m.timestamp)}
          </time>
          {receipt && "tick" in receipt && (
            <span className={`tick tick-${receipt.tick}`} data-testid="tick" data-tick={receipt.tick} title={TICK_LABEL[receipt.tick]}>
              <span aria-hidden="true">{TICK_TEXT[receipt.tick]}</span>
              <span className="sr-only">{TICK_LABEL[receipt.tick]}</span>
            </span>
          )}
        </span>
        {!m.deleted && (
          <button
            type="button"
            className="msg-menu-button"
            aria-label="Message actions"
            aria-expanded={menu}
            onClick={() => setMenu(!menu)}
          >
            ⋯
          </button>
        )}
        {menu && !m.deleted && (
          <div className="msg-menu" role="menu">
            <div className="msg-menu-reactions">
              {QUICK_REACTIONS.map((emoji) => (
                <button
                  key={emoji}
                  type="button"
                  role="menuitem"
                  aria-label={`React ${emoji}`}
                  onClick={() => run(actions.react(m._id, emoji))}
                >
                  {emoji}
                </button>
              ))}
            </div>
            {own && (
              <button type="button" role="menuitem" onClick={() => (setMenu(false), setEditing(m.message))}>
                Edit
              </button>
            )}
            {(own || actions.canDelete) && (
              <button type="button" role="menuitem" className="danger" onClick={() => run(actions.remove(m._id))}>
                Delete
              </button>
            )}
          </div>
        )}
      </div>
      {!m.deleted && m.reactions && m.reactions.length > 0 && (
        <div className="reactions" data-testid="reactions">
          {m.reactions.map((r) => (
            <button
              key={r.emoji}
              type="button"
              className={r.me ? "reaction mine" : "reaction"}
              aria-pressed={r.me}
              aria-label={`${r.emoji} ${r.count}`}
              onClick={() => run(actions.react(m._id, r.emoji))}
            >
              {r.emoji} {r.count}
            </button>
          ))}
        </div>
      )}
      {receipt && "seen" in receipt && receipt.seen > 0 && (
        <span className="seen-by" data-testid="seen-by">
          Seen by {receipt.seen}
        </span>
      )}
      {error && (
        <span className="msg-error" role="alert">
          {error}
        </span>
      )}
    </li>
  );
}
