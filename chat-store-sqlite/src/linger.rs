//! When the writer waits a moment before committing, so that a busy store commits fewer,
//! larger groups.
//!
//! Every commit pays a fixed cost (the WAL's commit frame, its index, the write lock, waking
//! every caller) on top of the pages its writes dirty. Sends that arrive evenly spread reach a
//! writer that is idle between them, so without a pause it commits one or two writes at a
//! time however high the rate: at 8,000 messages a second on one core, 2 writes a commit on
//! average, and half of the server's CPU in the writer. Waiting [`DEFAULT_PAUSE`] for more
//! turns those into groups of 6 (at 4,000 a second) to 16 (at 8,000) and saves a quarter to a
//! third of the server's CPU per message (BENCHMARKS.md). A writer with CPU to spare never
//! waits, so its commits keep their sub-millisecond latency.
//!
//! A pause trades latency for CPU, so the writer pauses when CPU is short, by either of two
//! measures, each an average that forgets with a time constant of [`MEMORY`]:
//!
//! - the process keeps its cores busy (`cpu_share`): above [`CORES_START`], until below
//!   [`CORES_STOP`]. On one core, at 4,000 messages a second, pausing took p50 from 0.35 ms to
//!   1.6 ms to bring the core from 70% to 50% busy, CPU nothing else wanted;
//! - the writer itself is busy, the share of the recent past it spent working: above
//!   [`WRITER_START`], until below [`WRITER_STOP`]. Its thread is one core's worth at most, so
//!   with cores to spare it is the writer that runs out first.
//!
//! The pauses make the work cheaper, and without the gap between starting and stopping the
//! writer would flip back and forth.
//!
//! A busy writer may also have one caller only, writing one thing after another (an import, a
//! bot): each write waits for the answer to the one before, so nothing can join a pause and
//! every pause would only slow that caller down. So the writer also keeps an average of how
//! many writes a round gathers beyond its first, and pauses only while that shows company
//! ([`COMPANY`]).

use std::time::{Duration, Instant};

use crate::cpu_share::CpuShare;

/// How long a writer short of CPU waits for more writes before committing what it holds,
/// unless the store is told otherwise (`SqliteStore::set_commit_pause`).
pub const DEFAULT_PAUSE: Duration = Duration::from_millis(1);

/// A group this large already spreads its commit's cost; it commits at once.
pub(crate) const ENOUGH: usize = 16;

/// The process's share of its cores above which the writer starts pausing.
const CORES_START: f64 = 0.80;

/// The process's share of its cores below which the writer stops pausing for it.
const CORES_STOP: f64 = 0.60;

/// The writer's share of time working above which it starts pausing.
const WRITER_START: f64 = 0.60;

/// The writer's share of time working below which it stops pausing for it.
const WRITER_STOP: f64 = 0.30;

/// How quickly the busy shares forget: the past's weight falls by e every `MEMORY`.
pub(crate) const MEMORY: Duration = Duration::from_millis(200);

/// The average number of writes a round gathers beyond its first, below which the writer
/// does not pause: with one sequential caller it is 0, at 8,000 sends a second about 1 without
/// pauses and 15 with them.
const COMPANY: f64 = 0.5;

/// The weight of the latest round in the average of writes gathered.
const COMPANY_WEIGHT: f64 = 0.1;

/// The writer's recent busy share and the process's share of its cores, and whether either
/// calls for pauses.
#[derive(Debug)]
pub(crate) struct Linger {
    busy: f64,
    writer_short: bool,
    cores_short: bool,
    last_end: Option<Instant>,
    company: f64,
    cpu: CpuShare,
}

impl Linger {
    /// An idle writer: it commits at once.
    pub(crate) fn new() -> Self {
        Linger {
            busy: 0.0,
            writer_short: false,
            cores_short: false,
            last_end: None,
            company: 0.0,
            cpu: CpuShare::new(),
        }
    }

    /// How long to wait before committing a group of `queued` commands, if at all, when a
    /// pause lasts `pause` (zero: never).
    pub(crate) fn pause(&self, queued: usize, pause: Duration) -> Option<Duration> {
        let short = self.writer_short || self.cores_short;
        let wanted = short && self.company >= COMPANY && queued < ENOUGH;
        (wanted && !pause.is_zero()).then_some(pause)
    }

    /// Records how many commands the round commits, after its pause if it paused.
    pub(crate) fn gathered(&mut self, group: usize) {
        let beyond_first = group.saturating_sub(1) as f64;
        self.company = self.company * (1.0 - COMPANY_WEIGHT) + beyond_first * COMPANY_WEIGHT;
    }

    /// Records one round of work, from `start` to `end`; it is a share of the time since the
    /// previous round ended (idle, paused, then working).
    pub(crate) fn worked(&mut self, start: Instant, end: Instant) {
        let cores = self.cpu.at(end);
        self.observe(start, end, cores);
    }

    /// [`Self::worked`], with the process's share of its cores at `end` given.
    fn observe(&mut self, start: Instant, end: Instant, cores: f64) {
        self.cores_short = between(self.cores_short, cores, (CORES_STOP, CORES_START));
        let Some(previous) = self.last_end.replace(end) else {
            return;
        };
        let span = end.saturating_duration_since(previous).as_secs_f64();
        if span <= 0.0 {
            return;
        }
        let share = (end.saturating_duration_since(start).as_secs_f64() / span).min(1.0);
        let kept = (-span / MEMORY.as_secs_f64()).exp();
        self.busy = self.busy * kept + share * (1.0 - kept);
        self.writer_short = between(self.writer_short, self.busy, (WRITER_STOP, WRITER_START));
    }
}

/// Whether a measure is high, given whether it was: it becomes so above `start` and stops
/// below `stop`, and in between stays as it was.
fn between(was: bool, value: f64, (stop, start): (f64, f64)) -> bool {
    if value > start {
        true
    } else if value < stop {
        false
    } else {
        was
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A steady load: rounds of `work_us` every `every_us`, each committing `group` commands,
    /// while the process keeps `cores` of its cores busy.
    struct Load {
        work_us: u64,
        every_us: u64,
        group: usize,
        cores: f64,
    }

    /// A writer that went through `phases` in turn, each `rounds` rounds of a load.
    fn after(phases: &[(u32, Load)]) -> Linger {
        let mut linger = Linger::new();
        let mut start = Instant::now();
        for (rounds, load) in phases {
            for _ in 0..*rounds {
                linger.gathered(load.group);
                let end = start + Duration::from_micros(load.work_us);
                linger.observe(start, end, load.cores);
                start += Duration::from_micros(load.every_us);
            }
        }
        linger
    }

    /// Rounds of `work_us` every `every_us`, each committing `group` commands, on a process
    /// using `cores` of its cores.
    const fn load(work_us: u64, every_us: u64, group: usize, cores: f64) -> Load {
        Load {
            work_us,
            every_us,
            group,
            cores,
        }
    }

    /// Sends at 8,000 a second on one core, as measured without pauses: 110 µs commits every
    /// 250 µs, 2 writes each, the core 95% busy.
    const BUSY: Load = load(110, 250, 2, 0.95);

    #[test]
    fn a_lightly_loaded_writer_never_pauses() {
        let linger = after(&[(2_000, load(100, 1_000, 2, 0.3))]);
        assert_eq!(linger.pause(1, DEFAULT_PAUSE), None);
    }

    #[test]
    fn a_busy_core_pauses_small_groups_only() {
        let linger = after(&[(2_000, BUSY)]);
        assert_eq!(linger.pause(1, DEFAULT_PAUSE), Some(DEFAULT_PAUSE));
        assert_eq!(linger.pause(ENOUGH - 1, DEFAULT_PAUSE), Some(DEFAULT_PAUSE));
        assert_eq!(linger.pause(ENOUGH, DEFAULT_PAUSE), None);
    }

    #[test]
    fn a_writer_that_looks_busy_on_a_core_with_room_to_spare_does_not_pause() {
        let linger = after(&[(2_000, load(110, 300, 2, 0.7))]);
        assert_eq!(linger.pause(1, DEFAULT_PAUSE), None);
    }

    #[test]
    fn a_writer_near_its_own_limit_pauses_while_other_cores_are_free() {
        let linger = after(&[(2_000, load(200, 250, 2, 0.4))]);
        assert_eq!(linger.pause(1, DEFAULT_PAUSE), Some(DEFAULT_PAUSE));
    }

    #[test]
    fn a_writer_told_not_to_pause_never_does() {
        let linger = after(&[(2_000, BUSY)]);
        assert_eq!(linger.pause(1, Duration::ZERO), None);
        assert_eq!(
            linger.pause(1, Duration::from_micros(300)),
            Some(Duration::from_micros(300))
        );
    }

    #[test]
    fn a_busy_writer_with_one_sequential_caller_never_pauses() {
        let linger = after(&[(2_000, load(60, 90, 1, 0.95))]);
        assert_eq!(linger.pause(1, DEFAULT_PAUSE), None);
    }

    #[test]
    fn pausing_stops_when_the_company_leaves() {
        let linger = after(&[(2_000, BUSY), (100, Load { group: 1, ..BUSY })]);
        assert_eq!(linger.pause(1, DEFAULT_PAUSE), None);
    }

    #[test]
    fn pausing_goes_on_while_the_work_it_made_cheaper_stays_between_the_bounds() {
        let linger = after(&[(2_000, BUSY), (2_000, load(250, 1_250, 10, 0.7))]);
        assert_eq!(linger.pause(1, DEFAULT_PAUSE), Some(DEFAULT_PAUSE));
    }

    #[test]
    fn pausing_stops_once_the_load_falls_away() {
        let linger = after(&[(2_000, BUSY), (50, load(100, 20_000, 2, 0.1))]);
        assert_eq!(linger.pause(1, DEFAULT_PAUSE), None);
    }

    #[test]
    fn one_long_round_after_a_quiet_spell_does_not_start_pausing() {
        let quiet = || load(100, 10_000, 2, 0.1);
        let long = Load {
            work_us: 5_000,
            ..quiet()
        };
        let linger = after(&[(100, quiet()), (1, long)]);
        assert_eq!(linger.pause(1, DEFAULT_PAUSE), None);
    }
}
