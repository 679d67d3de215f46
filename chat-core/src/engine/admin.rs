//! Operators' account actions that end sessions: disabling and deleting users (enabling is a
//! plain store write, `AdminStore::set_disabled`). Each ends the user's
//! sessions through the same revocation path as a logout everywhere, so their sockets close
//! on every node that hears of it.

use crate::error::{Error, Result};
use crate::id::UserId;
use crate::model::RoomKind;

use super::Engine;

impl Engine {
    /// Stops `user` from logging in and ends every session (sockets close with 1008 on every
    /// node that hears the revocation). The account and its data stay, and
    /// `AdminStore::set_disabled(user, false)` lets it log in again.
    pub async fn disable_user(&self, user: UserId) -> Result<()> {
        self.inner.store.set_disabled(user, true).await?;
        self.revoke_sessions(user).await
    }

    /// Deletes `user`: ends every session, leaves every group (recorded like any leave, the
    /// ownership handed on as usual), then erases the account's email, name and password,
    /// showing its timeline entries as from [`crate::model::DELETED_USER_NAME`]; a host-owned
    /// account's external id is released, so the host's next upsert of it makes a new
    /// account. With `purge`, its chat messages also lose their text and attachments (their
    /// seqs stay, see [`crate::store::AdminStore::erase_user`]), and every file it uploaded
    /// goes, record, bytes and thumbnail. Running it again finishes an interrupted deletion.
    pub async fn delete_user(&self, user: UserId, purge: bool) -> Result<()> {
        match self.inner.store.set_disabled(user, true).await {
            Ok(()) | Err(Error::Invalid(_)) => {}
            Err(error) => return Err(error),
        }
        self.revoke_sessions(user).await?;
        let rooms = self.inner.store.rooms_of(user, usize::MAX).await?;
        for room in rooms.iter().filter(|room| room.kind == RoomKind::Group) {
            match self.remove_member(user, room.id, user).await {
                Ok(_) | Err(Error::NotFound(_)) => {}
                Err(error) => return Err(error),
            }
        }
        self.inner.store.erase_user(user, purge).await?;
        if purge {
            self.drop_uploads_of(user).await?;
        }
        Ok(())
    }
}
