import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { backoffDelay, ChatSocket, DEFAULT_BACKOFF, type ConnectionStatus } from "./socket";
import { FakeWebSocket } from "./testing/fakes";
import type { ServerEvent } from "./types";

function harness(opts: { random?: () => number } = {}) {
  const sockets: FakeWebSocket[] = [];
  const statuses: ConnectionStatus[] = [];
  const events: ServerEvent[] = [];
  const opens: boolean[] = [];
  const socket = new ChatSocket({
    url: () => "ws://chat.test/ws/u1",
    createSocket: (url) => {
      const ws = new FakeWebSocket(url);
      sockets.push(ws);
      return ws;
    },
    random: opts.random ?? (() => 1),
    onEvent: (e) => events.push(e),
    onStatus: (s) => statuses.push(s),
    onOpen: ({ reconnected }) => opens.push(reconnected),
  });
  const last = () => sockets[sockets.length - 1];
  return { socket, sockets, statuses, events, opens, last };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("subprotocol", () => {
  it("offers chat.v2 on every connection attempt", () => {
    const offered: string[][] = [];
    const sockets: FakeWebSocket[] = [];
    const socket = new ChatSocket({
      url: () => "ws://chat.test/ws/u1",
      createSocket: (url, protocols) => {
        offered.push(protocols);
        const ws = new FakeWebSocket(url);
        sockets.push(ws);
        return ws;
      },
      random: () => 1,
      onEvent: () => {},
    });
    socket.start();
    sockets[0].drop(1006);
    vi.advanceTimersByTime(60_000);
    expect(offered.length).toBeGreaterThanOrEqual(2);
    for (const p of offered) expect(p).toEqual(["chat.v2"]);
    socket.stop();
  });
});

describe("backoffDelay", () => {
  it("doubles from the initial delay up to the cap", () => {
    const full = range(0, 7).map((a) => backoffDelay(a, DEFAULT_BACKOFF, () => 1));
    expect(full).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  });

  it("jitter takes up to half of the delay away", () => {
    expect(backoffDelay(3, DEFAULT_BACKOFF, () => 0)).toBe(2000);
    expect(backoffDelay(3, DEFAULT_BACKOFF, () => 0.5)).toBe(3000);
  });
});

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

describe("ChatSocket", () => {
  it("connects, delivers parsed events and ignores garbage", () => {
    const h = harness();
    h.socket.start();
    expect(h.statuses).toEqual(["connecting"]);
    h.last().open();
    expect(h.statuses).toEqual(["connecting", "open"]);
    expect(h.opens).toEqual([false]);
    h.last().receive({ type: "presence", user_id: "u2", online: true });
    h.last().receive("not json");
    h.last().receive("42");
    expect(h.events).toEqual([{ type: "presence", user_id: "u2", online: true }]);
  });

  it("sends only while open and tells the caller when it could not", () => {
    const h = harness();
    h.socket.start();
    const frame = { type: "message" as const, room_id: "r1", message: "hi", client_id: "c1" };
    expect(h.socket.send(frame)).toBe(false);
    h.last().open();
    expect(h.socket.send(frame)).toBe(true);
    expect(JSON.parse(h.last().sent[0])).toEqual(frame);
    h.last().drop(1001);
    expect(h.socket.send(frame)).toBe(false);
  });

  it("reconnects after a drop with growing delays, then resets once stable", async () => {
    const h = harness();
    h.socket.start();
    h.last().open();
    await vi.advanceTimersByTimeAsync(60_000); // a long, stable connection

    h.last().drop(1001); // server shutdown
    expect(h.statuses.at(-1)).toBe("reconnecting");
    expect(h.sockets).toHaveLength(1);

    // Each failed attempt waits twice as long as the one before: 500, 1000, 2000, 4000 ms.
    for (const delay of [500, 1000, 2000, 4000]) {
      const before = h.sockets.length;
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(h.sockets).toHaveLength(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(h.sockets).toHaveLength(before + 1);
      h.last().drop(1006); // connection refused
    }

    await vi.advanceTimersByTimeAsync(8000);
    h.last().open();
    expect(h.statuses.at(-1)).toBe("open");
    expect(h.opens).toEqual([false, true]);

    // Stable again, so the next drop starts over at the initial delay.
    await vi.advanceTimersByTimeAsync(DEFAULT_BACKOFF.stableMs);
    h.last().drop(1001);
    const before = h.sockets.length;
    await vi.advanceTimersByTimeAsync(500);
    expect(h.sockets).toHaveLength(before + 1);
  });

  it("keeps backing off when connections are accepted and dropped at once", async () => {
    const h = harness();
    h.socket.start();
    h.last().open();
    h.last().drop(1011);
    await vi.advanceTimersByTimeAsync(500);
    h.last().open();
    h.last().drop(1011);
    const before = h.sockets.length;
    await vi.advanceTimersByTimeAsync(999);
    expect(h.sockets).toHaveLength(before);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.sockets).toHaveLength(before + 1);
  });

  it("applies jitter from the random source", async () => {
    const h = harness({ random: () => 0 });
    h.socket.start();
    h.last().drop(1006);
    await vi.advanceTimersByTimeAsync(249);
    expect(h.sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.sockets).toHaveLength(2);
  });

  it("retryNow skips the rest of the backoff", async () => {
    const h = harness();
    h.socket.start();
    h.last().drop(1006);
    await vi.advanceTimersByTimeAsync(100);
    h.socket.retryNow();
    expect(h.sockets).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.sockets).toHaveLength(2); // the cancelled timer did not connect a third
  });

  it("stop closes normally and never reconnects", async () => {
    const h = harness();
    h.socket.start();
    h.last().open();
    h.socket.stop();
    expect(h.last().closedWith).toBe(1000);
    expect(h.statuses.at(-1)).toBe("stopped");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.sockets).toHaveLength(1);
  });

  it("stop during a backoff cancels the pending attempt", async () => {
    const h = harness();
    h.socket.start();
    h.last().drop(1006);
    h.socket.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.sockets).toHaveLength(1);
  });

  it("stop while still connecting closes the socket once it opens", () => {
    const h = harness();
    h.socket.start();
    h.socket.stop();
    expect(h.last().closedWith).toBeNull();
    h.last().open();
    expect(h.last().closedWith).toBe(1000);
    expect(h.opens).toEqual([]);
  });
});
