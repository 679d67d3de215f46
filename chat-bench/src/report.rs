//! The results: one serializable record for `--json`, and the tables people read.

use std::fmt::Write as _;

use serde::Serialize;

use crate::connect::ConnectReport;
use crate::fds::FdLimits;
use crate::find_max::Outcome;
use crate::idle::IdleReport;
use crate::load::StepReport;
use crate::population::Setup;
use crate::soak::SoakReport;

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The server's URL.
    pub url: String,
    /// Whether the bench started the server.
    pub spawned: bool,
    /// Users and rooms.
    pub users: usize,
    /// Rooms: direct pairs when `room_size` is 2, else groups.
    pub rooms: usize,
    /// Members per room.
    pub room_size: usize,
    /// How the population was prepared.
    pub setup: Setup,
    /// Open-files limits.
    pub fd_limits: FdLimits,
    /// The connect phase.
    pub connect: ConnectPhase,
    /// Load steps (one, or the `--find-max` search).
    pub steps: Vec<StepReport>,
    /// The `--find-max` outcome.
    pub find_max: Option<Outcome>,
    /// Idle mode.
    pub idle: Option<IdleReport>,
    /// Soak mode.
    pub soak: Option<SoakReport>,
}

/// The connect phase and what the sockets cost the server.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectPhase {
    /// Rate and failures.
    #[serde(flatten)]
    pub report: ConnectReport,
    /// Server resident memory before, bytes.
    pub server_rss_before: Option<u64>,
    /// Server resident memory after, bytes.
    pub server_rss_after: Option<u64>,
    /// Growth per open socket, bytes.
    pub server_bytes_per_socket: Option<f64>,
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("-".into(), |bytes| {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    })
}

fn kib(bytes: Option<f64>) -> String {
    bytes.map_or("-".into(), |bytes| format!("{:.1} KiB", bytes / 1024.0))
}

fn cores(share: Option<f64>) -> String {
    share.map_or("-".into(), |share| format!("{:.0}%", share * 100.0))
}

fn micros(duration_us: Option<f64>) -> String {
    duration_us.map_or("-".into(), |us| format!("{us:.0}"))
}

fn ratio(value: Option<f64>) -> String {
    value.map_or("-".into(), |value| format!("{value:.2}"))
}

impl Report {
    /// The human-readable tables.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let setup = &self.setup;
        let _ = writeln!(
            out,
            "server {}{}: {} users in {} {} rooms of {} ({} users and {} rooms created in {:.1} s)",
            self.url,
            if self.spawned { " (spawned)" } else { "" },
            self.users,
            self.rooms,
            if self.room_size == 2 {
                "direct"
            } else {
                "group"
            },
            self.room_size,
            setup.users_created,
            setup.rooms_opened,
            setup.seconds,
        );
        let connect = &self.connect;
        let _ = writeln!(
            out,
            "connect: {}/{} sockets in {:.1} s ({:.0}/s), failures {:?}; server RSS {} -> {} \
             ({} per socket)",
            connect.report.opened,
            connect.report.attempted,
            connect.report.seconds,
            connect.report.per_second,
            connect.report.failures,
            mib(connect.server_rss_before),
            mib(connect.server_rss_after),
            kib(connect.server_bytes_per_socket),
        );
        if !self.steps.is_empty() {
            out.push('\n');
            let _ = writeln!(
                out,
                "{:>4} {:>9} {:>9} {:>8} {:>10} {:>10} {:>6} {:>5} {:>5} {:>7} {:>7} {:>7} {:>7} \
                 {:>8} {:>8} {:>7} {:>7} {:>6} {:>6} {:>6} {:>6} {:>7}",
                "step",
                "rate/s",
                "sent",
                "refused",
                "expected",
                "delivered",
                "lost",
                "dup",
                "ooo",
                "p50 ms",
                "p90 ms",
                "p99 ms",
                "p99.9",
                "max ms",
                "deliv/s",
                "lag p50",
                "lag p99",
                "srvCPU",
                "µs/msg",
                "genCPU",
                "other",
                "ipi/msg",
            );
            for step in &self.steps {
                let counts = &step.counts;
                let _ = writeln!(
                    out,
                    "{:>4} {:>9.0} {:>9} {:>8} {:>10} {:>10} {:>6} {:>5} {:>5} {:>7.2} {:>7.2} \
                     {:>7.2} {:>7.2} {:>8.2} {:>8.0} {:>7.3} {:>7.3} {:>6} {:>6} {:>6} {:>6} \
                     {:>7}",
                    step.step,
                    step.rate,
                    counts.sent,
                    counts.refused,
                    counts.expected,
                    counts.delivered,
                    counts.lost,
                    counts.duplicated,
                    counts.out_of_order,
                    step.latency_ms.p50,
                    step.latency_ms.p90,
                    step.latency_ms.p99,
                    step.latency_ms.p999,
                    step.latency_ms.max,
                    step.deliveries_per_s,
                    step.send_lag_ms.p50,
                    step.send_lag_ms.p99,
                    cores(step.server_cpu),
                    micros(step.server_us_per_message),
                    cores(step.bench_cpu),
                    cores(step.others_cpu),
                    ratio(step.wakeups_per_message),
                );
            }
            for step in &self.steps {
                let mut notes = Vec::new();
                if step.counts.refused > 0 {
                    notes.push(format!("refused {:?}", step.refusals));
                }
                if !step.overloaded_by_bound.is_empty() {
                    notes.push(format!(
                        "overloaded by bound {:?}",
                        step.overloaded_by_bound
                    ));
                }
                if !step.sockets_ended.is_empty() {
                    notes.push(format!("sockets closed by code {:?}", step.sockets_ended));
                }
                if step.counts.misdelivered > 0 {
                    notes.push(format!("{} misdelivered", step.counts.misdelivered));
                }
                if step.unsendable > 0 {
                    notes.push(format!("{} without a sender socket", step.unsendable));
                }
                if step.dropped > 0 {
                    notes.push(format!("{} dropped on purpose", step.dropped));
                }
                if step.send_lag_ms.p99 > 5.0 {
                    notes.push(format!(
                        "generator behind schedule: send lag p99 {:.1} ms",
                        step.send_lag_ms.p99
                    ));
                }
                if !notes.is_empty() {
                    let _ = writeln!(out, "step {}: {}", step.step, notes.join("; "));
                }
            }
        }
        if let Some(found) = &self.find_max {
            out.push('\n');
            match (found.max_rate, found.max_deliveries_per_s) {
                (Some(rate), Some(deliveries)) => {
                    let _ = writeln!(
                        out,
                        "max sustainable at p99 <= {} ms: {rate:.0} msg/s offered, \
                         {deliveries:.0} deliveries/s (p99 {:.1} ms)",
                        found.max_p99_ms,
                        found.p99_ms_at_max.unwrap_or_default(),
                    );
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "no step was sustainable at p99 <= {} ms",
                        found.max_p99_ms
                    );
                }
            }
            if let Some(reason) = &found.stopped_because {
                let _ = writeln!(out, "first failing step: {reason}");
            }
        }
        if let Some(soak) = &self.soak {
            out.push('\n');
            out.push_str(&soak.to_text());
        }
        if let Some(idle) = &self.idle {
            out.push('\n');
            let _ = writeln!(
                out,
                "idle: {} sockets held {:.0} s; server RSS {} -> {}: {} per socket \
                 (generator {} per socket); server CPU while idle {}",
                idle.sockets,
                idle.seconds,
                mib(idle.server_rss_before),
                mib(idle.server_rss_after),
                kib(idle.server_bytes_per_socket),
                kib(idle.bench_bytes_per_socket),
                cores(idle.server_cpu),
            );
        }
        out
    }
}
