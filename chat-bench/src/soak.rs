//! Soak mode (`--soak 10m`): hold every socket for a long time under steady traffic, as
//! one load step per interval (`--soak-interval`, a minute), and print at the end of each
//! interval the server's resident memory, its open file descriptors, the sockets still open
//! and the interval's latency and losses. A healthy server shows flat memory after the first
//! interval, a constant descriptor count and no lost message.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::collector::Collector;
use crate::fleet::Fleet;
use crate::load::{self, Plan, StepReport};
use crate::procstat;

/// One interval of the soak.
#[derive(Debug, Clone, Serialize)]
pub struct Interval {
    /// Seconds since the soak began, at the end of the interval.
    pub at_seconds: f64,
    /// Sockets the bench still had open.
    pub sockets_open: usize,
    /// Messages sent in the interval.
    pub sent: u64,
    /// Deliveries the interval's messages owed and got.
    pub delivered: u64,
    /// Deliveries that never arrived.
    pub lost: u64,
    /// Deliveries that arrived twice.
    pub duplicated: u64,
    /// Send→receive latency percentiles, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
    /// Server resident memory, bytes.
    pub server_rss_bytes: Option<u64>,
    /// Server open file descriptors.
    pub server_fds: Option<usize>,
    /// Server CPU during the interval, in cores.
    pub server_cpu: Option<f64>,
}

/// The whole soak.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    /// Every interval, in order.
    pub intervals: Vec<Interval>,
    /// Server RSS at the end minus at the end of the first interval, bytes.
    pub rss_growth_after_first_bytes: Option<i64>,
    /// Server descriptors at the end minus at the end of the first interval.
    pub fd_change_after_first: Option<i64>,
    /// Lost deliveries over the whole soak.
    pub lost: u64,
    /// Duplicated deliveries over the whole soak.
    pub duplicated: u64,
    /// Out-of-order deliveries over the whole soak.
    pub out_of_order: u64,
    /// The worst interval's p99, milliseconds.
    pub worst_p99_ms: f64,
}

/// Sends `plan.rate` messages per second for `length`, reporting every `every`; the first
/// interval keeps `plan.warmup` unmeasured. Each interval's line goes to stderr as it ends.
pub async fn run(
    length: Duration,
    every: Duration,
    plan: Plan,
    fleet: &Fleet,
    collector: &Arc<Collector>,
    server_pid: Option<u32>,
) -> anyhow::Result<(Vec<StepReport>, SoakReport)> {
    anyhow::ensure!(!every.is_zero(), "--soak-interval must be positive");
    let started = tokio::time::Instant::now();
    let mut steps = Vec::new();
    let mut intervals = Vec::new();
    let mut left = length;
    eprintln!("{}", header());
    while !left.is_zero() {
        let duration = every.min(left);
        left -= duration;
        let warmup = if steps.is_empty() {
            plan.warmup.min(duration)
        } else {
            Duration::ZERO
        };
        let step_plan = Plan {
            duration,
            warmup,
            ..plan
        };
        let number = steps.len() as u32;
        let step = load::run(number, step_plan, fleet, collector, server_pid).await?;
        let interval = Interval {
            at_seconds: started.elapsed().as_secs_f64(),
            sockets_open: fleet.open(),
            sent: step.counts.sent,
            delivered: step.counts.delivered,
            lost: step.counts.lost,
            duplicated: step.counts.duplicated,
            p50_ms: step.latency_ms.p50,
            p99_ms: step.latency_ms.p99,
            max_ms: step.latency_ms.max,
            server_rss_bytes: step.server_rss_bytes,
            server_fds: server_pid.and_then(procstat::open_fds),
            server_cpu: step.server_cpu,
        };
        eprintln!("{}", line(&interval));
        intervals.push(interval);
        steps.push(step);
    }
    let change = |value: fn(&Interval) -> Option<i64>| {
        Some(value(intervals.last()?)? - value(intervals.first()?)?)
    };
    let report = SoakReport {
        rss_growth_after_first_bytes: change(|i| i.server_rss_bytes.map(|b| b as i64)),
        fd_change_after_first: change(|i| i.server_fds.map(|n| n as i64)),
        lost: steps.iter().map(|step| step.counts.lost).sum(),
        duplicated: steps.iter().map(|step| step.counts.duplicated).sum(),
        out_of_order: steps.iter().map(|step| step.counts.out_of_order).sum(),
        worst_p99_ms: intervals.iter().map(|i| i.p99_ms).fold(0.0, f64::max),
        intervals,
    };
    Ok((steps, report))
}

/// The column titles of the interval lines.
pub fn header() -> String {
    format!(
        "{:>7} {:>8} {:>9} {:>10} {:>6} {:>5} {:>8} {:>8} {:>8} {:>11} {:>7} {:>6}",
        "at s",
        "sockets",
        "sent",
        "delivered",
        "lost",
        "dup",
        "p50 ms",
        "p99 ms",
        "max ms",
        "server RSS",
        "fds",
        "srvCPU",
    )
}

/// One interval as a line under [`header`].
pub fn line(interval: &Interval) -> String {
    format!(
        "{:>7.0} {:>8} {:>9} {:>10} {:>6} {:>5} {:>8.2} {:>8.2} {:>8.2} {:>11} {:>7} {:>6}",
        interval.at_seconds,
        interval.sockets_open,
        interval.sent,
        interval.delivered,
        interval.lost,
        interval.duplicated,
        interval.p50_ms,
        interval.p99_ms,
        interval.max_ms,
        interval
            .server_rss_bytes
            .map_or("-".into(), |bytes| format!(
                "{:.1} MiB",
                bytes as f64 / (1024.0 * 1024.0)
            )),
        interval
            .server_fds
            .map_or("-".into(), |fds| fds.to_string()),
        interval
            .server_cpu
            .map_or("-".into(), |cpu| format!("{:.0}%", cpu * 100.0)),
    )
}

impl SoakReport {
    /// The soak's table and verdict, for the text report.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "soak, one line per interval:");
        let _ = writeln!(out, "{}", header());
        for interval in &self.intervals {
            let _ = writeln!(out, "{}", line(interval));
        }
        let _ = writeln!(
            out,
            "soak: lost {}, duplicated {}, out of order {}; worst p99 {:.2} ms; server RSS \
             {} and fds {} after the first interval",
            self.lost,
            self.duplicated,
            self.out_of_order,
            self.worst_p99_ms,
            self.rss_growth_after_first_bytes
                .map_or("-".into(), |bytes| format!(
                    "{:+.1} MiB",
                    bytes as f64 / (1024.0 * 1024.0)
                )),
            self.fd_change_after_first
                .map_or("-".into(), |change| format!("{change:+}")),
        );
        out
    }
}
