import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ChatClient, type ChatApi } from "./client";
import { FakeServer, range, seqs } from "./testing/fakes";
import { EMPTY_TIMELINE } from "./timeline";
import type { Room, RoomEvent, User } from "./types";

interface World {
  server: FakeServer;
  ann: User;
  bob: User;
  room: Room;
  client: ChatClient;
}

let ids = 0;

function world(opts: { history?: number; wrapApi?: (api: ChatApi, w: Omit<World, "client">) => ChatApi } = {}): World {
  const server = new FakeServer();
  const ann = server.addUser("Ann");
  const bob = server.addUser("Bob");
  const room = server.addRoom(ann, bob);
  for (let i = 1; i <= (opts.history ?? 0); i++) server.post(room._id, i % 2 ? bob : ann, `old ${i}`);
  const api = server.apiFor(ann);
  const client = new ChatClient({
    me: ann,
    api: opts.wrapApi ? opts.wrapApi(api, { server, ann, bob, room }) : api,
    socketUrl: () => `ws://chat.test/ws/${ann._id}`,
    createSocket: server.socketFactory,
    random: () => 1,
    newClientId: () => `c${++ids}`,
    ackTimeoutMs: 10_000,
  });
  return { server, ann, bob, room, client };
}

const settle = () => vi.advanceTimersByTimeAsync(1);
const timeline = (w: World) => w.client.getState().timelines[w.room._id] ?? EMPTY_TIMELINE;

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("ChatClient", () => {
  it("loads rooms, the newest page, then older pages until the start", async () => {
    const w = world({ history: 120 });
    w.client.start();
    await settle();
    expect(w.client.getState().connection).toBe("open");
    expect(w.client.getState().rooms.map((r) => r._id)).toEqual([w.room._id]);

    await w.client.openRoom(w.room._id);
    expect(seqs(timeline(w).messages)).toEqual(range(71, 120));
    await w.client.loadOlder(w.room._id);
    await w.client.loadOlder(w.room._id);
    expect(seqs(timeline(w).messages)).toEqual(range(1, 120));
    expect(timeline(w).reachedStart).toBe(true);
    await w.client.loadOlder(w.room._id); // nothing more to load: no request
    expect(w.server.pageRequests).toHaveLength(3);
  });

  it("shows a send as pending until its echo, then once as confirmed", async () => {
    const w = world({ history: 3 });
    w.client.start();
    await settle();
    await w.client.openRoom(w.room._id);

    w.client.send(w.room._id, "  hello Bob  ");
    expect(timeline(w).pending).toMatchObject([{ message: "hello Bob", status: "pending" }]);
    await settle();
    expect(timeline(w).pending).toEqual([]);
    expect(timeline(w).messages.at(-1)).toMatchObject({ seq: 4, message: "hello Bob", sender_id: w.ann._id });
    // The room moved to the top with its new last message.
    expect(w.client.getState().rooms[0].last_message?.seq).toBe(4);
  });

  it("sends attachments by id, allows empty text with files, and keeps them on a retry", async () => {
    const w = world();
    w.client.start();
    await settle();
    await w.client.openRoom(w.room._id);
    w.server.echo = false;
    const photo = { file_id: "f1", name: "cat.png", size: 10, content_type: "image/png" };
    w.client.send(w.room._id, "   ");
    w.client.send(w.room._id, "", [photo]);
    const ws = w.server.sockets.at(-1)!;
    expect(ws.sent).toHaveLength(1);
    const frame = JSON.parse(ws.sent[0]);
    expect(frame).toMatchObject({ message: "", attachments: ["f1"] });
    expect(timeline(w).pending[0]).toMatchObject({ attachments: [photo] });
    ws.receive({ type: "error", code: "forbidden", detail: "no", client_id: frame.client_id });
    w.client.retry(w.room._id, frame.client_id);
    expect(JSON.parse(ws.sent[1]).attachments).toEqual(["f1"]);
  });

  it("marks a refused send failed, and its retry goes out with the same client_id", async () => {
    const w = world();
    w.client.start();
    await settle();
    await w.client.openRoom(w.room._id);
    w.server.echo = false;
    w.client.send(w.room._id, "too fast");
    const ws = w.server.sockets.at(-1)!;
    const clientId = JSON.parse(ws.sent[0]).client_id as string;
    ws.receive({ type: "error", code: "rate_limited", detail: "slow down", client_id: clientId });
    expect(timeline(w).pending[0]).toMatchObject({ status: "failed" });

    w.server.echo = true;
    w.client.retry(w.room._id, clientId);
    expect(timeline(w).pending[0]).toMatchObject({ status: "pending" });
    await settle();
    expect(JSON.parse(ws.sent[1]).client_id).toBe(clientId);
    expect(timeline(w).pending).toEqual([]);
    // Stored once: the first try was stored without an echo, the retry was deduplicated.
    expect(seqs(timeline(w).messages)).toEqual([1]);
  });

  it("sends a message refused as overloaded again by itself, with the same client_id", async () => {
    const w = world();
    w.client.start();
    await settle();
    await w.client.openRoom(w.room._id);
    w.server.echo = false;
    w.client.send(w.room._id, "busy server");
    await settle();
    const ws = w.server.sockets.at(-1)!;
    const clientId = JSON.parse(ws.sent[0]).client_id as string;
    ws.receive({ type: "error", code: "overloaded", detail: "server overloaded", client_id: clientId });
    expect(timeline(w).pending[0]).toMatchObject({ status: "pending" });

    w.server.echo = true;
    await vi.advanceTimersByTimeAsync(999);
    expect(ws.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(ws.sent).toHaveLength(2);
    expect(JSON.parse(ws.sent[1]).client_id).toBe(clientId);
    await settle();
    expect(timeline(w).pending).toEqual([]);
    expect(timeline(w).messages.at(-1)).toMatchObject({ message: "busy server", client_id: clientId });
  });

  it("waits twice as long before each retry and shows the send failed after three", async () => {
    const w = world();
    w.client.start();
    await settle();
    await w.client.openRoom(w.room._id);
    w.server.echo = false;
    w.client.send(w.room._id, "still busy");
    const ws = w.server.sockets.at(-1)!;
    const clientId = JSON.parse(ws.sent[0]).client_id as string;
    const refuse = () =>
      ws.receive({ type: "error", code: "unavailable", detail: "store down", client_id: clientId });
    for (const [i, pause] of [1_000, 2_000, 4_000].entries()) {
      refuse();
      await vi.advanceTimersByTimeAsync(pause - 1);
      expect(ws.sent).toHaveLength(i + 1);
      await vi.advanceTimersByTimeAsync(1);
      expect(ws.sent).toHaveLength(i + 2);
      expect(timeline(w).pending[0]).toMatchObject({ status: "pending" });
    }
    refuse();
    expect(timeline(w).pending[0]).toMatchObject({
      status: "failed",
      error: "The server cannot store messages right now. Retry in a moment.",
    });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ws.sent).toHaveLength(4);

    // A manual retry starts the count again.
    w.client.retry(w.room._id, clientId);
    expect(ws.sent).toHaveLength(5);
    refuse();
    expect(timeline(w).pending[0]).toMatchObject({ status: "pending" });
  });

  it("marks a send failed when no echo comes in time", async () => {
    const w = world();
    w.client.start();
    await settle();
    await w.client.openRoom(w.room._id);
    w.server.echo = false;
    w.client.send(w.room._id, "into the void");
    await vi.advanceTimersByTimeAsync(9_999);
    expect(timeline(w).pending[0].status).toBe("pending");
    await vi.advanceTimersByTimeAsync(1);
    expect(timeline(w).pending[0]).toMatchObject({ status: "failed" });
  });

  it("after a server restart, reconnects with backoff and fetches exactly what it missed", async () => {
    const w = world({ history: 60 });
    w.client.start();
    await settle();
    await w.client.openRoom(w.room._id);
    expect(seqs(timeline(w).messages)).toEqual(range(11, 60));

    w.server.stop();
    expect(w.client.getState().connection).toBe("reconnecting");
    // While the server is down, attempts are spaced by the growing backoff. Each refusal comes
    // a tick after the attempt, so the gaps are 500, then 1 + 1000, then 1 + 2000 ms.
    const stoppedAt = Date.now();
    await vi.advanceTimersByTimeAsync(3_600);
    const times = w.server.connectTimes;
    expect(times).toHaveLength(4);
    expect([times[1] - stoppedAt, times[2] - times[1], times[3] - times[2]]).toEqual([500, 1001, 2001]);

    // Bob keeps writing (through another node, say): 130 messages Ann's socket never sees.
    for (let i = 0; i < 130; i++) w.server.post(w.room._id, w.bob, `missed ${i}`);
    // Ann writes too while offline: it waits, pending.
    w.client.send(w.room._id, "are you there?");
    expect(timeline(w).pending).toHaveLength(1);

    w.server.start();
    await vi.advanceTimersByTimeAsync(4_002);
    expect(w.server.connectTimes).toHaveLength(5);
    await settle();
    expect(w.client.getState().connection).toBe("open");

    const t = timeline(w);
    expect(seqs(t.messages)).toEqual(range(11, 191));
    expect(new Set(t.messages.map((m) => m._id)).size).toBe(t.messages.length);
    expect(t.messages.at(-1)).toMatchObject({ message: "are you there?", sender_id: w.ann._id });
    expect(t.pending).toEqual([]);
    expect(t.reachedStart).toBe(false);
    // The catch-up walked back three pages (191..142, 141..92, 91..42) and stopped at one it had.
    const catchUp = w.server.pageRequests.slice(1);
    expect(catchUp.map((r) => r.before === undefined)).toEqual([true, false, false]);
    // Scrolling up still continues from the oldest held message without a hole.
    await w.client.loadOlder(w.room._id);
    expect(seqs(timeline(w).messages)).toEqual(range(1, 191));
    // The sidebar was refreshed too.
    expect(w.client.getState().rooms[0].last_message?.seq).toBe(191);
  });

  it("resends an unacknowledged message after a reconnect; the server's dedup keeps it single", async () => {
    const w = world({ history: 2 });
    w.client.start();
    await settle();
    await w.client.openRoom(w.room._id);
    w.server.echo = false; // stored, but the echo is lost with the connection
    w.client.send(w.room._id, "did this arrive?");
    await settle();
    w.server.echo = true;
    w.server.stop();
    w.server.start();
    await vi.advanceTimersByTimeAsync(600);
    await settle();
    const t = timeline(w);
    expect(t.pending).toEqual([]);
    expect(t.messages.map((m) => m.message)).toEqual(["old 1", "old 2", "did this arrive?"]);
    expect(w.server.history.get(w.room._id)).toHaveLength(3);
  });

  it("an outage longer than the ack timeout does not fail a send; the reconnect delivers it", async () => {
    const w = world({ history: 1 });
    w.client.start();
    await settle();
    await w.client.openRoom(w.room._id);
    w.server.echo = false;
    w.client.send(w.room._id, "just before the drop");
    await settle();
    w.server.echo = true;
    w.server.stop();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(timeline(w).pending[0].status).toBe("pending");
    w.server.start();
    await vi.advanceTimersByTimeAsync(16_000);
    expect(timeline(w).pending).toEqual([]);
    expect(seqs(timeline(w).messages)).toEqual([1, 2]);
  });

  it("starts over from the newest window when too much was missed to walk", async () => {
    const w = world({ history: 60 });
    w.client.start();
    await settle();
    await w.client.openRoom(w.room._id);
    w.server.stop();
    for (let i = 0; i < 600; i++) w.server.post(w.room._id, w.bob, `flood ${i}`);
    w.server.start();
    await vi.advanceTimersByTimeAsync(600);
    await settle();
    const t = timeline(w);
    // Ten pages walked, still no overlap: the old window is dropped instead of leaving a hole.
    expect(seqs(t.messages)).toEqual(range(161, 660));
    await w.client.loadOlder(w.room._id);
    expect(seqs(timeline(w).messages)).toEqual(range(111, 660));
  });

  it("fills a hole when a live message skips seqs", async () => {
    const w = world({ history: 5 });
    w.client.start();
    await settle();
    await w.client.openRoom(w.room._id);
    w.server.echo = false;
    w.server.post(w.room._id, w.bob, "lost 6");
    w.server.echo = true;
    w.server.post(w.room._id, w.bob, "seen 7");
    await settle();
    expect(seqs(timeline(w).messages)).toEqual(range(1, 7));
  });

  it("does not lose a message that arrives while the room's first page is in flight", async () => {
    // The first page is computed before message 6 exists and answered after it arrived live.
    let raced = false;
    const w = world({
      history: 5,
      wrapApi: (api, w) => ({
        ...api,
        messages: async (roomId, o) => {
          const page = await api.messages(roomId, o);
          if (!raced) {
            raced = true;
            w.server.post(w.room._id, w.bob, "during load");
          }
          return page;
        },
      }),
    });
    w.client.start();
    await settle();
    await w.client.openRoom(w.room._id);
    await settle();
    expect(raced).toBe(true);
    expect(seqs(timeline(w).messages)).toEqual(range(1, 6));
  });

  it("refetches the room list when a message comes from a room it lacks", async () => {
    const w = world();
    w.client.start();
    await settle();
    const carl = w.server.addUser("Carl");
    const room2 = w.server.addRoom(carl, w.ann);
    w.server.post(room2._id, carl, "hi Ann, it's Carl");
    await settle();
    const rooms = w.client.getState().rooms;
    expect(rooms.map((r) => r._id)).toEqual([room2._id, w.room._id]);
    expect(rooms[0]).toMatchObject({ receiver_name: "Carl", last_message: { message: "hi Ann, it's Carl" } });
  });

  it("tracks presence events", async () => {
    const w = world();
    w.client.start();
    await settle();
    expect(w.client.isOnline(w.bob._id)).toBeUndefined();
    expect(w.client.isOnline(w.bob._id, false)).toBe(false);
    w.server.sockets[0].receive({ type: "presence", user_id: w.bob._id, online: true });
    expect(w.client.isOnline(w.bob._id, false)).toBe(true);
  });
});

describe("ChatClient in groups", () => {
  function groupWorld() {
    const w = world();
    const renamed: string[] = [];
    const groupApi = {
      group: async (roomId: string) => ({
        _id: roomId,
        kind: "group" as const,
        name: renamed[renamed.length - 1] ?? "Crew",
        created_at: w.room.created_at,
        created_by: w.ann._id,
        member_count: 2,
        members: [
          { user_id: w.ann._id, name: "Ann", role: "member" as const },
          { user_id: w.bob._id, name: "Bob", role: "owner" as const },
        ],
      }),
      createGroup: async () => {
        throw new Error("unused");
      },
      addMembers: async () => {
        throw new Error("unused");
      },
      removeMember: async () => {},
      renameGroup: async () => {
        throw new Error("unused");
      },
      setRole: async () => {
        throw new Error("unused");
      },
    };
    Object.assign(w.room, { kind: "group", name: "Crew", receiver_name: "Crew" });
    const client = new ChatClient({
      me: w.ann,
      api: w.server.apiFor(w.ann),
      groupApi,
      socketUrl: () => `ws://chat.test/ws/${w.ann._id}`,
      createSocket: w.server.socketFactory,
      random: () => 1,
    });
    const entry = (seq: number, event: RoomEvent) => ({
      type: "room_event" as const,
      chat_id: w.room._id,
      _id: `e${seq}`,
      room_id: w.room._id,
      sender_id: w.bob._id,
      sender_name: "Bob",
      message: "words",
      timestamp: new Date(Date.UTC(2026, 0, 1) + seq * 60_000).toISOString(),
      seq,
      event,
    });
    const socket = () => w.server.sockets[w.server.sockets.length - 1];
    return { ...w, client, renamed, entry, socket };
  }

  it("shows membership entries in the timeline and refreshes the group on each", async () => {
    const g = groupWorld();
    g.client.start();
    await settle();
    await g.client.openRoom(g.room._id);
    await g.client.loadGroup(g.room._id);
    expect(g.client.getState().groups[g.room._id]?.name).toBe("Crew");

    g.renamed.push("Gang");
    g.socket().receive(g.entry(1, { kind: "renamed", name: "Gang" }));
    await settle();
    const state = g.client.getState();
    expect(state.timelines[g.room._id]?.messages.map((m) => m.event?.kind)).toEqual(["renamed"]);
    expect(state.groups[g.room._id]?.name).toBe("Gang");
    expect(state.rooms.find((r) => r._id === g.room._id)?.receiver_name).toBe("Gang");
    expect(state.names[g.bob._id]).toBe("Bob");
    g.client.stop();
  });

  it("forgets a group at once when the reader is removed, keeping the removal entry", async () => {
    const g = groupWorld();
    g.client.start();
    await settle();
    await g.client.openRoom(g.room._id);
    await g.client.loadGroup(g.room._id);

    g.socket().receive(g.entry(1, { kind: "removed", user_id: g.ann._id }));
    await settle();
    const state = g.client.getState();
    expect(state.rooms.map((r) => r._id)).not.toContain(g.room._id);
    expect(state.groups[g.room._id]).toBeUndefined();
    expect(state.leftRooms[g.room._id]).toBe("Crew");
    expect(state.timelines[g.room._id]?.messages.map((m) => m.event?.kind)).toEqual(["removed"]);
    g.client.stop();
  });

  it("leaving removes the group from the list", async () => {
    const g = groupWorld();
    g.client.start();
    await settle();
    await g.client.loadGroup(g.room._id);
    await g.client.leaveGroup(g.room._id);
    expect(g.client.getState().rooms).toEqual([]);
    expect(g.client.getState().leftRooms[g.room._id]).toBe("Crew");
    g.client.stop();
  });

  describe("openAt (a search hit)", () => {
    it("loads the window around an old message and focuses it", async () => {
      const w = world({ history: 300 });
      w.client.start();
      await settle();
      await w.client.openAt(w.room._id, 40);
      expect(w.client.getState().focus).toEqual({ roomId: w.room._id, seq: 40 });
      expect(seqs(timeline(w).messages)).toEqual(range(15, 64));
      expect(timeline(w).reachedStart).toBe(false);
      // Scrolling up pages on from the window's oldest message.
      await w.client.loadOlder(w.room._id);
      expect(seqs(timeline(w).messages)).toEqual(range(1, 64));
      w.client.clearFocus(w.room._id);
      expect(w.client.getState().focus).toBeUndefined();
    });

    it("only focuses a message it already holds", async () => {
      const w = world({ history: 80 });
      w.client.start();
      await settle();
      await w.client.openRoom(w.room._id);
      await w.client.openAt(w.room._id, 70);
      expect(w.server.aroundRequests).toEqual([]);
      expect(w.client.getState().focus?.seq).toBe(70);
      expect(seqs(timeline(w).messages)).toEqual(range(31, 80));
    });

    it("joins a window that reaches the messages held, and catches up after a detached one", async () => {
      const w = world({ history: 400 });
      w.client.start();
      await settle();
      await w.client.openRoom(w.room._id);
      await w.client.openAt(w.room._id, 330);
      expect(seqs(timeline(w).messages)).toEqual(range(305, 400));
      await w.client.openAt(w.room._id, 30);
      expect(seqs(timeline(w).messages)).toEqual(range(5, 54));
      // A live message leaves a gap above the window: catch-up brings the room back to the newest.
      w.server.post(w.room._id, w.bob, "new");
      await settle();
      await settle();
      const messages = seqs(timeline(w).messages);
      expect(messages[messages.length - 1]).toBe(401);
    });
  });
});
