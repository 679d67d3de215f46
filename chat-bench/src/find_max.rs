//! `--find-max`: raises the offered rate step by step until a step fails (p99 above the bound,
//! a delivery lost, a send refused, or a socket cut off), then narrows the gap between the
//! last passing and the first failing rate twice.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::collector::Collector;
use crate::fleet::Fleet;
use crate::load::{self, Plan, StepReport};

/// Pause between steps, so queues left by one do not count against the next.
const PAUSE: Duration = Duration::from_secs(2);
/// Bisection steps after the first failure.
const REFINEMENTS: usize = 2;

/// What the search found.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The p99 bound, ms.
    pub max_p99_ms: f64,
    /// Highest offered rate that passed, messages/s.
    pub max_rate: Option<f64>,
    /// Deliveries/s at that rate.
    pub max_deliveries_per_s: Option<f64>,
    /// p99 at that rate, ms.
    pub p99_ms_at_max: Option<f64>,
    /// Why the first failing step failed.
    pub stopped_because: Option<String>,
}

/// Search settings.
#[derive(Debug, Clone, Copy)]
pub struct Search {
    /// The first step's plan.
    pub first: Plan,
    /// Rate factor between steps.
    pub factor: f64,
    /// Most steps before refinement.
    pub max_steps: usize,
    /// The p99 bound, ms.
    pub max_p99_ms: f64,
}

/// Why a step does not count as sustainable, if it does not.
pub fn failure(step: &StepReport, max_p99_ms: f64) -> Option<String> {
    if !step.sockets_ended.is_empty() {
        return Some(format!(
            "the server closed sockets {:?}",
            step.sockets_ended
        ));
    }
    if step.counts.lost > 0 {
        return Some(format!("{} deliveries lost", step.counts.lost));
    }
    if step.counts.refused > 0 {
        return Some(format!("sends refused {:?}", step.refusals));
    }
    if step.latency_ms.p99 > max_p99_ms {
        return Some(format!(
            "p99 {:.1} ms above {max_p99_ms} ms",
            step.latency_ms.p99
        ));
    }
    None
}

/// Runs the search; returns every step and the outcome.
pub async fn run(
    search: Search,
    fleet: &Fleet,
    collector: &Arc<Collector>,
    server_pid: Option<u32>,
    quiet: bool,
) -> anyhow::Result<(Vec<StepReport>, Outcome)> {
    let mut steps = Vec::new();
    let mut best: Option<StepReport> = None;
    let mut failed: Option<(f64, String)> = None;
    let mut rate = search.first.rate;
    let mut refinements = 0;
    while steps.len() < search.max_steps + REFINEMENTS {
        let plan = Plan {
            rate,
            ..search.first
        };
        let step = load::run(steps.len() as u32, plan, fleet, collector, server_pid).await?;
        let verdict = failure(&step, search.max_p99_ms);
        if !quiet {
            eprintln!(
                "step {}: {:.0} msg/s offered, {:.0} deliveries/s, p99 {:.1} ms: {}",
                step.step,
                rate,
                step.deliveries_per_s,
                step.latency_ms.p99,
                verdict.as_deref().unwrap_or("pass")
            );
        }
        let cut_off = !step.sockets_ended.is_empty();
        match verdict {
            None => best = Some(step.clone()),
            Some(reason) => {
                if failed.as_ref().is_none_or(|(at, _)| rate < *at) {
                    failed = Some((rate, reason));
                }
            }
        }
        steps.push(step);
        // Sockets the server cut off are gone for good: later steps would not be comparable.
        if cut_off {
            break;
        }
        rate = match (&best, &failed) {
            (_, None) if steps.len() < search.max_steps => rate * search.factor,
            (Some(best), Some((failed_at, _))) if refinements < REFINEMENTS => {
                refinements += 1;
                (best.rate + failed_at) / 2.0
            }
            _ => break,
        };
        tokio::time::sleep(PAUSE).await;
    }
    let outcome = Outcome {
        max_p99_ms: search.max_p99_ms,
        max_rate: best.as_ref().map(|step| step.rate),
        max_deliveries_per_s: best.as_ref().map(|step| step.deliveries_per_s),
        p99_ms_at_max: best.as_ref().map(|step| step.latency_ms.p99),
        stopped_because: failed.map(|(_, reason)| reason),
    };
    Ok((steps, outcome))
}
