// Test doubles for the unit tests: a WebSocket the test drives by hand, and an in-memory chat
// server that keeps the API contract (newest-first pages walked back with `before`, gapless seq
// per room, idempotent client_id, echo to every socket of every member). The real server is
// exercised by the end-to-end suite in e2e/.

import type { ChatApi } from "../client";
import type { WebSocketLike } from "../socket";
import type { Message, Room, ServerEvent, User } from "../types";

export class FakeWebSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  readonly sent: string[] = [];
  closedWith: number | null = null;
  readonly url: string;

  constructor(url: string) {
    this.url = url;
  }

  // --- what the test (or the fake server) does to it ---

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(event: ServerEvent | string): void {
    this.onmessage?.({ data: typeof event === "string" ? event : JSON.stringify(event) });
  }

  /** The connection fails or the server closes it. */
  drop(code = 1006): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    if (code === 1006) this.onerror?.({});
    this.onclose?.({ code, reason: "" });
  }

  // --- what the client does to it ---

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(data);
  }

  close(code = 1000): void {
    this.closedWith = code;
    this.drop(code);
  }
}

/** A chat server in memory, with the contract's paging and delivery rules. */
export class FakeServer {
  readonly users = new Map<string, User>();
  readonly rooms = new Map<string, Room>();
  readonly history = new Map<string, Message[]>();
  /** Every socket ever created, in order; `live` are the open ones, with their user. */
  readonly sockets: FakeWebSocket[] = [];
  /** When each socket was created (Date.now, fake timers' clock in tests). */
  readonly connectTimes: number[] = [];
  private readonly live = new Map<FakeWebSocket, string>();
  up = true;
  /** When false, the server stores socket sends but does not echo them (a lost ack). */
  echo = true;
  /** Every REST page request, for asserting what a catch-up fetched. */
  readonly pageRequests: { roomId: string; limit: number; before?: string }[] = [];
  /** Frames other than messages that clients sent (read, typing). */
  readonly frames: { type?: string; room_id: string }[] = [];
  /** Every `around` request. */
  readonly aroundRequests: { roomId: string; seq: number }[] = [];
  private nextId = 1;

  addUser(name: string): User {
    const user: User = {
      _id: `u${this.nextId++}`,
      email: `${name.toLowerCase()}@example.test`,
      name,
      created_at: new Date(Date.UTC(2026, 0, 1)).toISOString(),
    };
    this.users.set(user._id, user);
    return user;
  }

  addRoom(a: User, b: User): Room {
    const room: Room = {
      _id: `r${this.nextId++}`,
      participants: [a._id, b._id],
      participant_names: [a.name, b.name],
      receiver_id: b._id,
      receiver_name: b.name,
      created_at: new Date(Date.UTC(2026, 0, 1)).toISOString(),
      last_message: null,
    };
    this.rooms.set(room._id, room);
    this.history.set(room._id, []);
    return room;
  }

  /** Stores a message (deduplicated by sender + client_id) and delivers it to live sockets. */
  post(roomId: string, sender: User, text: string, clientId?: string): Message {
    const list = this.history.get(roomId)!;
    const dup = clientId
      ? list.find((m) => m.sender_id === sender._id && m.client_id === clientId)
      : undefined;
    const m: Message = dup ?? {
      _id: `m${this.nextId++}`,
      room_id: roomId,
      sender_id: sender._id,
      sender_name: sender.name,
      message: text,
      timestamp: new Date(Date.now()).toISOString(),
      seq: list.length + 1,
      ...(clientId ? { client_id: clientId } : {}),
    };
    if (!dup) list.push(m);
    if (this.echo) this.deliver(m);
    return m;
  }

  deliver(m: Message): void {
    const room = this.rooms.get(m.room_id)!;
    for (const [ws, userId] of this.live) {
      if (room.participants.includes(userId)) ws.receive({ type: "message", chat_id: m.room_id, ...m });
    }
  }

  /** Closes every socket (1001, as on shutdown) and refuses new ones until `start`. */
  stop(): void {
    this.up = false;
    for (const ws of [...this.live.keys()]) {
      this.live.delete(ws);
      ws.drop(1001);
    }
  }

  start(): void {
    this.up = true;
  }

  /** The WebSocket factory for the client: connections open (or fail) a tick later. */
  socketFactory = (url: string): FakeWebSocket => {
    const ws = new FakeWebSocket(url);
    this.sockets.push(ws);
    this.connectTimes.push(Date.now());
    const userId = decodeURIComponent(url.split("/ws/")[1] ?? "");
    const sender = this.users.get(userId);
    const origSend = ws.send.bind(ws);
    ws.send = (data: string) => {
      origSend(data);
      const frame = JSON.parse(data) as { type?: string; room_id: string; message: string; client_id?: string };
      if (frame.type && frame.type !== "message") {
        this.frames.push(frame);
        return;
      }
      // The server answers over the network: a tick later.
      if (sender) setTimeout(() => this.post(frame.room_id, sender, frame.message, frame.client_id), 0);
    };
    setTimeout(() => {
      if (this.up && sender) {
        this.live.set(ws, userId);
        ws.open();
      } else {
        ws.drop(1006);
      }
    }, 0);
    return ws;
  };

  /** The REST API as one user sees it. */
  apiFor(me: User): ChatApi {
    const roomsOf = () =>
      [...this.rooms.values()]
        .filter((r) => r.participants.includes(me._id))
        .map((r) => {
          const other = this.users.get(r.participants.find((p) => p !== me._id)!)!;
          const list = this.history.get(r._id)!;
          return {
            ...r,
            receiver_id: other._id,
            receiver_name: other.name,
            last_message: list[list.length - 1] ?? null,
          };
        });
    const guard = () => {
      if (!this.up) return Promise.reject(new Error("Cannot reach the server."));
      return Promise.resolve();
    };
    return {
      me: () => guard().then(() => me),
      chats: () => guard().then(roomsOf),
      createChat: (to) =>
        guard().then(() => {
          const found = roomsOf().find((r) => r.receiver_id === to);
          return found ?? this.addRoom(me, this.users.get(to)!);
        }),
      messages: (roomId, { limit, before }) =>
        guard().then(() => {
          this.pageRequests.push({ roomId, limit, before });
          const list = this.history.get(roomId) ?? [];
          let end = list.length;
          if (before) end = list.findIndex((m) => m._id === before);
          return list.slice(Math.max(0, end - limit), end).reverse();
        }),
      around: (roomId, seq, limit) =>
        guard().then(() => {
          this.aroundRequests.push({ roomId, seq });
          const list = this.history.get(roomId) ?? [];
          const i = list.findIndex((m) => m.seq === seq);
          const start = Math.max(0, Math.min(i - Math.floor(limit / 2), list.length - limit));
          return list.slice(start, start + limit).reverse();
        }),
    };
  }
}

/** seq numbers of a list, for compact assertions. */
export function seqs(messages: readonly { seq: number }[]): number[] {
  return messages.map((m) => m.seq);
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** A confirmed message for pure tests. */
export function msg(seq: number, extra: Partial<Message> = {}): Message {
  return {
    _id: `m${seq}`,
    room_id: "r1",
    sender_id: "u1",
    sender_name: "Ann",
    message: `message ${seq}`,
    timestamp: new Date(Date.UTC(2026, 0, 1) + seq * 60_000).toISOString(),
    seq,
    ...extra,
  };
}
