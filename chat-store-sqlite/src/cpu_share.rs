//! How much of the cores it may run on the process keeps busy, for the writer's pauses.
//!
//! A pause costs every write in the group up to a millisecond and saves CPU per write
//! (`linger`). The saving is worth the latency only when the CPU is wanted elsewhere. The
//! writer's own busy share cannot tell: on a core it shares with the runtime, its rounds are
//! stretched by the time it waits for the core, so it looked busy at a load that left a third
//! of the core idle. This share is the process's CPU time (`CLOCK_PROCESS_CPUTIME_ID`) divided
//! by the wall time and by the cores it may use (`available_parallelism`, which follows the CPU
//! affinity), averaged over the recent past.

use std::time::{Duration, Instant};

use rustix::time::{ClockId, clock_gettime};

use crate::linger::MEMORY;

/// The least time between two samples: the clock is a system call, not a vDSO read.
const SAMPLE: Duration = Duration::from_millis(50);

/// The process's recent share of its cores.
#[derive(Debug)]
pub(crate) struct CpuShare {
    cores: f64,
    last: Option<(Instant, Duration)>,
    share: f64,
}

impl CpuShare {
    /// Nothing measured yet: the share starts at zero.
    pub(crate) fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        CpuShare {
            cores: cores as f64,
            last: None,
            share: 0.0,
        }
    }

    /// The share averaged up to `now`, taking a sample if the last one is old enough.
    pub(crate) fn at(&mut self, now: Instant) -> f64 {
        match self.last {
            Some((then, _)) if now.saturating_duration_since(then) < SAMPLE => {}
            Some((then, used_then)) => {
                let used = process_cpu();
                let span = now.saturating_duration_since(then).as_secs_f64();
                let spent = used.saturating_sub(used_then).as_secs_f64();
                let sample = (spent / (span * self.cores)).min(1.0);
                let kept = (-span / MEMORY.as_secs_f64()).exp();
                self.share = self.share * kept + sample * (1.0 - kept);
                self.last = Some((now, used));
            }
            None => self.last = Some((now, process_cpu())),
        }
        self.share
    }
}

/// CPU time used by every thread of the process so far.
fn process_cpu() -> Duration {
    let spent = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(spent.tv_sec).unwrap_or(0),
        u32::try_from(spent.tv_nsec).unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Burns CPU on this thread until `until`.
    fn spin(until: Instant) {
        let mut x = 0u64;
        while Instant::now() < until {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    }

    #[test]
    fn the_share_rises_while_the_process_works_and_falls_while_it_rests() {
        let mut cpu = CpuShare {
            cores: 1.0,
            last: None,
            share: 0.0,
        };
        let start = Instant::now();
        assert_eq!(cpu.at(start), 0.0);
        let mut now = start;
        for _ in 0..8 {
            now += SAMPLE;
            spin(now);
            cpu.at(now);
        }
        let working = cpu.share;
        assert!(working > 0.3, "{working}");
        for _ in 0..8 {
            now += Duration::from_secs(1);
            cpu.at(now);
        }
        assert!(cpu.share < working / 10.0, "{} after {working}", cpu.share);
    }

    #[test]
    fn samples_closer_than_the_interval_change_nothing() {
        let mut cpu = CpuShare::new();
        let start = Instant::now();
        cpu.at(start);
        spin(start + SAMPLE / 2);
        assert_eq!(cpu.at(start + SAMPLE / 2), 0.0);
    }
}
