//! One load step, open-loop: message `i` is due at `i / rate` seconds and is sent then,
//! whatever happened to earlier ones, so a slow server cannot slow the offered load down and
//! hide its latency (no coordinated omission, as in wrk2). Rooms take turns; within a room
//! the members (those with an open socket) take turns. The [`Schedule`] runs on a thread of
//! its own; this waits for it, then for the deliveries, and reports.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::accounting::{Counts, Ledger};
use crate::collector::{Collector, Step};
use crate::fleet::Fleet;
use crate::latency::{Percentiles, Point, Window, percentiles_of};
use crate::procstat;
use crate::scheduler::Schedule;

/// How often the drain looks whether everything arrived.
const DRAIN_POLL: Duration = Duration::from_millis(50);
/// Delay before the first send, so the schedule does not start behind.
const LEAD_IN: Duration = Duration::from_millis(20);

/// What a step does.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Messages per second offered.
    pub rate: f64,
    /// Length of the sending.
    pub duration: Duration,
    /// Start of the sending whose latencies are not recorded.
    pub warmup: Duration,
    /// Longest wait for late deliveries after the last send.
    pub drain: Duration,
    /// Message text length.
    pub message_bytes: usize,
}

/// The results of one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// Step number.
    pub step: u32,
    /// Offered messages per second.
    pub rate: f64,
    /// Seconds of sending.
    pub seconds: f64,
    /// Seconds at the start whose latencies were not recorded.
    pub warmup_seconds: f64,
    /// Sent, expected, delivered, lost, duplicated, out of order (the whole step).
    pub counts: Counts,
    /// Messages that had no open sender socket and were skipped.
    pub unsendable: u64,
    /// Deliveries per second achieved.
    pub deliveries_per_s: f64,
    /// Deliveries per second the offered rate asks for.
    pub expected_per_s: f64,
    /// Send→receive latency after the warmup, measured from the scheduled send time.
    pub latency_ms: Percentiles,
    /// How late the generator wrote messages behind schedule (from the due instant to the
    /// socket write's completion), included in every latency: when this is high the
    /// generator, not the server, was the bottleneck.
    pub send_lag_ms: Percentiles,
    /// Refusals by error code.
    pub refusals: BTreeMap<String, u64>,
    /// `overloaded` refusals by the server's bound that made them, when its metrics could
    /// be read (`chat_sends_overloaded_total`).
    pub overloaded_by_bound: BTreeMap<String, u64>,
    /// Message events discarded on purpose (`--drop-every`).
    pub dropped: u64,
    /// Sockets the server closed during the step, by close code (0: no close frame).
    pub sockets_ended: BTreeMap<u16, u64>,
    /// Server CPU use during the step, in cores.
    pub server_cpu: Option<f64>,
    /// Server CPU time per accepted message (sent and not refused), in µs: the server's
    /// cost of a message, which noise on a shared machine moves far less than its latency.
    pub server_us_per_message: Option<f64>,
    /// Generator CPU use during the step, in cores.
    pub bench_cpu: Option<f64>,
    /// CPU use of everything else on the machine during the step, in cores: when this is
    /// not near zero, other work competed with the server and the generator.
    pub others_cpu: Option<f64>,
    /// Interrupts between cores during the step per accepted message, machine-wide
    /// ([`procstat::cross_core_interrupts`]): high at light load, where each burst of
    /// deliveries wakes an idle generator and each send an idle server.
    pub wakeups_per_message: Option<f64>,
    /// Server resident memory at the end of the step, bytes.
    pub server_rss_bytes: Option<u64>,
    /// Latency percentiles per second of scheduled send time.
    pub timeline: Vec<Window>,
    /// The latency distribution.
    pub distribution: Vec<Point>,
}

/// Runs step `number` of `plan` on the fleet.
pub async fn run(
    number: u32,
    plan: Plan,
    fleet: &Fleet,
    collector: &Arc<Collector>,
    server_pid: Option<u32>,
) -> anyhow::Result<StepReport> {
    anyhow::ensure!(plan.rate > 0.0, "the rate must be positive");
    anyhow::ensure!(!fleet.room_ids.is_empty(), "no room to send to");
    let ended_before = collector.ended();
    let ledger = Ledger::new(fleet.sockets.len(), &fleet.room_sockets)?;
    let bounds_before = crate::overload_bounds::scrape(fleet.metrics_url.as_deref()).await;
    let server_before = server_pid.and_then(|pid| procstat::sample(Some(pid)));
    let bench_before = procstat::sample(None);
    let machine_before = procstat::machine_busy_seconds();
    let interrupts_before = procstat::cross_core_interrupts();
    let epoch = Instant::now() + LEAD_IN;
    collector.begin(Step::new(number, epoch, plan.warmup, ledger));
    let schedule = Schedule {
        step: number,
        run: collector.run(),
        epoch,
        rate: plan.rate,
        total: (plan.rate * plan.duration.as_secs_f64()).round() as u64,
        message_bytes: plan.message_bytes,
        protocol: fleet.protocol,
        rooms: fleet.room_ids.clone(),
        senders: fleet.senders.clone(),
        outlets: fleet.outlets(),
    };
    let unsendable = schedule
        .start(collector.clone())?
        .await
        .map_err(|_| anyhow::anyhow!("the scheduler thread failed"))?;
    let sent_until = Instant::now();
    while sent_until.elapsed() < plan.drain
        && collector
            .with_step(|step| step.ledger.outstanding())
            .unwrap_or(0)
            > 0
    {
        tokio::time::sleep(DRAIN_POLL).await;
    }
    let step = collector
        .end()
        .ok_or_else(|| anyhow::anyhow!("the step's records vanished"))?;
    let seconds = plan.duration.as_secs_f64();
    let elapsed = epoch.elapsed().as_secs_f64();
    let server_after = server_pid.and_then(|pid| procstat::sample(Some(pid)));
    let bench_after = procstat::sample(None);
    let machine = procstat::machine_busy_seconds().zip(machine_before);
    let interrupts = procstat::cross_core_interrupts().zip(interrupts_before);
    let bounds_after = crate::overload_bounds::scrape(fleet.metrics_url.as_deref()).await;
    let others_cpu = machine.map(|(after, before)| {
        let ours = [(server_before, server_after), (bench_before, bench_after)]
            .iter()
            .filter_map(|(before, after)| {
                Some(after.as_ref()?.cpu_seconds - before.as_ref()?.cpu_seconds)
            })
            .sum::<f64>();
        ((after - before - ours) / elapsed).max(0.0)
    });
    let counts = step.ledger.counts();
    let accepted = counts.sent.saturating_sub(counts.refused);
    let server_us_per_message = server_before
        .zip(server_after)
        .filter(|_| accepted > 0)
        .map(|(before, after)| (after.cpu_seconds - before.cpu_seconds) * 1e6 / accepted as f64);
    let wakeups_per_message = interrupts
        .filter(|_| accepted > 0)
        .map(|(after, before)| after.saturating_sub(before) as f64 / accepted as f64);
    let rooms = &fleet.room_sockets;
    let fanout = rooms.iter().map(Vec::len).sum::<usize>() as f64 / rooms.len() as f64;
    Ok(StepReport {
        step: number,
        rate: plan.rate,
        seconds,
        warmup_seconds: plan.warmup.as_secs_f64(),
        counts,
        unsendable,
        deliveries_per_s: counts.delivered as f64 / seconds,
        expected_per_s: plan.rate * fanout,
        latency_ms: step.latency.percentiles(),
        send_lag_ms: percentiles_of(&step.send_lag),
        refusals: step.refusals,
        overloaded_by_bound: crate::overload_bounds::since(bounds_before, bounds_after),
        dropped: step.dropped,
        sockets_ended: ended_since(&ended_before, &collector.ended()),
        server_cpu: procstat::cpu_share(server_before, server_after, elapsed),
        server_us_per_message,
        bench_cpu: procstat::cpu_share(bench_before, bench_after, elapsed),
        others_cpu,
        wakeups_per_message,
        server_rss_bytes: server_after.map(|sample| sample.rss_bytes),
        timeline: step.latency.timeline(plan.warmup),
        distribution: step.latency.distribution(),
    })
}

fn ended_since(before: &BTreeMap<u16, u64>, now: &BTreeMap<u16, u64>) -> BTreeMap<u16, u64> {
    now.iter()
        .map(|(code, count)| (*code, count - before.get(code).copied().unwrap_or(0)))
        .filter(|(_, count)| *count > 0)
        .collect()
}
