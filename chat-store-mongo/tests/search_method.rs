//! Which search method the store picks, by server: MongoDB's text index, or the scan on
//! FerretDB v1, which refuses both the text index (`createIndexes`: code 27, "can't find index
//! with key: { text: "text" }") and `$text` (code 2, "unknown top level operator: $text");
//! and what either method matches beyond the conformance suite.

use std::sync::Arc;

use chat_core::model::now;
use chat_core::search::{SearchQuery, Terms};
use chat_core::store::Store;
use chat_core::testing::fixtures::{new_message, user};
use chat_store_mongo::{MongoStore, SearchMethod};
use chat_testkit::{mongo_url, unique_name};
use mongodb::bson::{Document, doc};

/// Whether the server at `url` is FerretDB: its `buildInfo` carries `ferretdbVersion`.
async fn is_ferretdb(url: &str) -> bool {
    let client = mongodb::Client::with_uri_str(url).await.unwrap();
    let info: Document = client
        .database("admin")
        .run_command(doc! { "buildInfo": 1 })
        .await
        .unwrap();
    info.contains_key("ferretdbVersion")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_method_follows_the_server() {
    let Some(url) = mongo_url() else { return };
    let store = MongoStore::connect(&url, &unique_name("chat_search_method"))
        .await
        .unwrap();
    let expected = if is_ferretdb(&url).await {
        SearchMethod::Scan
    } else {
        SearchMethod::TextIndex
    };
    eprintln!("search method: {:?}", store.search_method());
    assert_eq!(store.search_method(), expected);
}

/// Whatever the method, a message is found by a word in any case, also beyond ASCII, and a
/// query word is literal text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn words_match_in_any_case_beyond_ascii() {
    let Some(url) = mongo_url() else { return };
    let store: Arc<dyn Store> = Arc::new(
        MongoStore::connect(&url, &unique_name("chat_search_case"))
            .await
            .unwrap(),
    );
    let (ann, bob) = (
        user(store.as_ref(), "Ann").await,
        user(store.as_ref(), "Bob").await,
    );
    let room = store.direct_room(ann.id, bob.id, now()).await.unwrap();
    for text in ["Grüße aus MÜNCHEN", "a.b*c", "ÉCOLE fermée"] {
        store
            .append(new_message(room.id, &ann, text, None))
            .await
            .unwrap();
    }
    let find = |words: &str| SearchQuery {
        terms: Terms::parse(words).unwrap(),
        rooms: vec![room.id],
        before: None,
        limit: 10,
    };
    let texts = |found: Vec<chat_core::model::Message>| -> Vec<String> {
        found.into_iter().map(|m| m.text).collect()
    };
    assert_eq!(
        texts(store.search(&find("münchen")).await.unwrap()),
        ["Grüße aus MÜNCHEN"]
    );
    assert_eq!(
        texts(store.search(&find("école")).await.unwrap()),
        ["ÉCOLE fermée"]
    );
    // "a.b*c" is the words "a", "b", "c"; a regex would have matched "aXb".
    assert_eq!(
        texts(store.search(&find("a.b*c")).await.unwrap()),
        ["a.b*c"]
    );
}
