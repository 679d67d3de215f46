//! Catching up after being away: new timeline entries by forward paging, and what changed
//! in older ones (edits, deletions, reactions) by a per-room change cursor.
//!
//! A change cursor is a server time. The answer to `changes(since)` carries the next cursor:
//! the time of the last change returned when the page is full (more follow), else the time
//! the request began minus [`CHANGE_OVERLAP`], so a change stored by another node whose clock
//! runs a little behind, or still in flight, is sent again rather than missed. Changes are
//! whole message states, so receiving one twice is harmless.

use std::time::Duration;

use crate::error::Result;
use crate::id::RoomId;
use crate::model::{Changed, Message, Timestamp, User, now};

use super::Engine;
use super::messaging::MAX_PAGE;

/// How far behind the request's start the next change cursor is put.
pub const CHANGE_OVERLAP: Duration = Duration::from_secs(5);

/// A page of changes and where the next one starts.
#[derive(Debug, Clone)]
pub struct Changes {
    /// Changed messages as they are now, oldest change first, each once.
    pub changes: Vec<Changed>,
    /// The `since` of the next call.
    pub cursor: Timestamp,
    /// Whether the page was full: call again with `cursor` at once.
    pub more: bool,
}

impl Engine {
    /// `room`'s entries with `seq > after`, oldest first, at most `limit` (≤ 100).
    pub async fn history_after(
        &self,
        caller: &User,
        room: RoomId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Message>> {
        self.members_for(caller.id, room).await?;
        self.inner
            .store
            .page_after(room, after, limit.clamp(1, MAX_PAGE))
            .await
    }

    /// Messages of `room` changed at or after `since` (none when `None`: the answer then only
    /// gives a cursor to start from), at most `limit` (≤ 100).
    pub async fn changes(
        &self,
        caller: &User,
        room: RoomId,
        since: Option<Timestamp>,
        limit: usize,
    ) -> Result<Changes> {
        self.members_for(caller.id, room).await?;
        let started = now();
        let overlap = chrono::Duration::from_std(CHANGE_OVERLAP).unwrap_or_default();
        let fallback = started - overlap;
        let Some(since) = since else {
            return Ok(Changes {
                changes: Vec::new(),
                cursor: fallback,
                more: false,
            });
        };
        let limit = limit.clamp(1, MAX_PAGE);
        let changes = self.inner.store.changed(room, since, limit).await?;
        let more = changes.len() == limit;
        let cursor = match changes.last() {
            Some(last) if more => last.at,
            _ => fallback.max(since),
        };
        Ok(Changes {
            changes,
            cursor,
            more,
        })
    }
}
