import { Fragment, useLayoutEffect, useMemo, useRef, useState } from "react";
import type { ChatClient } from "../client";
import { Attachments, FileChip } from "./Attachments";
import { Avatar } from "./bits";
import { dayKey, formatDay, formatFull, formatTime } from "../format";
import { describeEntry, showsSender } from "../groups";
import { timelineItems, type Timeline, type TimelineItem } from "../timeline";

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

export function MessageList({ client, roomId, meId, group, names, timeline, loadingOlder, focusSeq, behind }: Props) {
  const items = useMemo(() => timelineItems(timeline), [timeline]);
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

function MessageRow({
  item,
  focused,
  meId,
  sender,
  names,
  onRetry,
  onDiscard,
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
    const own = m.sender_id === meId;
    return (
      <li
        className={(own ? "msg own" : "msg other") + (focused ? " focus" : "")}
        data-key={item.key}
        data-seq={m.seq}
        data-testid="message"
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
          {m.attachments && <Attachments files={m.attachments} />}
          {m.message && <p className="text">{m.message}</p>}
          <span className="meta">
            <time dateTime={m.timestamp} title={formatFull(m.timestamp)}>
              {formatTime(m.timestamp)}
            </time>
          </span>
        </div>
      </li>
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
