//! The collections, their field names, and the indexes every promise of the store rests on.
//!
//! [`ensure`] runs at every start-up and is idempotent: creating an index that exists with the
//! same keys, options and name is a no-op on the server, so several servers may start at once.

use mongodb::bson::{Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Database, IndexModel};

use crate::error::MongoError;

/// Accounts, `_id` = the user id.
pub(crate) const USERS: &str = "users";
/// Host-owned users, `_id` = the host's external id, `user` = the user it maps to.
pub(crate) const EXTERNAL_USERS: &str = "external_users";
/// Rooms and their members, `_id` = the room id.
pub(crate) const ROOMS: &str = "rooms";
/// Every message once, `_id` = the message id.
pub(crate) const MESSAGES: &str = "messages";
/// Sessions revoked one by one, `_id` = the session id.
pub(crate) const REVOKED_SESSIONS: &str = "revoked_sessions";
/// Group memberships, `_id` = `"{room}:{user}"` (`codec::member_key`).
pub(crate) const MEMBERS: &str = "members";
/// Read marks, `_id` = `"{room}:{user}:{seq, 20 digits}"` (`codec::read_key`): a read
/// position is the highest mark of its (room, user); marks are only inserted, and a writer
/// removes only marks below its own, so racing servers never move a position back.
pub(crate) const READS: &str = "reads";
/// Reactions, `_id` = `"{message}:{user}:{emoji}"`: one per user and emoji by the unique `_id`.
pub(crate) const REACTIONS: &str = "reactions";
/// An insert-only log of reaction changes (room, message, time), which catch-up pages by; a
/// reaction never updates the message document, whose updates FerretDB v1 does not apply
/// atomically.
pub(crate) const REACTION_CHANGES: &str = "reaction_changes";
/// Deletion markers, `_id` = the message id, inserted before a message is emptied so an edit
/// racing the deletion sees it and empties the message again.
pub(crate) const DELETIONS: &str = "deletions";
/// Uploaded files' records, `_id` = the file id.
pub(crate) const FILES: &str = "files";
/// Who holds each file, `_id` = the file id: the message it is attached to, or the collector.
/// Inserting here is what makes attaching (and collecting) exclusive across servers, since
/// FerretDB v1 has no atomic conditional update.
pub(crate) const FILE_CLAIMS: &str = "file_claims";
/// The GridFS bucket of file bytes (`blobs.files`, `blobs.chunks`).
pub(crate) const BLOB_BUCKET: &str = "blobs";

/// The write probe's one document (`_id` = [`HEALTH_PROBE_ID`]), upserted by readiness checks.
pub(crate) const HEALTH: &str = "_health";
/// The `_id` of the write probe's document; every node overwrites the same one.
pub(crate) const HEALTH_PROBE_ID: &str = "write_probe";

/// Field names shared by the codec, the queries and the indexes, so a typo cannot make a query
/// miss its index.
pub(crate) mod field {
    pub(crate) const ID: &str = "_id";
    pub(crate) const EMAIL: &str = "email";
    pub(crate) const NAME: &str = "name";
    pub(crate) const PASSWORD_HASH: &str = "password_hash";
    pub(crate) const CREATED_AT: &str = "created_at";
    pub(crate) const KIND: &str = "kind";
    pub(crate) const MEMBERS: &str = "members";
    /// The two member ids, sorted, as one string: what makes a direct room unique.
    pub(crate) const DIRECT_KEY: &str = "direct_key";
    pub(crate) const LAST_ACTIVITY: &str = "last_activity";
    pub(crate) const ROOM: &str = "room";
    pub(crate) const SEQ: &str = "seq";
    pub(crate) const SENDER: &str = "sender";
    pub(crate) const SENDER_NAME: &str = "sender_name";
    pub(crate) const TEXT: &str = "text";
    /// The idempotency key; see `codec::client_key`.
    pub(crate) const CLIENT_KEY: &str = "client_key";
    pub(crate) const TIMESTAMP: &str = "timestamp";
    pub(crate) const CREATED_BY: &str = "created_by";
    pub(crate) const USER: &str = "user";
    pub(crate) const ROLE: &str = "role";
    pub(crate) const JOINED_AT: &str = "joined_at";
    /// Set on timeline entries that record a membership change, with the fields below.
    pub(crate) const EVENT_KIND: &str = "event_kind";
    pub(crate) const EVENT_USER: &str = "event_user";
    pub(crate) const EVENT_ROLE: &str = "event_role";
    pub(crate) const EVENT_NAME: &str = "event_name";
    /// When the write probe last stored its document.
    pub(crate) const PROBED_AT: &str = "probed_at";
    /// A user's token generation; absent means 0.
    pub(crate) const TOKEN_GENERATION: &str = "token_generation";
    pub(crate) const EXPIRES_AT: &str = "expires_at";
    pub(crate) const EDITED_AT: &str = "edited_at";
    pub(crate) const DELETED: &str = "deleted";
    /// The newest edit or deletion of a message.
    pub(crate) const CHANGED_AT: &str = "changed_at";
    pub(crate) const EMOJI: &str = "emoji";
    /// An ObjectId made when a reaction was added: reactions are listed in this order.
    pub(crate) const ORDER: &str = "order";
    pub(crate) const AT: &str = "at";
    /// A message's attachments, an array of documents with the fields below.
    pub(crate) const ATTACHMENTS: &str = "attachments";
    pub(crate) const FILE_ID: &str = "file_id";
    pub(crate) const SIZE: &str = "size";
    pub(crate) const CONTENT_TYPE: &str = "content_type";
    pub(crate) const WIDTH: &str = "width";
    pub(crate) const HEIGHT: &str = "height";
    pub(crate) const UPLOADER: &str = "uploader";
    /// The message a reaction is on, the message a file is attached to (absent while
    /// unattached), or a claim's holder.
    pub(crate) const MESSAGE: &str = "message";
    /// Set on the collector's claim instead of `message`.
    pub(crate) const COLLECTED: &str = "collected";
    /// An account's `chat_core::model::AccountStatus`; absent means active.
    pub(crate) const STATUS: &str = "status";
}

/// Creates the collections and indexes if they are missing (the text index, which not every
/// server has, is `search`'s).
///
/// Collections are created implicitly by their first index. Every unique index covers fields
/// that every document has: MongoDB indexes a missing field as null, so a unique index over an
/// optional field would refuse the second document without it, and FerretDB v1 has no partial
/// indexes to work around that. Hence every message carries a `client_key`.
pub(crate) async fn ensure(db: &Database) -> Result<(), MongoError> {
    use field::*;
    let plan: [(&str, Document, &str, bool); 19] = [
        (USERS, doc! { EMAIL: 1 }, "email_unique", true),
        // External ids are unique by `_id`; each user has at most one.
        (EXTERNAL_USERS, doc! { USER: 1 }, "user_unique", true),
        // Search sorts by name then id and filters by a substring, which no index can seek; this
        // one lets the server walk users in the answer's order and stop at the limit.
        (USERS, doc! { NAME: 1, ID: 1 }, "name_id", false),
        (ROOMS, doc! { DIRECT_KEY: 1 }, "direct_key_unique", true),
        (
            ROOMS,
            doc! { MEMBERS: 1, LAST_ACTIVITY: -1, ID: -1 },
            "members_activity",
            false,
        ),
        (MESSAGES, doc! { ROOM: 1, SEQ: 1 }, "room_seq_unique", true),
        (
            MESSAGES,
            doc! { ROOM: 1, SENDER: 1, CLIENT_KEY: 1 },
            "room_sender_client_key_unique",
            true,
        ),
        // A group's current name is its newest rename: one step down this index.
        (
            MESSAGES,
            doc! { ROOM: 1, EVENT_KIND: 1, SEQ: -1 },
            "room_event_kind_seq",
            false,
        ),
        // Search hits come newest first from the caller's rooms: a merge of one range per room.
        (
            MESSAGES,
            doc! { ROOM: 1, TIMESTAMP: -1, ID: -1 },
            "room_timestamp_id",
            false,
        ),
        // Memberships are unique by `_id`; these page a group's members and list a user's groups.
        (MEMBERS, doc! { ROOM: 1, USER: 1 }, "room_user", false),
        (MEMBERS, doc! { USER: 1 }, "user", false),
        (REVOKED_SESSIONS, doc! { USER: 1 }, "user", false),
        (
            READS,
            doc! { ROOM: 1, USER: 1, SEQ: -1 },
            "room_user_seq",
            false,
        ),
        (
            MESSAGES,
            doc! { ROOM: 1, CHANGED_AT: 1 },
            "room_changed_at",
            false,
        ),
        (
            REACTIONS,
            doc! { MESSAGE: 1, ORDER: 1 },
            "message_order",
            false,
        ),
        (REACTION_CHANGES, doc! { ROOM: 1, AT: 1 }, "room_at", false),
        // A message's files, and the collector's walk over unattached files by age.
        (FILES, doc! { MESSAGE: 1 }, "message", false),
        (FILES, doc! { CREATED_AT: 1, ID: 1 }, "created_at_id", false),
        (FILE_CLAIMS, doc! { MESSAGE: 1 }, "message", false),
    ];
    for (collection, keys, name, unique) in plan {
        let options = IndexOptions::builder()
            .name(name.to_owned())
            .unique(unique.then_some(true))
            .build();
        let index = IndexModel::builder().keys(keys).options(options).build();
        db.collection::<Document>(collection)
            .create_index(index)
            .await?;
    }
    Ok(())
}
