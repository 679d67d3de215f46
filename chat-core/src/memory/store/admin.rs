//! The operators' part of the memory store: listing every account and room, account status,
//! and erasing an account.

use async_trait::async_trait;

use super::{MemoryStore, State};
use crate::error::{Error, Result};
use crate::id::{RoomId, UserId};
use crate::model::{
    Account, AccountStatus, DELETED_USER_NAME, ERASED_PASSWORD_HASH, Message, Room, deleted_email,
};
use crate::store::AdminStore;

impl State {
    fn account(&self, id: UserId) -> Option<Account> {
        self.users.get(&id).map(|(user, _)| Account {
            user: user.clone(),
            status: self.status(id),
        })
    }

    /// Rewrites every timeline entry of `user`, in the histories and in the rooms' copies of
    /// their last message.
    fn anonymize_entries(&mut self, user: UserId, purge: bool) {
        let mut freed_keys = Vec::new();
        let mut erase = |message: &mut Message| {
            if message.sender_id != user {
                return;
            }
            message.sender_name = DELETED_USER_NAME.to_owned();
            if purge && message.event.is_none() {
                message.text.clear();
                message.attachments.clear();
                if let Some(client_id) = message.client_id.take() {
                    freed_keys.push((message.room_id, user, client_id));
                }
            }
        };
        for history in self.history.values_mut() {
            history.iter_mut().for_each(&mut erase);
        }
        for room in self.rooms.values_mut() {
            room.last_message.iter_mut().for_each(&mut erase);
        }
        for key in freed_keys {
            self.by_client_id.remove(&key);
        }
    }
}

#[async_trait]
impl AdminStore for MemoryStore {
    async fn accounts(&self, after: Option<UserId>, limit: usize) -> Result<Vec<Account>> {
        let state = self.state();
        let mut ids: Vec<UserId> = state
            .users
            .keys()
            .copied()
            .filter(|id| after.is_none_or(|after| *id > after))
            .collect();
        ids.sort();
        ids.truncate(limit);
        Ok(ids.into_iter().filter_map(|id| state.account(id)).collect())
    }

    async fn account(&self, id: UserId) -> Result<Option<Account>> {
        Ok(self.state().account(id))
    }

    async fn set_disabled(&self, user: UserId, disabled: bool) -> Result<()> {
        let mut state = self.state();
        match state.account(user).map(|account| account.status) {
            None => Err(Error::NotFound("user not found".into())),
            Some(AccountStatus::Deleted) => Err(Error::Invalid("the account is deleted".into())),
            Some(_) if disabled => {
                state.statuses.insert(user, AccountStatus::Disabled);
                Ok(())
            }
            Some(_) => {
                state.statuses.remove(&user);
                Ok(())
            }
        }
    }

    async fn erase_user(&self, user: UserId, purge: bool) -> Result<()> {
        let mut state = self.state();
        let Some((record, hash)) = state.users.get_mut(&user) else {
            return Err(Error::NotFound("user not found".into()));
        };
        let old_email = std::mem::replace(&mut record.email, deleted_email(user));
        record.name = DELETED_USER_NAME.to_owned();
        *hash = ERASED_PASSWORD_HASH.to_owned();
        let new_email = record.email.clone();
        if state.by_email.get(&old_email) == Some(&user) {
            state.by_email.remove(&old_email);
        }
        state.by_email.insert(new_email, user);
        state.statuses.insert(user, AccountStatus::Deleted);
        state.external.retain(|_, mapped| *mapped != user);
        state.anonymize_entries(user, purge);
        Ok(())
    }

    async fn all_rooms(&self, after: Option<RoomId>, limit: usize) -> Result<Vec<Room>> {
        let state = self.state();
        let mut rooms: Vec<Room> = state
            .rooms
            .values()
            .filter(|room| after.is_none_or(|after| room.id > after))
            .cloned()
            .collect();
        rooms.sort_by_key(|room| room.id);
        rooms.truncate(limit);
        Ok(rooms)
    }
}
