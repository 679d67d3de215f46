//! Flags of `chat-bench`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use chat_cli::{StoreArgs, StoreOptions};
use clap::{ArgGroup, Parser};

use crate::frames::Protocol;

/// Users when `--users` is not given (outside a soak).
const DEFAULT_USERS: usize = 1000;
/// Sockets a soak holds when `--sockets` is not given.
const SOAK_SOCKETS: usize = 10_000;

/// Load-test a chat server over real WebSockets and report latency, losses and memory.
#[derive(Debug, Parser)]
#[command(name = "chat-bench", version, about)]
#[command(group(ArgGroup::new("server").required(true).args(["url", "spawn"])))]
pub struct BenchArgs {
    /// Server to load, e.g. `http://127.0.0.1:9010`; for Centrifugo its WebSocket endpoint,
    /// e.g. `ws://127.0.0.1:8000/connection/websocket`.
    #[arg(long)]
    pub url: Option<String>,
    /// The kind of server at `--url`: `chat`, or `centrifugo` (v6, JSON protocol: users
    /// `user{i}` connect with HS256 tokens signed with `--hmac-secret` and subscribe to their
    /// rooms' channels `room:K`, which must allow subscribing and publishing; see
    /// benches/centrifugo.json).
    #[arg(long, value_enum, default_value_t = Protocol::Chat)]
    pub target: Protocol,
    /// Centrifugo's `client.token.hmac_secret_key`, to sign the connect tokens.
    #[arg(
        long,
        env = "CENTRIFUGO_HMAC_SECRET",
        required_if_eq("target", "centrifugo")
    )]
    pub hmac_secret: Option<String>,
    /// Start `chat serve` (see `--server-bin`) on a free loopback port, on `--data-dir` (else
    /// a temp dir), with load-test limits; report its memory and CPU; stop it at the end.
    #[arg(long)]
    pub spawn: bool,
    /// The `chat` binary `--spawn` starts (default: `chat` beside this binary, as cargo
    /// builds them into one target folder).
    #[arg(long, env = "CHAT_BIN")]
    pub server_bin: Option<PathBuf>,
    /// CPUs to pin the spawned server to, as a `taskset` list (e.g. `0`); pin the bench
    /// itself by running it under `taskset`.
    #[arg(long, requires = "spawn")]
    pub server_cpus: Option<String>,
    /// The server's data dir: the bench prepares its users and rooms in the store there (and
    /// keeps the population's ids in a file to reuse), and mints tokens with its secret.
    /// Without it and without `--spawn`, users are registered through the API: slow, for
    /// small populations only.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The server's token secret and database, read as `chat serve` reads them (a spawned
    /// server is given them too).
    #[command(flatten)]
    pub store: StoreOptions,
    /// Pid of a server not spawned by the bench, to read its memory and CPU from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Users, put into rooms of `--room-size` members in order (users beyond the last full
    /// room are in none). Default 1000; under `--soak`, one per socket.
    #[arg(long)]
    pub users: Option<usize>,
    /// Members per room: 2 pairs users into direct rooms (user 2k with user 2k+1); more makes
    /// group rooms (users K·k to K·k+K-1, owned by the first), whose messages go to every
    /// other member's sockets besides the sender's echo. The server's `--max-room-members`
    /// must allow it.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(2..))]
    pub room_size: u32,
    /// Sockets to open, spread round-robin over the users (default: one per user; under
    /// `--soak`, 10,000).
    #[arg(long)]
    pub sockets: Option<usize>,
    /// Sockets opened per second in the connect phase.
    #[arg(long, default_value_t = 2000)]
    pub connect_rate: u32,
    /// Handshakes in progress at once in the connect phase.
    #[arg(long, default_value_t = 256)]
    pub connect_concurrency: usize,
    /// Offered load in messages per second, sent on a fixed schedule; each message is
    /// delivered to every socket of its room's members, the sender's included.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Length of the load phase (and of each `--find-max` step), e.g. `30s`.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub duration: Duration,
    /// Start of the load phase whose messages are sent but not measured.
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub warmup: Duration,
    /// Longest wait after the last send for deliveries still in flight.
    #[arg(long, value_parser = parse_duration, default_value = "3s")]
    pub drain: Duration,
    /// Message text length in bytes.
    #[arg(long, default_value_t = 64)]
    pub message_bytes: usize,
    /// Run one step at each of these rates, in order, on the same sockets (e.g.
    /// `1000,4000,8000`), with a pause between steps.
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["find_max", "idle", "soak"])]
    pub rates: Vec<f64>,
    /// Raise the rate step by step (from `--rate`) until p99 passes `--max-p99-ms` or
    /// deliveries fall behind, and report the highest sustainable rate.
    #[arg(long, conflicts_with = "idle")]
    pub find_max: bool,
    /// The p99 latency bound of `--find-max`, in milliseconds.
    #[arg(long, default_value_t = 50.0)]
    pub max_p99_ms: f64,
    /// Rate factor between `--find-max` steps.
    #[arg(long, default_value_t = 1.5)]
    pub step_factor: f64,
    /// Most `--find-max` steps.
    #[arg(long, default_value_t = 16)]
    pub max_steps: usize,
    /// Send nothing: hold the sockets open this long, e.g. `30s`, and report memory per socket.
    #[arg(long, value_parser = parse_duration)]
    pub idle: Option<Duration>,
    /// Soak: hold the sockets this long, e.g. `10m`, sending `--rate` messages per second
    /// throughout, and print the server's RSS, open fds and the p99 every `--soak-interval`.
    #[arg(long, value_parser = parse_duration, conflicts_with_all = ["idle", "find_max"])]
    pub soak: Option<Duration>,
    /// How often a soak reports.
    #[arg(long, value_parser = parse_duration, default_value = "1m")]
    pub soak_interval: Duration,
    /// Local addresses to connect from, in turn. Loopback targets default to as many of
    /// 127.0.0.1, 127.0.0.2, … as the socket count needs (one per 5,000 sockets), since each
    /// source address has one ephemeral port range.
    #[arg(long, value_delimiter = ',')]
    pub source_addrs: Vec<IpAddr>,
    /// Email domain of the bench's users (`user{i}@DOMAIN`, as `chat user import` names them).
    #[arg(long, default_value = "bench.load.test")]
    pub domain: String,
    /// Print the results as JSON on stdout instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Write an SVG of latency percentiles over time and of the latency distribution.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Testing aid: discard every Nth message event received before accounting, so the
    /// loss detection can be checked end to end.
    #[arg(long, hide = true)]
    pub drop_every: Option<u64>,
}

impl BenchArgs {
    /// Sockets to open.
    pub fn socket_count(&self) -> usize {
        match (self.sockets, self.soak) {
            (Some(sockets), _) => sockets,
            (None, Some(_)) => SOAK_SOCKETS,
            (None, None) => self.user_count(),
        }
    }

    /// Users to prepare.
    pub fn user_count(&self) -> usize {
        match (self.users, self.soak) {
            (Some(users), _) => users,
            (None, Some(_)) => self.socket_count(),
            (None, None) => DEFAULT_USERS,
        }
    }

    /// The server's store and secret, as `chat serve` would read them from the same flags,
    /// when the bench is to prepare its population there (`dir` is `--data-dir` or the temp
    /// dir of `--spawn`).
    pub fn store(&self, dir: PathBuf) -> StoreArgs {
        StoreArgs {
            data_dir: dir,
            options: self.store.clone(),
        }
    }
}

/// `1.5s`, `250ms`, `2m` or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 10s, 500ms or 2m"))?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" => number * 60.0,
        _ => return Err(format!("unknown unit {unit:?} (use ms, s or m)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_take_common_units() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("s").is_err());
    }
}
