//! Group inserts: documents that concurrent callers insert into one collection travel to the
//! server together, in one unordered `insertMany`, and each caller gets its own document's
//! outcome.
//!
//! A task per collection takes every document waiting (up to [`MAX_BATCH`]), inserts them in
//! one round trip, and answers each caller once the server has acknowledged the batch under the
//! connection's write concern. While batches are on the wire the next one gathers, so under
//! load each round trip carries more documents instead of each document waiting for its own;
//! a lone insert goes out at once. `ordered: false` makes the documents independent: one
//! refused by a unique index (a seq another server took, a resend) fails alone, exactly as its
//! own `insertOne` would, so the callers' retry protocols are unchanged.

use std::sync::Arc;

use mongodb::Collection;
use mongodb::bson::{Document, doc};
use mongodb::error::{ErrorKind, IndexedWriteError, WriteError, WriteFailure};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use crate::error::MongoError;

/// The most documents one `insertMany` carries; far below the server's 100,000 and 48 MB.
const MAX_BATCH: usize = 1_000;

/// How many batches may be on the wire at once. Appends to one room take turns (`lanes`), so
/// no two documents that must land in order are ever in flight together.
const IN_FLIGHT: usize = 4;

/// Documents waiting for the task before callers wait for room in the queue.
const QUEUE: usize = 8_192;

type Pending = (Document, oneshot::Sender<Result<(), MongoError>>);

/// The queue into one collection's insert task; stops the task when dropped.
pub(crate) struct Inserts {
    queue: mpsc::Sender<Pending>,
    task: JoinHandle<()>,
}

impl Inserts {
    /// Starts the task for `collection`, on the current tokio runtime.
    pub(crate) fn spawn(collection: Collection<Document>) -> Inserts {
        let (queue, pending) = mpsc::channel(QUEUE);
        Inserts {
            queue,
            task: tokio::spawn(run(collection, pending)),
        }
    }

    /// Inserts `document` in the next batch and waits for its outcome: the error its own
    /// `insertOne` would have met (a unique index's refusal is a duplicate-key write error).
    pub(crate) async fn insert(&self, document: Document) -> Result<(), MongoError> {
        let (reply, outcome) = oneshot::channel();
        self.queue
            .send((document, reply))
            .await
            .map_err(|_| MongoError::InsertsStopped)?;
        outcome.await.map_err(|_| MongoError::InsertsStopped)?
    }
}

impl Drop for Inserts {
    fn drop(&mut self) {
        // Every caller holds the store while it waits, so nothing is pending by now.
        self.task.abort();
    }
}

/// The task's loop: take what is waiting, insert it in one round trip, answer, repeat; up to
/// [`IN_FLIGHT`] batches at once, so one slow round trip does not hold every room up.
async fn run(collection: Collection<Document>, mut pending: mpsc::Receiver<Pending>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut inserting = JoinSet::new();
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            break;
        };
        while inserting.try_join_next().is_some() {}
        let mut batch = Vec::with_capacity(MAX_BATCH);
        if pending.recv_many(&mut batch, MAX_BATCH).await == 0 {
            break;
        }
        let collection = collection.clone();
        inserting.spawn(async move {
            insert(&collection, batch).await;
            drop(slot);
        });
    }
    inserting.join_all().await;
}

/// Inserts one batch and answers each of its callers.
async fn insert(collection: &Collection<Document>, batch: Vec<Pending>) {
    let (documents, replies): (Vec<Document>, Vec<_>) = batch.into_iter().unzip();
    let size = documents.len();
    let result = crate::store::bounded(collection.insert_many(documents).ordered(false)).await;
    for (reply, outcome) in replies.into_iter().zip(outcomes(result, size)) {
        let _ = reply.send(outcome);
    }
}

/// Each document's outcome, in the order they were sent.
fn outcomes<T>(
    result: Result<mongodb::error::Result<T>, MongoError>,
    size: usize,
) -> Vec<Result<(), MongoError>> {
    let error = match result {
        Ok(Ok(_)) => return (0..size).map(|_| Ok(())).collect(),
        Ok(Err(error)) => error,
        Err(MongoError::Timeout(deadline)) => {
            return (0..size)
                .map(|_| Err(MongoError::Timeout(deadline)))
                .collect();
        }
        Err(other) => {
            let shared = std::sync::Arc::new(other);
            return (0..size)
                .map(|_| Err(MongoError::Batch(shared.clone())))
                .collect();
        }
    };
    match error.kind.as_ref() {
        // Only the documents named in the write errors failed; the others are stored.
        ErrorKind::InsertMany(insert) if insert.write_concern_error.is_none() => {
            let mut outcomes: Vec<Result<(), MongoError>> = (0..size).map(|_| Ok(())).collect();
            for write in insert.write_errors.iter().flatten() {
                if let Some(outcome) = outcomes.get_mut(write.index) {
                    *outcome = Err(own_error(write));
                }
            }
            outcomes
        }
        _ => (0..size)
            .map(|_| Err(MongoError::Driver(error.clone())))
            .collect(),
    }
}

/// The write error one document met, as its own `insertOne` would have reported it.
fn own_error(write: &IndexedWriteError) -> MongoError {
    let mut fields = doc! { "code": write.code, "errmsg": write.message.as_str() };
    if let Some(name) = &write.code_name {
        fields.insert("codeName", name.as_str());
    }
    match mongodb::bson::from_document::<WriteError>(fields) {
        Ok(own) => MongoError::Driver(ErrorKind::Write(WriteFailure::WriteError(own)).into()),
        Err(decode) => MongoError::Driver(decode.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_refused_documents_fail() {
        let refusals: Vec<Document> = vec![
            doc! { "index": 1, "code": 11000, "errmsg": "dup" },
            doc! { "index": 3, "code": 121, "errmsg": "invalid" },
        ];
        let error: mongodb::error::Error = mongodb::bson::from_document::<
            mongodb::error::InsertManyError,
        >(doc! { "writeErrors": refusals })
        .map(|insert| ErrorKind::InsertMany(insert).into())
        .unwrap();
        let each = outcomes::<()>(Ok(Err(error)), 4);
        assert!(each[0].is_ok() && each[2].is_ok());
        assert!(each[1].as_ref().unwrap_err().is_duplicate_key());
        let other = each[3].as_ref().unwrap_err();
        assert!(!other.is_duplicate_key(), "{other}");
        let deadline = std::time::Duration::from_secs(1);
        let timed_out = outcomes::<()>(Err(MongoError::Timeout(deadline)), 2);
        assert!(
            timed_out
                .iter()
                .all(|outcome| matches!(outcome, Err(MongoError::Timeout(_))))
        );
    }
}
