// The message list of one room, as pure functions over an immutable value.
//
// Three sources feed it: history pages from REST (newest first, walked back with `before`), live
// events from the WebSocket, and the user's own sends that the server has not echoed yet. The
// server numbers messages per room with a gapless `seq`, so `seq` alone orders them and identifies
// duplicates: the same message arriving from a page and from the socket is kept once.

import type { Attachment, Message } from "./types";

/** A message the user sent that no echo has confirmed yet. */
export interface PendingSend {
  client_id: string;
  room_id: string;
  message: string;
  /** The uploaded files it carries. */
  attachments?: readonly Attachment[];
  /** Local time of the send, shown until the server's timestamp replaces it. */
  created_at: string;
  status: "pending" | "failed";
  /** Why it failed, in words for the user. */
  error?: string;
}

export interface Timeline {
  /** Confirmed messages, ascending by `seq`, no two with the same `seq`. */
  messages: readonly Message[];
  /** Sends awaiting their echo, in the order the user made them. */
  pending: readonly PendingSend[];
  /** The newest page has been fetched at least once. */
  loaded: boolean;
  /** The oldest message of the room is in `messages`: there is nothing more to load above. */
  reachedStart: boolean;
  /** The last load failed; shown with a retry. */
  error?: string;
}

export const EMPTY_TIMELINE: Timeline = {
  messages: [],
  pending: [],
  loaded: false,
  reachedStart: false,
};

/**
 * Merges `incoming` into `existing` (ascending by seq, unique by seq). Returns `existing` itself
 * when nothing new arrived, so callers can skip a re-render.
 */
export function mergeMessages(
  existing: readonly Message[],
  incoming: readonly Message[],
): readonly Message[] {
  if (incoming.length === 0) return existing;
  const known = new Set(existing.map((m) => m.seq));
  const fresh: Message[] = [];
  for (const m of incoming) {
    if (known.has(m.seq)) continue;
    known.add(m.seq);
    fresh.push(m);
  }
  if (fresh.length === 0) return existing;
  fresh.sort((a, b) => a.seq - b.seq);
  const last = existing[existing.length - 1];
  const first = existing[0];
  // The two common cases, a live message after the newest and a page before the oldest, are plain
  // concatenations; anything else (a catch-up that overlaps) is a full sort.
  if (!last || fresh[0].seq > last.seq) return [...existing, ...fresh];
  if (fresh[fresh.length - 1].seq < first.seq) return [...fresh, ...existing];
  return [...existing, ...fresh].sort((a, b) => a.seq - b.seq);
}

/** Drops the pending sends that one of `confirmed` acknowledges (same `client_id`). */
function dropConfirmed(
  pending: readonly PendingSend[],
  confirmed: readonly Message[],
): readonly PendingSend[] {
  if (pending.length === 0) return pending;
  const ids = new Set<string>();
  for (const m of confirmed) if (m.client_id) ids.add(m.client_id);
  if (ids.size === 0) return pending;
  const left = pending.filter((p) => !ids.has(p.client_id));
  return left.length === pending.length ? pending : left;
}

export function maxSeq(t: Timeline): number {
  return t.messages.length ? t.messages[t.messages.length - 1].seq : 0;
}

export function oldestMessage(t: Timeline): Message | undefined {
  return t.messages[0];
}

/**
 * Applies one history page (newest first, as the server sends it). A page shorter than `limit`
 * means there is nothing older, and so does reaching seq 1.
 */
export function applyPage(t: Timeline, page: readonly Message[], limit: number): Timeline {
  const messages = mergeMessages(t.messages, page);
  return {
    ...t,
    messages,
    pending: dropConfirmed(t.pending, page),
    loaded: true,
    reachedStart: t.reachedStart || page.length < limit || messages[0]?.seq === 1,
    error: undefined,
  };
}

/**
 * Replaces the whole list with a fresh newest-first window. Used when a catch-up found more
 * missed messages than it is willing to walk: keeping the old messages would leave a hole in the
 * middle that scrolling up could never fill.
 */
export function resetTo(t: Timeline, newestFirst: readonly Message[], reachedStart: boolean): Timeline {
  return {
    ...t,
    messages: mergeMessages([], newestFirst),
    pending: dropConfirmed(t.pending, newestFirst),
    loaded: true,
    reachedStart,
    error: undefined,
  };
}

/** Applies one live message from the socket; its echo removes the matching pending send. */
export function applyLive(t: Timeline, m: Message): Timeline {
  const messages = mergeMessages(t.messages, [m]);
  const pending = dropConfirmed(t.pending, [m]);
  if (messages === t.messages && pending === t.pending) return t;
  return { ...t, messages, pending };
}

/**
 * True when `m` is newer than the message right after the newest one we hold: something between
 * them was missed and must be fetched.
 */
export function leavesGap(t: Timeline, m: Message): boolean {
  const top = maxSeq(t);
  return t.loaded && top > 0 && m.seq > top + 1;
}

export function addPending(t: Timeline, p: PendingSend): Timeline {
  return { ...t, pending: [...t.pending, p] };
}

function updatePending(
  t: Timeline,
  clientId: string,
  change: (p: PendingSend) => PendingSend,
): Timeline {
  let hit = false;
  const pending = t.pending.map((p) => {
    if (p.client_id !== clientId) return p;
    hit = true;
    return change(p);
  });
  return hit ? { ...t, pending } : t;
}

export function markFailed(t: Timeline, clientId: string, error: string): Timeline {
  return updatePending(t, clientId, (p) => ({ ...p, status: "failed", error }));
}

export function markRetrying(t: Timeline, clientId: string): Timeline {
  return updatePending(t, clientId, (p) => ({ ...p, status: "pending", error: undefined }));
}

/** Forgets a failed send the user gave up on. */
export function discardPending(t: Timeline, clientId: string): Timeline {
  const pending = t.pending.filter((p) => p.client_id !== clientId);
  return pending.length === t.pending.length ? t : { ...t, pending };
}

export type TimelineItem =
  | { kind: "message"; key: string; message: Message }
  | { kind: "pending"; key: string; pending: PendingSend };

/** What the chat view draws, top to bottom: confirmed messages by seq, then the pending sends. */
export function timelineItems(t: Timeline): TimelineItem[] {
  const items: TimelineItem[] = t.messages.map((message) => ({
    kind: "message",
    key: message._id,
    message,
  }));
  for (const pending of t.pending) {
    items.push({ kind: "pending", key: `pending:${pending.client_id}`, pending });
  }
  return items;
}
