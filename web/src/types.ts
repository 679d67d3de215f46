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
}

export interface Room {
  _id: string;
  participants: string[];
  participant_names: string[];
  receiver_id: string;
  receiver_name: string;
  created_at: string;
  /** When the room last changed (its newest message, else its creation); newer servers send it. */
  last_activity?: string;
  last_message: Message | null;
  online?: boolean;
}

export interface AuthResponse {
  message: string;
  token: string;
  user: { id: string; email: string; name: string };
}

/** Server → client WebSocket events. */
export type ServerEvent =
  | ({ type: "message"; chat_id?: string } & Message)
  | { type: "error"; code: string; detail: string; client_id?: string | null }
  | { type: "presence"; user_id: string; online: boolean };

/** Client → server WebSocket frame. */
export interface OutgoingMessage {
  type: "message";
  room_id: string;
  message: string;
  client_id: string;
}
