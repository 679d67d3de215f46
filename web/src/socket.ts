// The WebSocket connection to `/ws/{user_id}`: one socket at a time, reconnected with exponential
// backoff and jitter whenever it closes without being asked to. It knows nothing of rooms; the
// chat client above it decides what to fetch after a reconnect.

import type { OutgoingFrame, ServerEvent } from "./types";

/** The part of the browser's WebSocket this client uses; tests pass a fake. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketFactory = (url: string, protocols: string[]) => WebSocketLike;

/**
 * The subprotocol this client offers: the server then sends every event type (group membership
 * entries included), which sockets of the original client never receive.
 */
export const PROTOCOL = "chat.v2";

const CONNECTING = 0;
const OPEN = 1;

export type ConnectionStatus = "idle" | "connecting" | "open" | "reconnecting" | "stopped";

export interface Backoff {
  /** Delay before the first retry. */
  initialMs: number;
  maxMs: number;
  factor: number;
  /** Fraction of the delay that is random: 0.5 gives a delay in [base/2, base]. */
  jitter: number;
  /** A connection that stayed open this long resets the backoff; shorter ones keep growing it,
   * so a server that accepts and drops at once is not hammered. */
  stableMs: number;
}

export const DEFAULT_BACKOFF: Backoff = {
  initialMs: 500,
  maxMs: 15_000,
  factor: 2,
  jitter: 0.5,
  stableMs: 5_000,
};

/** The delay before retry number `attempt` (0-based). */
export function backoffDelay(attempt: number, b: Backoff, random: () => number): number {
  const base = Math.min(b.maxMs, b.initialMs * Math.pow(b.factor, attempt));
  return Math.round(base * (1 - b.jitter + b.jitter * random()));
}

export interface ChatSocketOptions {
  /** Called for every connection attempt, so the URL can follow the page's location. */
  url: () => string;
  createSocket?: WebSocketFactory;
  backoff?: Partial<Backoff>;
  random?: () => number;
  now?: () => number;
  onEvent: (event: ServerEvent) => void;
  onStatus?: (status: ConnectionStatus) => void;
  /** After every successful open; `reconnected` is false only for the very first one. */
  onOpen?: (info: { reconnected: boolean }) => void;
  /** After every close that will be retried; `failures` counts attempts since the last stable open. */
  onDrop?: (info: { code: number; failures: number; retryInMs: number }) => void;
}

export class ChatSocket {
  private readonly opts: ChatSocketOptions;
  private readonly backoff: Backoff;
  private readonly createSocket: WebSocketFactory;
  private readonly random: () => number;
  private readonly now: () => number;
  private ws: WebSocketLike | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private openedAt = 0;
  private everOpened = false;
  private status: ConnectionStatus = "idle";

  constructor(opts: ChatSocketOptions) {
    this.opts = opts;
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.createSocket =
      opts.createSocket ??
      ((url, protocols) => new WebSocket(url, protocols) as unknown as WebSocketLike);
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
  }

  get isOpen(): boolean {
    return this.status === "open" && this.ws?.readyState === OPEN;
  }

  start(): void {
    if (this.status !== "idle") return;
    this.connect();
  }

  /** Closes for good: no reconnect follows. */
  stop(): void {
    this.setStatus("stopped");
    this.clearTimer();
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    detach(ws);
    if (ws.readyState === CONNECTING) {
      // Closing a socket that is still connecting makes the browser log an error; let it open
      // first, then close it.
      ws.onopen = () => ws.close(1000, "client stopped");
    } else {
      ws.close(1000, "client stopped");
    }
  }

  /** Skips the remaining backoff (e.g. the browser says it is online again). */
  retryNow(): void {
    if (this.status !== "reconnecting" || this.ws) return;
    this.clearTimer();
    this.connect();
  }

  /** Sends one frame if the socket is open; returns false otherwise (the caller keeps it). */
  send(frame: OutgoingFrame): boolean {
    if (!this.isOpen || !this.ws) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  private connect(): void {
    this.timer = null;
    this.setStatus(this.everOpened || this.failures > 0 ? "reconnecting" : "connecting");
    const ws = this.createSocket(this.opts.url(), [PROTOCOL]);
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.openedAt = this.now();
      this.setStatus("open");
      this.opts.onOpen?.({ reconnected });
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws || typeof ev.data !== "string") return;
      let event: ServerEvent;
      try {
        event = JSON.parse(ev.data) as ServerEvent;
      } catch {
        return; // not ours to crash on; the server only sends JSON
      }
      if (event && typeof event === "object" && typeof event.type === "string") {
        this.opts.onEvent(event);
      }
    };
    // A failed attempt fires error then close; close alone drives the retry.
    ws.onerror = () => {};
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      detach(ws);
      if (this.status === "stopped") return;
      if (this.status === "open" && this.now() - this.openedAt >= this.backoff.stableMs) {
        this.failures = 0;
      }
      const retryInMs = backoffDelay(this.failures, this.backoff, this.random);
      this.failures += 1;
      this.setStatus("reconnecting");
      this.opts.onDrop?.({ code: ev.code, failures: this.failures, retryInMs });
      this.timer = setTimeout(() => this.connect(), retryInMs);
    };
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.opts.onStatus?.(status);
  }
}

function detach(ws: WebSocketLike): void {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onerror = null;
  ws.onclose = null;
}
