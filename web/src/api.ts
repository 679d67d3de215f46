// REST calls to the chat server. The session lives in the HttpOnly `chat_token` cookie that login
// and register set, so no token is kept in script-readable storage; the browser sends the cookie
// with every same-origin request and with the WebSocket upgrade.

import type {
  AuthResponse,
  ChangesPage,
  Group,
  Member,
  Message,
  ReadPosition,
  Role,
  Room,
  SearchPage,
  User,
} from "./types";

/** An error the server answered with (`{"detail","code"}`), or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, detail: string) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

let onUnauthorized: (() => void) | null = null;

/** Called when an authenticated request gets 401: the session is gone or expired. */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

interface RequestOptions {
  body?: unknown;
  /** Login and register answer 401 for wrong credentials, which is not an expired session. */
  anonymous?: boolean;
}

async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: opts.body === undefined ? undefined : { "Content-Type": "application/json" },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
  } catch {
    throw new ApiError(0, "network", "Cannot reach the server. Check your connection.");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    const body = (data ?? {}) as { detail?: unknown; code?: unknown };
    const detail =
      typeof body.detail === "string" && body.detail
        ? body.detail
        : `The server answered ${res.status}.`;
    const code = typeof body.code === "string" ? body.code : "http_" + res.status;
    if (res.status === 401 && !opts.anonymous) onUnauthorized?.();
    throw new ApiError(res.status, code, detail);
  }
  return data as T;
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? "?" + s : "";
}

export const api = {
  register(email: string, password: string, name: string): Promise<AuthResponse> {
    return request("POST", "/api/register", { body: { email, password, name }, anonymous: true });
  },
  login(email: string, password: string): Promise<AuthResponse> {
    return request("POST", "/api/login", { body: { email, password }, anonymous: true });
  },
  logout(): Promise<void> {
    return request("POST", "/api/logout", { anonymous: true });
  },
  /** The current user; also how the app learns at start whether the cookie still holds a session. */
  me(opts: { anonymous?: boolean } = {}): Promise<User> {
    return request("GET", "/api/me", opts);
  },
  users(q: string, limit = 50): Promise<User[]> {
    return request("GET", "/api/all-users" + query({ q, limit }));
  },
  chats(): Promise<Room[]> {
    return request("GET", "/api/chats");
  },
  createChat(toUserId: string): Promise<Room> {
    return request("POST", "/api/chats", { body: { to_user_id: toUserId } });
  },
  createGroup(name: string, memberIds: string[]): Promise<Group> {
    return request("POST", "/api/rooms", { body: { name, member_ids: memberIds } });
  },
  group(roomId: string): Promise<Group> {
    return request("GET", `/api/rooms/${encodeURIComponent(roomId)}`);
  },
  groupMembers(roomId: string, opts: { limit?: number; after?: string } = {}): Promise<Member[]> {
    return request(
      "GET",
      `/api/rooms/${encodeURIComponent(roomId)}/members` + query({ limit: opts.limit, after: opts.after }),
    );
  },
  addMembers(roomId: string, userIds: string[]): Promise<Group> {
    return request("POST", `/api/rooms/${encodeURIComponent(roomId)}/members`, { body: { user_ids: userIds } });
  },
  /** Removes a member; your own id leaves the group. */
  removeMember(roomId: string, userId: string): Promise<void> {
    return request(
      "DELETE",
      `/api/rooms/${encodeURIComponent(roomId)}/members/${encodeURIComponent(userId)}`,
    );
  },
  renameGroup(roomId: string, name: string): Promise<Group> {
    return request("PATCH", `/api/rooms/${encodeURIComponent(roomId)}`, { body: { name } });
  },
  setRole(roomId: string, userId: string, role: Exclude<Role, "owner">): Promise<Group> {
    return request(
      "PUT",
      `/api/rooms/${encodeURIComponent(roomId)}/members/${encodeURIComponent(userId)}/role`,
      { body: { role } },
    );
  },
  markRead(roomId: string, seq: number): Promise<ReadPosition> {
    return request("POST", `/api/rooms/${encodeURIComponent(roomId)}/read`, { body: { seq } });
  },
  reads(roomId: string): Promise<ReadPosition[]> {
    return request("GET", `/api/rooms/${encodeURIComponent(roomId)}/reads`);
  },
  changes(roomId: string, since?: string): Promise<ChangesPage> {
    return request("GET", `/api/rooms/${encodeURIComponent(roomId)}/changes` + query({ since }));
  },
  editMessage(roomId: string, id: string, message: string): Promise<Message> {
    return request("PATCH", messagePath(roomId, id), { body: { message } });
  },
  deleteMessage(roomId: string, id: string): Promise<Message> {
    return request("DELETE", messagePath(roomId, id));
  },
  react(roomId: string, id: string, emoji: string, add: boolean): Promise<Message> {
    return request(add ? "PUT" : "DELETE", `${messagePath(roomId, id)}/reactions/${encodeURIComponent(emoji)}`);
  },
  messages(roomId: string, opts: { limit?: number; before?: string } = {}): Promise<Message[]> {
    return request(
      "GET",
      `/api/messages/${encodeURIComponent(roomId)}` + query({ limit: opts.limit, before: opts.before }),
    );
  },
  /** The page of a room's history with message `seq` in it, newest first. */
  around(roomId: string, seq: number, limit: number): Promise<Message[]> {
    return request("GET", `/api/messages/${encodeURIComponent(roomId)}` + query({ around: seq, limit }));
  },
  /** Messages of the user's rooms (or of `roomId`) with every word of `q`, newest first. */
  search(q: string, opts: { roomId?: string; before?: string; limit?: number } = {}): Promise<SearchPage> {
    return request(
      "GET",
      "/api/search" + query({ q, room_id: opts.roomId, before: opts.before, limit: opts.limit }),
    );
  },
};

function messagePath(roomId: string, id: string): string {
  return `/api/messages/${encodeURIComponent(roomId)}/${encodeURIComponent(id)}`;
}

/** The WebSocket URL for this page's origin: same host, so the cookie goes along. */
export function socketUrl(userId: string): string {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/ws/${encodeURIComponent(userId)}`;
}
