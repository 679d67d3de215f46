//! Host-owned users: one user per external id, created once and renamed after
//! ([`crate::store::UserStore::upsert_external_user`]).

use std::sync::Arc;

use crate::id::UserId;
use crate::model::{ERASED_PASSWORD_HASH, NewUser, external_email, now};
use crate::store::Store;

/// A host-owned user as the engine would create it, named `name`.
fn external(name: &str) -> NewUser {
    let id = UserId::generate();
    NewUser {
        id,
        email: external_email(id),
        name: name.into(),
        password_hash: ERASED_PASSWORD_HASH.into(),
        created_at: now(),
    }
}

/// An external id no other test uses.
fn external_id() -> String {
    format!("host-{}", UserId::generate())
}

/// The first upsert creates the user, later ones return it renamed, lookups find it.
pub async fn external_users_are_created_once_and_renamed(store: Arc<dyn Store>) {
    let key = external_id();
    assert!(store.external_user(&key).await.unwrap().is_none());
    let first = external("Ann");
    let created = store
        .upsert_external_user(&key, first.clone())
        .await
        .unwrap();
    assert_eq!((created.id, created.name.as_str()), (first.id, "Ann"));
    assert_eq!(created.email, first.email);
    let renamed = store
        .upsert_external_user(&key, external("Ann Smith"))
        .await
        .unwrap();
    assert_eq!(renamed.id, created.id);
    assert_eq!(renamed.name, "Ann Smith");
    assert_eq!(renamed.email, created.email);
    assert_eq!(renamed.created_at, created.created_at);
    assert_eq!(
        store.external_user(&key).await.unwrap(),
        Some(renamed.clone())
    );
    assert_eq!(store.user(created.id).await.unwrap(), Some(renamed));
}

/// Distinct external ids are distinct users, found by search like any user.
pub async fn external_ids_map_to_distinct_users(store: Arc<dyn Store>) {
    let (ann_key, bob_key) = (external_id(), external_id());
    let ann = store
        .upsert_external_user(&ann_key, external("Ann Extern"))
        .await
        .unwrap();
    let bob = store
        .upsert_external_user(&bob_key, external("Bob Extern"))
        .await
        .unwrap();
    assert_ne!(ann.id, bob.id);
    assert_eq!(
        store.external_user(&bob_key).await.unwrap().unwrap().id,
        bob.id
    );
    let found = store
        .search_users(Some("extern"), ann.id, 10)
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|user| user.id).collect::<Vec<_>>(),
        [bob.id]
    );
}

/// Concurrent first upserts of one external id, as from several servers, yield one user.
pub async fn concurrent_upserts_of_one_external_id_yield_one_user(store: Arc<dyn Store>) {
    let key = external_id();
    let calls = (0..8).map(|n| {
        let (store, key) = (store.clone(), key.clone());
        tokio::spawn(async move {
            store
                .upsert_external_user(&key, external(&format!("Racer {n}")))
                .await
                .unwrap()
        })
    });
    let mut ids = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        ids.push(call.await.unwrap().id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one user for one external id: {ids:?}");
    let stored = store.external_user(&key).await.unwrap().unwrap();
    assert_eq!(stored.id, ids[0]);
    let racers = store
        .search_users(Some("racer"), UserId::generate(), 100)
        .await
        .unwrap();
    assert_eq!(racers.len(), 1, "the losers' users are gone: {racers:?}");
}
