//! Message search: MongoDB's text index where the server has one, else a bounded scan.
//!
//! Which of the two a store uses is decided once, at connect (`Method::detect`): the store
//! creates the text index and runs one `$text` query; if the server refuses either, searches
//! scan instead. FerretDB v1.24 refuses both: the index with code 27 ("can't find index with
//! key: { text: "text" }"), `$text` with code 2 ("unknown top level operator: $text"). Both
//! methods return the same hits for whole words, newest first (timestamp, then id); neither
//! ever returns a membership entry or a deleted message (a tombstone). The scan walks the
//! `room_timestamp_id` index:
//!
//! - `TextIndex`: `$text` with each word as a quoted phrase (so every word must be present;
//!   bare words would be ORed) on the `text_search` index, created with language `none` so no
//!   English stemming or stop words apply to chat in any language; case and diacritics are
//!   ignored.
//! - `Scan`: one case-insensitive `$regex` per word over the messages of the caller's rooms.
//!   Words are runs of letters and digits (`chat_core::search::Terms`), so they are literal in
//!   a regex. The cost grows with the rooms' history, not with the whole collection, and the
//!   sort and limit stop it early on common words.

use std::sync::atomic::{AtomicBool, Ordering};

use chat_core::model::Message;
use chat_core::search::SearchQuery;
use chat_core::{MessageId, Result};
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};

use crate::codec::{self, oid};
use crate::error::MongoError;
use crate::schema::field::*;
use crate::store::MongoStore;
use crate::users::limit;

/// The name of the text index on `messages.text`.
const TEXT_INDEX: &str = "text_search";

/// How a store searches messages, chosen at connect by what the server supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMethod {
    /// A `$text` query on the text index (MongoDB).
    TextIndex,
    /// A case-insensitive regex per word over the caller's rooms (FerretDB v1, which has no
    /// text indexes).
    Scan,
}

/// The method a store settled on; a scan from the start when detection never ran.
#[derive(Debug, Default)]
pub(crate) struct Method {
    text_index: AtomicBool,
}

impl Method {
    pub(crate) fn get(&self) -> SearchMethod {
        if self.text_index.load(Ordering::Relaxed) {
            SearchMethod::TextIndex
        } else {
            SearchMethod::Scan
        }
    }

    /// Creates the text index and tries one `$text` query. A server that answers either with
    /// an error gets [`SearchMethod::Scan`]; an unreachable server fails the connect as any
    /// other index would.
    pub(crate) async fn detect(&self, messages: &Collection<Document>) -> Result<(), MongoError> {
        let options = IndexOptions::builder()
            .name(TEXT_INDEX.to_owned())
            .default_language("none".to_owned())
            .build();
        let index = IndexModel::builder()
            .keys(doc! { TEXT: "text" })
            .options(options)
            .build();
        let supported = match messages.create_index(index).await {
            Ok(_) => {
                let probe = messages
                    .find_one(doc! { "$text": { "$search": "\"probe\"" } })
                    .await;
                refused(probe)?
            }
            Err(error) => refused::<()>(Err(error))?,
        };
        self.text_index.store(supported, Ordering::Relaxed);
        if !supported {
            tracing::info!("the database has no text search; message search scans instead");
        }
        Ok(())
    }
}

/// `Ok(true)` when the server did it, `Ok(false)` when it answered with a refusal, the error
/// when it did not answer at all.
fn refused<T>(outcome: mongodb::error::Result<T>) -> Result<bool, MongoError> {
    match outcome {
        Ok(_) => Ok(true),
        Err(error) => match *error.kind {
            mongodb::error::ErrorKind::Command(ref refusal) => {
                tracing::info!(code = refusal.code, message = %refusal.message,
                    "the database refused text search");
                Ok(false)
            }
            _ => Err(error.into()),
        },
    }
}

impl MongoStore {
    /// The search: the rooms, the words by the chosen method, and the cursor, newest first.
    pub(crate) async fn search_messages(&self, query: &SearchQuery) -> Result<Vec<Message>> {
        let Some(max) = limit(query.limit).filter(|_| !query.rooms.is_empty()) else {
            return Ok(Vec::new());
        };
        let rooms: Vec<Bson> = query.rooms.iter().map(|room| oid(room.0).into()).collect();
        let mut filter = doc! {
            ROOM: { "$in": rooms },
            EVENT_KIND: { "$exists": false },
            DELETED: { "$ne": true },
        };
        match self.search_method() {
            SearchMethod::TextIndex => {
                let phrases: Vec<String> = query
                    .terms
                    .words()
                    .iter()
                    .map(|word| format!("\"{word}\""))
                    .collect();
                filter.insert(
                    "$text",
                    doc! { "$search": phrases.join(" "), "$diacriticSensitive": false },
                );
            }
            SearchMethod::Scan => {
                let words: Vec<Document> = query
                    .terms
                    .words()
                    .iter()
                    .map(|word| doc! { TEXT: { "$regex": word.as_str(), "$options": "i" } })
                    .collect();
                filter.insert("$and", words);
            }
        }
        if let Some(before) = query.before {
            match self.cursor(before).await? {
                Some(older) => filter.insert("$or", older),
                None => return Ok(Vec::new()),
            };
        }
        let found = self
            .find_sorted(&self.messages, filter, doc! { TIMESTAMP: -1, ID: -1 }, max)
            .await?;
        Ok(found
            .iter()
            .map(codec::message)
            .collect::<Result<_, MongoError>>()?)
    }

    /// The `$or` that keeps messages older than `before` in (timestamp, id) order, or `None`
    /// when there is no such message.
    async fn cursor(&self, before: MessageId) -> Result<Option<Vec<Document>>, MongoError> {
        let found = self
            .run(
                self.messages
                    .find_one(doc! { ID: oid(before.0) })
                    .projection(doc! { TIMESTAMP: 1 }),
            )
            .await?;
        let Some(at) = found.and_then(|doc| doc.get(TIMESTAMP).cloned()) else {
            return Ok(None);
        };
        Ok(Some(vec![
            doc! { TIMESTAMP: { "$lt": at.clone() } },
            doc! { TIMESTAMP: at, ID: { "$lt": oid(before.0) } },
        ]))
    }
}
