import { describe, expect, it } from "vitest";
import { msg, range, seqs } from "./testing/fakes";
import {
  addPending,
  applyLive,
  applyPage,
  discardPending,
  EMPTY_TIMELINE,
  leavesGap,
  markFailed,
  markRetrying,
  mergeMessages,
  resetTo,
  timelineItems,
  type PendingSend,
  type Timeline,
} from "./timeline";
import type { Message } from "./types";

/** A newest-first page of seqs from..to, as the server sends it. */
function page(from: number, to: number): Message[] {
  return range(from, to).map((s) => msg(s)).reverse();
}

function pending(clientId: string, text = clientId): PendingSend {
  return {
    client_id: clientId,
    room_id: "r1",
    message: text,
    created_at: new Date(Date.UTC(2026, 0, 2)).toISOString(),
    status: "pending",
  };
}

describe("mergeMessages", () => {
  it("orders by seq whatever order the input comes in", () => {
    expect(seqs(mergeMessages([], [msg(3), msg(1), msg(2)]))).toEqual([1, 2, 3]);
  });

  it("keeps one copy of a message seen twice", () => {
    const merged = mergeMessages([msg(1), msg(2)], [msg(2), msg(3), msg(3)]);
    expect(seqs(merged)).toEqual([1, 2, 3]);
  });

  it("returns the same array when nothing is new, so the view need not redraw", () => {
    const existing = [msg(1), msg(2)];
    expect(mergeMessages(existing, [msg(2), msg(1)])).toBe(existing);
    expect(mergeMessages(existing, [])).toBe(existing);
  });

  it("appends newer, prepends older and interleaves overlapping input", () => {
    const base = [msg(10), msg(11)];
    expect(seqs(mergeMessages(base, [msg(12)]))).toEqual([10, 11, 12]);
    expect(seqs(mergeMessages(base, [msg(9), msg(8)]))).toEqual([8, 9, 10, 11]);
    expect(seqs(mergeMessages([msg(1), msg(4)], [msg(3), msg(5), msg(2)]))).toEqual([1, 2, 3, 4, 5]);
  });
});

describe("applyPage", () => {
  it("loads the newest page and knows there is more when the page is full", () => {
    const t = applyPage(EMPTY_TIMELINE, page(71, 120), 50);
    expect(seqs(t.messages)).toEqual(range(71, 120));
    expect(t.loaded).toBe(true);
    expect(t.reachedStart).toBe(false);
  });

  it("reaches the start on a short page or on seq 1", () => {
    expect(applyPage(EMPTY_TIMELINE, page(1, 7), 50).reachedStart).toBe(true);
    expect(applyPage(EMPTY_TIMELINE, [], 50).reachedStart).toBe(true);
    expect(applyPage(EMPTY_TIMELINE, page(1, 50), 50).reachedStart).toBe(true);
  });

  it("walks back page by page into one contiguous list", () => {
    let t = applyPage(EMPTY_TIMELINE, page(71, 120), 50);
    t = applyPage(t, page(21, 70), 50);
    t = applyPage(t, page(1, 20), 50);
    expect(seqs(t.messages)).toEqual(range(1, 120));
    expect(t.reachedStart).toBe(true);
  });

  it("drops the pending sends a page confirms (an echo lost, the history has it)", () => {
    let t = applyPage(EMPTY_TIMELINE, page(1, 3), 50);
    t = addPending(t, pending("c-1"));
    t = addPending(t, pending("c-2"));
    t = applyPage(t, [msg(4, { client_id: "c-1" }), msg(3)], 50);
    expect(t.pending.map((p) => p.client_id)).toEqual(["c-2"]);
  });
});

describe("live events and pending sends", () => {
  it("an echo replaces the pending send: shown once, now confirmed", () => {
    let t = applyPage(EMPTY_TIMELINE, page(1, 2), 50);
    t = addPending(t, pending("c-1", "hello"));
    expect(timelineItems(t).map((i) => i.kind)).toEqual(["message", "message", "pending"]);
    t = applyLive(t, msg(3, { client_id: "c-1", message: "hello" }));
    const items = timelineItems(t);
    expect(items.map((i) => i.kind)).toEqual(["message", "message", "message"]);
    expect(t.pending).toEqual([]);
  });

  it("a live message that a page also carries is kept once, in either order", () => {
    let a = applyPage(EMPTY_TIMELINE, page(1, 5), 50);
    a = applyLive(a, msg(6));
    a = applyPage(a, page(2, 6), 50);
    let b = applyPage(EMPTY_TIMELINE, page(1, 5), 50);
    b = applyPage(b, page(2, 6), 50);
    b = applyLive(b, msg(6));
    expect(seqs(a.messages)).toEqual(range(1, 6));
    expect(seqs(b.messages)).toEqual(range(1, 6));
    expect(applyLive(b, msg(6))).toBe(b);
  });

  it("pending sends stay below confirmed messages, in the order they were made", () => {
    let t = applyPage(EMPTY_TIMELINE, page(1, 2), 50);
    t = addPending(t, pending("a"));
    t = addPending(t, pending("b"));
    t = applyLive(t, msg(3, { sender_id: "u2" }));
    expect(timelineItems(t).map((i) => i.key)).toEqual(["m1", "m2", "m3", "pending:a", "pending:b"]);
  });

  it("a refused send is marked failed, and a retry makes it pending again", () => {
    let t = addPending(applyPage(EMPTY_TIMELINE, [], 50), pending("a"));
    t = markFailed(t, "a", "Sending too fast.");
    expect(t.pending[0]).toMatchObject({ status: "failed", error: "Sending too fast." });
    t = markRetrying(t, "a");
    expect(t.pending[0]).toMatchObject({ status: "pending", error: undefined });
    expect(markFailed(t, "nobody", "x")).toBe(t);
    expect(discardPending(t, "a").pending).toEqual([]);
  });

  it("detects a live message that skips seqs", () => {
    const t = applyPage(EMPTY_TIMELINE, page(1, 10), 50);
    expect(leavesGap(t, msg(11))).toBe(false);
    expect(leavesGap(t, msg(9))).toBe(false);
    expect(leavesGap(t, msg(13))).toBe(true);
    expect(leavesGap(EMPTY_TIMELINE, msg(13))).toBe(false);
  });

  it("resetTo starts over from a fresh window and keeps unconfirmed sends", () => {
    let t = applyPage(EMPTY_TIMELINE, page(1, 10), 50);
    t = addPending(t, pending("a"));
    t = addPending(t, pending("b"));
    const fresh = [...page(500, 549)];
    fresh[0] = msg(549, { client_id: "a" });
    t = resetTo(t, fresh, false);
    expect(seqs(t.messages)).toEqual(range(500, 549));
    expect(t.reachedStart).toBe(false);
    expect(t.pending.map((p) => p.client_id)).toEqual(["b"]);
  });

  it("any interleaving of pages, live events and echoes converges to 1..N once each", () => {
    // Every way the same 120 messages can reach the client, shuffled deterministically; every
    // seventh is the user's own send, which is pending before its echo or a page confirms it.
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 50; round++) {
      type Op = { name: string; run: (t: Timeline) => Timeline };
      const ops: Op[] = [];
      for (let s = 1; s <= 120; s++) {
        const m = msg(s, s % 7 === 0 ? { client_id: `c${s}` } : {});
        ops.push({ name: `live${s}`, run: (t) => applyLive(t, m) });
      }
      for (let from = 1; from <= 120; from += 50) {
        const to = Math.min(120, from + 49);
        const p = page(from, to).map((m) => (m.seq % 7 === 0 ? { ...m, client_id: `c${m.seq}` } : m));
        ops.push({ name: `page${from}`, run: (t) => applyPage(t, p, 50) });
      }
      for (let i = ops.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [ops[i], ops[j]] = [ops[j], ops[i]];
      }
      // The send happens first of all; what confirms it then comes in any order.
      const sends: Op[] = range(1, 17).map((k) => ({
        name: `send${k * 7}`,
        run: (t) => addPending(t, pending(`c${k * 7}`)),
      }));
      const t = [...sends, ...ops].reduce((t, op) => op.run(t), EMPTY_TIMELINE);
      expect(seqs(t.messages)).toEqual(range(1, 120));
      expect(new Set(t.messages.map((m) => m._id)).size).toBe(120);
      expect(t.pending).toEqual([]);
      expect(t.reachedStart).toBe(true);
    }
  });
});
