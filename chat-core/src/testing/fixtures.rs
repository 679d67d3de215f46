//! Records for backend tests: users and messages with unique emails and ids, so every test of
//! every backend builds them the same way.

use crate::id::{MessageId, RoomId, UserId};
use crate::model::{NewMessage, NewUser, User, now};
use crate::store::UserStore;

/// A new user named `name` with an email no other test uses.
pub fn new_user(name: &str) -> NewUser {
    let id = UserId::generate();
    NewUser {
        id,
        email: format!("{}-{id}@example.com", name.to_lowercase()),
        name: name.into(),
        password_hash: "$argon2id$fake".into(),
        created_at: now(),
    }
}

/// Stores [`new_user`] and returns it.
pub async fn user<S: UserStore + ?Sized>(store: &S, name: &str) -> User {
    store.create_user(new_user(name)).await.unwrap()
}

/// A message from `sender` to `room`, stamped now.
pub fn new_message(room: RoomId, sender: &User, text: &str, client_id: Option<&str>) -> NewMessage {
    NewMessage {
        id: MessageId::generate(),
        room_id: room,
        sender_id: sender.id,
        sender_name: sender.name.clone(),
        text: text.into(),
        client_id: client_id.map(Into::into),
        timestamp: now(),
        attachments: Vec::new(),
    }
}
