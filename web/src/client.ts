// The chat client: one object per logged-in session that owns the socket, the room list, each
// opened room's timeline and the pending sends. React reads its state through `subscribe` and
// `getState` (useSyncExternalStore); every change replaces the state object.
//
// What it guarantees to the view:
// - rooms are ordered by latest activity, and a message in a room the list lacks refetches it;
// - an opened room's messages are contiguous by seq from the oldest loaded to the newest, after
//   reconnects too (see `catchUp`);
// - a send stays pending until its echo, is resent with the same client_id after a reconnect (the
//   server deduplicates), and fails visibly on an error event or when no echo comes in time;
// - read positions, typing notices, edits, deletions and reactions arrive live, and after a
//   reconnect each loaded room fetches what changed while away (`syncChanges`) besides the
//   messages it missed, so everything appears once, in place.

import { fetchMissed, PAGE_SIZE, type FetchPage } from "./catchup";
import { ChatSocket, type Backoff, type ConnectionStatus, type WebSocketFactory } from "./socket";
import {
  addPending,
  applyLive,
  applyPage,
  discardPending,
  EMPTY_TIMELINE,
  leavesGap,
  markFailed,
  markRetrying,
  maxSeq,
  oldestMessage,
  resetTo,
  type Timeline,
} from "./timeline";
import { endsMembership } from "./groups";
import {
  applyChanges,
  applyDeletion,
  applyEdit,
  applyReaction,
  TYPING_SEND_MS,
  TYPING_SHOW_MS,
  tombstone,
  type TypingEntry,
} from "./conversation";
import type {
  Attachment,
  ChangesPage,
  Group,
  Message,
  OutgoingMessage,
  ReadPosition,
  Role,
  Room,
  ServerEvent,
  User,
} from "./types";

export interface ChatState {
  me: User;
  rooms: readonly Room[];
  roomsLoaded: boolean;
  roomsError?: string;
  timelines: Readonly<Record<string, Timeline>>;
  /** Rooms whose older page is being fetched. */
  loadingOlder: Readonly<Record<string, boolean>>;
  connection: ConnectionStatus;
  /** Live presence events; absent users fall back to the `online` field the REST data carried. */
  presence: Readonly<Record<string, boolean>>;
  /** Group rooms' details (name, members, roles), loaded when a group is opened, kept fresh by
   * its membership entries. */
  groups: Readonly<Record<string, Group>>;
  /** Groups this user was removed from or left during this session, with their last name:
   * their view says so. */
  leftRooms: Readonly<Record<string, string>>;
  /** Every member name seen in a group this session (user id → name), kept after a member
   * leaves so older membership entries still name them. */
  names: Readonly<Record<string, string>>;
  /** Others' read positions by room and user (from `reads`, receipts and their own sends). */
  reads: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Who is typing, by room and user, until when. */
  typing: Readonly<Record<string, Readonly<Record<string, TypingEntry>>>>;
  /** The message a search hit opened, which the view scrolls to and highlights. */
  focus?: { roomId: string; seq: number };
}

/** The conversation routes (read positions, edits, deletions, reactions, changes); the app
 * passes `api`. */
export interface ConversationApi {
  markRead(roomId: string, seq: number): Promise<ReadPosition>;
  reads(roomId: string): Promise<ReadPosition[]>;
  changes(roomId: string, since?: string): Promise<ChangesPage>;
  editMessage(roomId: string, id: string, message: string): Promise<Message>;
  deleteMessage(roomId: string, id: string): Promise<Message>;
  react(roomId: string, id: string, emoji: string, add: boolean): Promise<Message>;
}

/** The group routes; the app passes `api`. */
export interface GroupApi {
  createGroup(name: string, memberIds: string[]): Promise<Group>;
  group(roomId: string): Promise<Group>;
  addMembers(roomId: string, userIds: string[]): Promise<Group>;
  removeMember(roomId: string, userId: string): Promise<void>;
  renameGroup(roomId: string, name: string): Promise<Group>;
  setRole(roomId: string, userId: string, role: Exclude<Role, "owner">): Promise<Group>;
}

/** The REST calls the client needs; the app passes `api`, tests pass fakes. */
export interface ChatApi {
  chats(): Promise<Room[]>;
  createChat(toUserId: string): Promise<Room>;
  messages: FetchPage;
  /** The page of a room's history with message `seq` in it, newest first. */
  around(roomId: string, seq: number, limit: number): Promise<Message[]>;
  me(): Promise<User>;
}

export interface ChatClientOptions {
  me: User;
  api: ChatApi;
  socketUrl: () => string;
  /** Needed only by the group actions. */
  groupApi?: GroupApi;
  /** Needed for read positions sent over REST, edits, deletions, reactions and changes. */
  conversationApi?: ConversationApi;
  /** Whether the user can see the page (a hidden tab reads nothing). */
  isVisible?: () => boolean;
  now?: () => number;
  createSocket?: WebSocketFactory;
  backoff?: Partial<Backoff>;
  random?: () => number;
  newClientId?: () => string;
  /** How long a sent message may wait for its echo before it is shown as failed. */
  ackTimeoutMs?: number;
}

const DEFAULT_ACK_TIMEOUT_MS = 10_000;

/** Refusals the server asks clients to retry by themselves (docs/websocket.md): the message
 * was not stored, and the same `client_id` keeps a retry from storing it twice. */
const TRANSIENT_REFUSALS = new Set(["overloaded", "unavailable"]);
/** Automatic retries of a transiently refused send before it is shown as failed. */
const AUTO_RETRIES = 3;
/** The pause before the first automatic retry; each next one waits twice as long. */
const AUTO_RETRY_BASE_MS = 1_000;

function activity(room: Room): number {
  const t = Date.parse(room.last_message?.timestamp ?? room.last_activity ?? room.created_at);
  return Number.isNaN(t) ? 0 : t;
}

function sortRooms(rooms: readonly Room[]): Room[] {
  return [...rooms].sort((a, b) => activity(b) - activity(a));
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class ChatClient {
  private state: ChatState;
  private readonly listeners = new Set<() => void>();
  private readonly api: ChatApi;
  private readonly groupApi: GroupApi | undefined;
  private readonly conversationApi: ConversationApi | undefined;
  private readonly isVisible: () => boolean;
  private readonly now: () => number;
  /** The room on screen, whose new messages are read as they arrive. */
  private viewing: string | null = null;
  /** Each loaded room's change cursor: where its next `changes` call starts. */
  private readonly cursors = new Map<string, string>();
  /** When this client last sent a typing notice per room. */
  private readonly typingSent = new Map<string, number>();
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly socket: ChatSocket;
  private readonly newClientId: () => string;
  private readonly ackTimeoutMs: number;
  private readonly ackTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly random: () => number;
  /** Sends refused as transient: how many times each was refused, and its pending retry. */
  private readonly autoRetries = new Map<
    string,
    { refusals: number; timer: ReturnType<typeof setTimeout> | null }
  >();
  /** Rooms with a catch-up in flight, and whether another must follow it. */
  private readonly catchingUp = new Map<string, boolean>();
  private roomsRequest: Promise<void> | null = null;
  private roomsAgain = false;
  private stopped = false;

  constructor(opts: ChatClientOptions) {
    this.api = opts.api;
    this.groupApi = opts.groupApi;
    this.conversationApi = opts.conversationApi;
    this.isVisible =
      opts.isVisible ?? (() => typeof document === "undefined" || document.visibilityState !== "hidden");
    this.now = opts.now ?? Date.now;
    this.newClientId = opts.newClientId ?? (() => crypto.randomUUID());
    this.ackTimeoutMs = opts.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    this.random = opts.random ?? Math.random;
    this.state = {
      me: opts.me,
      rooms: [],
      roomsLoaded: false,
      timelines: {},
      loadingOlder: {},
      connection: "idle",
      presence: {},
      groups: {},
      leftRooms: {},
      names: {},
      reads: {},
      typing: {},
    };
    this.socket = new ChatSocket({
      url: opts.socketUrl,
      createSocket: opts.createSocket,
      backoff: opts.backoff,
      random: opts.random,
      onEvent: (e) => this.onEvent(e),
      onStatus: (connection) => this.set({ connection }),
      onOpen: ({ reconnected }) => this.onOpen(reconnected),
      onDrop: ({ failures }) => {
        // Unconfirmed sends are resent on the next open and their timers armed again then;
        // an outage alone does not fail them.
        for (const t of this.ackTimers.values()) clearTimeout(t);
        this.ackTimers.clear();
        // A refused upgrade (expired session) looks like any other drop to a browser; asking
        // the REST API tells them apart, and its 401 handler logs the user out.
        if (failures >= 2) this.api.me().catch(() => {});
      },
    });
  }

  // --- store protocol ------------------------------------------------------------------------

  getState = (): ChatState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private set(patch: Partial<ChatState>): void {
    if (this.stopped) return;
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  private setTimeline(roomId: string, change: (t: Timeline) => Timeline): void {
    const before = this.state.timelines[roomId] ?? EMPTY_TIMELINE;
    const after = change(before);
    if (after === before) return;
    this.set({ timelines: { ...this.state.timelines, [roomId]: after } });
  }

  // --- lifecycle -----------------------------------------------------------------------------

  start(): void {
    void this.refreshRooms();
    this.socket.start();
  }

  stop(): void {
    this.socket.stop();
    for (const t of this.ackTimers.values()) clearTimeout(t);
    this.ackTimers.clear();
    for (const clientId of [...this.autoRetries.keys()]) this.forgetRefusals(clientId);
    if (this.typingTimer !== null) clearTimeout(this.typingTimer);
    this.stopped = true;
  }

  /** The browser regained the network: skip the rest of the backoff. */
  retryNow(): void {
    this.socket.retryNow();
  }

  // --- rooms ---------------------------------------------------------------------------------

  /** Refetches the room list; calls made while one is in flight coalesce into one more. */
  refreshRooms(): Promise<void> {
    if (this.roomsRequest) {
      this.roomsAgain = true;
      return this.roomsRequest;
    }
    const run = async (): Promise<void> => {
      do {
        this.roomsAgain = false;
        try {
          const rooms = await this.api.chats();
          this.set({ rooms: sortRooms(rooms), roomsLoaded: true, roomsError: undefined });
        } catch (err) {
          this.set({ roomsLoaded: true, roomsError: describe(err) });
        }
      } while (this.roomsAgain && !this.stopped);
      this.roomsRequest = null;
    };
    this.roomsRequest = run();
    return this.roomsRequest;
  }

  /** Opens (or creates) the direct room with a user and adds it to the list. */
  async startChat(userId: string): Promise<Room> {
    const room = await this.api.createChat(userId);
    if (!this.state.rooms.some((r) => r._id === room._id)) {
      this.set({ rooms: sortRooms([...this.state.rooms, room]) });
    }
    return room;
  }

  // --- groups --------------------------------------------------------------------------------

  private groups(): GroupApi {
    if (!this.groupApi) throw new Error("this client has no group API");
    return this.groupApi;
  }

  private setGroup(group: Group): void {
    const names = { ...this.state.names };
    for (const m of group.members) names[m.user_id] = m.name;
    this.set({ groups: { ...this.state.groups, [group._id]: group }, names });
    const rooms = this.state.rooms;
    const i = rooms.findIndex((r) => r._id === group._id);
    if (i >= 0 && rooms[i].receiver_name !== group.name) {
      const renamed = { ...rooms[i], name: group.name, receiver_name: group.name };
      this.set({ rooms: [...rooms.slice(0, i), renamed, ...rooms.slice(i + 1)] });
    }
  }

  /** Fetches a group's details (members, roles); failures leave what was held. */
  async loadGroup(roomId: string): Promise<void> {
    if (!this.groupApi || roomId in this.state.leftRooms) return;
    try {
      this.setGroup(await this.groupApi.group(roomId));
    } catch {
      // A 403 after a removal is expected; the removal entry already says so.
    }
  }

  /** Creates a group with the caller as owner and puts it at the top of the list. */
  async createGroup(name: string, memberIds: string[]): Promise<Group> {
    const group = await this.groups().createGroup(name, memberIds);
    this.setGroup(group);
    void this.refreshRooms();
    return group;
  }

  async addMembers(roomId: string, userIds: string[]): Promise<void> {
    this.setGroup(await this.groups().addMembers(roomId, userIds));
  }

  async removeMember(roomId: string, userId: string): Promise<void> {
    await this.groups().removeMember(roomId, userId);
    await this.loadGroup(roomId);
  }

  /** Leaves a group: it leaves the room list at once. */
  async leaveGroup(roomId: string): Promise<void> {
    await this.groups().removeMember(roomId, this.state.me._id);
    this.forgetRoom(roomId);
  }

  async renameGroup(roomId: string, name: string): Promise<void> {
    this.setGroup(await this.groups().renameGroup(roomId, name));
  }

  async setRole(roomId: string, userId: string, role: Exclude<Role, "owner">): Promise<void> {
    this.setGroup(await this.groups().setRole(roomId, userId, role));
  }

  /** This user is no longer a member: the room leaves the list and its details are dropped. */
  private forgetRoom(roomId: string): void {
    const { [roomId]: gone, ...groups } = this.state.groups;
    const name = gone?.name ?? this.state.rooms.find((r) => r._id === roomId)?.receiver_name ?? "";
    this.set({
      rooms: this.state.rooms.filter((r) => r._id !== roomId),
      groups,
      leftRooms: { ...this.state.leftRooms, [roomId]: name },
    });
  }

  private noteRoomActivity(m: Message): void {
    const rooms = this.state.rooms;
    const i = rooms.findIndex((r) => r._id === m.room_id);
    if (i < 0) {
      void this.refreshRooms();
      return;
    }
    const current = rooms[i].last_message;
    if (current && current.seq >= m.seq) return;
    const updated: Room = { ...rooms[i], last_message: m, last_activity: m.timestamp };
    // Sending moves the sender's read position to its message, on the server too.
    if (m.sender_id === this.state.me._id) updated.read_seq = Math.max(updated.read_seq ?? 0, m.seq);
    this.set({ rooms: [updated, ...rooms.slice(0, i), ...rooms.slice(i + 1)] });
  }

  private updateRoom(roomId: string, change: (room: Room) => Room): void {
    const rooms = this.state.rooms;
    const i = rooms.findIndex((r) => r._id === roomId);
    if (i < 0) return;
    const updated = change(rooms[i]);
    if (updated === rooms[i]) return;
    this.set({ rooms: [...rooms.slice(0, i), updated, ...rooms.slice(i + 1)] });
  }

  private noteRead(roomId: string, userId: string, seq: number): void {
    const reads = this.state.reads[roomId] ?? {};
    if ((reads[userId] ?? 0) >= seq) return;
    this.set({ reads: { ...this.state.reads, [roomId]: { ...reads, [userId]: seq } } });
  }

  // --- conversation state ----------------------------------------------------------------------

  private conversation(): ConversationApi {
    if (!this.conversationApi) throw new Error("this client has no conversation API");
    return this.conversationApi;
  }

  /** The room now on screen (`null`: none); what it shows is read at once, and so is what
   * arrives in it while the page is visible. */
  setViewing(roomId: string | null): void {
    this.viewing = roomId;
    if (roomId) this.markRead(roomId);
  }

  /** Moves my read position in `roomId` to the newest message shown, if that is further. */
  markRead(roomId: string): void {
    if (!this.isVisible()) return;
    const t = this.state.timelines[roomId];
    const room = this.state.rooms.find((r) => r._id === roomId);
    if (!t?.loaded || !room) return;
    const seq = maxSeq(t);
    if (seq <= (room.read_seq ?? 0)) return;
    this.updateRoom(roomId, (r) => ({ ...r, read_seq: seq, unread: 0 }));
    if (!this.socket.send({ type: "read", room_id: roomId, seq })) {
      this.conversationApi?.markRead(roomId, seq).catch(() => {});
    }
  }

  /** The user is typing in `roomId`: tells the room, at most once per 2 s. */
  typing(roomId: string): void {
    const now = this.now();
    if (now - (this.typingSent.get(roomId) ?? -Infinity) < TYPING_SEND_MS) return;
    if (this.socket.send({ type: "typing", room_id: roomId })) this.typingSent.set(roomId, now);
  }

  async editMessage(roomId: string, id: string, text: string): Promise<void> {
    const edited = await this.conversation().editMessage(roomId, id, text.trim());
    this.setTimeline(roomId, (t) => applyChanges(t, [edited]));
    this.replaceLastMessage(edited);
  }

  async deleteMessage(roomId: string, id: string): Promise<void> {
    const gone = await this.conversation().deleteMessage(roomId, id);
    this.setTimeline(roomId, (t) => applyChanges(t, [gone]));
    this.replaceLastMessage(gone);
  }

  /** Adds my reaction `emoji` to a message, or takes it back if I had reacted with it. */
  async toggleReaction(roomId: string, id: string, emoji: string): Promise<void> {
    const held = this.state.timelines[roomId]?.messages.find((m) => m._id === id);
    const mine = held?.reactions?.some((r) => r.emoji === emoji && r.me) ?? false;
    const reacted = await this.conversation().react(roomId, id, emoji, !mine);
    this.setTimeline(roomId, (t) => applyChanges(t, [reacted]));
  }

  /** Fetches every member's read position in a room (the server lists them for rooms of up
   * to 100 members). */
  async loadReads(roomId: string): Promise<void> {
    if (!this.conversationApi) return;
    try {
      const positions = await this.conversationApi.reads(roomId);
      const reads: Record<string, number> = { ...this.state.reads[roomId] };
      for (const p of positions) reads[p.user_id] = Math.max(reads[p.user_id] ?? 0, p.seq);
      this.set({ reads: { ...this.state.reads, [roomId]: reads } });
    } catch {
      // Read ticks are a nicety; the next receipt fills them in.
    }
  }

  /** Applies what changed in a loaded room since its cursor (edits, deletions, reactions). */
  private async syncChanges(roomId: string): Promise<void> {
    const since = this.cursors.get(roomId);
    if (!this.conversationApi || since === undefined) return;
    let cursor = since;
    for (;;) {
      const page = await this.conversationApi.changes(roomId, cursor);
      this.setTimeline(roomId, (t) => applyChanges(t, page.changes));
      for (const m of page.changes) this.replaceLastMessage(m);
      cursor = page.cursor;
      this.cursors.set(roomId, cursor);
      if (!page.more) return;
    }
  }

  /** Keeps the room list's last message in step with an edit, deletion or reaction. */
  private replaceLastMessage(m: Message): void {
    this.updateRoom(m.room_id, (r) =>
      r.last_message?._id === m._id ? { ...r, last_message: { ...r.last_message, ...m } } : r,
    );
  }

  private noteTyping(roomId: string, userId: string, name: string): void {
    const until = this.now() + TYPING_SHOW_MS;
    const room = { ...this.state.typing[roomId], [userId]: { name, until } };
    this.set({ typing: { ...this.state.typing, [roomId]: room } });
    this.scheduleTypingExpiry();
  }

  private stopTyping(roomId: string, userId: string): void {
    const room = this.state.typing[roomId];
    if (!room?.[userId]) return;
    const { [userId]: _gone, ...rest } = room;
    this.set({ typing: { ...this.state.typing, [roomId]: rest } });
  }

  /** Drops stale typing notices when the soonest one expires. */
  private scheduleTypingExpiry(): void {
    if (this.typingTimer !== null) clearTimeout(this.typingTimer);
    const now = this.now();
    let soonest = Infinity;
    for (const room of Object.values(this.state.typing)) {
      for (const entry of Object.values(room)) if (entry.until > now) soonest = Math.min(soonest, entry.until);
    }
    this.typingTimer = null;
    if (soonest === Infinity) return;
    this.typingTimer = setTimeout(() => {
      const at = this.now();
      const typing: Record<string, Record<string, TypingEntry>> = {};
      for (const [roomId, room] of Object.entries(this.state.typing)) {
        typing[roomId] = Object.fromEntries(Object.entries(room).filter(([, e]) => e.until > at));
      }
      this.set({ typing });
      this.scheduleTypingExpiry();
    }, soonest - now);
  }

  isOnline(userId: string, fallback?: boolean): boolean | undefined {
    return this.state.presence[userId] ?? fallback;
  }

  // --- timelines -----------------------------------------------------------------------------

  /** Loads the newest page of a room the first time it is shown. */
  async openRoom(roomId: string): Promise<void> {
    const t = this.state.timelines[roomId];
    if (t?.loaded) return;
    await this.catchUp(roomId);
  }

  /**
   * Opens a room at message `seq` (a search hit) and makes it the focus the view scrolls to and
   * highlights. A message already held is only focused. Otherwise the window around it joins the
   * messages held when it reaches them, or replaces them: the list stays contiguous by seq, and
   * the newer messages come back by catch-up (a live message, or "jump to latest").
   */
  async openAt(roomId: string, seq: number): Promise<void> {
    this.set({ focus: { roomId, seq } });
    const held = this.state.timelines[roomId];
    if (held?.loaded && held.messages.some((m) => m.seq === seq)) return;
    try {
      const page = await this.api.around(roomId, seq, PAGE_SIZE);
      this.setTimeline(roomId, (t) => {
        const oldest = oldestMessage(t);
        const joins = t.loaded && !!oldest && page.length > 0 && page[0].seq + 1 >= oldest.seq;
        return joins ? applyPage(t, page, PAGE_SIZE) : resetTo(t, page, page[page.length - 1]?.seq === 1);
      });
    } catch (err) {
      this.setTimeline(roomId, (t) => ({ ...t, error: describe(err) }));
    }
  }

  /** Drops the focus of `roomId`, when its view closes. */
  clearFocus(roomId: string): void {
    if (this.state.focus?.roomId === roomId) this.set({ focus: undefined });
  }

  /** Loads the page before the oldest loaded message. */
  async loadOlder(roomId: string): Promise<void> {
    const t = this.state.timelines[roomId];
    if (!t?.loaded || t.reachedStart || this.state.loadingOlder[roomId]) return;
    const oldest = oldestMessage(t);
    this.set({ loadingOlder: { ...this.state.loadingOlder, [roomId]: true } });
    try {
      const page = await this.api.messages(roomId, { limit: PAGE_SIZE, before: oldest?._id });
      this.setTimeline(roomId, (t) => applyPage(t, page, PAGE_SIZE));
    } catch (err) {
      this.setTimeline(roomId, (t) => ({ ...t, error: describe(err) }));
    } finally {
      this.set({ loadingOlder: { ...this.state.loadingOlder, [roomId]: false } });
    }
  }

  /**
   * Brings a room up to date: the newest page for a room never loaded, otherwise every message
   * after the newest one held. Concurrent calls for one room coalesce.
   */
  async catchUp(roomId: string): Promise<void> {
    if (this.catchingUp.has(roomId)) {
      this.catchingUp.set(roomId, true);
      return;
    }
    this.catchingUp.set(roomId, false);
    try {
      do {
        this.catchingUp.set(roomId, false);
        const t = this.state.timelines[roomId] ?? EMPTY_TIMELINE;
        try {
          if (!t.loaded) {
            // The cursor first: a change made while the page loads is then fetched again
            // rather than missed.
            if (this.conversationApi && !this.cursors.has(roomId)) {
              this.cursors.set(roomId, (await this.conversationApi.changes(roomId)).cursor);
            }
            const page = await this.api.messages(roomId, { limit: PAGE_SIZE });
            this.setTimeline(roomId, (t) => applyPage(t, page, PAGE_SIZE));
          } else {
            const r = await fetchMissed((id, o) => this.api.messages(id, o), roomId, maxSeq(t));
            this.setTimeline(roomId, (t) =>
              r.joined
                ? { ...applyPage(t, r.messages, PAGE_SIZE), reachedStart: t.reachedStart || r.reachedStart }
                : resetTo(t, r.messages, r.reachedStart),
            );
            await this.syncChanges(roomId);
          }
          void this.loadReads(roomId);
          if (this.viewing === roomId) this.markRead(roomId);
        } catch (err) {
          this.setTimeline(roomId, (t) => ({ ...t, error: describe(err) }));
        }
      } while (this.catchingUp.get(roomId) && !this.stopped);
    } finally {
      this.catchingUp.delete(roomId);
    }
  }

  // --- sending -------------------------------------------------------------------------------

  /** Sends `text` with the files already uploaded to the room; with files, the text may be empty. */
  send(roomId: string, text: string, attachments: readonly Attachment[] = []): void {
    const message = text.trim();
    if (!message && attachments.length === 0) return;
    const clientId = this.newClientId();
    this.setTimeline(roomId, (t) =>
      addPending(t, {
        client_id: clientId,
        room_id: roomId,
        message,
        attachments,
        created_at: new Date().toISOString(),
        status: "pending",
      }),
    );
    this.transmit(roomId, clientId, message, attachments);
  }

  retry(roomId: string, clientId: string): void {
    const p = this.state.timelines[roomId]?.pending.find((p) => p.client_id === clientId);
    if (!p) return;
    this.forgetRefusals(clientId);
    this.setTimeline(roomId, (t) => markRetrying(t, clientId));
    this.transmit(roomId, clientId, p.message, p.attachments);
  }

  discard(roomId: string, clientId: string): void {
    this.clearAck(clientId);
    this.forgetRefusals(clientId);
    this.setTimeline(roomId, (t) => discardPending(t, clientId));
  }

  /** Sends now if the socket is open; otherwise the send waits for the next open (`onOpen`). */
  private transmit(
    roomId: string,
    clientId: string,
    message: string,
    attachments: readonly Attachment[] = [],
  ): void {
    // The timer goes first: an echo can only clear a timer that already exists.
    this.clearAck(clientId);
    this.ackTimers.set(
      clientId,
      setTimeout(() => {
        this.ackTimers.delete(clientId);
        this.setTimeline(roomId, (t) =>
          markFailed(t, clientId, "The server did not confirm this message."),
        );
      }, this.ackTimeoutMs),
    );
    const frame: OutgoingMessage = { type: "message", room_id: roomId, message, client_id: clientId };
    if (attachments.length > 0) frame.attachments = attachments.map((a) => a.file_id);
    if (!this.socket.send(frame)) {
      this.clearAck(clientId);
    }
  }

  private clearAck(clientId: string): void {
    const timer = this.ackTimers.get(clientId);
    if (timer !== undefined) clearTimeout(timer);
    this.ackTimers.delete(clientId);
  }

  /** After a transient refusal: sends again later, the pause doubling each time, and
   * answers false once the send was refused more than {@link AUTO_RETRIES} times. */
  private retryLater(roomId: string, clientId: string): boolean {
    const refusals = (this.autoRetries.get(clientId)?.refusals ?? 0) + 1;
    this.forgetRefusals(clientId);
    if (refusals > AUTO_RETRIES) return false;
    const pause = AUTO_RETRY_BASE_MS * 2 ** (refusals - 1) * (0.5 + this.random() / 2);
    const timer = setTimeout(() => {
      const entry = this.autoRetries.get(clientId);
      if (entry) entry.timer = null;
      const p = this.state.timelines[roomId]?.pending.find((p) => p.client_id === clientId);
      if (p?.status === "pending") this.transmit(roomId, clientId, p.message, p.attachments);
    }, pause);
    this.autoRetries.set(clientId, { refusals, timer });
    return true;
  }

  private forgetRefusals(clientId: string): void {
    const timer = this.autoRetries.get(clientId)?.timer;
    if (timer) clearTimeout(timer);
    this.autoRetries.delete(clientId);
  }

  // --- socket events -------------------------------------------------------------------------

  private onOpen(reconnected: boolean): void {
    if (reconnected) {
      void this.refreshRooms();
      for (const [roomId, t] of Object.entries(this.state.timelines)) {
        // A group this user left has nothing more to fetch (its history answers 403).
        if (t.loaded && !(roomId in this.state.leftRooms)) void this.catchUp(roomId);
      }
    }
    // Whatever was waiting or unconfirmed goes (again) with its original client_id; a message the
    // server already stored is echoed, not stored twice.
    for (const [roomId, t] of Object.entries(this.state.timelines)) {
      for (const p of t.pending) {
        if (p.status === "pending") this.transmit(roomId, p.client_id, p.message, p.attachments);
      }
    }
  }

  private onEvent(e: ServerEvent): void {
    switch (e.type) {
      case "message":
      case "room_event": {
        const { type: _type, chat_id: _chat, ...m } = e;
        const message: Message = m;
        if (message.client_id) {
          this.clearAck(message.client_id);
          this.forgetRefusals(message.client_id);
        }
        this.stopTyping(message.room_id, message.sender_id);
        this.noteRead(message.room_id, message.sender_id, message.seq);
        if (endsMembership(message, this.state.me._id)) {
          // The last event of this room that reaches us: show it, then forget the room.
          this.forgetRoom(message.room_id);
        } else {
          if (message.event) {
            const e = message.event;
            const rejoined = e.kind === "added" && e.user_id === this.state.me._id;
            if (rejoined && message.room_id in this.state.leftRooms) {
              const { [message.room_id]: _back, ...leftRooms } = this.state.leftRooms;
              this.set({ leftRooms });
            }
            if (this.state.groups[message.room_id] || rejoined) void this.loadGroup(message.room_id);
          }
          this.noteRoomActivity(message);
        }
        const t = this.state.timelines[message.room_id];
        // Rooms never opened keep no messages: their first open fetches the newest page, and a
        // partial list from live events alone could hide a hole. A message that arrives while
        // that first page is in flight may be missing from it, so the load runs once more.
        if (!t?.loaded) {
          if (this.catchingUp.has(message.room_id)) this.catchingUp.set(message.room_id, true);
          return;
        }
        // Something between our newest and this one was missed: fetch it all rather than
        // holding a list with a hole in it.
        if (leavesGap(t, message)) {
          void this.catchUp(message.room_id);
          return;
        }
        this.setTimeline(message.room_id, (t) => applyLive(t, message));
        if (this.viewing === message.room_id) this.markRead(message.room_id);
        return;
      }
      case "read":
        this.noteRead(e.room_id, e.user_id, e.seq);
        if (e.user_id === this.state.me._id) {
          // Read on another device of mine.
          this.updateRoom(e.room_id, (r) => ((r.read_seq ?? 0) >= e.seq ? r : { ...r, read_seq: e.seq }));
        }
        return;
      case "typing":
        if (e.user_id !== this.state.me._id) this.noteTyping(e.room_id, e.user_id, e.name);
        return;
      case "message_edited": {
        const { type: _type, chat_id: _chat, ...edited } = e;
        this.setTimeline(edited.room_id, (t) => applyEdit(t, edited));
        this.replaceLastMessage(edited);
        return;
      }
      case "message_deleted": {
        this.setTimeline(e.room_id, (t) => applyDeletion(t, e._id));
        const last = this.state.rooms.find((r) => r._id === e.room_id)?.last_message;
        if (last?._id === e._id) this.replaceLastMessage(tombstone(last));
        return;
      }
      case "reaction":
        this.setTimeline(e.room_id, (t) => applyReaction(t, e, this.state.me._id));
        return;
      case "error": {
        const clientId = e.client_id;
        if (!clientId) return;
        this.clearAck(clientId);
        for (const [roomId, t] of Object.entries(this.state.timelines)) {
          if (!t.pending.some((p) => p.client_id === clientId)) continue;
          if (TRANSIENT_REFUSALS.has(e.code) && this.retryLater(roomId, clientId)) continue;
          this.setTimeline(roomId, (t) => markFailed(t, clientId, errorText(e.code, e.detail)));
        }
        return;
      }
      case "presence":
        this.set({ presence: { ...this.state.presence, [e.user_id]: e.online } });
        return;
    }
  }
}

function errorText(code: string, detail: string): string {
  if (code === "rate_limited") return "Sending too fast. Wait a moment and retry.";
  if (code === "overloaded") return "The server is too busy to take this message. Retry in a moment.";
  if (code === "unavailable") return "The server cannot store messages right now. Retry in a moment.";
  return detail || code;
}
