// Message search as pure functions: when a query is worth sending, how pages of hits add up,
// and how a hit is labelled. The server decides what matches (every word, any case) and marks
// the matching words in each hit's snippet; the view renders the snippet's text as text.

import type { Room, SearchHit, SearchPage } from "./types";

/** Where to search: every room of the user, or one room. */
export type SearchScope = { kind: "all" } | { kind: "room"; roomId: string };

export interface SearchResults {
  query: string;
  scope: SearchScope;
  hits: readonly SearchHit[];
  /** The cursor of the next page; absent when the last page has arrived. */
  next?: string;
}

/** The server needs at least one letter or digit; anything else would be refused. */
export function searchable(query: string): boolean {
  return /[\p{L}\p{N}]/u.test(query);
}

/** The results after one more page: hits already shown are not repeated. */
export function addPage(results: SearchResults, page: SearchPage): SearchResults {
  const seen = new Set(results.hits.map((h) => h._id));
  const fresh = page.hits.filter((h) => !seen.has(h._id));
  return { ...results, hits: [...results.hits, ...fresh], next: page.next_before };
}

/** The results of a first page. */
export function firstPage(query: string, scope: SearchScope, page: SearchPage): SearchResults {
  return addPage({ query, scope, hits: [] }, page);
}

/** The conversation a hit belongs to, as the room list names it. */
export function roomLabel(rooms: readonly Room[], roomId: string): string {
  return rooms.find((r) => r._id === roomId)?.receiver_name ?? "A conversation";
}
