// Fetching what a room missed while the socket was down.
//
// The server pages history newest first and `before` walks back without gaps, so the client
// fetches the newest page and keeps walking back until a page reaches a `seq` it already holds.
// Merging by `seq` then makes the result exact: nothing lost, nothing doubled.

import type { Message } from "./types";

export type FetchPage = (
  roomId: string,
  opts: { limit: number; before?: string },
) => Promise<Message[]>;

export interface CatchUpResult {
  /** Everything fetched, newest first. */
  messages: Message[];
  /** The fetched pages join the messages already held (no hole between them). */
  joined: boolean;
  /** The walk reached the first message of the room. */
  reachedStart: boolean;
}

export const PAGE_SIZE = 50;
/** Beyond this many pages the caller starts over from the newest window instead. */
export const MAX_CATCH_UP_PAGES = 10;

export async function fetchMissed(
  fetchPage: FetchPage,
  roomId: string,
  knownMaxSeq: number,
  limit = PAGE_SIZE,
  maxPages = MAX_CATCH_UP_PAGES,
): Promise<CatchUpResult> {
  const messages: Message[] = [];
  let before: string | undefined;
  for (let pages = 0; pages < maxPages; pages++) {
    const page = await fetchPage(roomId, { limit, before });
    messages.push(...page);
    if (page.length < limit) return { messages, joined: true, reachedStart: true };
    const oldest = page[page.length - 1];
    // seq is gapless, so reaching the message right after our newest is enough.
    if (oldest.seq <= knownMaxSeq + 1) {
      return { messages, joined: true, reachedStart: oldest.seq === 1 };
    }
    before = oldest._id;
  }
  return { messages, joined: false, reachedStart: false };
}
