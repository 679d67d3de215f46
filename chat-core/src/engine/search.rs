//! Searching the caller's messages, and opening a room's history around one of them.

use crate::error::{Error, Result};
use crate::id::{MessageId, RoomId};
use crate::model::{Message, User};
use crate::search::{MAX_HITS, SearchHit, SearchQuery, Terms};

use super::Engine;
use super::messaging::MAX_PAGE;

impl Engine {
    /// Messages of the caller's rooms (or of `room` alone) that contain every word of
    /// `query`, newest first, at most `limit`, older than the hit `before` when given; each
    /// with a highlighted snippet.
    ///
    /// Only rooms the caller is a member of now are searched: a room it left or was removed
    /// from stops matching at once. `room` given and not the caller's is `Forbidden`.
    pub async fn search(
        &self,
        caller: &User,
        query: &str,
        room: Option<RoomId>,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<SearchHit>> {
        let terms = Terms::parse(query)?;
        let rooms = match room {
            Some(room) => {
                self.members_for(caller.id, room).await?;
                vec![room]
            }
            None => self.inner.store.room_ids_of(caller.id).await?,
        };
        if let Some(cursor) = before {
            let known = self.inner.store.message(cursor).await?;
            if !known.is_some_and(|message| rooms.contains(&message.room_id)) {
                return Err(Error::Invalid("unknown paging cursor".into()));
            }
        }
        let query = SearchQuery {
            terms,
            rooms,
            before,
            limit: limit.clamp(1, MAX_HITS),
        };
        let found = self.inner.store.search(&query).await?;
        Ok(found
            .into_iter()
            .map(|message| SearchHit::new(message, &query.terms))
            .collect())
    }

    /// A page of `room`'s history for `caller` with the message `seq` in it: about half of
    /// `limit` newer messages, the message, and older ones, newest first (the order of
    /// [`Engine::history`], so the client pages on from the oldest as usual). Near either end
    /// of the history the other side fills the page.
    pub async fn history_around(
        &self,
        caller: &User,
        room: RoomId,
        seq: u64,
        limit: usize,
    ) -> Result<Vec<Message>> {
        if seq == 0 {
            return Err(Error::Invalid("seq starts at 1".into()));
        }
        self.members_for(caller.id, room).await?;
        let limit = limit.clamp(1, MAX_PAGE);
        let store = &self.inner.store;
        // Up to a page on each side (both newest first), then a window with the message.
        let (older, newer) = tokio::try_join!(
            store.page(room, Some(seq.saturating_add(1)), limit),
            store.page(room, Some(seq.saturating_add(limit as u64 + 1)), limit),
        )?;
        let newer: Vec<Message> = newer.into_iter().filter(|m| m.seq > seq).collect();
        let take_newer = newer
            .len()
            .min((limit / 2).max(limit.saturating_sub(older.len())));
        let mut page: Vec<Message> = newer[newer.len() - take_newer..].to_vec();
        page.extend(older.into_iter().take(limit - take_newer));
        Ok(page)
    }
}
