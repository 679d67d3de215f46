//! A complete store kept in process memory; lost when the process ends.

mod admin;
mod conversation;
mod groups;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::files::FileRecord;
use crate::id::{FileId, MessageId, RoomId, SessionId, UserId};
use crate::membership::Member;
use crate::model::{
    AccountStatus, Appended, Credentials, Message, NewMessage, NewUser, Revocations, Room,
    RoomKind, Timestamp, User, now,
};
use crate::search::SearchQuery;
use crate::store::{MessageStore, RoomStore, Store, UserStore};

#[derive(Default)]
struct State {
    users: HashMap<UserId, (User, String)>,
    by_email: HashMap<String, UserId>,
    /// Host-owned users by their external id.
    external: HashMap<String, UserId>,
    rooms: HashMap<RoomId, Room>,
    direct: HashMap<(UserId, UserId), RoomId>,
    history: HashMap<RoomId, Vec<Message>>,
    by_client_id: HashMap<(RoomId, UserId, String), MessageId>,
    messages: HashMap<MessageId, (RoomId, usize)>,
    generations: HashMap<UserId, u64>,
    /// Accounts that are not active; absent means active.
    statuses: HashMap<UserId, AccountStatus>,
    revoked: HashMap<UserId, HashMap<SessionId, Timestamp>>,
    /// Each group's members by user id, which is also the order members are paged in.
    groups: HashMap<RoomId, BTreeMap<UserId, Member>>,
    /// Read positions by (room, user).
    reads: HashMap<(RoomId, UserId), u64>,
    /// When each changed message last changed.
    changed: HashMap<MessageId, Timestamp>,
    /// Uploaded files by id.
    files: HashMap<FileId, FileRecord>,
}

mod files;

/// Users, rooms and history in a mutex-guarded map.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    answer_delay: Duration,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that answers each write of a timeline entry (an append, a group's
    /// creation, member, role and name changes) and each change to a conversation (an edit,
    /// a deletion, a reaction, a read position) `delay` after making it, as a remote
    /// database's acknowledgement comes back a round trip after its write: for tests and
    /// simulations of what callers do in between.
    pub fn with_answer_delay(delay: Duration) -> Self {
        MemoryStore {
            answer_delay: delay,
            ..Self::default()
        }
    }

    /// Hands back `answer` once the answer delay, if any, has passed.
    async fn answer_later<T>(&self, answer: T) -> T {
        if !self.answer_delay.is_zero() {
            tokio::time::sleep(self.answer_delay).await;
        }
        answer
    }

    fn append_now(&self, new: NewMessage) -> Result<Appended> {
        let mut state = self.state();
        if !state.rooms.contains_key(&new.room_id) {
            return Err(Error::NotFound("room not found".into()));
        }
        if let Some(client_id) = &new.client_id {
            let key = (new.room_id, new.sender_id, client_id.clone());
            if let Some(&(room, index)) = state
                .by_client_id
                .get(&key)
                .and_then(|id| state.messages.get(id))
            {
                let original = state.history[&room][index].clone();
                return Ok(Appended {
                    message: original,
                    created: false,
                });
            }
        }
        let message = state.push_entry(new.with_seq(0));
        Ok(Appended {
            message,
            created: true,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        crate::sync::lock(&self.state)
    }
}

impl State {
    fn insert_user(&mut self, new: NewUser) -> Result<User> {
        if self.by_email.contains_key(&new.email) {
            return Err(Error::Conflict("email already registered".into()));
        }
        let user = User {
            id: new.id,
            email: new.email.clone(),
            name: new.name,
            created_at: new.created_at,
        };
        self.by_email.insert(new.email, user.id);
        self.users
            .insert(user.id, (user.clone(), new.password_hash));
        Ok(user)
    }

    /// Gives `message` the room's next seq, stores it and moves the room's activity.
    fn push_entry(&mut self, mut message: Message) -> Message {
        let history = self.history.entry(message.room_id).or_default();
        message.seq = history.len() as u64 + 1;
        history.push(message.clone());
        let index = history.len() - 1;
        self.messages.insert(message.id, (message.room_id, index));
        if let Some(client_id) = &message.client_id {
            self.by_client_id.insert(
                (message.room_id, message.sender_id, client_id.clone()),
                message.id,
            );
        }
        if let Some(room) = self.rooms.get_mut(&message.room_id) {
            room.last_activity = message.timestamp.max(room.last_activity);
            room.last_message = Some(message.clone());
        }
        self.advance_read(message.room_id, message.sender_id, message.seq);
        message
    }

    fn advance_read(&mut self, room: RoomId, user: UserId, seq: u64) -> u64 {
        let position = self.reads.entry((room, user)).or_insert(0);
        *position = (*position).max(seq);
        *position
    }

    /// The stored message `id` of `room`, to change in place.
    fn message_mut(&mut self, room: RoomId, id: MessageId) -> Result<&mut Message> {
        let not_found = || Error::NotFound("message not found".into());
        let &(found_room, index) = self.messages.get(&id).ok_or_else(not_found)?;
        if found_room != room {
            return Err(not_found());
        }
        self.history
            .get_mut(&room)
            .and_then(|history| history.get_mut(index))
            .ok_or_else(not_found)
    }

    /// Records a change of `message` at `at` and keeps the room's last message current.
    fn changed(&mut self, message: &Message, at: Timestamp) {
        self.changed.insert(message.id, at);
        if let Some(room) = self.rooms.get_mut(&message.room_id)
            && room
                .last_message
                .as_ref()
                .is_some_and(|last| last.id == message.id)
        {
            room.last_message = Some(message.clone());
        }
    }

    /// An account's status; active unless set otherwise.
    fn status(&self, user: UserId) -> AccountStatus {
        self.statuses.get(&user).copied().unwrap_or_default()
    }

    /// The members of a group, or why there are none to change.
    fn group_mut(&mut self, room: RoomId) -> Result<&mut BTreeMap<UserId, Member>> {
        match self.rooms.get(&room).map(|room| room.kind) {
            None => Err(Error::NotFound("room not found".into())),
            Some(RoomKind::Direct) => Err(Error::Invalid("not a group room".into())),
            Some(RoomKind::Group) => Ok(self.groups.entry(room).or_default()),
        }
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        self.state().insert_user(user)
    }

    async fn create_users(&self, users: Vec<NewUser>) -> Result<Vec<User>> {
        let mut state = self.state();
        let mut seen = std::collections::HashSet::new();
        for user in &users {
            if state.by_email.contains_key(&user.email) || !seen.insert(user.email.clone()) {
                return Err(Error::Conflict("email already registered".into()));
            }
        }
        users
            .into_iter()
            .map(|user| state.insert_user(user))
            .collect()
    }

    async fn upsert_external_user(&self, external_id: &str, user: NewUser) -> Result<User> {
        let mut state = self.state();
        let Some(&id) = state.external.get(external_id) else {
            let created = state.insert_user(user)?;
            state.external.insert(external_id.to_owned(), created.id);
            return Ok(created);
        };
        let (stored, _) = state
            .users
            .get_mut(&id)
            .ok_or_else(|| Error::NotFound("user not found".into()))?;
        stored.name = user.name;
        Ok(stored.clone())
    }

    async fn external_user(&self, external_id: &str) -> Result<Option<User>> {
        let state = self.state();
        Ok(state
            .external
            .get(external_id)
            .and_then(|id| state.users.get(id))
            .map(|(user, _)| user.clone()))
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        Ok(self.state().users.get(&id).map(|(user, _)| user.clone()))
    }

    async fn users(&self, ids: &[UserId]) -> Result<Vec<User>> {
        let state = self.state();
        Ok(ids
            .iter()
            .filter_map(|id| state.users.get(id).map(|(user, _)| user.clone()))
            .collect())
    }

    async fn credentials(&self, email: &str) -> Result<Option<Credentials>> {
        let state = self.state();
        Ok(state
            .by_email
            .get(email)
            .and_then(|id| state.users.get(id))
            .map(|(user, hash)| Credentials {
                user: user.clone(),
                password_hash: hash.clone(),
                status: state.status(user.id),
            }))
    }

    async fn search_users(
        &self,
        query: Option<&str>,
        exclude: UserId,
        limit: usize,
    ) -> Result<Vec<User>> {
        let needle = query.map(str::to_lowercase);
        let state = self.state();
        let mut found: Vec<User> = state
            .users
            .values()
            .map(|(user, _)| user)
            .filter(|user| user.id != exclude)
            .filter(|user| match &needle {
                None => true,
                Some(needle) => {
                    user.name.to_lowercase().contains(needle.as_str())
                        || user.email.contains(needle.as_str())
                }
            })
            .cloned()
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        found.truncate(limit);
        Ok(found)
    }

    async fn revocations(&self, user: UserId) -> Result<Revocations> {
        let state = self.state();
        let now = now();
        Ok(Revocations {
            generation: state.generations.get(&user).copied().unwrap_or(0),
            sessions: state
                .revoked
                .get(&user)
                .into_iter()
                .flatten()
                .filter(|(_, expires_at)| **expires_at > now)
                .map(|(session, _)| *session)
                .collect(),
        })
    }

    async fn revoke_session(
        &self,
        user: UserId,
        session: SessionId,
        expires_at: Timestamp,
    ) -> Result<()> {
        let now = now();
        let mut state = self.state();
        let sessions = state.revoked.entry(user).or_default();
        sessions.retain(|_, expires_at| *expires_at > now);
        sessions.insert(session, expires_at);
        Ok(())
    }

    async fn advance_generation(&self, user: UserId, password_hash: Option<String>) -> Result<u64> {
        let mut state = self.state();
        let Some((_, hash)) = state.users.get_mut(&user) else {
            return Err(Error::NotFound("user not found".into()));
        };
        if let Some(password_hash) = password_hash {
            *hash = password_hash;
        }
        let generation = state.generations.entry(user).or_insert(0);
        *generation += 1;
        Ok(*generation)
    }
}

#[async_trait]
impl RoomStore for MemoryStore {
    async fn direct_room(&self, a: UserId, b: UserId, now: Timestamp) -> Result<Room> {
        let pair = if a <= b { (a, b) } else { (b, a) };
        let mut state = self.state();
        if let Some(room) = state.direct.get(&pair).and_then(|id| state.rooms.get(id)) {
            return Ok(room.clone());
        }
        let room = Room {
            id: RoomId::generate(),
            kind: RoomKind::Direct,
            members: vec![pair.0, pair.1],
            created_at: now,
            last_activity: now,
            last_message: None,
            group: None,
        };
        state.direct.insert(pair, room.id);
        state.rooms.insert(room.id, room.clone());
        Ok(room)
    }

    async fn room(&self, id: RoomId) -> Result<Option<Room>> {
        Ok(self.state().rooms.get(&id).cloned())
    }

    async fn rooms_of(&self, user: UserId, limit: usize) -> Result<Vec<Room>> {
        let state = self.state();
        let mut rooms: Vec<Room> = state
            .rooms
            .values()
            .filter(|room| {
                room.is_member(user)
                    || state
                        .groups
                        .get(&room.id)
                        .is_some_and(|members| members.contains_key(&user))
            })
            .cloned()
            .collect();
        rooms.sort_by(|a, b| b.last_activity.cmp(&a.last_activity).then(b.id.cmp(&a.id)));
        rooms.truncate(limit);
        Ok(rooms)
    }

    async fn room_ids_of(&self, user: UserId) -> Result<Vec<RoomId>> {
        let state = self.state();
        Ok(state
            .rooms
            .values()
            .filter(|room| {
                room.is_member(user)
                    || state
                        .groups
                        .get(&room.id)
                        .is_some_and(|members| members.contains_key(&user))
            })
            .map(|room| room.id)
            .collect())
    }
}

#[async_trait]
impl MessageStore for MemoryStore {
    async fn append(&self, new: NewMessage) -> Result<Appended> {
        self.answer_later(self.append_now(new)).await
    }

    async fn page(&self, room: RoomId, before: Option<u64>, limit: usize) -> Result<Vec<Message>> {
        let state = self.state();
        let Some(history) = state.history.get(&room) else {
            return Ok(Vec::new());
        };
        let end = before
            .map(|seq| (seq.saturating_sub(1) as usize).min(history.len()))
            .unwrap_or(history.len());
        Ok(history[..end].iter().rev().take(limit).cloned().collect())
    }

    async fn message(&self, id: MessageId) -> Result<Option<Message>> {
        let state = self.state();
        Ok(state
            .messages
            .get(&id)
            .map(|(room, index)| state.history[room][*index].clone()))
    }

    /// A scan of the rooms' histories, sorted by (timestamp, id).
    async fn search(&self, query: &SearchQuery) -> Result<Vec<Message>> {
        let state = self.state();
        let cursor = match query.before {
            None => None,
            Some(id) => match state.messages.get(&id) {
                Some((room, index)) => {
                    let message = &state.history[room][*index];
                    Some((message.timestamp, message.id))
                }
                None => return Ok(Vec::new()),
            },
        };
        let mut hits: Vec<&Message> = query
            .rooms
            .iter()
            .filter_map(|room| state.history.get(room))
            .flatten()
            .filter(|message| message.event.is_none() && !message.deleted)
            .filter(|message| cursor.is_none_or(|cursor| (message.timestamp, message.id) < cursor))
            .filter(|message| query.terms.matches(&message.text))
            .collect();
        hits.sort_by_key(|message| std::cmp::Reverse((message.timestamp, message.id)));
        Ok(hits.into_iter().take(query.limit).cloned().collect())
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    async fn flush(&self) -> Result<()> {
        Ok(())
    }

    /// Memory always takes writes: the probe only proves the state lock can be taken.
    async fn probe_write(&self) -> Result<()> {
        drop(self.state());
        Ok(())
    }
}
