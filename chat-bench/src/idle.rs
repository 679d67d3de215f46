//! Idle mode: hold the sockets open, send nothing, and see what each one costs in memory.

use std::time::Duration;

use serde::Serialize;

use crate::fleet::Fleet;
use crate::procstat::{self, Sample};

/// Memory per idle socket.
#[derive(Debug, Clone, Serialize)]
pub struct IdleReport {
    /// Sockets open at the end of the hold.
    pub sockets: usize,
    /// Seconds held.
    pub seconds: f64,
    /// Server resident memory before the connect phase, bytes.
    pub server_rss_before: Option<u64>,
    /// Server resident memory at the end of the hold, bytes.
    pub server_rss_after: Option<u64>,
    /// Growth of the server's resident memory per open socket, bytes.
    pub server_bytes_per_socket: Option<f64>,
    /// The same for the generator, for comparison.
    pub bench_bytes_per_socket: Option<f64>,
    /// Server CPU use while idle, in cores (pings and timers).
    pub server_cpu: Option<f64>,
}

/// Holds the fleet for `hold`; `server_before`/`bench_before` were read before connecting.
pub async fn hold(
    fleet: &Fleet,
    hold: Duration,
    server_pid: Option<u32>,
    server_before: Option<Sample>,
    bench_before: Option<Sample>,
) -> IdleReport {
    let server_start = server_pid.and_then(|pid| procstat::sample(Some(pid)));
    tokio::time::sleep(hold).await;
    let server_after = server_pid.and_then(|pid| procstat::sample(Some(pid)));
    let bench_after = procstat::sample(None);
    let sockets = fleet.open();
    let per_socket = |before: Option<Sample>, after: Option<Sample>| {
        let (before, after) = (before?, after?);
        (sockets > 0).then(|| (after.rss_bytes as f64 - before.rss_bytes as f64) / sockets as f64)
    };
    IdleReport {
        sockets,
        seconds: hold.as_secs_f64(),
        server_rss_before: server_before.map(|sample| sample.rss_bytes),
        server_rss_after: server_after.map(|sample| sample.rss_bytes),
        server_bytes_per_socket: per_socket(server_before, server_after),
        bench_bytes_per_socket: per_socket(bench_before, bench_after),
        server_cpu: procstat::cpu_share(server_start, server_after, hold.as_secs_f64()),
    }
}
