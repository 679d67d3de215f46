//! What every handler shares: the engine, the edge's settings, and the shutdown signal.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chat_core::Engine;
use tokio_util::sync::CancellationToken;

use crate::routes::server_api::ServerApiKey;
use tokio_util::task::TaskTracker;

use crate::authenticator::{Authenticator, TokenAuthenticator};

/// Settings of the HTTP/WebSocket edge.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Browser origins allowed to call the API with cookies and to open cookie-authenticated
    /// sockets, besides the server's own origin.
    pub allowed_origins: Vec<String>,
    /// Where the built web client lives, if it should be served at `/`.
    pub web_dir: Option<PathBuf>,
    /// Mark the session cookie `Secure` always (it is anyway on requests known to be HTTPS).
    pub secure_cookies: bool,
    /// Believe `X-Forwarded-Proto` and `X-Forwarded-Host` (set by a TLS-terminating proxy in
    /// front) for the cookie's `Secure` flag and the server's own origin. Only for a server
    /// that nothing but the proxy can reach: any client can send these headers.
    pub trust_forwarded_proto: bool,
    /// Proxies whose `X-Forwarded-For` is believed: a request one of them relays counts
    /// against the login and registration limits as the client address it recorded. Only
    /// the proxies' own addresses: any client can send the header.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Largest socket frame accepted; larger ones close the socket with 1009.
    pub max_frame_bytes: usize,
    /// How often sockets are pinged.
    pub ping_interval: Duration,
    /// A socket silent for this long is dropped.
    pub idle_timeout: Duration,
    /// Largest REST body.
    pub max_body_bytes: usize,
    /// Longest a REST request may take.
    pub request_timeout: Duration,
    /// Longest a file upload or download may take (they carry up to `--max-file-bytes`).
    pub file_timeout: Duration,
    /// Longest a socket write may go without progress before the peer is taken for gone
    /// (capped by `idle_timeout`); an HTTP connection may stall for `request_timeout` more.
    pub write_timeout: Duration,
    /// Longest a client may take to send a request's headers, counted from when the server
    /// starts waiting for them: so also how long an idle keep-alive connection is kept.
    pub header_timeout: Duration,
    /// Open connections in total, upgraded sockets included; more are refused.
    pub max_connections: usize,
    /// Connections per client address still speaking HTTP (an upgraded socket counts against
    /// its user's socket cap instead); more are refused.
    pub max_connections_per_ip: usize,
    /// How long a graceful shutdown waits for connections and sockets before dropping them.
    pub shutdown_timeout: Duration,
    /// The key of the operators' server API (`/api/server/*`); without one it is not served.
    pub server_api_key: Option<ServerApiKey>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            allowed_origins: vec!["http://localhost:5173".into()],
            web_dir: None,
            secure_cookies: false,
            trust_forwarded_proto: false,
            trusted_proxies: Vec::new(),
            max_frame_bytes: 64 * 1024,
            ping_interval: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(90),
            max_body_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            file_timeout: Duration::from_secs(600),
            write_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_connections_per_ip: 512,
            shutdown_timeout: Duration::from_secs(10),
            server_api_key: None,
        }
    }
}

/// Shared by all handlers; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The chat engine.
    pub engine: Engine,
    /// Edge settings.
    pub config: Arc<HttpConfig>,
    /// Cancelled when the server shuts down; socket loops close with 1001.
    pub shutdown: CancellationToken,
    /// Live socket tasks, so shutdown can wait for their close handshakes.
    pub sockets: TaskTracker,
    /// Cancelled when the shutdown deadline passes: every connection and socket still open
    /// is dropped.
    pub abort: CancellationToken,
    /// Decides who each request and socket comes from.
    pub authenticator: Arc<dyn Authenticator>,
}

impl AppState {
    /// State for a server over `engine`, authenticating with our own tokens
    /// ([`TokenAuthenticator`]).
    pub fn new(engine: Engine, config: HttpConfig) -> Self {
        AppState {
            authenticator: TokenAuthenticator::shared(engine.clone()),
            engine,
            config: Arc::new(config),
            shutdown: CancellationToken::new(),
            sockets: TaskTracker::new(),
            abort: CancellationToken::new(),
        }
    }

    /// The same state, with `authenticator` deciding who calls.
    pub fn with_authenticator(mut self, authenticator: Arc<dyn Authenticator>) -> Self {
        self.authenticator = authenticator;
        self
    }
}
