//! Tunables of the engine, with the defaults the server ships.

use std::time::Duration;

#[cfg(feature = "accounts")]
use crate::auth::PoolLimits;
use crate::limits::{AttemptQuota, Quota};

/// Limits and timings; one struct so the server can fill it from flags.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Longest message text, in bytes of UTF-8.
    pub max_message_bytes: usize,
    /// Open sockets one user may have at once, across all nodes.
    pub max_sockets_per_user: usize,
    /// Events one socket may have queued before it is cut off as too slow.
    pub socket_queue: usize,
    /// Per-user send quota.
    pub quota: Quota,
    /// Sends the node carries to its store at once; more are refused as overloaded, so that
    /// past the store's capacity what is accepted keeps its latency bounded.
    pub max_sends_in_flight: usize,
    /// Past a few sends in flight, new sends are refused as overloaded while the last one to
    /// finish took longer than this: the bound on what an accepted send waits, whatever the
    /// store's throughput of the moment.
    pub send_wait_target: Duration,
    /// New sends are refused as overloaded while the runtime has run its tasks later than
    /// this for two ticks of the scheduling monitor in a row: the bound on what an accepted
    /// send waits when the node's CPU, not its store, is the limit.
    pub scheduling_delay_target: Duration,
    /// New sends are refused as overloaded while more tasks than this have waited in the
    /// runtime's global queue at two ticks of the scheduling monitor in a row, counted two per
    /// send (a send to a room of K wakes K sockets, so there each counts 2/K). Tasks woken from
    /// outside the runtime, and those a busy worker's own queue has no room for, wait there
    /// and are served last: under overload it held ~1,000 tasks (~75 ms of work) while the
    /// monitor's own tick was late by 5 ms.
    pub ready_queue_limit: usize,
    /// New sends are refused as overloaded while the scheduling monitor's probe waited longer
    /// than this in the runtime's global queue at two ticks in a row: the bound where the
    /// count above is lenient, a queue of big rooms' fanouts.
    pub ready_queue_wait_target: Duration,
    /// How long a session token stays valid.
    pub token_lifetime: Duration,
    /// How long a user's line waits for a missing message before reading it from the store.
    pub gap_wait: Duration,
    /// The most a send or a connect waits on presence, limits or the bus before going on
    /// without them: a slow Redis must not stall chat.
    pub sidecar_timeout: Duration,
    /// How often this node refreshes its sockets' presence and looks for expired nodes.
    pub presence_heartbeat: Duration,
    /// The shortest time between two presence events about one user: a user who flaps
    /// online and offline faster is announced once per window, with the final state last.
    pub presence_window: Duration,
    /// The most members a group room may have, its owner included.
    pub max_room_members: usize,
    /// Bounds of the password hashing pool.
    #[cfg(feature = "accounts")]
    pub password_pool: PoolLimits,
    /// Limits on logins and registrations (and uploads).
    pub attempts: AttemptLimits,
    /// The largest file an upload may carry, in bytes; refused while it streams.
    pub max_file_bytes: u64,
    /// How long an uploaded file may stay unattached before it is collected.
    pub unattached_file_ttl: Duration,
    /// How often the collector looks for unattached files past their time.
    pub file_sweep_interval: Duration,
    /// The most one call of a [`Hooks`](crate::hooks::Hooks) method may take, waiting for
    /// its turn included; past it the call fails (`Unavailable`) and the engine goes on.
    pub hook_timeout: Duration,
    /// How many hook calls may run at once; more wait (within `hook_timeout`) for a turn.
    pub hook_concurrency: usize,
}

/// How often logins and registrations may be tried, so nobody can guess passwords at speed
/// or flood the password pool; shared across nodes when the rate limiter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptLimits {
    /// Logins from one client address (IPv6: one /64).
    pub login_per_address: AttemptQuota,
    /// Logins naming one account (email), from anywhere.
    pub login_per_account: AttemptQuota,
    /// Registrations from one client address.
    pub register_per_address: AttemptQuota,
    /// File uploads by one user, from anywhere.
    pub upload_per_user: AttemptQuota,
}

impl Default for AttemptLimits {
    fn default() -> Self {
        AttemptLimits {
            login_per_address: AttemptQuota {
                per_minute: 60,
                burst: 20,
            },
            login_per_account: AttemptQuota {
                per_minute: 10,
                burst: 10,
            },
            register_per_address: AttemptQuota {
                per_minute: 10,
                burst: 20,
            },
            upload_per_user: AttemptQuota {
                per_minute: 30,
                burst: 20,
            },
        }
    }
}

impl AttemptLimits {
    /// No limits: for load tests that register thousands of users from one address.
    pub const OFF: AttemptLimits = AttemptLimits {
        login_per_address: AttemptQuota::OFF,
        login_per_account: AttemptQuota::OFF,
        register_per_address: AttemptQuota::OFF,
        upload_per_user: AttemptQuota::OFF,
    };
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_message_bytes: 16 * 1024,
            max_sockets_per_user: 16,
            socket_queue: 256,
            quota: Quota::default(),
            max_sends_in_flight: 1024,
            send_wait_target: Duration::from_millis(200),
            scheduling_delay_target: Duration::from_millis(50),
            ready_queue_limit: 128,
            ready_queue_wait_target: Duration::from_millis(25),
            token_lifetime: Duration::from_secs(7 * 24 * 3600),
            gap_wait: Duration::from_millis(150),
            sidecar_timeout: Duration::from_millis(300),
            presence_heartbeat: Duration::from_secs(15),
            #[cfg(feature = "accounts")]
            password_pool: PoolLimits::default(),
            attempts: AttemptLimits::default(),
            presence_window: Duration::from_secs(3),
            max_room_members: 10_000,
            max_file_bytes: 25 * 1024 * 1024,
            unattached_file_ttl: Duration::from_secs(24 * 3600),
            file_sweep_interval: Duration::from_secs(600),
            hook_timeout: Duration::from_secs(2),
            hook_concurrency: 256,
        }
    }
}
