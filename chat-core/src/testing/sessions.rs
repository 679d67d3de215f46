//! The revocation checks of the store: one public async function per promise of
//! `revocations`, `revoke_session` and `advance_generation`. Run by
//! [`store_conformance!`](crate::store_conformance) with the other store checks.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;

use crate::error::Error;
use crate::id::{SessionId, UserId};
use crate::model::now;
use crate::store::Store;
use crate::testing::fixtures;

/// A new user starts at generation 0 with nothing revoked, as does an unknown id.
pub async fn new_users_have_nothing_revoked(store: Arc<dyn Store>) {
    let ann = fixtures::user(&*store, "Ann").await;
    for user in [ann.id, UserId::generate()] {
        let revocations = store.revocations(user).await.unwrap();
        assert_eq!(revocations.generation, 0);
        assert!(revocations.sessions.is_empty());
    }
}

/// Revoked sessions are listed until they expire, per user, and revoking twice is harmless.
pub async fn revoked_sessions_are_kept_until_they_expire(store: Arc<dyn Store>) {
    let ann = fixtures::user(&*store, "Ann").await;
    let bob = fixtures::user(&*store, "Bob").await;
    let (live, other, expired) = (
        SessionId::generate(),
        SessionId::generate(),
        SessionId::generate(),
    );
    let later = now() + Duration::hours(1);
    store.revoke_session(ann.id, live, later).await.unwrap();
    store.revoke_session(ann.id, live, later).await.unwrap();
    store.revoke_session(ann.id, other, later).await.unwrap();
    store
        .revoke_session(ann.id, expired, now() - Duration::seconds(1))
        .await
        .unwrap();
    let listed: HashSet<SessionId> = store
        .revocations(ann.id)
        .await
        .unwrap()
        .sessions
        .into_iter()
        .collect();
    assert_eq!(listed, HashSet::from([live, other]));
    assert!(store.revocations(bob.id).await.unwrap().sessions.is_empty());
    assert_eq!(store.revocations(ann.id).await.unwrap().generation, 0);
}

/// Advancing counts up by one, replaces the password only when asked, and refuses an unknown
/// user.
pub async fn generations_advance_with_or_without_a_new_password(store: Arc<dyn Store>) {
    let ann = fixtures::user(&*store, "Ann").await;
    let old_hash = store
        .credentials(&ann.email)
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert_eq!(store.advance_generation(ann.id, None).await.unwrap(), 1);
    let unchanged = store.credentials(&ann.email).await.unwrap().unwrap();
    assert_eq!(unchanged.password_hash, old_hash);
    assert_eq!(
        store
            .advance_generation(ann.id, Some("$argon2id$new".into()))
            .await
            .unwrap(),
        2
    );
    let changed = store.credentials(&ann.email).await.unwrap().unwrap();
    assert_eq!(changed.password_hash, "$argon2id$new");
    assert_eq!(changed.user, ann);
    assert_eq!(store.revocations(ann.id).await.unwrap().generation, 2);
    assert!(matches!(
        store.advance_generation(UserId::generate(), None).await,
        Err(Error::NotFound(_))
    ));
}

/// Concurrent advances all succeed, each past the generation before them, and the stored
/// generation moves past it too: every token issued before any of them is revoked.
pub async fn concurrent_advances_all_revoke(store: Arc<dyn Store>) {
    let ann = fixtures::user(&*store, "Ann").await;
    assert_eq!(store.advance_generation(ann.id, None).await.unwrap(), 1);
    let advances: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.advance_generation(ann.id, None).await.unwrap() })
        })
        .collect();
    for advance in advances {
        let generation = advance.await.unwrap();
        assert!(generation >= 2, "advanced to {generation} from 1");
    }
    let stored = store.revocations(ann.id).await.unwrap().generation;
    assert!((2..=9).contains(&stored), "stored {stored}");
}
