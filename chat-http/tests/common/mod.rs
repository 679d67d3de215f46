//! A real server on 127.0.0.1:0 over the in-memory backends. The clients come from
//! `chat-testkit` and are re-exported here, so a test needs only `use common::*`.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code, unused_imports)]

use std::ops::Deref;
use std::sync::Arc;

use chat_core::memory::MemoryStore;
use chat_core::store::Store;
use chat_core::{Engine, EngineConfig, TokenKeys};
use chat_http::{AppState, HttpConfig};

pub use chat_testkit::*;

/// A running server. It derefs to the [`Client`] that talks to it (`server.register(..)`,
/// `server.connect(..)`, `server.addr`, `server.http`).
pub struct Server {
    /// The server's state, for tests that reach into the engine or trigger shutdown.
    pub state: AppState,
    /// The serving task; it ends once a shutdown completes.
    pub serving: tokio::task::JoinHandle<std::io::Result<()>>,
    /// A directory the server's backends keep files in, removed with the server.
    pub temp: Option<tempfile::TempDir>,
    client: Client,
}

impl Deref for Server {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// A server with the default configuration.
pub async fn start() -> Server {
    start_with(EngineConfig::default(), HttpConfig::default()).await
}

/// A server with these settings.
pub async fn start_with(engine_config: EngineConfig, http_config: HttpConfig) -> Server {
    start_on_with(Arc::new(MemoryStore::new()), engine_config, http_config).await
}

/// A server with the default configuration on `store`.
pub async fn start_on(store: Arc<dyn Store>) -> Server {
    start_on_with(store, EngineConfig::default(), HttpConfig::default()).await
}

/// A server on `store` with these settings.
pub async fn start_on_with(
    store: Arc<dyn Store>,
    engine_config: EngineConfig,
    http_config: HttpConfig,
) -> Server {
    let engine = Engine::builder(store, TokenKeys::from_secret(b"test"))
        .config(engine_config)
        .build();
    serve_engine(engine, http_config).await
}

/// A server over `store` and `blobs`, with these engine settings.
pub async fn start_with_blobs(
    store: Arc<dyn Store>,
    blobs: Arc<dyn chat_core::blob::BlobStore>,
    engine_config: EngineConfig,
    temp: Option<tempfile::TempDir>,
) -> Server {
    let engine = Engine::builder(store, TokenKeys::from_secret(b"test"))
        .blobs(blobs)
        .config(engine_config)
        .build();
    Server {
        temp,
        ..serve_engine(engine, HttpConfig::default()).await
    }
}

/// A server around an engine the test assembled (another store, a bus).
pub async fn serve_engine(engine: Engine, http_config: HttpConfig) -> Server {
    let state = AppState::new(engine, http_config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = Client::new(listener.local_addr().unwrap());
    let serving = tokio::spawn(chat_http::serve(listener, state.clone()));
    Server {
        state,
        serving,
        client,
        temp: None,
    }
}
