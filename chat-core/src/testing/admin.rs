//! The operators' checks of the store: one public async function per promise of
//! [`AdminStore`](crate::store::AdminStore), run by every backend through
//! [`store_conformance!`](crate::store_conformance). Other tests may share the backend, so
//! listings are checked for what this test made, in order, never for their whole content.

use std::sync::Arc;

use chrono::Duration;

use crate::error::Error;
use crate::id::{RoomId, UserId};
use crate::model::{
    AccountStatus, DELETED_USER_NAME, ERASED_PASSWORD_HASH, Message, deleted_email, now,
};
use crate::store::Store;
use crate::testing::fixtures;
use crate::testing::groups::new_group;

/// Every account of every page, walked by the last id with pages of `size`.
async fn every_account(store: &Arc<dyn Store>, size: usize) -> Vec<(UserId, AccountStatus)> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store.accounts(after, size).await.unwrap();
        assert!(page.len() <= size);
        let Some(last) = page.last() else {
            return all;
        };
        after = Some(last.user.id);
        all.extend(page.iter().map(|account| (account.user.id, account.status)));
    }
}

/// Accounts page by id, once each, with their status; one account is found by id.
pub async fn accounts_page_by_id_with_their_status(store: Arc<dyn Store>) {
    let mut mine = Vec::new();
    for name in ["Ann", "Bob", "Cid"] {
        mine.push(fixtures::user(&*store, name).await);
    }
    let listed = every_account(&store, 2).await;
    let ids: Vec<UserId> = listed.iter().map(|(id, _)| *id).collect();
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "ordered, once each"
    );
    for user in &mine {
        assert!(listed.contains(&(user.id, AccountStatus::Active)));
        let account = store.account(user.id).await.unwrap().unwrap();
        assert_eq!(account.user, *user);
        assert_eq!(account.status, AccountStatus::Active);
    }
    assert_eq!(store.account(UserId::generate()).await.unwrap(), None);
    assert!(store.accounts(None, 0).await.unwrap().is_empty());
}

/// Disabling shows in the account and in the credentials a login reads; enabling undoes it;
/// both are idempotent; an unknown user is not found.
pub async fn accounts_are_disabled_and_enabled(store: Arc<dyn Store>) {
    let ann = fixtures::user(&*store, "Ann").await;
    let status = || async {
        let credentials = store.credentials(&ann.email).await.unwrap().unwrap();
        let account = store.account(ann.id).await.unwrap().unwrap();
        assert_eq!(credentials.status, account.status);
        account.status
    };
    store.set_disabled(ann.id, true).await.unwrap();
    store.set_disabled(ann.id, true).await.unwrap();
    assert_eq!(status().await, AccountStatus::Disabled);
    store.set_disabled(ann.id, false).await.unwrap();
    store.set_disabled(ann.id, false).await.unwrap();
    assert_eq!(status().await, AccountStatus::Active);
    assert!(matches!(
        store.set_disabled(UserId::generate(), true).await,
        Err(Error::NotFound(_))
    ));
}

/// Erasing replaces the email, name and password, frees the email, keeps the id and the
/// token generation, and shows the deleted name on every entry the user sent, text intact.
pub async fn erasing_keeps_messages_as_from_a_deleted_user(store: Arc<dyn Store>) {
    let ann = fixtures::user(&*store, "Ann").await;
    let bob = fixtures::user(&*store, "Bob").await;
    let room = store.direct_room(ann.id, bob.id, now()).await.unwrap();
    for (sender, text) in [(&ann, "hi"), (&bob, "yo"), (&ann, "bye")] {
        let message = fixtures::new_message(room.id, sender, text, Some(text));
        store.append(message).await.unwrap();
    }
    store.advance_generation(ann.id, None).await.unwrap();
    store.erase_user(ann.id, false).await.unwrap();
    store.erase_user(ann.id, false).await.unwrap();

    assert!(store.credentials(&ann.email).await.unwrap().is_none());
    let erased = store
        .credentials(&deleted_email(ann.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(erased.status, AccountStatus::Deleted);
    assert_eq!(erased.password_hash, ERASED_PASSWORD_HASH);
    assert_eq!(erased.user.name, DELETED_USER_NAME);
    assert_eq!(erased.user.id, ann.id);
    assert_eq!(store.revocations(ann.id).await.unwrap().generation, 1);
    assert!(matches!(
        store.set_disabled(ann.id, false).await,
        Err(Error::Invalid(_))
    ));
    let history = store.page(room.id, None, 10).await.unwrap();
    let shown: Vec<(u64, &str, &str)> = history
        .iter()
        .map(|m| (m.seq, m.sender_name.as_str(), m.text.as_str()))
        .collect();
    assert_eq!(
        shown,
        vec![
            (3, DELETED_USER_NAME, "bye"),
            (2, "Bob", "yo"),
            (1, DELETED_USER_NAME, "hi")
        ]
    );
    let last = store.room(room.id).await.unwrap().unwrap().last_message;
    assert_eq!(last.map(|m| m.sender_name), Some(DELETED_USER_NAME.into()));
    let mut again = fixtures::new_user("Ann");
    again.email = ann.email.clone();
    store.create_user(again).await.unwrap();
    assert!(matches!(
        store.erase_user(UserId::generate(), false).await,
        Err(Error::NotFound(_))
    ));
}

/// Erasing a host-owned account drops its external id: the host's next upsert of that id
/// makes a new account, and the erased one stays erased.
pub async fn erasing_frees_the_external_id_for_a_new_account(store: Arc<dyn Store>) {
    let erased = store
        .upsert_external_user("host-17", fixtures::new_user("Ann"))
        .await
        .unwrap();
    store.erase_user(erased.id, false).await.unwrap();
    assert_eq!(store.external_user("host-17").await.unwrap(), None);
    let fresh = store
        .upsert_external_user("host-17", fixtures::new_user("Ann again"))
        .await
        .unwrap();
    assert_ne!(fresh.id, erased.id);
    assert_eq!(fresh.name, "Ann again");
    let old = store.account(erased.id).await.unwrap().unwrap();
    assert_eq!(
        (old.user.name.as_str(), old.status),
        (DELETED_USER_NAME, AccountStatus::Deleted)
    );
}

/// Purging also empties the text and drops the `client_id` of the user's chat messages, but
/// keeps every entry, so the room's seq line has no gap; others' entries are untouched.
pub async fn purging_blanks_messages_and_keeps_the_seq_line(store: Arc<dyn Store>) {
    let ann = fixtures::user(&*store, "Ann").await;
    let bob = fixtures::user(&*store, "Bob").await;
    let (group, _) = store
        .create_group(new_group(&bob, &[&ann], now() - Duration::seconds(5), 10))
        .await
        .unwrap();
    for (sender, text, client_id) in [
        (&ann, "one", Some("c1")),
        (&bob, "two", None),
        (&ann, "three", None),
    ] {
        let message = fixtures::new_message(group.id, sender, text, client_id);
        store.append(message).await.unwrap();
    }
    store.erase_user(ann.id, true).await.unwrap();
    let mut history: Vec<Message> = store.page(group.id, None, 10).await.unwrap();
    history.reverse();
    let seqs: Vec<u64> = history.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    assert!(history[0].event.is_some(), "bob's creation entry stays");
    assert_eq!(history[0].sender_name, "Bob");
    assert_eq!(
        (history[1].text.as_str(), history[1].client_id.as_deref()),
        ("", None)
    );
    assert_eq!(history[1].sender_name, DELETED_USER_NAME);
    assert_eq!(history[2].text, "two");
    assert_eq!(history[3].text, "");
    let last = store.room(group.id).await.unwrap().unwrap().last_message;
    assert_eq!(last.map(|m| (m.seq, m.text)), Some((4, String::new())));
    let next = fixtures::new_message(group.id, &bob, "after", None);
    assert_eq!(store.append(next).await.unwrap().message.seq, 5);
}

/// Rooms of both kinds page by id, once each, as `room` shows them.
pub async fn all_rooms_page_by_id(store: Arc<dyn Store>) {
    let ann = fixtures::user(&*store, "Ann").await;
    let bob = fixtures::user(&*store, "Bob").await;
    let direct = store.direct_room(ann.id, bob.id, now()).await.unwrap();
    let (group, _) = store
        .create_group(new_group(&ann, &[&bob], now(), 10))
        .await
        .unwrap();
    let mut seen: Vec<RoomId> = Vec::new();
    let mut after = None;
    loop {
        let page = store.all_rooms(after, 1).await.unwrap();
        let Some(room) = page.first() else { break };
        assert_eq!(page.len(), 1);
        if room.id == direct.id || room.id == group.id {
            assert_eq!(Some(room), store.room(room.id).await.unwrap().as_ref());
        }
        seen.push(room.id);
        after = Some(room.id);
    }
    assert!(
        seen.windows(2).all(|pair| pair[0] < pair[1]),
        "ordered, once each"
    );
    assert!(seen.contains(&direct.id) && seen.contains(&group.id));
}
