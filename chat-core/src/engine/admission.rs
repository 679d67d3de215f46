//! Admission on the send path, so that past the store's capacity a send is refused at once
//! (`Error::Overloaded`, which costs nothing) instead of queuing behind seconds of others.
//!
//! A send is admitted first, before any of its work (membership check, rate limit, host
//! hook), so that work done on a send the node cannot carry is only the refusal, and every
//! wait of a send in progress counts.
//!
//! Three bounds: a hard limit on the sends in progress, from admission to their store's
//! answer, and a bound on the store's answer time. A count alone bounds the queueing delay
//! only at `limit / throughput`, and a store's throughput varies (a shared disk, a slow
//! checkpoint); so once more than a few sends are in flight, a send is also refused while the
//! store's answer to the last send to finish took longer than the target. Sends keep being
//! admitted below that floor, so the measure keeps refreshing and admissions resume as soon
//! as the store catches up.
//!
//! The third bound is for a node whose CPU, not its store, is the limit: there, sends queue
//! before they reach admission (in socket buffers, behind other tasks), where no count of
//! sends in flight sees them. A ticker task measures how late the runtime runs it
//! ([`SendAdmission::observe_scheduling_delay`]), how many ready tasks wait in the runtime's
//! global queue, where a busy worker puts what its own queue has no room for and serves it
//! last, counted in sends ([`SendAdmission::observe_ready_queue`]: a send to a room of 1,000
//! queues a thousand sockets with a few microseconds of work each), and how long a probe task
//! waited there ([`SendAdmission::observe_ready_queue_wait`]). While any of them has stayed
//! past its bound twice in a row, every new send is refused, which costs a fraction of
//! carrying it, so the queues drain. What is admitted is always carried through.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The retry hint of a refused send: long enough for a queue of one bound to clear.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Sends always admitted (up to the hard limit) whatever the last one took: enough to fill a
/// group commit of a slow store, few enough to wait little.
const ALWAYS_ADMITTED: usize = 16;

/// Sends in flight to the store, up to a limit and while they finish in time.
#[derive(Debug)]
pub(super) struct SendAdmission {
    in_flight: AtomicUsize,
    /// Microseconds the last finished send took from admission to its store's answer.
    last_took_us: AtomicU64,
    limit: usize,
    target_us: u64,
    /// Microseconds the runtime ran the monitor's ticks late.
    scheduling_delay_us: TwoTicks,
    scheduling_target_us: u64,
    /// Tasks in the runtime's global queue at the monitor's ticks, two per send.
    ready_queue: TwoTicks,
    ready_queue_limit: u64,
    /// Microseconds the monitor's probes waited in the runtime's global queue.
    ready_queue_wait_us: TwoTicks,
    ready_queue_wait_target_us: u64,
    /// Sends admitted since the node started.
    sends_admitted: AtomicU64,
    /// Events queued on sockets by fanouts since the node started.
    deliveries_queued: AtomicU64,
}

/// A measure taken at every tick of the monitor, counted as the smaller of its last two
/// values, so one stall or burst refuses nothing.
#[derive(Debug, Default)]
struct TwoTicks {
    last: AtomicU64,
    floor: AtomicU64,
}

impl TwoTicks {
    fn observe(&self, value: u64) {
        let previous = self.last.swap(value, Ordering::Relaxed);
        self.floor.store(value.min(previous), Ordering::Relaxed);
    }

    fn exceeds(&self, bound: u64) -> bool {
        self.floor.load(Ordering::Relaxed) > bound
    }
}

/// One admitted send; dropping it frees its place and records how long it took.
#[derive(Debug)]
pub(super) struct Admitted {
    admission: Arc<SendAdmission>,
    since: Instant,
}

impl Admitted {
    /// Starts the clock of the store's answer over: a send is admitted before its
    /// membership check, rate limit and host hook, and only what the store takes counts
    /// towards the lateness bound.
    pub(super) fn reached_store(&mut self) {
        self.since = Instant::now();
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let took = u64::try_from(self.since.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.admission.last_took_us.store(took, Ordering::Relaxed);
        self.admission.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl SendAdmission {
    /// Admits up to `limit` sends at once (at least one), past a few in flight only while
    /// the last send to finish took at most `target`, and none while the runtime has been
    /// late by more than `scheduling_target`, held more than `ready_queue_limit` tasks (two
    /// per send) in its global queue, or kept them there longer than `ready_queue_wait_target`.
    pub(super) fn new(
        limit: usize,
        target: Duration,
        scheduling_target: Duration,
        ready_queue_limit: usize,
        ready_queue_wait_target: Duration,
    ) -> Self {
        SendAdmission {
            in_flight: AtomicUsize::new(0),
            last_took_us: AtomicU64::new(0),
            limit: limit.max(1),
            target_us: micros(target),
            scheduling_delay_us: TwoTicks::default(),
            scheduling_target_us: micros(scheduling_target),
            ready_queue: TwoTicks::default(),
            ready_queue_limit: u64::try_from(ready_queue_limit).unwrap_or(u64::MAX),
            ready_queue_wait_us: TwoTicks::default(),
            ready_queue_wait_target_us: micros(ready_queue_wait_target),
            sends_admitted: AtomicU64::new(0),
            deliveries_queued: AtomicU64::new(0),
        }
    }

    /// Records how late the monitor's latest tick ran; one stall (a page fault, a slow log
    /// write) refuses nothing.
    pub(super) fn observe_scheduling_delay(&self, late: Duration) {
        self.scheduling_delay_us.observe(micros(late));
    }

    /// Records how many tasks waited in the runtime's global queue at the latest tick,
    /// counted two per send; one burst refuses nothing.
    pub(super) fn observe_ready_queue(&self, tasks: u64) {
        self.ready_queue.observe(tasks);
    }

    /// Counts events a fanout queued on sockets, to weigh the global queue by.
    pub(super) fn deliveries_queued(&self, events: usize) {
        self.deliveries_queued
            .fetch_add(u64::try_from(events).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Sends admitted and deliveries queued since the node started.
    pub(super) fn totals(&self) -> (u64, u64) {
        (
            self.sends_admitted.load(Ordering::Relaxed),
            self.deliveries_queued.load(Ordering::Relaxed),
        )
    }

    /// Records how long the latest probe waited in the runtime's global queue; one burst
    /// refuses nothing.
    pub(super) fn observe_ready_queue_wait(&self, waited: Duration) {
        self.ready_queue_wait_us.observe(micros(waited));
    }

    /// A place for one send, or `Error::Overloaded` when all are taken, sends finish late or
    /// the CPU is saturated.
    pub(super) fn admit(self: &Arc<Self>) -> Result<Admitted> {
        let taken = self.in_flight.fetch_add(1, Ordering::AcqRel);
        let admitted = Admitted {
            admission: Arc::clone(self),
            since: Instant::now(),
        };
        if let Some(bound) = self.refusing_bound(taken) {
            crate::metrics::send_overloaded(bound.label());
            return Err(Error::Overloaded {
                what: bound.what().into(),
                retry_after: RETRY_AFTER,
            });
        }
        self.sends_admitted.fetch_add(1, Ordering::Relaxed);
        Ok(admitted)
    }

    /// The first bound a send finding `taken` others in flight is past, if any.
    fn refusing_bound(&self, taken: usize) -> Option<Bound> {
        if taken >= self.limit {
            Some(Bound::InFlight)
        } else if self.scheduling_delay_us.exceeds(self.scheduling_target_us) {
            Some(Bound::SchedulingDelay)
        } else if self.ready_queue.exceeds(self.ready_queue_limit) {
            Some(Bound::ReadyQueue)
        } else if self
            .ready_queue_wait_us
            .exceeds(self.ready_queue_wait_target_us)
        {
            Some(Bound::ReadyQueueWait)
        } else if taken >= ALWAYS_ADMITTED
            && self.last_took_us.load(Ordering::Relaxed) > self.target_us
        {
            Some(Bound::StoreLate)
        } else {
            None
        }
    }
}

/// Which bound refused a send: each has a setting of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    InFlight,
    StoreLate,
    SchedulingDelay,
    ReadyQueue,
    ReadyQueueWait,
}

impl Bound {
    fn label(self) -> &'static str {
        match self {
            Bound::InFlight => "in_flight",
            Bound::StoreLate => "store_late",
            Bound::SchedulingDelay => "scheduling_delay",
            Bound::ReadyQueue => "ready_queue",
            Bound::ReadyQueueWait => "ready_queue_wait",
        }
    }

    /// What the refused client is told is overloaded.
    fn what(self) -> &'static str {
        match self {
            Bound::InFlight | Bound::StoreLate => "the message store",
            Bound::SchedulingDelay | Bound::ReadyQueue | Bound::ReadyQueueWait => "the server",
        }
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;

    /// Admits one send that must be refused; returns the `bound` label of the refusal counted
    /// in `chat_sends_overloaded_total`, and the refusal.
    fn refused(admission: &Arc<SendAdmission>) -> (String, Error) {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let refusal = metrics::with_local_recorder(&recorder, || admission.admit())
            .expect_err("the send is refused");
        assert_eq!(refusal.code(), "overloaded");
        assert_eq!(refusal.retry_after(), Some(RETRY_AFTER));
        let counted: Vec<(String, u64)> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(key, ..)| key.key().name() == crate::metrics::SENDS_OVERLOADED)
            .map(|(key, _, _, value)| {
                let bound = key.key().labels().map(|label| label.value().to_owned());
                let DebugValue::Counter(count) = value else {
                    panic!("a counter")
                };
                (bound.collect(), count)
            })
            .collect();
        let [(bound, 1)] = &counted[..] else {
            panic!("one refusal counted under one bound, got {counted:?}")
        };
        (bound.clone(), refusal)
    }

    #[test]
    fn refuses_past_the_limit_and_frees_places_on_drop() {
        let admission = Arc::new(SendAdmission::new(
            2,
            Duration::from_secs(60),
            Duration::from_secs(60),
            usize::MAX,
            Duration::MAX,
        ));
        let first = admission.admit().unwrap();
        let _second = admission.admit().unwrap();
        let (bound, refusal) = refused(&admission);
        assert_eq!(bound, "in_flight");
        assert!(
            refusal.to_string().starts_with("the message store"),
            "{refusal}"
        );
        drop(first);
        assert!(admission.admit().is_ok());
    }

    #[test]
    fn refuses_past_the_floor_while_sends_finish_late_and_resumes_when_they_catch_up() {
        let admission = Arc::new(SendAdmission::new(
            1024,
            Duration::from_millis(5),
            Duration::from_secs(60),
            usize::MAX,
            Duration::MAX,
        ));
        let mut held: Vec<_> = (0..ALWAYS_ADMITTED)
            .map(|_| admission.admit().unwrap())
            .collect();
        let slow = admission.admit().unwrap();
        std::thread::sleep(Duration::from_millis(10));
        drop(slow);
        assert_eq!(refused(&admission).0, "store_late");

        held.pop();
        let below_floor = admission
            .admit()
            .expect("below the floor a send always goes in");
        drop(below_floor);
        assert!(
            admission.admit().is_ok(),
            "a send that finished in time lets the next ones in"
        );
    }

    #[test]
    fn refuses_every_send_while_the_runtime_stays_late_and_not_for_one_stall() {
        let admission = Arc::new(SendAdmission::new(
            1024,
            Duration::from_secs(60),
            Duration::from_millis(20),
            usize::MAX,
            Duration::MAX,
        ));
        admission.observe_scheduling_delay(Duration::from_millis(1));
        admission.observe_scheduling_delay(Duration::from_millis(80));
        assert!(admission.admit().is_ok(), "one late tick is a stall");

        admission.observe_scheduling_delay(Duration::from_millis(30));
        let (bound, refusal) = refused(&admission);
        assert_eq!(bound, "scheduling_delay");
        assert!(refusal.to_string().starts_with("the server "), "{refusal}");

        admission.observe_scheduling_delay(Duration::from_millis(2));
        assert!(
            admission.admit().is_ok(),
            "admissions resume at the first tick on time"
        );
    }

    #[test]
    fn refuses_every_send_while_the_global_queue_stays_long_and_not_for_one_burst() {
        let admission = Arc::new(SendAdmission::new(
            1024,
            Duration::from_secs(60),
            Duration::from_secs(60),
            100,
            Duration::MAX,
        ));
        admission.observe_ready_queue(3);
        admission.observe_ready_queue(900);
        assert!(admission.admit().is_ok(), "one long queue is a burst");

        admission.observe_ready_queue(400);
        assert_eq!(refused(&admission).0, "ready_queue");

        admission.observe_ready_queue(0);
        assert!(
            admission.admit().is_ok(),
            "admissions resume at the first tick with a short queue"
        );
    }

    #[test]
    fn counts_the_sends_it_admits() {
        let admission = Arc::new(SendAdmission::new(
            1,
            Duration::from_secs(60),
            Duration::from_secs(60),
            usize::MAX,
            Duration::MAX,
        ));
        let held = admission.admit().unwrap();
        assert!(admission.admit().is_err());
        admission.deliveries_queued(7);
        assert_eq!(admission.totals(), (1, 7), "a refused send is not counted");
        drop(held);
    }

    #[test]
    fn refuses_every_send_while_the_global_queue_stays_slow_and_not_for_one_burst() {
        let admission = Arc::new(SendAdmission::new(
            1024,
            Duration::from_secs(60),
            Duration::from_secs(60),
            usize::MAX,
            Duration::from_millis(10),
        ));
        admission.observe_ready_queue_wait(Duration::from_micros(300));
        admission.observe_ready_queue_wait(Duration::from_millis(90));
        assert!(admission.admit().is_ok(), "one slow probe is a burst");

        admission.observe_ready_queue_wait(Duration::from_millis(40));
        assert_eq!(refused(&admission).0, "ready_queue_wait");

        admission.observe_ready_queue_wait(Duration::ZERO);
        assert!(
            admission.admit().is_ok(),
            "admissions resume at the first probe served in time"
        );
    }
}
