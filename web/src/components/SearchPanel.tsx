import { useEffect, useRef, useState, type FormEvent } from "react";
import { api } from "../api";
import type { ChatClient, ChatState } from "../client";
import { formatWhen } from "../format";
import { navigate, roomPath } from "../router";
import { addPage, firstPage, roomLabel, searchable, type SearchResults, type SearchScope } from "../search";
import type { SearchHit } from "../types";

const PAGE = 20;

interface Props {
  client: ChatClient;
  state: ChatState;
  /** The open conversation, which the search may be limited to. */
  activeRoomId: string | null;
}

/** Message search: a query, all conversations or the open one, hits with their snippets. A
 * click opens the conversation at the message. */
export function SearchPanel({ client, state, activeRoomId }: Props) {
  const [q, setQ] = useState("");
  const [onlyHere, setOnlyHere] = useState(false);
  const [results, setResults] = useState<SearchResults | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => input.current?.focus(), []);

  const scope: SearchScope =
    onlyHere && activeRoomId ? { kind: "room", roomId: activeRoomId } : { kind: "all" };

  async function run(e?: FormEvent) {
    e?.preventDefault();
    if (!searchable(q)) return;
    setBusy(true);
    setError(null);
    try {
      const page = await api.search(q, { roomId: scopeRoom(scope), limit: PAGE });
      setResults(firstPage(q, scope, page));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  async function more() {
    if (!results?.next) return;
    setBusy(true);
    try {
      const page = await api.search(results.query, {
        roomId: scopeRoom(results.scope),
        before: results.next,
        limit: PAGE,
      });
      setResults((r) => (r ? addPage(r, page) : r));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  async function open(hit: SearchHit) {
    await client.openAt(hit.room_id, hit.seq);
    navigate(roomPath(hit.room_id));
  }

  return (
    <div className="message-search">
      <form className="search" role="search" onSubmit={run}>
        <label htmlFor="message-search" className="sr-only">
          Search messages
        </label>
        <input
          ref={input}
          id="message-search"
          type="search"
          placeholder="Search messages"
          autoComplete="off"
          value={q}
          onChange={(e) => setQ(e.target.value)}
        />
        {activeRoomId && (
          <label className="search-scope">
            <input type="checkbox" checked={onlyHere} onChange={(e) => setOnlyHere(e.target.checked)} /> Only
            this conversation
          </label>
        )}
      </form>
      {error && (
        <p className="error pad" role="alert">
          {error}
        </p>
      )}
      {busy && !results && <p className="muted pad">Searching…</p>}
      {results &&
        (results.hits.length === 0 ? (
          <p className="muted pad">No messages match “{results.query}”.</p>
        ) : (
          <ul className="hit-list" aria-label="Search results">
            {results.hits.map((hit) => (
              <li key={hit._id}>
                <button type="button" className="hit" data-testid="hit" onClick={() => void open(hit)}>
                  <span className="room-top">
                    <span className="room-name">{roomLabel(state.rooms, hit.room_id)}</span>
                    <time className="room-time" dateTime={hit.timestamp}>
                      {formatWhen(hit.timestamp)}
                    </time>
                  </span>
                  <span className="hit-snippet">
                    <span className="hit-sender">{hit.sender_id === state.me._id ? "You" : hit.sender_name}: </span>
                    {hit.snippet.map((part, i) => (part.hit ? <mark key={i}>{part.text}</mark> : <span key={i}>{part.text}</span>))}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        ))}
      {results?.next && (
        <button type="button" className="link pad" disabled={busy} onClick={() => void more()}>
          More results
        </button>
      )}
    </div>
  );
}

function scopeRoom(scope: SearchScope): string | undefined {
  return scope.kind === "room" ? scope.roomId : undefined;
}
