//! User search beyond the conformance suite: `LIKE` metacharacters, including the escape
//! character itself, are literal, and case folding works beyond ASCII.

use std::sync::Arc;

use chat_core::id::UserId;
use chat_core::model::{NewUser, now};
use chat_core::store::UserStore;
use chat_store_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_is_literal_and_folds_unicode_case() {
    let store = Arc::new(SqliteStore::open_temp().unwrap());
    let mut names = Vec::new();
    for name in ["100% Ann", "a_b", r"back\slash", "Émile", "Zoë"] {
        let user = store
            .create_user(NewUser {
                id: UserId::generate(),
                email: format!("{}@example.com", UserId::generate()),
                name: name.into(),
                password_hash: "$argon2id$fake".into(),
                created_at: now(),
            })
            .await
            .unwrap();
        names.push(user);
    }
    let nobody = UserId::generate();
    let search = |query: &'static str| {
        let store = store.clone();
        async move {
            let found = store.search_users(Some(query), nobody, 100).await.unwrap();
            found.into_iter().map(|user| user.name).collect::<Vec<_>>()
        }
    };
    assert_eq!(search("%").await, ["100% Ann"]);
    assert_eq!(search("_").await, ["a_b"]);
    assert_eq!(search(r"\").await, [r"back\slash"]);
    assert_eq!(search(r"k\s").await, [r"back\slash"]);
    assert_eq!(search("ÉMILE").await, ["Émile"]);
    assert_eq!(search("émi").await, ["Émile"]);
    assert_eq!(search("ZOË").await, ["Zoë"]);
    let everyone = store.search_users(None, names[0].id, 100).await.unwrap();
    let listed: Vec<&str> = everyone.iter().map(|user| user.name.as_str()).collect();
    assert_eq!(
        listed,
        ["Zoë", "a_b", r"back\slash", "Émile"],
        "ordered by name"
    );
}
