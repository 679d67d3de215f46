//! When the writer waits a moment before committing, so that a busy store commits fewer,
//! larger groups.
//!
//! Every commit pays a fixed cost (the WAL's commit frame, its index, the write lock, waking
//! every caller) on top of the pages its writes dirty. Sends that arrive evenly spread reach a
//! writer that is idle between them, so without a pause it commits one or two writes at a
//! time however high the rate: at 8,000 messages a second on one core, 2 writes a commit on
//! average, and half of the server's CPU in the writer. Waiting [`DEFAULT_PAUSE`] for more once the
//! writer is busy turns those into groups of 6 (at 4,000 a second) to 16 (at 8,000) and saves
//! a quarter to a third of the server's CPU per message (BENCHMARKS.md). A lightly loaded
//! writer never waits, so its commits keep their sub-millisecond latency.
//!
//! Busy means the share of the recent past the writer spent working, an average that forgets
//! with a time constant of [`MEMORY`]. The writer starts pausing above [`START_ABOVE`] and stops
//! below [`STOP_BELOW`]: the pauses make its work cheaper, and without the gap between the two
//! it would flip back and forth.
//!
//! A busy writer may also have one caller only, writing one thing after another (an import, a
//! bot): each write waits for the answer to the one before, so nothing can join a pause and
//! every pause would only slow that caller down. So the writer also keeps an average of how
//! many writes a round gathers beyond its first, and pauses only while that shows company
//! ([`COMPANY`]).

use std::time::{Duration, Instant};

/// How long a busy writer waits for more writes before committing what it holds, unless the
/// store is told otherwise (`SqliteStore::set_commit_pause`).
pub const DEFAULT_PAUSE: Duration = Duration::from_millis(1);

/// A group this large already spreads its commit's cost; it commits at once.
pub(crate) const ENOUGH: usize = 16;

/// The share of time working above which the writer starts pausing.
const START_ABOVE: f64 = 0.30;

/// The share of time working below which the writer stops pausing.
const STOP_BELOW: f64 = 0.15;

/// How quickly the busy share forgets: the past's weight falls by e every `MEMORY`.
const MEMORY: Duration = Duration::from_millis(200);

/// The average number of writes a round gathers beyond its first, below which the writer
/// does not pause: with one sequential caller it is 0, at 8,000 sends a second about 1 without
/// pauses and 15 with them.
const COMPANY: f64 = 0.5;

/// The weight of the latest round in the average of writes gathered.
const COMPANY_WEIGHT: f64 = 0.1;

/// The writer's recent busy share, and whether it pauses before committing.
#[derive(Debug)]
pub(crate) struct Linger {
    busy: f64,
    pausing: bool,
    last_end: Option<Instant>,
    company: f64,
}

impl Linger {
    /// An idle writer: it commits at once.
    pub(crate) fn new() -> Self {
        Linger {
            busy: 0.0,
            pausing: false,
            last_end: None,
            company: 0.0,
        }
    }

    /// How long to wait before committing a group of `queued` commands, if at all, when a
    /// pause lasts `pause` (zero: never).
    pub(crate) fn pause(&self, queued: usize, pause: Duration) -> Option<Duration> {
        let wanted = self.pausing && self.company >= COMPANY && queued < ENOUGH;
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
        if self.busy > START_ABOVE {
            self.pausing = true;
        } else if self.busy < STOP_BELOW {
            self.pausing = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A steady load on the writer: rounds of `work_us` every `every_us`, each committing
    /// `group` commands.
    struct Load {
        work_us: u64,
        every_us: u64,
        group: usize,
    }

    /// A writer that went through `phases` in turn, each `rounds` rounds of a load.
    fn after(phases: &[(u32, Load)]) -> Linger {
        let mut linger = Linger::new();
        let mut start = Instant::now();
        for (rounds, load) in phases {
            for _ in 0..*rounds {
                linger.gathered(load.group);
                linger.worked(start, start + Duration::from_micros(load.work_us));
                start += Duration::from_micros(load.every_us);
            }
        }
        linger
    }

    /// Rounds of `work_us` every `every_us`, each committing `group` commands.
    const fn load(work_us: u64, every_us: u64, group: usize) -> Load {
        Load {
            work_us,
            every_us,
            group,
        }
    }

    /// Sends at 8,000 a second as measured: 110 µs commits every 250 µs, 2 writes each.
    const BUSY: Load = load(110, 250, 2);

    #[test]
    fn a_lightly_loaded_writer_never_pauses() {
        let linger = after(&[(2_000, load(100, 1_000, 2))]);
        assert_eq!(linger.pause(1, DEFAULT_PAUSE), None);
    }

    #[test]
    fn a_busy_writer_pauses_small_groups_only() {
        let linger = after(&[(2_000, BUSY)]);
        assert_eq!(linger.pause(1, DEFAULT_PAUSE), Some(DEFAULT_PAUSE));
        assert_eq!(linger.pause(ENOUGH - 1, DEFAULT_PAUSE), Some(DEFAULT_PAUSE));
        assert_eq!(linger.pause(ENOUGH, DEFAULT_PAUSE), None);
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
        let linger = after(&[(2_000, load(60, 90, 1))]);
        assert_eq!(linger.pause(1, DEFAULT_PAUSE), None);
    }

    #[test]
    fn pausing_stops_when_the_company_leaves() {
        let linger = after(&[(2_000, BUSY), (100, Load { group: 1, ..BUSY })]);
        assert_eq!(linger.pause(1, DEFAULT_PAUSE), None);
    }

    #[test]
    fn pausing_goes_on_while_the_work_it_made_cheaper_stays_between_the_bounds() {
        let linger = after(&[(2_000, BUSY), (2_000, load(250, 1_250, 10))]);
        assert_eq!(linger.pause(1, DEFAULT_PAUSE), Some(DEFAULT_PAUSE));
    }

    #[test]
    fn pausing_stops_once_the_load_falls_away() {
        let linger = after(&[(2_000, BUSY), (50, load(100, 20_000, 2))]);
        assert_eq!(linger.pause(1, DEFAULT_PAUSE), None);
    }

    #[test]
    fn one_long_round_after_a_quiet_spell_does_not_start_pausing() {
        let linger = after(&[(100, load(100, 10_000, 2)), (1, load(5_000, 10_000, 2))]);
        assert_eq!(linger.pause(1, DEFAULT_PAUSE), None);
    }
}
