// Shapes of the server's JSON, as the API contract names them. Ids are opaque strings.

export interface User {
  _id: string;
  email: string;
  name: string;
  created_at: string;
  /** Present only when the server tracks presence. */
  online?: boolean;
}

/** A stored message, as `GET /api/messages/{room}` and the WebSocket deliver it. */
export interface Message {
  _id: string;
  room_id: string;
  sender_id: string;
  sender_name: string;
  message: string;
  /** RFC 3339. */
  timestamp: string;
  /** Per room, gapless, starting at 1: the order every member sees. */
  seq: number;
  client_id?: string | null;
  /** Set on a group's membership entries (added, removed, renamed…); `message` then says it in words. */
  event?: RoomEvent | null;
  /** When the author last edited it (RFC 3339); absent if never. */
  edited_at?: string;
  /** A tombstone: the text is gone for good (`message` is empty). */
  deleted?: boolean;
  /** Reactions as this user sees them (history only; events carry them one by one). */
  reactions?: Reaction[];
  /** Files the message carries; absent when none. */
  attachments?: Attachment[];
}

export interface Reaction {
  emoji: string;
  count: number;
  /** This user reacted with it. */
  me: boolean;
}

/** A file as an upload returns it and a message lists it. */
export interface Attachment {
  file_id: string;
  name: string;
  size: number;
  /** Sniffed by the server from the bytes. */
  content_type: string;
  width?: number;
  height?: number;
}

export type Role = "owner" | "admin" | "member";

/** A membership change, as a group's timeline records it. */
export type RoomEvent =
  | { kind: "created"; name: string }
  | { kind: "added"; user_id: string; role: Role }
  | { kind: "removed"; user_id: string }
  | { kind: "left"; user_id: string }
  | { kind: "renamed"; name: string }
  | { kind: "role_changed"; user_id: string; role: Role };

export interface Member {
  user_id: string;
  name: string;
  role: Role;
  joined_at?: string;
}

/** A group room, as `POST /api/rooms` and `GET /api/rooms/{id}` return it (first 100 members). */
export interface Group {
  _id: string;
  kind: "group";
  name: string;
  created_at: string;
  created_by: string;
  member_count: number;
  members: Member[];
}

export interface Room {
  _id: string;
  /** Newer servers say which kind; absent means direct. */
  kind?: "direct" | "group";
  /** A group's name (its `receiver_name` carries it too). */
  name?: string;
  participants: string[];
  participant_names: string[];
  receiver_id: string;
  receiver_name: string;
  created_at: string;
  /** When the room last changed (its newest message, else its creation); newer servers send it. */
  last_activity?: string;
  last_message: Message | null;
  online?: boolean;
  /** Entries from others above my read position. */
  unread?: number;
  /** My read position: the highest seq I have read. */
  read_seq?: number;
  /** A direct room's other member's read position, for read ticks. */
  other_read_seq?: number;
}

/** A member's read position, as `GET /api/rooms/{id}/reads` lists them. */
export interface ReadPosition {
  room_id: string;
  user_id: string;
  seq: number;
}

/** A page of `GET /api/rooms/{id}/changes`. */
export interface ChangesPage {
  cursor: string;
  more: boolean;
  changes: Message[];
}

export interface AuthResponse {
  message: string;
  token: string;
  user: { id: string; email: string; name: string };
}

/** Server → client WebSocket events. */
export type ServerEvent =
  | ({ type: "message"; chat_id?: string } & Message)
  /** Protocol v2 only: a membership entry of a group's timeline, with its `event`. */
  | ({ type: "room_event"; chat_id?: string } & Message & { event: RoomEvent })
  | { type: "error"; code: string; detail: string; client_id?: string | null }
  | { type: "presence"; user_id: string; online: boolean }
  /** Protocol v2 only, as are the four below. */
  | { type: "read"; room_id: string; user_id: string; seq: number }
  | { type: "typing"; room_id: string; user_id: string; name: string }
  | ({ type: "message_edited"; chat_id?: string } & Message)
  | { type: "message_deleted"; room_id: string; _id: string; seq: number }
  | { type: "reaction"; room_id: string; message_id: string; emoji: string; user_id: string; added: boolean };

/** A piece of a search hit's snippet. `text` is plain text (render it escaped); `hit` marks a
 * word that matched. */
export interface SnippetPart {
  text: string;
  hit: boolean;
}

/** A message that matched a search (`GET /api/search`), with its snippet. */
export interface SearchHit extends Message {
  snippet: SnippetPart[];
}

/** One page of search results; `next_before` asks for the next one. */
export interface SearchPage {
  hits: SearchHit[];
  next_before?: string;
}

/** Client → server WebSocket frame. */
export interface OutgoingMessage {
  type: "message";
  room_id: string;
  message: string;
  client_id: string;
  /** Ids of files uploaded to the room, to attach. */
  attachments?: string[];
}

/** Every frame a client sends: messages, read positions, typing notices. */
export type OutgoingFrame =
  | OutgoingMessage
  | { type: "read"; room_id: string; seq: number }
  | { type: "typing"; room_id: string };
