//! `chat-store-mongo`: the chat engine's storage traits on MongoDB, for operators who run several
//! `chat` servers over one database.
//!
//! Every promise of `chat_core::store` holds across processes because it rests on a unique
//! index, never on state inside one server: one user per email, one direct room per pair, one
//! message per (room, seq) and one per (room, sender, client id), one membership per (group,
//! user). A group's name and the hand-over of its ownership are read from or keyed in the
//! history, because FerretDB v1 has neither multi-document transactions nor atomic updates.
//!
//! Module map: `store` connects and owns the collections; `schema` names the collections and
//! fields and creates the indexes; `codec` turns documents into the core's records and back;
//! `users`, `rooms`, `messages`, `groups`, `conversation` (with `reactions`) and `files`
//! implement one trait each; `search` finds messages by text index or by scan; `gridfs` keeps
//! file bytes in a GridFS bucket (`GridFsBlobStore`); `lanes` makes appends to one room
//! take turns inside a process; `batch` groups the inserts of concurrent appends into one
//! `insertMany`; `error` classifies driver failures into the core's kinds.
//!
//! Only operations that MongoDB documents are used. The tests run against FerretDB on SQLite:
//! where FerretDB lacks a feature, the design avoids it and a comment says so.

mod admin;
mod batch;
mod codec;
mod conversation;
mod error;
mod external;
mod files;
mod gridfs;
mod groups;
mod lanes;
mod messages;
mod reactions;
mod rooms;
mod schema;
mod search;
mod sessions;
mod store;
mod users;

pub use error::MongoError;
pub use gridfs::GridFsBlobStore;
pub use search::SearchMethod;
pub use store::MongoStore;
