//! Documents to records and back.
//!
//! Ids are stored as ObjectIds (the core's ids have the same 12-byte shape, so `_id` lookups use
//! the server's native type), instants as BSON dates (milliseconds, the core's precision), seqs
//! as 64-bit integers.

use chat_core::files::{Attachment, FileRecord};
use chat_core::id::RawId;
use chat_core::membership::{GroupInfo, Member, Role, RoomEvent};
use chat_core::model::{
    Account, AccountStatus, Credentials, Message, NewUser, Room, RoomKind, Timestamp, User,
};
use chat_core::{FileId, MessageId, RoomId, UserId};
use mongodb::bson::document::ValueAccessError;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, DateTime, Document, doc};

use crate::error::MongoError;
use crate::schema::field::*;
use crate::schema::{FILES, MEMBERS, MESSAGES, REACTION_CHANGES, REACTIONS, ROOMS, USERS};

/// The ObjectId with the same 12 bytes as a core id.
pub(crate) fn oid(id: RawId) -> ObjectId {
    ObjectId::from_bytes(*id.as_bytes())
}

fn raw(doc: &Document, key: &str) -> Result<RawId, ValueAccessError> {
    Ok(RawId::from_bytes(doc.get_object_id(key)?.bytes()))
}

/// A core instant as a BSON date.
pub(crate) fn date(at: Timestamp) -> DateTime {
    DateTime::from_millis(at.timestamp_millis())
}

fn instant(doc: &Document, key: &str) -> Result<Timestamp, ValueAccessError> {
    let millis = doc.get_datetime(key)?.timestamp_millis();
    chrono::DateTime::from_timestamp_millis(millis).ok_or(ValueAccessError::UnexpectedType)
}

/// Reads a non-negative integer whichever width the server chose to keep it in.
pub(crate) fn unsigned(doc: &Document, key: &str) -> Result<u64, ValueAccessError> {
    let value = match doc.get(key) {
        Some(Bson::Int64(value)) => *value,
        Some(Bson::Int32(value)) => i64::from(*value),
        Some(_) => return Err(ValueAccessError::UnexpectedType),
        None => return Err(ValueAccessError::NotPresent),
    };
    u64::try_from(value).map_err(|_| ValueAccessError::UnexpectedType)
}

/// A seq as stored: BSON has no unsigned integers, and no room reaches 2^63 messages.
pub(crate) fn seq_value(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn malformed(collection: &'static str) -> impl FnOnce(ValueAccessError) -> MongoError {
    move |source| MongoError::Malformed { collection, source }
}

/// The stored form of a new account.
pub(crate) fn user_doc(user: &NewUser) -> Document {
    doc! {
        ID: oid(user.id.0),
        EMAIL: &user.email,
        NAME: &user.name,
        PASSWORD_HASH: &user.password_hash,
        CREATED_AT: date(user.created_at),
    }
}

/// The public part of a stored account.
pub(crate) fn user(doc: &Document) -> Result<User, MongoError> {
    let read = || {
        Ok(User {
            id: UserId(raw(doc, ID)?),
            email: doc.get_str(EMAIL)?.to_owned(),
            name: doc.get_str(NAME)?.to_owned(),
            created_at: instant(doc, CREATED_AT)?,
        })
    };
    read().map_err(malformed(USERS))
}

/// A stored account with its password hash.
pub(crate) fn credentials(doc: &Document) -> Result<Credentials, MongoError> {
    Ok(Credentials {
        user: user(doc)?,
        password_hash: doc
            .get_str(PASSWORD_HASH)
            .map_err(malformed(USERS))?
            .to_owned(),
        status: status(doc)?,
    })
}

/// A stored account as operators see it.
pub(crate) fn account(doc: &Document) -> Result<Account, MongoError> {
    Ok(Account {
        user: user(doc)?,
        status: status(doc)?,
    })
}

/// An account's status: active when the field is absent (accounts from before it existed).
fn status(doc: &Document) -> Result<AccountStatus, MongoError> {
    match doc.get_str(STATUS) {
        Err(ValueAccessError::NotPresent) => Ok(AccountStatus::Active),
        Ok(text) => AccountStatus::parse(text)
            .ok_or(ValueAccessError::UnexpectedType)
            .map_err(malformed(USERS)),
        Err(error) => Err(malformed(USERS)(error)),
    }
}

/// The unique key of the direct room of a pair, whichever order the pair comes in.
pub(crate) fn direct_key(a: UserId, b: UserId) -> String {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    format!("{low}:{high}")
}

/// The stored form of a new direct room.
pub(crate) fn room_doc(room: &Room) -> Document {
    let members: Vec<Bson> = room
        .members
        .iter()
        .map(|member| Bson::ObjectId(oid(member.0)))
        .collect();
    doc! {
        ID: oid(room.id.0),
        KIND: "direct",
        MEMBERS: members,
        DIRECT_KEY: direct_key(room.members[0], room.members[room.members.len() - 1]),
        CREATED_AT: date(room.created_at),
        LAST_ACTIVITY: date(room.last_activity),
    }
}

/// The stored form of a new group. Its `direct_key` is made from its own id: every room needs
/// one, as the unique index over it would otherwise refuse the second room without it.
/// Members live in their own collection, not in the room document.
pub(crate) fn group_doc(room: &Room, info: &GroupInfo) -> Document {
    doc! {
        ID: oid(room.id.0),
        KIND: "group",
        DIRECT_KEY: format!("g:{}", room.id),
        NAME: &info.name,
        CREATED_BY: oid(info.created_by.0),
        CREATED_AT: date(room.created_at),
        LAST_ACTIVITY: date(room.last_activity),
    }
}

/// A stored room, without its last message, which lives only in the history (see `rooms`);
/// a group's name is the one it was created with until `rooms` finds a later rename.
pub(crate) fn room(doc: &Document) -> Result<Room, MongoError> {
    let read = || {
        let (kind, members, group) = match doc.get_str(KIND)? {
            "direct" => {
                let members = doc
                    .get_array(MEMBERS)?
                    .iter()
                    .map(|member| match member {
                        Bson::ObjectId(id) => Ok(UserId(RawId::from_bytes(id.bytes()))),
                        _ => Err(ValueAccessError::UnexpectedType),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                (RoomKind::Direct, members, None)
            }
            "group" => {
                let info = GroupInfo {
                    name: doc.get_str(NAME)?.to_owned(),
                    created_by: UserId(raw(doc, CREATED_BY)?),
                };
                (RoomKind::Group, Vec::new(), Some(info))
            }
            _ => return Err(ValueAccessError::UnexpectedType),
        };
        Ok(Room {
            id: RoomId(raw(doc, ID)?),
            kind,
            members,
            created_at: instant(doc, CREATED_AT)?,
            last_activity: instant(doc, LAST_ACTIVITY)?,
            last_message: None,
            group,
        })
    };
    read().map_err(malformed(ROOMS))
}

/// The idempotency key of a message: the client's id when it gave one, else one made from the
/// message id. Every message has one because the unique (room, sender, key) index would
/// otherwise treat all the messages without a client id as duplicates of each other (see
/// `schema::ensure`). The prefixes keep the two kinds apart, so a client cannot collide with a
/// server-made key, and let the reader give back `client_id: None`.
pub(crate) fn client_key(id: MessageId, client_id: Option<&str>) -> String {
    match client_id {
        Some(client_id) => format!("c:{client_id}"),
        None => format!("s:{id}"),
    }
}

/// The stored form of a message, under its own idempotency key.
#[cfg(test)]
fn message_doc(message: &Message) -> Document {
    entry_doc(
        message,
        &client_key(message.id, message.client_id.as_deref()),
    )
}

/// The stored form of a timeline entry under the idempotency key `key`. A membership change
/// carries its event as flat `event_*` fields (`chat_core::membership::EventParts`); a chat
/// message has none of them.
pub(crate) fn entry_doc(message: &Message, key: &str) -> Document {
    let mut doc = doc! {
        ID: oid(message.id.0),
        ROOM: oid(message.room_id.0),
        SEQ: seq_value(message.seq),
        SENDER: oid(message.sender_id.0),
        SENDER_NAME: &message.sender_name,
        TEXT: &message.text,
        CLIENT_KEY: key,
        TIMESTAMP: date(message.timestamp),
    };
    if !message.attachments.is_empty() {
        let attachments: Vec<Document> = message.attachments.iter().map(attachment_doc).collect();
        doc.insert(ATTACHMENTS, attachments);
    }
    if let Some(event) = &message.event {
        let parts = event.parts();
        doc.insert(EVENT_KIND, parts.kind);
        if let Some(user) = parts.user {
            doc.insert(EVENT_USER, oid(user.0));
        }
        if let Some(role) = parts.role {
            doc.insert(EVENT_ROLE, role.as_str());
        }
        if let Some(name) = parts.name {
            doc.insert(EVENT_NAME, name);
        }
    }
    doc
}

/// The membership change a stored entry records, if any.
fn event(doc: &Document) -> Result<Option<RoomEvent>, ValueAccessError> {
    let kind = match doc.get_str(EVENT_KIND) {
        Ok(kind) => kind,
        Err(ValueAccessError::NotPresent) => return Ok(None),
        Err(error) => return Err(error),
    };
    let user = match doc.get(EVENT_USER) {
        Some(_) => Some(UserId(raw(doc, EVENT_USER)?)),
        None => None,
    };
    let role = match doc.get(EVENT_ROLE) {
        Some(_) => Some(role(doc, EVENT_ROLE)?),
        None => None,
    };
    let name = match doc.get(EVENT_NAME) {
        Some(_) => Some(doc.get_str(EVENT_NAME)?.to_owned()),
        None => None,
    };
    RoomEvent::from_parts(kind, user, role, name)
        .map(Some)
        .ok_or(ValueAccessError::UnexpectedType)
}

fn role(doc: &Document, key: &str) -> Result<Role, ValueAccessError> {
    Role::parse(doc.get_str(key)?).ok_or(ValueAccessError::UnexpectedType)
}

/// The `_id` of a read mark: ordered by seq within its (room, user) because the seq is
/// zero-padded.
pub(crate) fn read_key(room: RoomId, user: UserId, seq: u64) -> String {
    format!("{room}:{user}:{seq:020}")
}

/// The `_id` of a reaction: one per message, user and emoji.
pub(crate) fn reaction_key(message: MessageId, user: UserId, emoji: &str) -> String {
    format!("{message}:{user}:{emoji}")
}

/// A stored instant field, for callers outside this module.
pub(crate) fn instant_of(doc: &Document, key: &str) -> Result<Timestamp, MongoError> {
    instant(doc, key).map_err(malformed(MESSAGES))
}

/// A stored reaction: its message, user and emoji.
pub(crate) fn reaction(doc: &Document) -> Result<(MessageId, UserId, String), MongoError> {
    let read = || {
        Ok((
            MessageId(raw(doc, MESSAGE)?),
            UserId(raw(doc, USER)?),
            doc.get_str(EMOJI)?.to_owned(),
        ))
    };
    read().map_err(malformed(REACTIONS))
}

/// A logged reaction change: its message and time.
pub(crate) fn reaction_change(doc: &Document) -> Result<(MessageId, Timestamp), MongoError> {
    let read = || Ok((MessageId(raw(doc, MESSAGE)?), instant(doc, AT)?));
    read().map_err(malformed(REACTION_CHANGES))
}

/// The `_id` of a membership: room and user, so the unique `_id` index allows one membership
/// per pair however many servers add it at once.
pub(crate) fn member_key(room: RoomId, user: UserId) -> String {
    format!("{room}:{user}")
}

/// The stored form of a membership.
pub(crate) fn member_doc(room: RoomId, member: &Member) -> Document {
    doc! {
        ID: member_key(room, member.user_id),
        ROOM: oid(room.0),
        USER: oid(member.user_id.0),
        ROLE: member.role.as_str(),
        JOINED_AT: date(member.joined_at),
    }
}

/// A stored membership.
pub(crate) fn member(doc: &Document) -> Result<Member, MongoError> {
    let read = || {
        Ok(Member {
            user_id: UserId(raw(doc, USER)?),
            role: role(doc, ROLE)?,
            joined_at: instant(doc, JOINED_AT)?,
        })
    };
    read().map_err(malformed(MEMBERS))
}

/// A stored message.
pub(crate) fn message(doc: &Document) -> Result<Message, MongoError> {
    let read = || {
        let client_id = match doc.get_str(CLIENT_KEY)?.split_once(':') {
            Some(("c", client_id)) => Some(client_id.to_owned()),
            Some(("s" | "e", _)) => None,
            _ => return Err(ValueAccessError::UnexpectedType),
        };
        Ok(Message {
            id: MessageId(raw(doc, ID)?),
            room_id: RoomId(raw(doc, ROOM)?),
            seq: unsigned(doc, SEQ)?,
            sender_id: UserId(raw(doc, SENDER)?),
            sender_name: doc.get_str(SENDER_NAME)?.to_owned(),
            text: doc.get_str(TEXT)?.to_owned(),
            client_id,
            timestamp: instant(doc, TIMESTAMP)?,
            event: event(doc)?,
            edited_at: match doc.get(EDITED_AT) {
                Some(_) => Some(instant(doc, EDITED_AT)?),
                None => None,
            },
            deleted: doc.get_bool(DELETED).unwrap_or(false),
            reactions: Vec::new(),
            attachments: match doc.get_array(ATTACHMENTS) {
                Ok(items) => items
                    .iter()
                    .map(|item| match item {
                        Bson::Document(item) => attachment(item),
                        _ => Err(ValueAccessError::UnexpectedType),
                    })
                    .collect::<Result<_, _>>()?,
                Err(ValueAccessError::NotPresent) => Vec::new(),
                Err(err) => return Err(err),
            },
        })
    };
    read().map_err(malformed(MESSAGES))
}

fn attachment_doc(attachment: &Attachment) -> Document {
    let mut doc = doc! {
        FILE_ID: oid(attachment.file_id.0),
        NAME: &attachment.name,
        SIZE: seq_value(attachment.size),
        CONTENT_TYPE: &attachment.content_type,
    };
    put_size(&mut doc, attachment.width, attachment.height);
    doc
}

fn attachment(doc: &Document) -> Result<Attachment, ValueAccessError> {
    Ok(Attachment {
        file_id: FileId(raw(doc, FILE_ID)?),
        name: doc.get_str(NAME)?.to_owned(),
        size: unsigned(doc, SIZE)?,
        content_type: doc.get_str(CONTENT_TYPE)?.to_owned(),
        width: pixels(doc, WIDTH)?,
        height: pixels(doc, HEIGHT)?,
    })
}

/// Stores an image's size, when known.
fn put_size(doc: &mut Document, width: Option<u32>, height: Option<u32>) {
    if let Some(width) = width {
        doc.insert(WIDTH, i64::from(width));
    }
    if let Some(height) = height {
        doc.insert(HEIGHT, i64::from(height));
    }
}

fn pixels(doc: &Document, key: &str) -> Result<Option<u32>, ValueAccessError> {
    match unsigned(doc, key) {
        Ok(value) => u32::try_from(value)
            .map(Some)
            .map_err(|_| ValueAccessError::UnexpectedType),
        Err(ValueAccessError::NotPresent) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The stored form of a file record; `message` is absent while it is unattached.
pub(crate) fn file_doc(file: &FileRecord) -> Document {
    let mut doc = doc! {
        ID: oid(file.id.0),
        ROOM: oid(file.room_id.0),
        UPLOADER: oid(file.uploader_id.0),
        NAME: &file.name,
        SIZE: seq_value(file.size),
        CONTENT_TYPE: &file.content_type,
        CREATED_AT: date(file.created_at),
    };
    put_size(&mut doc, file.width, file.height);
    if let Some(message) = file.message_id {
        doc.insert(MESSAGE, oid(message.0));
    }
    doc
}

/// A stored file record.
pub(crate) fn file(doc: &Document) -> Result<FileRecord, MongoError> {
    let read = || {
        Ok(FileRecord {
            id: FileId(raw(doc, ID)?),
            room_id: RoomId(raw(doc, ROOM)?),
            uploader_id: UserId(raw(doc, UPLOADER)?),
            name: doc.get_str(NAME)?.to_owned(),
            size: unsigned(doc, SIZE)?,
            content_type: doc.get_str(CONTENT_TYPE)?.to_owned(),
            width: pixels(doc, WIDTH)?,
            height: pixels(doc, HEIGHT)?,
            created_at: instant(doc, CREATED_AT)?,
            message_id: match doc.get_object_id(MESSAGE) {
                Ok(message) => Some(MessageId(RawId::from_bytes(message.bytes()))),
                Err(ValueAccessError::NotPresent) => None,
                Err(err) => return Err(err),
            },
        })
    };
    read().map_err(malformed(FILES))
}

#[cfg(test)]
mod tests {
    use chat_core::model::now;

    use super::*;

    #[test]
    fn messages_round_trip_with_and_without_client_id() {
        for client_id in [None, Some("c1"), Some("s:looks:like:server"), Some("")] {
            let original = Message {
                id: MessageId::generate(),
                room_id: RoomId::generate(),
                seq: 42,
                sender_id: UserId::generate(),
                sender_name: "Ann".into(),
                text: "héllo \u{0}".into(),
                client_id: client_id.map(Into::into),
                timestamp: now(),
                event: None,
                edited_at: None,
                deleted: false,
                reactions: Vec::new(),
                attachments: Vec::new(),
            };
            assert_eq!(message(&message_doc(&original)).unwrap(), original);
        }
    }

    #[test]
    fn direct_keys_ignore_the_order_of_the_pair() {
        let (a, b) = (UserId::generate(), UserId::generate());
        assert_eq!(direct_key(a, b), direct_key(b, a));
        assert_ne!(direct_key(a, b), direct_key(a, UserId::generate()));
    }
}
