// Conversation state as pure functions: unread counts, read ticks and "seen by", typing
// notices, and edits, deletions and reactions applied to a timeline by message id.
//
// Unread counts follow the server's rule: a room's newest seq minus my read position (entries
// from others above it; my own sends move my position, so they never count).

import type { Timeline } from "./timeline";
import type { Message, Reaction, Room } from "./types";

/** How long a typing notice shows after the last one arrived. */
export const TYPING_SHOW_MS = 5_000;
/** The shortest time between two typing notices this client sends for one room. */
export const TYPING_SEND_MS = 2_000;

/** Entries above my read position; 0 for a server that does not report positions. */
export function unreadOf(room: Room): number {
  if (room.read_seq === undefined) return room.unread ?? 0;
  return Math.max(0, (room.last_message?.seq ?? 0) - room.read_seq);
}

export function totalUnread(rooms: readonly Room[]): number {
  return rooms.reduce((sum, room) => sum + unreadOf(room), 0);
}

/** The page title: the number of unread entries in front, as chat apps do. */
export function pageTitle(base: string, unread: number): string {
  return unread > 0 ? `(${unread}) ${base}` : base;
}

export type Tick = "sent" | "delivered" | "read";

/**
 * The tick of my message in a direct room: read once the other member's position reached it,
 * delivered while the other member is online (its socket gets it at once), else sent.
 */
export function tickOf(m: Message, otherRead: number | undefined, otherOnline: boolean | undefined): Tick {
  if (otherRead !== undefined && otherRead >= m.seq) return "read";
  return otherOnline ? "delivered" : "sent";
}

/** How many members other than me (and the author) have read up to `seq`. */
export function seenBy(
  reads: Readonly<Record<string, number>> | undefined,
  seq: number,
  meId: string,
): number {
  if (!reads) return 0;
  return Object.entries(reads).filter(([user, read]) => user !== meId && read >= seq).length;
}

export interface TypingEntry {
  name: string;
  /** Epoch ms after which the notice is stale. */
  until: number;
}

/** The names still typing at `now`, in the order they started. */
export function typingNames(
  typing: Readonly<Record<string, TypingEntry>> | undefined,
  now: number,
): string[] {
  if (!typing) return [];
  return Object.values(typing)
    .filter((entry) => entry.until > now)
    .map((entry) => entry.name);
}

export function typingLine(names: readonly string[]): string {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}

/** Replaces the message with `id` in a timeline; the same timeline when it is not held. */
function updateMessage(t: Timeline, id: string, change: (m: Message) => Message): Timeline {
  const i = t.messages.findIndex((m) => m._id === id);
  if (i < 0) return t;
  const messages = [...t.messages];
  messages[i] = change(messages[i]);
  return { ...t, messages };
}

/** A `message_edited` event: the new text and `edited_at`; the reactions held stay. */
export function applyEdit(t: Timeline, edited: Message): Timeline {
  return updateMessage(t, edited._id, (m) => ({ ...m, ...edited, reactions: m.reactions }));
}

/** A `message_deleted` event: the message becomes a tombstone in place. */
export function applyDeletion(t: Timeline, id: string): Timeline {
  return updateMessage(t, id, (m) => tombstone(m));
}

export function tombstone(m: Message): Message {
  return { ...m, message: "", deleted: true, reactions: [], attachments: [] };
}

/** A `reaction` event: one user's emoji added or removed. */
export function applyReaction(
  t: Timeline,
  ev: { message_id: string; emoji: string; user_id: string; added: boolean },
  meId: string,
): Timeline {
  return updateMessage(t, ev.message_id, (m) => ({
    ...m,
    reactions: react(m.reactions ?? [], ev.emoji, ev.added, ev.user_id === meId),
  }));
}

/** Counts after one user added or removed `emoji`; `mine` marks the viewer's own. */
export function react(
  reactions: readonly Reaction[],
  emoji: string,
  added: boolean,
  mine: boolean,
): Reaction[] {
  const out = reactions.map((r) => ({ ...r }));
  const i = out.findIndex((r) => r.emoji === emoji);
  if (added) {
    if (i < 0) out.push({ emoji, count: 1, me: mine });
    else if (!(mine && out[i].me)) out[i] = { ...out[i], count: out[i].count + 1, me: out[i].me || mine };
    return out;
  }
  if (i < 0 || (mine && !out[i].me)) return out;
  const count = out[i].count - 1;
  if (count <= 0) out.splice(i, 1);
  else out[i] = { ...out[i], count, me: mine ? false : out[i].me };
  return out;
}

/** Changes fetched on catch-up: whole messages as they are now, replacing what is held. */
export function applyChanges(t: Timeline, changed: readonly Message[]): Timeline {
  return changed.reduce((acc, m) => updateMessage(acc, m._id, () => m), t);
}
