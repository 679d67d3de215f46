//! The store itself: connecting, the collections it owns, deadlines, health and flushing.

use std::future::IntoFuture;
use std::time::Duration;

use async_trait::async_trait;
use chat_core::store::Store;
use futures_util::TryStreamExt;
use mongodb::bson::{Document, doc};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database};

use crate::batch::Inserts;
use crate::codec::unsigned;
use crate::error::MongoError;
use crate::gridfs::GridFsBlobStore;
use crate::lanes::Lanes;
use crate::schema::field::SEQ;
use crate::schema::{
    self, BLOB_BUCKET, DELETIONS, EXTERNAL_USERS, FILE_CLAIMS, FILES, HEALTH, HEALTH_PROBE_ID,
    MEMBERS, MESSAGES, REACTION_CHANGES, REACTIONS, READS, REVOKED_SESSIONS, ROOMS, USERS, field,
};
use crate::search::{self, SearchMethod};

/// How long an operation may wait for a usable server. The driver's default is 30 s, during
/// which a request, and the client behind it, would hang on a dead database; a few seconds
/// answers "unavailable" while still riding out a primary election.
const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(3);

/// How long opening one connection may take (driver default: 10 s).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long any one operation may take in all. The driver has no socket timeout, so a server
/// that accepted the request and then stopped answering would otherwise hold it forever.
const OPERATION_DEADLINE: Duration = Duration::from_secs(8);

/// Users, rooms and messages in one MongoDB database, shared safely by any number of servers.
///
/// Cheap to share: wrap it in an `Arc` and hand it to the engine. The driver keeps a pool of
/// connections and reconnects by itself when the database comes back after an outage.
pub struct MongoStore {
    db: Database,
    pub(crate) users: Collection<Document>,
    pub(crate) external_users: Collection<Document>,
    pub(crate) rooms: Collection<Document>,
    pub(crate) messages: Collection<Document>,
    pub(crate) members: Collection<Document>,
    health: Collection<Document>,
    pub(crate) revoked: Collection<Document>,
    pub(crate) reads: Collection<Document>,
    pub(crate) reactions: Collection<Document>,
    pub(crate) reaction_changes: Collection<Document>,
    pub(crate) deletions: Collection<Document>,
    pub(crate) files: Collection<Document>,
    pub(crate) claims: Collection<Document>,
    pub(crate) lanes: Lanes,
    /// Message inserts of concurrent appends, grouped into one `insertMany` per round trip.
    pub(crate) message_inserts: Inserts,
    /// Read marks of concurrent appends, grouped likewise.
    pub(crate) read_inserts: Inserts,
    search: search::Method,
}

impl MongoStore {
    /// Connects to the deployment at `url` (a `mongodb://` or `mongodb+srv://` connection
    /// string) and uses the database `database`, creating its collections and indexes if they
    /// are missing.
    ///
    /// Fails within a few seconds when no server answers, so a misconfigured server stops at
    /// start-up instead of at the first request. `serverSelectionTimeoutMS` and
    /// `connectTimeoutMS` in the URL override the short defaults; `w`/`journal` there choose the
    /// durability that `append` waits for.
    pub async fn connect(url: &str, database: &str) -> Result<MongoStore, MongoError> {
        let mut options = ClientOptions::parse(url).await?;
        options
            .server_selection_timeout
            .get_or_insert(SERVER_SELECTION_TIMEOUT);
        options.connect_timeout.get_or_insert(CONNECT_TIMEOUT);
        options.app_name.get_or_insert_with(|| "chat".to_owned());
        let db = Client::with_options(options)?.database(database);
        bounded(schema::ensure(&db)).await??;
        let search = search::Method::default();
        bounded(search.detect(&db.collection(MESSAGES))).await??;
        Ok(MongoStore {
            users: db.collection(USERS),
            external_users: db.collection(EXTERNAL_USERS),
            rooms: db.collection(ROOMS),
            messages: db.collection(MESSAGES),
            members: db.collection(MEMBERS),
            health: db.collection(HEALTH),
            revoked: db.collection(REVOKED_SESSIONS),
            reads: db.collection(READS),
            reactions: db.collection(REACTIONS),
            reaction_changes: db.collection(REACTION_CHANGES),
            deletions: db.collection(DELETIONS),
            files: db.collection(FILES),
            claims: db.collection(FILE_CLAIMS),
            lanes: Lanes::default(),
            message_inserts: Inserts::spawn(db.collection(MESSAGES)),
            read_inserts: Inserts::spawn(db.collection(READS)),
            search,
            db,
        })
    }

    /// How this store searches messages: with the server's text index, or by a scan where
    /// the server has none (FerretDB v1). Decided at connect.
    pub fn search_method(&self) -> SearchMethod {
        self.search.get()
    }

    /// The GridFS blob store in the same database, for the engine's file bytes: every server
    /// on this database reads the files any of them stored.
    pub fn blobs(&self) -> GridFsBlobStore {
        let options = mongodb::options::GridFsBucketOptions::builder()
            .bucket_name(BLOB_BUCKET.to_owned())
            .build();
        let chunks = self.db.collection(&format!("{BLOB_BUCKET}.chunks"));
        GridFsBlobStore::new(self.db.gridfs_bucket(options), chunks)
    }

    /// Runs one driver operation under the store's deadline.
    pub(crate) async fn run<T>(
        &self,
        operation: impl IntoFuture<Output = mongodb::error::Result<T>>,
    ) -> Result<T, MongoError> {
        Ok(bounded(operation).await??)
    }

    /// The documents of `collection` matching `filter`, in `sort` order, at most `limit`,
    /// fetched under the store's deadline: the shape of every list query.
    pub(crate) async fn find_sorted(
        &self,
        collection: &Collection<Document>,
        filter: Document,
        sort: Document,
        limit: i64,
    ) -> Result<Vec<Document>, MongoError> {
        self.run(async {
            collection
                .find(filter)
                .sort(sort)
                .limit(limit)
                .await?
                .try_collect()
                .await
        })
        .await
    }

    /// The highest `seq` of the documents of `collection` (named `name` in errors) matching
    /// `filter`, 0 without any: one step down a `(…, seq)` index.
    pub(crate) async fn highest_seq(
        &self,
        collection: &Collection<Document>,
        name: &'static str,
        filter: Document,
    ) -> Result<u64, MongoError> {
        let found = self
            .run(
                collection
                    .find_one(filter)
                    .sort(doc! { SEQ: -1 })
                    .projection(doc! { SEQ: 1 }),
            )
            .await?;
        found
            .map_or(Ok(0), |document| unsigned(&document, SEQ))
            .map_err(|source| MongoError::Malformed {
                collection: name,
                source,
            })
    }
}

/// Runs `operation` under [`OPERATION_DEADLINE`].
pub(crate) async fn bounded<F: IntoFuture>(operation: F) -> Result<F::Output, MongoError> {
    tokio::time::timeout(OPERATION_DEADLINE, operation)
        .await
        .map_err(|_| MongoError::Timeout(OPERATION_DEADLINE))
}

#[async_trait]
impl Store for MongoStore {
    async fn ping(&self) -> chat_core::Result<()> {
        self.run(self.db.run_command(doc! { "ping": 1 })).await?;
        Ok(())
    }

    /// Nothing to do: the store buffers nothing. Every write returned only once the server
    /// acknowledged it under the connection's write concern (MongoDB's default is `majority`
    /// on replica sets; add `journal=true` to the URL to wait for the journal too).
    async fn flush(&self) -> chat_core::Result<()> {
        Ok(())
    }

    /// Upserts one document in `_health` under the connection's write concern, so it fails
    /// like any write when the primary is gone or the disk is full.
    async fn probe_write(&self) -> chat_core::Result<()> {
        let stamp = mongodb::bson::DateTime::now();
        self.run(
            self.health
                .update_one(
                    doc! { field::ID: HEALTH_PROBE_ID },
                    doc! { "$set": { field::PROBED_AT: stamp } },
                )
                .upsert(true),
        )
        .await?;
        Ok(())
    }
}
