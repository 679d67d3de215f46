//! Attachments over real HTTP, on SQLite with files in a directory and on MongoDB with files
//! in GridFS (FerretDB under `scripts/test`): uploads and downloads for members only, the size
//! limit, content types sniffed rather than trusted, ranges, thumbnails, the rules of
//! attaching, the collection of files never attached, and two nodes sharing GridFS.

mod common;

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use chat_core::EngineConfig;
use chat_core::blob::{BlobStore, DirBlobStore};
use chat_store_mongo::MongoStore;
use chat_store_sqlite::SqliteStore;
use common::*;
use serde_json::{Value, json};

/// The limit the tests run with, so the over-limit upload stays small.
const MAX_FILE: u64 = 256 * 1024;

fn config() -> EngineConfig {
    EngineConfig {
        max_file_bytes: MAX_FILE,
        ..EngineConfig::default()
    }
}

/// A server on a fresh SQLite database with files in a temporary directory.
async fn sqlite(config: EngineConfig) -> Option<Server> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("chat.sqlite3")).unwrap();
    let blobs = DirBlobStore::open(&dir.path().join("files")).unwrap();
    Some(start_with_blobs(Arc::new(store), Arc::new(blobs), config, Some(dir)).await)
}

/// `n` servers on one fresh MongoDB database with files in its GridFS bucket; `None` (the
/// test skips loudly) without `CHAT_TEST_MONGO_URL`.
async fn mongo_nodes(config: EngineConfig, n: usize) -> Option<Vec<Server>> {
    let url = mongo_url()?;
    let database = unique_name("chat_files");
    let mut nodes = Vec::new();
    for _ in 0..n {
        let store = MongoStore::connect(&url, &database).await.unwrap();
        let blobs: Arc<dyn BlobStore> = Arc::new(store.blobs());
        nodes.push(start_with_blobs(Arc::new(store), blobs, config.clone(), None).await);
    }
    Some(nodes)
}

async fn mongo(config: EngineConfig) -> Option<Server> {
    mongo_nodes(config, 1)
        .await
        .map(|mut nodes| nodes.remove(0))
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 128]))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 253) as u8).collect()
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Ann and Bob share a room; Carl is in none of theirs.
async fn trio(server: &Server) -> (TestUser, TestUser, TestUser, String) {
    let ann = server.register("Ann").await;
    let bob = server.register("Bob").await;
    let carl = server.register("Carl").await;
    let room = server.room(&ann, &bob).await;
    (ann, bob, carl, room)
}

async fn uploaded(server: &Server, user: &TestUser, room: &str, bytes: Vec<u8>) -> Value {
    let (status, body) = server
        .upload(user, room, "file.bin", "application/octet-stream", bytes)
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn round_trip_for_members_only(server: Server) {
    let (ann, bob, carl, room) = trio(&server).await;
    let image = png(40, 30);
    let (status, file) = server
        .upload(&ann, &room, "../holiday ☀.png", "image/png", image.clone())
        .await;
    assert_eq!(status, 201, "{file}");
    assert_eq!(file["name"], "holiday ☀.png");
    assert_eq!(file["size"], image.len());
    assert_eq!(file["content_type"], "image/png");
    assert_eq!(
        (file["width"].as_u64(), file["height"].as_u64()),
        (Some(40), Some(30))
    );
    let path = format!("/api/files/{}", file["file_id"].as_str().unwrap());

    let response = server.fetch_bytes(&bob, &path, None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "image/png");
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    assert!(header(&response, "content-disposition").starts_with("inline;"));
    assert!(header(&response, "content-disposition").contains("UTF-8''holiday%20%E2%98%80.png"));
    assert_eq!(response.bytes().await.unwrap(), image);

    assert_eq!(server.fetch_bytes(&carl, &path, None).await.status(), 403);
    let (status, _) = server
        .upload(&carl, &room, "x", "text/plain", b"x".to_vec())
        .await;
    assert_eq!(status, 403);
    let unknown = format!("/api/files/{}", "0".repeat(24));
    assert_eq!(server.fetch_bytes(&ann, &unknown, None).await.status(), 404);
    assert_eq!(
        server
            .fetch_bytes(&ann, "/api/files/nope", None)
            .await
            .status(),
        404
    );
}

async fn uploads_past_the_limit_are_refused(server: Server) {
    let (ann, _, _, room) = trio(&server).await;
    let exact = uploaded(&server, &ann, &room, pattern(MAX_FILE as usize)).await;
    assert_eq!(exact["size"], MAX_FILE);
    let (status, body) = server
        .upload(
            &ann,
            &room,
            "big.bin",
            "application/octet-stream",
            pattern(MAX_FILE as usize + 1),
        )
        .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], "too_large");
    assert_eq!(declared_huge_upload(&server, &ann, &room).await, 413);
    let (status, body) = server
        .post(
            &format!("/api/rooms/{room}/files"),
            Some(&ann.token),
            json!({}),
        )
        .await;
    assert!(
        status == 400 || status == 415 || status == 422,
        "{status} {body}"
    );
}

/// Sends only the headers of an upload declaring 5 MB and returns the status the server
/// answers with before any of the body was sent.
async fn declared_huge_upload(server: &Server, user: &TestUser, room: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /api/rooms/{room}/files HTTP/1.1\r\nHost: test\r\nauthtoken: {}\r\n\
         Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 5000000\r\n\r\n",
        user.token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("an answer before the body")
        .unwrap();
    let line = String::from_utf8_lossy(&answer[..read]).into_owned();
    line.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

async fn html_uploaded_as_an_image_is_never_served_as_html(server: Server) {
    let (ann, bob, _, room) = trio(&server).await;
    let page = b"<!doctype html><html><script>alert(document.cookie)</script></html>".to_vec();
    let (status, file) = server
        .upload(&ann, &room, "cat.png", "image/png", page.clone())
        .await;
    assert_eq!(status, 201, "{file}");
    assert_eq!(file["content_type"], "text/plain; charset=utf-8");
    assert!(file.get("width").is_none());
    let path = format!("/api/files/{}", file["file_id"].as_str().unwrap());
    let response = server.fetch_bytes(&bob, &path, None).await;
    assert_eq!(response.status(), 200);
    let content_type = header(&response, "content-type");
    assert!(
        !content_type.contains("html") && !content_type.starts_with("image/"),
        "{content_type}"
    );
    assert!(header(&response, "content-disposition").starts_with("attachment;"));
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    assert!(header(&response, "content-security-policy").contains("sandbox"));
    assert_eq!(response.bytes().await.unwrap(), page);
    let thumb = format!("{path}/thumb");
    assert_eq!(server.fetch_bytes(&bob, &thumb, None).await.status(), 404);
}

async fn ranges_are_served_with_206_and_416(server: Server) {
    let (ann, bob, _, room) = trio(&server).await;
    let bytes = pattern(200 * 1024);
    let file = uploaded(&server, &ann, &room, bytes.clone()).await;
    let path = format!("/api/files/{}", file["file_id"].as_str().unwrap());
    let size = bytes.len();
    let whole = server.fetch_bytes(&bob, &path, None).await;
    assert_eq!(header(&whole, "accept-ranges"), "bytes");
    assert!(header(&whole, "content-disposition").starts_with("attachment;"));
    for (range, start, end) in [
        ("bytes=10-19", 10, 20),
        ("bytes=150000-", 150_000, size),
        ("bytes=-5", size - 5, size),
        ("bytes=100-999999999", 100, size),
    ] {
        let response = server.fetch_bytes(&bob, &path, Some(range)).await;
        assert_eq!(response.status(), 206, "{range}");
        assert_eq!(
            header(&response, "content-range"),
            format!("bytes {start}-{}/{size}", end - 1)
        );
        assert_eq!(
            response.bytes().await.unwrap(),
            &bytes[start..end],
            "{range}"
        );
    }
    let past = server
        .fetch_bytes(&bob, &path, Some(&format!("bytes={size}-")))
        .await;
    assert_eq!(past.status(), 416);
    assert_eq!(header(&past, "content-range"), format!("bytes */{size}"));
    let several = server.fetch_bytes(&bob, &path, Some("bytes=0-1,5-6")).await;
    assert_eq!(several.status(), 200);
}

async fn thumbnails_are_made_once_and_fit(server: Server) {
    let (ann, bob, _, room) = trio(&server).await;
    let (_, file) = server
        .upload(&ann, &room, "wide.png", "image/png", png(800, 400))
        .await;
    let thumb = format!("/api/files/{}/thumb", file["file_id"].as_str().unwrap());
    let first = server.fetch_bytes(&bob, &thumb, None).await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "content-type"), "image/png");
    assert_eq!(header(&first, "x-content-type-options"), "nosniff");
    let first = first.bytes().await.unwrap();
    let decoded = image::load_from_memory(&first).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (320, 160));
    let again = server
        .fetch_bytes(&ann, &thumb, None)
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(again, first);
    let carl = server.register("Carl").await;
    assert_eq!(server.fetch_bytes(&carl, &thumb, None).await.status(), 403);
}

async fn only_ones_own_unattached_uploads_to_the_room_attach(server: Server) {
    let (ann, bob, _, room) = trio(&server).await;
    let dana = server.register("Dana").await;
    let elsewhere = server.room(&ann, &dana).await;
    let mine = uploaded(&server, &ann, &room, png(4, 4)).await;
    let bobs = uploaded(&server, &bob, &room, b"bob's".to_vec()).await;
    let other_room = uploaded(&server, &ann, &elsewhere, b"other".to_vec()).await;
    let send = |files: Vec<&Value>, text: &str, client_id: Option<&str>| {
        let body = json!({
            "message": text,
            "client_id": client_id,
            "attachments": files.iter().map(|f| f["file_id"].clone()).collect::<Vec<_>>(),
        });
        let path = format!("/api/messages/{room}");
        let server = &server;
        let token = ann.token.clone();
        async move { server.post(&path, Some(&token), body).await }
    };
    let mut bobs_socket = server.connect(&bob).await;

    let (status, _) = send(vec![&bobs], "", None).await;
    assert_eq!(status, 403);
    let (status, _) = send(vec![&other_room], "", None).await;
    assert_eq!(status, 403);
    let (status, _) = send(vec![&mine, &mine], "", None).await;
    assert_eq!(status, 422);
    let (status, _) = send(vec![], "", None).await;
    assert_eq!(status, 422);

    let (status, sent) = send(vec![&mine], "", Some("c-1")).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["message"], "");
    assert_eq!(sent["attachments"][0]["file_id"], mine["file_id"]);
    assert_eq!(sent["attachments"][0]["width"], 4);
    let delivered = next_message(&mut bobs_socket).await;
    assert_eq!(delivered["attachments"], sent["attachments"]);

    let (status, resent) = send(vec![&mine], "", Some("c-1")).await;
    assert_eq!(status, 201);
    assert_eq!(resent["_id"], sent["_id"]);
    let (status, body) = send(vec![&mine], "again", None).await;
    assert_eq!(status, 409, "{body}");

    let plain = json!({"type": "message", "room_id": room, "message": "no files"});
    let mut anns_socket = server.connect(&ann).await;
    send_frame(&mut anns_socket, plain).await;
    let echo = next_message(&mut anns_socket).await;
    assert!(echo.get("attachments").is_none(), "{echo}");

    let second = uploaded(&server, &ann, &room, b"notes".to_vec()).await;
    send_frame(
        &mut anns_socket,
        json!({"type": "message", "room_id": room, "message": "see", "attachments": [second["file_id"]]}),
    )
    .await;
    let echo = next_message(&mut anns_socket).await;
    assert_eq!(echo["attachments"][0]["name"], "file.bin");
    assert_eq!(
        echo["attachments"][0]["content_type"],
        "text/plain; charset=utf-8"
    );

    let history = server.history(&bob, &room).await;
    let listed: Vec<&Value> = history
        .iter()
        .filter(|m| m.get("attachments").is_some())
        .collect();
    assert_eq!(listed.len(), 2);
}

async fn files_never_attached_are_collected(server: Server) {
    let (ann, _, _, room) = trio(&server).await;
    let kept = uploaded(&server, &ann, &room, b"kept".to_vec()).await;
    let (status, _) = server
        .post(
            &format!("/api/messages/{room}"),
            Some(&ann.token),
            json!({"message": "keep", "attachments": [kept["file_id"]]}),
        )
        .await;
    assert_eq!(status, 201);
    let dropped = uploaded(&server, &ann, &room, b"dropped".to_vec()).await;
    let path = |file: &Value| format!("/api/files/{}", file["file_id"].as_str().unwrap());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while server
        .fetch_bytes(&ann, &path(&dropped), None)
        .await
        .status()
        != 404
    {
        assert!(tokio::time::Instant::now() < deadline, "never collected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        server.fetch_bytes(&ann, &path(&kept), None).await.status(),
        200
    );
}

fn sweeping() -> EngineConfig {
    EngineConfig {
        unattached_file_ttl: Duration::from_millis(500),
        file_sweep_interval: Duration::from_millis(100),
        ..config()
    }
}

macro_rules! on_backend {
    ($backend:ident) => {
        mod $backend {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn round_trip_for_members_only() {
                if let Some(server) = super::$backend(config()).await {
                    super::round_trip_for_members_only(server).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn uploads_past_the_limit_are_refused() {
                if let Some(server) = super::$backend(config()).await {
                    super::uploads_past_the_limit_are_refused(server).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn html_uploaded_as_an_image_is_never_served_as_html() {
                if let Some(server) = super::$backend(config()).await {
                    super::html_uploaded_as_an_image_is_never_served_as_html(server).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ranges_are_served_with_206_and_416() {
                if let Some(server) = super::$backend(config()).await {
                    super::ranges_are_served_with_206_and_416(server).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn thumbnails_are_made_once_and_fit() {
                if let Some(server) = super::$backend(config()).await {
                    super::thumbnails_are_made_once_and_fit(server).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn only_ones_own_unattached_uploads_to_the_room_attach() {
                if let Some(server) = super::$backend(config()).await {
                    super::only_ones_own_unattached_uploads_to_the_room_attach(server).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn files_never_attached_are_collected() {
                if let Some(server) = super::$backend(sweeping()).await {
                    super::files_never_attached_are_collected(server).await;
                }
            }
        }
    };
}

on_backend!(sqlite);
on_backend!(mongo);

/// A file uploaded through one node is read, ranged and thumbnailed through another: both
/// keep bytes in the database's GridFS bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_shared_by_two_nodes_through_gridfs() {
    let Some(nodes) = mongo_nodes(config(), 2).await else {
        eprintln!("SKIPPED files_are_shared_by_two_nodes_through_gridfs: no MongoDB");
        return;
    };
    let (one, two) = (&nodes[0], &nodes[1]);
    let ann = one.register("Ann").await;
    let bob = one.register("Bob").await;
    let room = one.room(&ann, &bob).await;
    let image = png(500, 500);
    let (status, file) = one
        .upload(&ann, &room, "square.png", "image/png", image.clone())
        .await;
    assert_eq!(status, 201, "{file}");
    let path = format!("/api/files/{}", file["file_id"].as_str().unwrap());
    let response = two.fetch_bytes(&bob, &path, None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap(), image);
    let part = two.fetch_bytes(&bob, &path, Some("bytes=100-199")).await;
    assert_eq!(part.bytes().await.unwrap(), &image[100..200]);
    let thumb = two.fetch_bytes(&bob, &format!("{path}/thumb"), None).await;
    assert_eq!(thumb.status(), 200);
    let (status, sent) = two
        .post(
            &format!("/api/messages/{room}"),
            Some(&ann.token),
            json!({"message": "from node two", "attachments": [file["file_id"]]}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
}
