//! User input as data, beyond the conformance suite: regular-expression syntax in a search is
//! literal, case folds beyond ASCII, and strings shaped like query operators match nothing but
//! themselves.

use chat_core::UserId;
use chat_core::model::{NewUser, now};
use chat_core::store::UserStore;
use chat_store_mongo::MongoStore;
use chat_testkit::{mongo_url, unique_name};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_is_literal_and_folds_unicode_case() {
    let Some(url) = mongo_url() else { return };
    let store = MongoStore::connect(&url, &unique_name("chat_test"))
        .await
        .unwrap();
    let names = [
        "100% Ann",
        "a_b",
        r"back\slash",
        "Émile",
        "Zoë",
        "(x|y)+",
        "^caret$",
        "nul\0byte",
        r#"{"$gt": ""}"#,
    ];
    let mut users = Vec::new();
    for name in names {
        let user = NewUser {
            id: UserId::generate(),
            email: format!("{}@example.com", UserId::generate()),
            name: name.into(),
            password_hash: "$argon2id$fake".into(),
            created_at: now(),
        };
        users.push(store.create_user(user).await.unwrap());
    }
    let nobody = UserId::generate();
    let search = |query: &'static str| {
        let store = &store;
        async move {
            let found = store.search_users(Some(query), nobody, 100).await.unwrap();
            found.into_iter().map(|user| user.name).collect::<Vec<_>>()
        }
    };
    assert_eq!(search("%").await, ["100% Ann"]);
    assert_eq!(search("_").await, ["a_b"]);
    assert_eq!(search(r"\").await, [r"back\slash"]);
    assert_eq!(search(r"k\s").await, [r"back\slash"]);
    assert_eq!(search(r"\d").await, Vec::<String>::new());
    assert_eq!(search("ÉMILE").await, ["Émile"]);
    assert_eq!(search("émi").await, ["Émile"]);
    assert_eq!(search("ZOË").await, ["Zoë"]);
    assert_eq!(search("x|y").await, ["(x|y)+"]);
    assert_eq!(search("^c").await, ["^caret$"]);
    assert_eq!(search("t$").await, ["^caret$"]);
    assert_eq!(search("l\0b").await, ["nul\0byte"]);
    assert_eq!(search(r#""$gt""#).await, [r#"{"$gt": ""}"#]);
    assert_eq!(
        search("a.b").await,
        Vec::<String>::new(),
        "a regex would match a_b"
    );

    let everyone = store.search_users(None, users[0].id, 100).await.unwrap();
    let mut expected: Vec<&str> = names[1..].to_vec();
    expected.sort();
    let listed: Vec<&str> = everyone.iter().map(|user| user.name.as_str()).collect();
    assert_eq!(listed, expected, "ordered by name, byte-wise");

    for email in [r#"{"$gt": ""}"#, "$gt", ".*", "^"] {
        assert!(store.credentials(email).await.unwrap().is_none(), "{email}");
    }
}
