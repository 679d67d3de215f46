//! The JSON shapes of the Message App API: field names its React client already reads, the
//! bodies and queries REST handlers take, and the parsing REST and sockets share.

use std::borrow::Cow;

use bytes::Bytes;
use chat_core::event::ServerEvent;
use chat_core::files::{Attachment, FileRecord};
use chat_core::membership::RoomEvent;
use chat_core::model::{Message, RoomKind, Timestamp, User};
use chat_core::search::SearchHit;
use chat_core::{FileId, MessageId, RoomId, RoomSummary, UserId};
use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};

/// Malformed room ids are reported like unknown rooms, over REST and sockets alike.
pub fn parse_room(room: &str) -> Result<RoomId, chat_core::Error> {
    room.parse()
        .map_err(|_| chat_core::Error::NotFound("room not found".into()))
}

/// Malformed file ids are reported like unknown files.
pub fn parse_file(file: &str) -> Result<FileId, chat_core::Error> {
    file.parse()
        .map_err(|_| chat_core::Error::NotFound("file not found".into()))
}

/// The `attachments` of a send, over REST and sockets alike.
pub fn parse_files(files: &[String]) -> Result<Vec<FileId>, chat_core::Error> {
    files.iter().map(|file| parse_file(file)).collect()
}

/// Query of `GET /api/messages/{room_id}`.
#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    /// Page size.
    pub limit: Option<usize>,
    /// Message id to page back from.
    pub before: Option<String>,
    /// A seq of the room: the page around that message instead (not with `before`).
    pub around: Option<u64>,
    /// A seq to page forward from (oldest first), for catching up.
    pub after: Option<u64>,
}

/// Malformed message ids are reported like unknown messages.
pub fn parse_message(id: &str) -> Result<MessageId, chat_core::Error> {
    id.parse()
        .map_err(|_| chat_core::Error::NotFound("message not found".into()))
}

/// Query of `GET /api/search`.
#[derive(Debug, Deserialize)]
pub struct SearchIn {
    /// The words to find.
    pub q: Option<String>,
    /// Only this room; all the caller's rooms when absent or empty.
    pub room_id: Option<String>,
    /// Page size.
    pub limit: Option<usize>,
    /// The `_id` of the last hit of the previous page.
    pub before: Option<String>,
}

/// One piece of a snippet: text, marked when it matched. Clients render `text` as text.
#[derive(Debug, Serialize)]
pub struct SegmentOut<'a> {
    /// The characters, never markup.
    pub text: &'a str,
    /// Whether this piece matched a word of the search.
    pub hit: bool,
}

/// A search hit: the message (with its `room_id` and `seq`) and its snippet.
#[derive(Debug, Serialize)]
pub struct HitOut<'a> {
    /// The whole message, as history shows it.
    #[serde(flatten)]
    pub message: MessageOut<'a>,
    /// Text around the first match, matching words marked.
    pub snippet: Vec<SegmentOut<'a>>,
}

/// The answer of `GET /api/search`.
#[derive(Debug, Serialize)]
pub struct SearchOut<'a> {
    /// Newest first.
    pub hits: Vec<HitOut<'a>>,
    /// `before` for the next page; absent when this page was the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<String>,
}

impl<'a> SearchOut<'a> {
    /// The wire form of a page of `limit` hits: a short page is the last one.
    pub fn new(hits: &'a [SearchHit], limit: usize) -> Self {
        SearchOut {
            hits: hits
                .iter()
                .map(|hit| HitOut {
                    message: MessageOut::new(&hit.message),
                    snippet: hit
                        .snippet
                        .iter()
                        .map(|segment| SegmentOut {
                            text: &segment.text,
                            hit: segment.hit,
                        })
                        .collect(),
                })
                .collect(),
            next_before: hits
                .last()
                .filter(|_| hits.len() >= limit)
                .map(|hit| hit.message.id.to_string()),
        }
    }
}

/// A `before` query parameter: a message id, or none when absent or empty.
pub fn parse_cursor(before: Option<&str>) -> Result<Option<MessageId>, chat_core::Error> {
    match before.filter(|before| !before.is_empty()) {
        None => Ok(None),
        Some(cursor) => cursor
            .parse()
            .map(Some)
            .map_err(|_| chat_core::Error::Invalid("before must be a message id".into())),
    }
}

/// Body of `POST /api/messages/{room_id}`.
#[derive(Debug, Deserialize)]
pub struct SendIn {
    /// The text.
    pub message: String,
    /// Idempotency key.
    pub client_id: Option<String>,
    /// Ids of files the sender uploaded to the room, to attach.
    #[serde(default)]
    pub attachments: Vec<String>,
}

/// A file as uploads return it and messages list it.
#[derive(Debug, Serialize)]
pub struct FileOut<'a> {
    /// The file id, for `GET /api/files/{file_id}`.
    pub file_id: FileId,
    /// Its name.
    pub name: &'a str,
    /// Its length in bytes.
    pub size: u64,
    /// Its content type, sniffed from its bytes.
    pub content_type: &'a str,
    /// An image's width in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// An image's height in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl<'a> FileOut<'a> {
    /// The wire form of a message's attachment.
    pub fn new(attachment: &'a Attachment) -> Self {
        FileOut {
            file_id: attachment.file_id,
            name: &attachment.name,
            size: attachment.size,
            content_type: &attachment.content_type,
            width: attachment.width,
            height: attachment.height,
        }
    }

    /// The wire form of an uploaded file.
    pub fn of_record(file: &'a FileRecord) -> Self {
        FileOut {
            file_id: file.id,
            name: &file.name,
            size: file.size,
            content_type: &file.content_type,
            width: file.width,
            height: file.height,
        }
    }
}

/// Body of `POST /api/chats` and `POST /api/chats/create-room`; the old client also sends
/// `receiver_name`, which is ignored.
#[derive(Debug, Deserialize)]
pub struct OpenRoomIn {
    /// The other member.
    pub to_user_id: String,
}

/// RFC 3339 with milliseconds, in UTC.
pub fn time(timestamp: &Timestamp) -> String {
    timestamp.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `user` in login and register answers.
#[derive(Debug, Serialize)]
pub struct SessionUser {
    /// User id.
    pub id: UserId,
    /// Normalized email.
    pub email: String,
    /// Display name.
    pub name: String,
}

/// The answer to register and login.
#[derive(Debug, Serialize)]
pub struct SessionOut {
    /// What happened, for people.
    pub message: &'static str,
    /// The bearer token (also set as an HttpOnly cookie).
    pub token: String,
    /// Who is signed in.
    pub user: SessionUser,
}

/// A user as `/api/me` and `/api/all-users` show it.
#[derive(Debug, Serialize)]
pub struct UserOut {
    /// User id.
    #[serde(rename = "_id")]
    pub id: UserId,
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Registration time.
    pub created_at: String,
    /// Whether the user has an open socket; absent on `/api/me`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online: Option<bool>,
}

impl UserOut {
    /// Builds the wire form, with presence when known.
    pub fn new(user: User, online: Option<bool>) -> Self {
        UserOut {
            id: user.id,
            created_at: time(&user.created_at),
            email: user.email,
            name: user.name,
            online,
        }
    }
}

/// A stored message as REST returns it.
#[derive(Debug, Serialize)]
pub struct MessageOut<'a> {
    /// Message id, also the paging cursor.
    #[serde(rename = "_id")]
    pub id: MessageId,
    /// Room id.
    pub room_id: RoomId,
    /// Sender id.
    pub sender_id: UserId,
    /// Sender's name.
    pub sender_name: &'a str,
    /// The text; for a membership entry, the change in words ("Ann left").
    pub message: Cow<'a, str>,
    /// Acceptance time.
    pub timestamp: String,
    /// Position in the room.
    pub seq: u64,
    /// The sender's idempotency key, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<&'a str>,
    /// The membership change a timeline entry records (`{"kind":"added","user_id","role"}`
    /// etc.); absent on messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<&'a RoomEvent>,
    /// When the author last edited the text; absent if never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<String>,
    /// A tombstone: the text is gone for good.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// Reactions as the viewer sees them; absent when there are none or no viewer (events
    /// shared by many sockets).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<ReactionOut<'a>>,
    /// The files the message carries; absent when none, so old clients see what they knew.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<FileOut<'a>>,
}

/// One emoji on a message: how many reacted with it and whether the viewer did.
#[derive(Debug, Serialize)]
pub struct ReactionOut<'a> {
    /// The emoji.
    pub emoji: &'a str,
    /// How many users reacted with it.
    pub count: usize,
    /// Whether the viewer is one of them.
    pub me: bool,
}

impl<'a> MessageOut<'a> {
    /// Borrows a message for serialization.
    pub fn new(message: &'a Message) -> Self {
        MessageOut {
            id: message.id,
            room_id: message.room_id,
            sender_id: message.sender_id,
            sender_name: &message.sender_name,
            message: match &message.event {
                None => Cow::Borrowed(&message.text),
                Some(event) => Cow::Owned(event.describe(&message.sender_name)),
            },
            timestamp: time(&message.timestamp),
            seq: message.seq,
            client_id: message.client_id.as_deref(),
            event: message.event.as_ref(),
            edited_at: message.edited_at.as_ref().map(time),
            deleted: message.deleted,
            reactions: Vec::new(),
            attachments: message.attachments.iter().map(FileOut::new).collect(),
        }
    }

    /// Borrows a message for `viewer`, with its reactions.
    pub fn for_viewer(message: &'a Message, viewer: UserId) -> Self {
        MessageOut {
            reactions: message
                .reactions
                .iter()
                .map(|reaction| ReactionOut {
                    emoji: &reaction.emoji,
                    count: reaction.users.len(),
                    me: reaction.users.contains(&viewer),
                })
                .collect(),
            ..MessageOut::new(message)
        }
    }
}

/// A room in the caller's room list.
#[derive(Debug, Serialize)]
pub struct RoomOut<'a> {
    /// Room id.
    #[serde(rename = "_id")]
    pub id: String,
    /// `direct` or `group`.
    pub kind: &'static str,
    /// A group's name; absent for direct rooms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    /// Member ids (empty for groups: their members are paged under `/api/rooms`).
    pub participants: Vec<UserId>,
    /// Member names, in the same order.
    pub participant_names: Vec<&'a str>,
    /// The other member of a direct room.
    pub receiver_id: Option<UserId>,
    /// The other member's name; a group's name, which is what the original client shows.
    pub receiver_name: Option<&'a str>,
    /// Whether the other member is online.
    pub online: bool,
    /// When the room was opened.
    pub created_at: String,
    /// Newest message time, or creation time.
    pub last_activity: String,
    /// The newest message.
    pub last_message: Option<MessageOut<'a>>,
    /// Entries from others above the caller's read position.
    pub unread: u64,
    /// The caller's read position: the highest seq it has read.
    pub read_seq: u64,
    /// A direct room's other member's read position, for "read" ticks; absent for groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_read_seq: Option<u64>,
}

impl<'a> RoomOut<'a> {
    /// The room as `caller` sees it.
    pub fn new(summary: &'a RoomSummary, caller: UserId) -> Self {
        let other = summary
            .members
            .iter()
            .zip(&summary.online)
            .find(|(member, _)| member.id != caller);
        let group = summary.room.group.as_ref().map(|group| group.name.as_str());
        RoomOut {
            id: summary.room.id.to_string(),
            kind: match summary.room.kind {
                RoomKind::Direct => "direct",
                RoomKind::Group => "group",
            },
            name: group,
            participants: summary.room.members.clone(),
            participant_names: summary.members.iter().map(|m| m.name.as_str()).collect(),
            receiver_id: other.map(|(member, _)| member.id),
            receiver_name: group.or(other.map(|(member, _)| member.name.as_str())),
            online: other.is_some_and(|(_, online)| *online),
            created_at: time(&summary.room.created_at),
            last_activity: time(&summary.room.last_activity),
            last_message: summary.room.last_message.as_ref().map(MessageOut::new),
            unread: summary.unread,
            read_seq: summary.read_seq,
            other_read_seq: summary.other_read_seq,
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum EventOut<'a> {
    Message {
        #[serde(flatten)]
        message: MessageOut<'a>,
        chat_id: RoomId,
    },
    RoomEvent {
        #[serde(flatten)]
        message: MessageOut<'a>,
        chat_id: RoomId,
    },
    Presence {
        user_id: UserId,
        online: bool,
    },
    SessionsRevoked {
        user_id: UserId,
    },
    Read {
        room_id: RoomId,
        user_id: UserId,
        seq: u64,
    },
    Typing {
        room_id: RoomId,
        user_id: UserId,
        name: &'a str,
    },
    MessageEdited {
        #[serde(flatten)]
        message: MessageOut<'a>,
        chat_id: RoomId,
    },
    MessageDeleted {
        room_id: RoomId,
        #[serde(rename = "_id")]
        id: MessageId,
        seq: u64,
    },
    Reaction {
        room_id: RoomId,
        message_id: MessageId,
        emoji: &'a str,
        user_id: UserId,
        added: bool,
    },
    MembersChanged {
        room_id: RoomId,
    },
}

/// Whether a socket of the original protocol may receive `event`: chat messages and presence
/// only. Membership entries, receipts, typing, edits, deletions and reactions go to `chat.v2`
/// sockets alone, since the original client draws any frame with its room's id as a bubble.
pub fn v1_receives(event: &ServerEvent) -> bool {
    match event {
        ServerEvent::Message(message) => message.event.is_none(),
        ServerEvent::Presence { .. } => true,
        _ => false,
    }
}

/// Encodes a server event as the socket text frame clients read: `message`, `presence`, and
/// for `chat.v2` sockets only, `room_event` (a timeline entry with its `event`). Messages
/// encode the same for both protocols, so an event is still encoded once.
pub fn encode_event(event: &ServerEvent) -> Bytes {
    let out = match event {
        ServerEvent::Message(message) if message.event.is_some() => EventOut::RoomEvent {
            chat_id: message.room_id,
            message: MessageOut::new(message),
        },
        ServerEvent::Message(message) => EventOut::Message {
            chat_id: message.room_id,
            message: MessageOut::new(message),
        },
        ServerEvent::Presence { user_id, online } => EventOut::Presence {
            user_id: *user_id,
            online: *online,
        },
        ServerEvent::SessionsRevoked { user_id } => EventOut::SessionsRevoked { user_id: *user_id },
        ServerEvent::Read {
            room_id,
            user_id,
            seq,
        } => EventOut::Read {
            room_id: *room_id,
            user_id: *user_id,
            seq: *seq,
        },
        ServerEvent::Typing {
            room_id,
            user_id,
            name,
        } => EventOut::Typing {
            room_id: *room_id,
            user_id: *user_id,
            name,
        },
        ServerEvent::MessageEdited(message) => EventOut::MessageEdited {
            chat_id: message.room_id,
            message: MessageOut::new(message),
        },
        ServerEvent::MessageDeleted { room_id, id, seq } => EventOut::MessageDeleted {
            room_id: *room_id,
            id: *id,
            seq: *seq,
        },
        ServerEvent::Reaction {
            room_id,
            message_id,
            emoji,
            user_id,
            added,
        } => EventOut::Reaction {
            room_id: *room_id,
            message_id: *message_id,
            emoji,
            user_id: *user_id,
            added: *added,
        },
        ServerEvent::MembersChanged { room_id, .. } => {
            EventOut::MembersChanged { room_id: *room_id }
        }
    };
    serde_json::to_vec(&out)
        .map(Bytes::from)
        .unwrap_or_else(|_| Bytes::from_static(b"{\"type\":\"error\",\"code\":\"encoding\"}"))
}
