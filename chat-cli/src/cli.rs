//! Command-line flags; every server flag has a `CHAT_*` environment equivalent.

use std::net::SocketAddr;
use std::path::PathBuf;

use chat_cli::StoreArgs;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cli_ops::{
    BackupArgs, ExportArgs, RestoreArgs, RoomArgs, UserDeleteArgs, UserDisableArgs, UserListArgs,
    UserPick,
};

/// A real-time chat server and its operator tools.
#[derive(Debug, Parser)]
#[command(name = "chat", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the chat server.
    Serve(Box<ServeArgs>),
    /// Manage users directly in the store (the server may be running).
    User(UserArgs),
    /// Mint a session token for a user with the server's secret.
    Token(TokenArgs),
    /// Inspect rooms in the store.
    Room(RoomArgs),
    /// Print a room's history as JSON lines, oldest first.
    Export(ExportArgs),
    /// Write a consistent copy of the embedded database, while servers run.
    Backup(BackupArgs),
    /// Replace the embedded database with a backup; refused while a server runs on the data
    /// dir.
    Restore(RestoreArgs),
}

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Flags of `chat serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML file setting any of these flags by name without dashes (`bind = "0.0.0.0:9010"`,
    /// `allowed-origins = ["https://chat.example"]`); flags and `CHAT_*` variables win over it.
    #[arg(long, env = "CHAT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the settings in force (from flags, environment, config file and defaults) as a
    /// config file, and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Address to listen on.
    #[arg(long, env = "CHAT_BIND", default_value = "0.0.0.0:9010")]
    pub bind: SocketAddr,
    /// Store and secret.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Extra browser origins allowed to use cookies (comma-separated), besides the server's own.
    #[arg(
        long,
        env = "CHAT_ALLOWED_ORIGINS",
        value_delimiter = ',',
        default_value = "http://localhost:5173"
    )]
    pub allowed_origins: Vec<String>,
    /// The built web client to serve at `/` (default: `web/dist` found near the binary or
    /// the working directory).
    #[arg(long, env = "CHAT_WEB_DIR")]
    pub web_dir: Option<PathBuf>,
    /// Key of the operators' server API (`/api/server/*`: sends as the system user or a bot,
    /// groups, members, host-owned users), given as `Authorization: Bearer <key>` or
    /// `X-Api-Key`; without it that API is not served (404).
    #[arg(long, env = "CHAT_SERVER_API_KEY", hide_env_values = true)]
    pub server_api_key: Option<String>,
    /// Mark the session cookie Secure always (it is on every request known to be HTTPS:
    /// with --tls-cert, or a trusted proxy's X-Forwarded-Proto).
    #[arg(long, env = "CHAT_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// HTTPS, the proxy in front and metrics.
    #[command(flatten)]
    pub edge: EdgeArgs,
    /// Share presence, rate limits and fanout with other nodes through this Redis.
    #[arg(long, env = "CHAT_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel, so deployments can share one Redis.
    #[arg(long, env = "CHAT_REDIS_PREFIX", default_value = "chat:")]
    pub redis_prefix: String,
    /// Seconds a dead node's sockets stay online in Redis before they expire.
    #[arg(long, env = "CHAT_PRESENCE_TTL_SECONDS", default_value_t = 45)]
    pub presence_ttl_seconds: u64,
    /// Log format.
    #[arg(long, env = "CHAT_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Longest message text in bytes.
    #[arg(long, env = "CHAT_MAX_MESSAGE_BYTES", default_value_t = 16 * 1024)]
    pub max_message_bytes: usize,
    /// Largest socket frame in bytes; larger frames close the socket with 1009.
    #[arg(long, env = "CHAT_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub max_frame_bytes: usize,
    /// Sustained messages per second per user.
    #[arg(long, env = "CHAT_RATE_PER_SECOND", default_value_t = 30)]
    pub rate_per_second: u32,
    /// Messages a user may send at once after a quiet period.
    #[arg(long, env = "CHAT_RATE_BURST", default_value_t = 120)]
    pub rate_burst: u32,
    /// Open sockets per user.
    #[arg(long, env = "CHAT_MAX_SOCKETS_PER_USER", default_value_t = 16)]
    pub max_sockets_per_user: usize,
    /// Events queued per socket before a slow socket is closed with 1013.
    #[arg(long, env = "CHAT_SOCKET_QUEUE", default_value_t = 256)]
    pub socket_queue: usize,
    /// Sends carried to the store at once; more are refused as `overloaded` (HTTP 503).
    #[arg(long, env = "CHAT_MAX_SENDS_IN_FLIGHT", default_value_t = 1024)]
    pub max_sends_in_flight: usize,
    /// Milliseconds a send may take before new sends are refused as `overloaded` (past 16 in
    /// flight): what bounds an accepted send's latency when the store slows down.
    #[arg(long, env = "CHAT_SEND_WAIT_TARGET_MS", default_value_t = 200)]
    pub send_wait_target_ms: u64,
    /// Milliseconds the runtime may run its tasks late (two ticks in a row) before new sends
    /// are refused as `overloaded`: what bounds an accepted send's latency when the CPU is
    /// saturated.
    #[arg(long, env = "CHAT_SCHEDULING_DELAY_TARGET_MS", default_value_t = 50)]
    pub scheduling_delay_target_ms: u64,
    /// Tasks that may wait in the runtime's global queue (two ticks in a row), counted two per
    /// send, before new sends are refused as `overloaded`: what bounds an accepted send's
    /// latency when the CPU is saturated and senders queue up.
    #[arg(long, env = "CHAT_READY_QUEUE_LIMIT", default_value_t = 128)]
    pub ready_queue_limit: usize,
    /// Milliseconds a ready task may wait in the runtime's global queue (two probes in a row)
    /// before new sends are refused as `overloaded`: what bounds an accepted send's latency
    /// when the CPU is saturated and ready tasks queue up.
    #[arg(long, env = "CHAT_READY_QUEUE_WAIT_TARGET_MS", default_value_t = 25)]
    pub ready_queue_wait_target_ms: u64,
    /// Most members a group room may have.
    #[arg(long, env = "CHAT_MAX_ROOM_MEMBERS", default_value_t = 10_000)]
    pub max_room_members: usize,
    /// Seconds between pings.
    #[arg(long, env = "CHAT_PING_SECONDS", default_value_t = 30)]
    pub ping_seconds: u64,
    /// Seconds of silence after which a socket is dropped.
    #[arg(long, env = "CHAT_IDLE_SECONDS", default_value_t = 90)]
    pub idle_seconds: u64,
    /// Hours a session token stays valid.
    #[arg(long, env = "CHAT_TOKEN_HOURS", default_value_t = 24 * 7)]
    pub token_hours: u64,
    /// Logins per minute from one client address (IPv6: one /64); 0 turns the limit off.
    #[arg(long, env = "CHAT_LOGIN_RATE_PER_MINUTE", default_value_t = 60)]
    pub login_rate_per_minute: u32,
    /// Logins from one address at once after a quiet period.
    #[arg(long, env = "CHAT_LOGIN_RATE_BURST", default_value_t = 20)]
    pub login_rate_burst: u32,
    /// Logins per minute naming one account, from anywhere; 0 turns the limit off.
    #[arg(long, env = "CHAT_ACCOUNT_LOGIN_RATE_PER_MINUTE", default_value_t = 10)]
    pub account_login_rate_per_minute: u32,
    /// Logins naming one account at once after a quiet period.
    #[arg(long, env = "CHAT_ACCOUNT_LOGIN_RATE_BURST", default_value_t = 10)]
    pub account_login_rate_burst: u32,
    /// Registrations per minute from one client address; 0 turns the limit off (load tests
    /// register thousands of users from one address).
    #[arg(long, env = "CHAT_REGISTER_RATE_PER_MINUTE", default_value_t = 10)]
    pub register_rate_per_minute: u32,
    /// Registrations from one address at once after a quiet period.
    #[arg(long, env = "CHAT_REGISTER_RATE_BURST", default_value_t = 20)]
    pub register_rate_burst: u32,
    /// Largest uploaded file in bytes; refused with 413 while it streams.
    #[arg(long, env = "CHAT_MAX_FILE_BYTES", default_value_t = 25 * 1024 * 1024)]
    pub max_file_bytes: u64,
    /// File uploads per minute one user may make; 0 = off.
    #[arg(long, env = "CHAT_UPLOAD_RATE_PER_MINUTE", default_value_t = 30)]
    pub upload_rate_per_minute: u32,
    /// Uploads one user may make at once after a quiet period.
    #[arg(long, env = "CHAT_UPLOAD_RATE_BURST", default_value_t = 20)]
    pub upload_rate_burst: u32,
    /// Seconds an uploaded file may stay unattached to any message before it is deleted.
    #[arg(long, env = "CHAT_UNATTACHED_FILE_SECONDS", default_value_t = 24 * 3600)]
    pub unattached_file_seconds: u64,
    /// Password hashes computed at once (each holds 19 MiB); default: one per core.
    #[arg(long, env = "CHAT_PASSWORD_WORKERS")]
    pub password_workers: Option<usize>,
    /// Logins and registrations waiting for a password worker before more get 503.
    #[arg(long, env = "CHAT_PASSWORD_QUEUE")]
    pub password_queue: Option<usize>,
    /// Connection limits and shutdown.
    #[command(flatten)]
    pub connections: ConnectionArgs,
}

/// TLS in-process, the proxy in front, and where metrics are served.
#[derive(Debug, Args)]
pub struct EdgeArgs {
    /// PEM certificate chain (server certificate first): serve HTTPS and WSS on --bind.
    /// Re-read with the key on SIGHUP; open connections keep going.
    #[arg(long, env = "CHAT_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, env = "CHAT_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Also listen for plain HTTP here and redirect every request to HTTPS (308).
    #[arg(long, env = "CHAT_REDIRECT_HTTP", requires = "tls_cert")]
    pub redirect_http: Option<SocketAddr>,
    /// Believe X-Forwarded-Proto and X-Forwarded-Host from the proxy in front (nginx,
    /// Caddy) for the cookie's Secure flag and the server's own origin. Only when nothing but
    /// the proxy can reach the server.
    #[arg(long, env = "CHAT_TRUST_FORWARDED_PROTO")]
    pub trust_forwarded_proto: bool,
    /// Addresses or CIDR ranges of the proxies in front (e.g. 127.0.0.1, 10.0.0.0/8), comma
    /// separated: a request one of them relays counts against the login and registration
    /// limits as the client address it appended to X-Forwarded-For. Only the proxies'
    /// addresses: any client can send the header.
    #[arg(long, env = "CHAT_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Serve GET /metrics (Prometheus) on this address instead of on --bind.
    #[arg(long, env = "CHAT_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
}

/// How many connections the server holds, how long it waits for them, and how long it
/// takes to stop.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Open connections in total, sockets included (default: the open-file limit less 256).
    #[arg(long, env = "CHAT_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Connections per client address that are still plain HTTP (an upgraded socket counts
    /// against its user's socket cap instead).
    #[arg(long, env = "CHAT_MAX_CONNECTIONS_PER_IP", default_value_t = 512)]
    pub max_connections_per_ip: usize,
    /// Seconds a client may take to send a request's headers; also how long an idle
    /// keep-alive connection is kept.
    #[arg(long, env = "CHAT_HEADER_TIMEOUT_SECONDS", default_value_t = 10)]
    pub header_timeout_seconds: u64,
    /// Seconds a socket write may make no progress before the socket is dropped (at most
    /// the idle timeout).
    #[arg(long, env = "CHAT_WRITE_TIMEOUT_SECONDS", default_value_t = 10)]
    pub write_timeout_seconds: u64,
    /// Seconds a graceful shutdown waits for requests and sockets before dropping them.
    #[arg(long, env = "CHAT_SHUTDOWN_SECONDS", default_value_t = 10)]
    pub shutdown_seconds: u64,
}

/// Flags of `chat user`.
#[derive(Debug, Args)]
pub struct UserArgs {
    /// What to do with users.
    #[command(subcommand)]
    pub action: UserAction,
}

/// User management actions.
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create users in bulk: from a CSV file of `email,name,password` lines, or `--count N`
    /// generated users `user{i}@{domain}` sharing one password (for load tests).
    Import(ImportArgs),
    /// End every session of a user now (a leaked token, a departed employee). Running servers
    /// hear of it at once over `--redis-url`; without Redis they notice within
    /// 30 seconds.
    Revoke(RevokeArgs),
    /// Every account by id: id, status, email, name, registration time.
    List(UserListArgs),
    /// One account (by email or id) as JSON, with its rooms.
    Show(UserPick),
    /// Stop a user from logging in and end every session (their sockets close).
    Disable(UserDisableArgs),
    /// Let a disabled user log in again.
    Enable(UserPick),
    /// Erase a user's email, name and password for good and end every session; the user
    /// leaves every group, and its messages stay as from "deleted user" (or lose their text
    /// and attachments, and its files go, with `--purge`).
    Delete(UserDeleteArgs),
}

/// Flags of `chat user revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Store and secret.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The user's email.
    #[arg(long)]
    pub user: String,
    /// The Redis the servers share, to tell them at once.
    #[arg(long, env = "CHAT_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel.
    #[arg(long, env = "CHAT_REDIS_PREFIX", default_value = "chat:")]
    pub redis_prefix: String,
}

/// Flags of `chat user import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Store and secret.
    #[command(flatten)]
    pub store: StoreArgs,
    /// CSV file with `email,name,password` lines.
    #[arg(long, conflicts_with = "count")]
    pub csv: Option<PathBuf>,
    /// Generate this many users instead of reading a file.
    #[arg(long)]
    pub count: Option<usize>,
    /// Email domain of generated users.
    #[arg(long, default_value = "load.test")]
    pub domain: String,
    /// Password of generated users (hashed once, shared).
    #[arg(long, env = "CHAT_IMPORT_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

/// Flags of `chat token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Store and secret.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The user's email.
    #[arg(long)]
    pub user: String,
}

/// A proxy's address (taken as a one-address range) or CIDR range.
fn parse_proxy(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("not an IP address or CIDR range: {text}"))
}
