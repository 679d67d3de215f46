import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ChatClient, type ConversationApi } from "./client";
import {
  applyChanges,
  applyDeletion,
  applyEdit,
  applyReaction,
  pageTitle,
  react,
  seenBy,
  tickOf,
  totalUnread,
  typingLine,
  typingNames,
  unreadOf,
} from "./conversation";
import { FakeServer, msg } from "./testing/fakes";
import { EMPTY_TIMELINE, type Timeline } from "./timeline";
import type { ChangesPage, Message, Room } from "./types";

const loaded = (messages: Message[]): Timeline => ({ ...EMPTY_TIMELINE, messages, loaded: true });

function room(last: number, read?: number): Room {
  return {
    _id: "r1",
    participants: [],
    participant_names: [],
    receiver_id: "u2",
    receiver_name: "Bob",
    created_at: "2026-01-01T00:00:00.000Z",
    last_message: last ? msg(last) : null,
    read_seq: read,
  };
}

describe("conversation state", () => {
  it("counts unread entries above the read position, and titles the page with them", () => {
    expect(unreadOf(room(7, 3))).toBe(4);
    expect(unreadOf(room(7, 9))).toBe(0);
    expect(unreadOf(room(0, 0))).toBe(0);
    expect(unreadOf(room(5))).toBe(0);
    expect(totalUnread([room(7, 3), room(2, 0)])).toBe(6);
    expect(pageTitle("Chat", 6)).toBe("(6) Chat");
    expect(pageTitle("Chat", 0)).toBe("Chat");
  });

  it("ticks: read once the other read it, delivered while online, else sent", () => {
    expect(tickOf(msg(4), 4, false)).toBe("read");
    expect(tickOf(msg(4), 3, true)).toBe("delivered");
    expect(tickOf(msg(4), undefined, false)).toBe("sent");
    expect(seenBy({ me: 9, a: 4, b: 3, c: 5 }, 4, "me")).toBe(2);
    expect(seenBy(undefined, 1, "me")).toBe(0);
  });

  it("names who is typing until the notice goes stale", () => {
    const typing = { u2: { name: "Bob", until: 5_000 }, u3: { name: "Cat", until: 9_000 } };
    expect(typingNames(typing, 4_000)).toEqual(["Bob", "Cat"]);
    expect(typingNames(typing, 6_000)).toEqual(["Cat"]);
    expect(typingLine(["Bob"])).toBe("Bob is typing…");
    expect(typingLine(["Bob", "Cat"])).toBe("Bob and Cat are typing…");
    expect(typingLine(["a", "b", "c"])).toBe("3 people are typing…");
    expect(typingLine([])).toBe("");
  });

  it("applies edits, deletions and reactions in place, keeping seq order", () => {
    const file = { file_id: "f1", name: "a.txt", size: 1, content_type: "text/plain" };
    const t = loaded([
      msg(1),
      msg(2, { reactions: [{ emoji: "👍", count: 1, me: false }], attachments: [file] }),
      msg(3),
    ]);
    const edited = applyEdit(t, { ...msg(2), message: "fixed", edited_at: "2026-01-02T00:00:00.000Z" });
    expect(edited.messages[1]).toMatchObject({ message: "fixed", seq: 2 });
    expect(edited.messages[1].reactions).toEqual([{ emoji: "👍", count: 1, me: false }]);
    const deleted = applyDeletion(edited, "m2");
    expect(deleted.messages[1]).toMatchObject({ message: "", deleted: true, reactions: [], attachments: [], seq: 2 });
    expect(deleted.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(applyDeletion(t, "nope")).toBe(t);
    const reacted = applyReaction(t, { message_id: "m3", emoji: "🎉", user_id: "me", added: true }, "me");
    expect(reacted.messages[2].reactions).toEqual([{ emoji: "🎉", count: 1, me: true }]);
    const changed = applyChanges(t, [{ ...msg(1), message: "new", deleted: false }]);
    expect(changed.messages[0].message).toBe("new");
  });

  it("counts each user's reaction once, whichever of the echo and the answer comes first", () => {
    let r = react([], "👍", true, true);
    r = react(r, "👍", true, true);
    expect(r).toEqual([{ emoji: "👍", count: 1, me: true }]);
    r = react(r, "👍", true, false);
    expect(r).toEqual([{ emoji: "👍", count: 2, me: true }]);
    r = react(r, "👍", false, true);
    expect(r).toEqual([{ emoji: "👍", count: 1, me: false }]);
    r = react(r, "👍", false, true);
    expect(r).toEqual([{ emoji: "👍", count: 1, me: false }]);
    expect(react(r, "👍", false, false)).toEqual([]);
  });
});

/** A conversation API over the fake server's history, recording what the client asked. */
function conversationApi(pages: ChangesPage[]): ConversationApi & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    markRead: async (roomId, seq) => {
      calls.push(`read ${roomId} ${seq}`);
      return { room_id: roomId, user_id: "u1", seq };
    },
    reads: async () => [],
    changes: async (_roomId, since) => {
      calls.push(`changes ${since ?? "-"}`);
      if (since === undefined) return { cursor: "c0", more: false, changes: [] };
      return pages.shift() ?? { cursor: since, more: false, changes: [] };
    },
    editMessage: async () => {
      throw new Error("unused");
    },
    deleteMessage: async () => {
      throw new Error("unused");
    },
    react: async () => {
      throw new Error("unused");
    },
  };
}

describe("ChatClient conversation state", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());
  const settle = () => vi.advanceTimersByTimeAsync(1);

  function world(pages: ChangesPage[] = []) {
    const server = new FakeServer();
    const ann = server.addUser("Ann");
    const bob = server.addUser("Bob");
    const r = server.addRoom(ann, bob);
    for (let i = 1; i <= 3; i++) server.post(r._id, bob, `m${i}`);
    const conv = conversationApi(pages);
    let now = 0;
    const client = new ChatClient({
      me: ann,
      api: server.apiFor(ann),
      conversationApi: conv,
      socketUrl: () => `ws://chat.test/ws/${ann._id}`,
      createSocket: server.socketFactory,
      random: () => 1,
      now: () => now,
      isVisible: () => true,
    });
    return { server, ann, bob, room: r, client, conv, tick: (ms: number) => (now += ms) };
  }

  it("reads the room on screen with a read frame and clears its unread count", async () => {
    const w = world();
    w.client.start();
    await settle();
    await w.client.openRoom(w.room._id);
    w.client.setViewing(w.room._id);
    expect(w.server.frames).toContainEqual({ type: "read", room_id: w.room._id, seq: 3 });
    expect(unreadOf(w.client.getState().rooms[0])).toBe(0);
    w.server.post(w.room._id, w.bob, "m4");
    await settle();
    expect(w.server.frames).toContainEqual({ type: "read", room_id: w.room._id, seq: 4 });
    w.client.setViewing(null);
    w.server.post(w.room._id, w.bob, "m5");
    await settle();
    expect(w.server.frames.filter((f) => f.type === "read")).toHaveLength(2);
  });

  it("sends typing at most every 2 s and shows others typing for 5 s", async () => {
    const w = world();
    w.client.start();
    await settle();
    w.client.typing(w.room._id);
    w.tick(1_000);
    w.client.typing(w.room._id);
    expect(w.server.frames.filter((f) => f.type === "typing")).toHaveLength(1);
    w.tick(1_500);
    w.client.typing(w.room._id);
    expect(w.server.frames.filter((f) => f.type === "typing")).toHaveLength(2);

    const ws = w.server.sockets[0];
    ws.receive({ type: "typing", room_id: w.room._id, user_id: w.bob._id, name: "Bob" });
    expect(typingNames(w.client.getState().typing[w.room._id], 0)).toEqual(["Bob"]);
    w.tick(5_001);
    await vi.advanceTimersByTimeAsync(5_001);
    expect(Object.keys(w.client.getState().typing[w.room._id])).toEqual([]);
  });

  it("applies receipts, edits, deletions and reactions from the socket", async () => {
    const w = world();
    w.client.start();
    await settle();
    await w.client.openRoom(w.room._id);
    const ws = w.server.sockets[0];
    const held = w.client.getState().timelines[w.room._id].messages;
    ws.receive({ type: "read", room_id: w.room._id, user_id: w.bob._id, seq: 3 });
    ws.receive({ type: "message_edited", chat_id: w.room._id, ...held[0], message: "m1!", edited_at: "x" });
    ws.receive({ type: "message_deleted", room_id: w.room._id, _id: held[1]._id, seq: 2 });
    ws.receive({ type: "reaction", room_id: w.room._id, message_id: held[2]._id, emoji: "👍", user_id: w.bob._id, added: true });
    const state = w.client.getState();
    expect(state.reads[w.room._id][w.bob._id]).toBe(3);
    const [one, two, three] = state.timelines[w.room._id].messages;
    expect(one).toMatchObject({ message: "m1!", edited_at: "x" });
    expect(two).toMatchObject({ deleted: true, message: "" });
    expect(three.reactions).toEqual([{ emoji: "👍", count: 1, me: false }]);
  });

  it("after a reconnect fetches the messages missed and then what changed, page by page", async () => {
    const w = world();
    w.client.start();
    await settle();
    await w.client.openRoom(w.room._id);
    const held = w.client.getState().timelines[w.room._id].messages;
    w.server.stop();
    await settle();
    w.server.post(w.room._id, w.bob, "while away");
    w.conv.calls.length = 0;
    const pages: ChangesPage[] = [
      { cursor: "c1", more: true, changes: [{ ...held[0], message: "edited away" }] },
      { cursor: "c2", more: false, changes: [{ ...held[1], message: "", deleted: true }] },
    ];
    w.conv.changes = async (_room, since) => {
      w.conv.calls.push(`changes ${since}`);
      return pages.shift()!;
    };
    w.server.start();
    await vi.advanceTimersByTimeAsync(1_000);
    const messages = w.client.getState().timelines[w.room._id].messages;
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(messages[0].message).toBe("edited away");
    expect(messages[1].deleted).toBe(true);
    expect(w.conv.calls).toEqual(["changes c0", "changes c1"]);
  });
});
