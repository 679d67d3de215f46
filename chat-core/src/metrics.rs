//! The engine's metrics: every name and label in one place, recorded through the `metrics`
//! facade so the engine stays free of any exporter (the server binary installs the Prometheus
//! one; an embedding app may install its own or none, and then recording costs nothing).
//!
//! Labels are small fixed sets (an outcome, an error kind, a backend name): never a user or
//! room id, so the number of series stays bounded whatever the traffic.

use std::time::Duration;

use metrics::{Histogram, counter, gauge, histogram};

use crate::error::Error;
use crate::hub::FanoutReport;
use crate::model::Message;

/// Messages stored and fanned out (`chat_messages_accepted_total`).
pub const MESSAGES_ACCEPTED: &str = "chat_messages_accepted_total";
/// Resends of a `client_id` already stored, acknowledged again without storing.
pub const MESSAGES_DUPLICATE: &str = "chat_messages_duplicate_total";
/// Messages refused, by `reason` (the error code: invalid, forbidden, not_found,
/// rate_limited, unavailable, overloaded when the send admission was full, …).
pub const MESSAGES_REFUSED: &str = "chat_messages_refused_total";
/// Events queued on local sockets by the fanout.
pub const DELIVERIES: &str = "chat_deliveries_total";
/// Sockets cut off by the fanout because their queue was full (they close with 1013).
pub const SOCKET_OVERFLOWS: &str = "chat_socket_overflow_closes_total";
/// Gaps in a room's seq a fanout opened (filled from the store, or given up).
pub const FANOUT_GAPS: &str = "chat_fanout_gaps_total";
/// Seconds from a message's timestamp (taken before it is stored) to its frame being queued
/// for writing on a socket.
pub const DELIVERY_LATENCY: &str = "chat_send_to_deliver_seconds";
/// Users with at least one socket on this node.
pub const USERS_ONLINE: &str = "chat_users_online";
/// Requests refused by a rate limit, by `limit` (send, login_address, login_account,
/// register_address, sockets).
pub const RATE_LIMIT_HITS: &str = "chat_rate_limit_hits_total";
/// Seconds one store commit took, by `store`.
pub const STORE_COMMIT: &str = "chat_store_commit_seconds";
/// Writes carried by one commit (SQLite's group commit), by `store`.
pub const STORE_GROUP_COMMIT: &str = "chat_store_group_commit_size";
/// Seconds one checkpoint took (the WAL copied into the database file, which is then
/// synced), by `store` and `mode`: `passive`, which no send waits for, or `restart`, which
/// holds every commit until it ends.
pub const STORE_CHECKPOINT: &str = "chat_store_checkpoint_seconds";
/// Seconds one pass of the search indexer took (messages indexed, edits applied), by `store`:
/// work off the commit path that a search waits for when it asks the index to catch up.
pub const STORE_INDEX: &str = "chat_store_index_seconds";
/// Publications sent to the bus (one per recipient channel), by `bus`.
pub const BUS_PUBLISHED: &str = "chat_bus_published_total";
/// Publications that failed and were dropped, by `bus`.
pub const BUS_PUBLISH_DROPPED: &str = "chat_bus_publish_dropped_total";
/// Events received from other nodes and handed to the engine, by `bus`.
pub const BUS_RELAYED: &str = "chat_bus_relayed_total";
/// Seconds from a relayed message's timestamp to its arrival from the bus, by `bus`.
pub const BUS_RELAY_LAG: &str = "chat_bus_relay_lag_seconds";
/// Times the bus subscriber lost its connection and came back, by `bus`.
pub const BUS_RECONNECTS: &str = "chat_bus_reconnects_total";

/// Seconds the runtime ran the scheduling monitor's tick late: how long a task that became
/// ready waited for a worker; it grows when the node's CPU is saturated.
pub const SCHEDULING_DELAY: &str = "chat_scheduling_delay_seconds";

/// Ready tasks waiting in the runtime's global queue at the scheduling monitor's last tick;
/// it grows when the node's CPU is saturated.
pub const READY_QUEUE: &str = "chat_ready_queue_tasks";

/// Seconds the scheduling monitor's probe waited in the runtime's global queue: how long a
/// socket woken behind a saturated CPU waits for a worker.
pub const READY_QUEUE_WAIT: &str = "chat_ready_queue_wait_seconds";

/// Sends the admission refused as `overloaded`, by the `bound` that refused them
/// (`in_flight`, `store_late`, `scheduling_delay`, `ready_queue`, `ready_queue_wait`): which
/// setting an operator shedding load would change.
pub const SENDS_OVERLOADED: &str = "chat_sends_overloaded_total";

/// Which rate limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The per-user message quota.
    Send,
    /// Logins per client address.
    LoginAddress,
    /// Logins naming one account.
    LoginAccount,
    /// Registrations per client address.
    RegisterAddress,
    /// Open sockets per user.
    Sockets,
    /// File uploads per user.
    Upload,
}

impl Limit {
    fn label(self) -> &'static str {
        match self {
            Limit::Send => "send",
            Limit::LoginAddress => "login_address",
            Limit::LoginAccount => "login_account",
            Limit::RegisterAddress => "register_address",
            Limit::Sockets => "sockets",
            Limit::Upload => "upload",
        }
    }
}

/// Records what one send ended as: stored, a duplicate acknowledged again, or refused.
pub fn message_sent(outcome: Result<bool, &Error>) {
    match outcome {
        Ok(true) => counter!(MESSAGES_ACCEPTED).increment(1),
        Ok(false) => counter!(MESSAGES_DUPLICATE).increment(1),
        Err(err) => counter!(MESSAGES_REFUSED, "reason" => err.code()).increment(1),
    }
}

/// Records what a fanout did.
pub fn fanout(report: &FanoutReport) {
    if report.queued > 0 {
        counter!(DELIVERIES).increment(report.queued as u64);
    }
    if report.overflowed > 0 {
        counter!(SOCKET_OVERFLOWS).increment(report.overflowed as u64);
    }
    if !report.gaps.is_empty() {
        counter!(FANOUT_GAPS).increment(report.gaps.len() as u64);
    }
}

/// The send→deliver histogram, looked up once per socket instead of once per event: the
/// socket loop records every message it writes.
#[derive(Debug, Clone)]
pub struct DeliveryClock(Histogram);

impl DeliveryClock {
    /// The histogram of the recorder installed now.
    pub fn new() -> Self {
        DeliveryClock(histogram!(DELIVERY_LATENCY))
    }

    /// Records that `message` was handed to a socket's writer now.
    pub fn delivered(&self, message: &Message) {
        self.0.record(age_seconds(message));
    }
}

impl Default for DeliveryClock {
    fn default() -> Self {
        DeliveryClock::new()
    }
}

/// Sets the number of users with a socket on this node (read from the hub when scraped).
pub fn users_online(count: usize) {
    gauge!(USERS_ONLINE).set(count as f64);
}

/// A rate limit refused a request.
pub fn rate_limited(limit: Limit) {
    counter!(RATE_LIMIT_HITS, "limit" => limit.label()).increment(1);
}

/// A commit of `writes` writes to `store` took `elapsed`.
pub fn store_commit(store: &'static str, writes: usize, elapsed: Duration) {
    histogram!(STORE_COMMIT, "store" => store).record(elapsed.as_secs_f64());
    histogram!(STORE_GROUP_COMMIT, "store" => store).record(writes as f64);
}

/// A checkpoint of `store` in `mode` took `elapsed`. Most of a checkpoint is the disk's
/// sync, so long `restart`s, which commits wait for, point at a slow disk.
pub fn store_checkpoint(store: &'static str, mode: &'static str, elapsed: Duration) {
    histogram!(STORE_CHECKPOINT, "store" => store, "mode" => mode).record(elapsed.as_secs_f64());
}

/// A pass of `store`'s search indexer took `elapsed`.
pub fn store_index(store: &'static str, elapsed: Duration) {
    histogram!(STORE_INDEX, "store" => store).record(elapsed.as_secs_f64());
}

/// The scheduling monitor's latest tick ran `late`, with `ready_queue` tasks in the runtime's
/// global queue.
pub fn scheduling_delay(late: Duration, ready_queue: usize) {
    histogram!(SCHEDULING_DELAY).record(late.as_secs_f64());
    gauge!(READY_QUEUE).set(ready_queue as f64);
}

/// The scheduling monitor's latest probe waited `waited` in the runtime's global queue.
pub fn ready_queue_wait(waited: Duration) {
    histogram!(READY_QUEUE_WAIT).record(waited.as_secs_f64());
}

/// The send admission refused a send at `bound`.
pub fn send_overloaded(bound: &'static str) {
    counter!(SENDS_OVERLOADED, "bound" => bound).increment(1);
}

/// `count` publications went out on `bus`.
pub fn bus_published(bus: &'static str, count: usize) {
    counter!(BUS_PUBLISHED, "bus" => bus).increment(count as u64);
}

/// `count` publications on `bus` were given up.
pub fn bus_publish_dropped(bus: &'static str, count: usize) {
    counter!(BUS_PUBLISH_DROPPED, "bus" => bus).increment(count as u64);
}

/// An event from another node arrived on `bus`; `message` when it carries one, for the lag.
pub fn bus_relayed(bus: &'static str, message: Option<&Message>) {
    counter!(BUS_RELAYED, "bus" => bus).increment(1);
    if let Some(message) = message {
        histogram!(BUS_RELAY_LAG, "bus" => bus).record(age_seconds(message));
    }
}

/// The subscriber of `bus` reconnected after losing its connection.
pub fn bus_reconnected(bus: &'static str) {
    counter!(BUS_RECONNECTS, "bus" => bus).increment(1);
}

/// Seconds since `message` was stamped (0 when the clocks disagree the other way).
fn age_seconds(message: &Message) -> f64 {
    let millis = (crate::model::now() - message.timestamp).num_milliseconds();
    millis.max(0) as f64 / 1000.0
}
