//! How long a ready task waits in the runtime's global queue, for send admission.
//!
//! Tasks woken from outside the runtime, and those a busy worker's own queue has no room
//! for, wait in the global queue and are served after the worker's own. A probe task spawned
//! from a blocking thread joins the end of that queue; its wait is the wait of a socket woken
//! behind a saturated CPU. One probe is out at a time, and while it waits its age so far is
//! the measure, so a queue that keeps growing is seen at the next tick, not once the probe
//! finally runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;

/// The scheduling monitor's probe through the global queue.
#[derive(Debug)]
pub(super) struct ReadyQueueProbe {
    shared: Arc<ProbeState>,
}

#[derive(Debug)]
struct ProbeState {
    epoch: Instant,
    /// Microseconds since `epoch` when the probe out was queued; 0 when none is out.
    queued_at_us: AtomicU64,
    /// Microseconds the last probe waited.
    last_wait_us: AtomicU64,
}

impl ProbeState {
    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

impl ReadyQueueProbe {
    pub(super) fn new() -> Self {
        ReadyQueueProbe {
            shared: Arc::new(ProbeState {
                epoch: Instant::now(),
                queued_at_us: AtomicU64::new(0),
                last_wait_us: AtomicU64::new(0),
            }),
        }
    }

    /// How long a task now waits in `runtime`'s global queue: the age of the probe still
    /// queued, else what the last one waited (and a new probe goes out).
    pub(super) fn measure(&self, runtime: &Handle) -> Duration {
        let queued_at = self.shared.queued_at_us.load(Ordering::Acquire);
        if queued_at != 0 {
            return Duration::from_micros(self.shared.now_us().saturating_sub(queued_at));
        }
        let last = self.shared.last_wait_us.load(Ordering::Relaxed);
        self.send(runtime);
        Duration::from_micros(last)
    }

    fn send(&self, runtime: &Handle) {
        let shared = Arc::clone(&self.shared);
        shared
            .queued_at_us
            .store(shared.now_us(), Ordering::Release);
        let runtime = runtime.clone();
        drop(tokio::task::spawn_blocking(move || {
            drop(runtime.spawn(async move {
                let queued_at = shared.queued_at_us.swap(0, Ordering::AcqRel);
                let waited = shared.now_us().saturating_sub(queued_at);
                shared.last_wait_us.store(waited, Ordering::Relaxed);
                crate::metrics::ready_queue_wait(Duration::from_micros(waited));
            }));
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_probe_stuck_behind_the_queue_is_measured_by_its_age() {
        let runtime = Handle::current();
        let probe = ReadyQueueProbe::new();
        assert_eq!(
            probe.measure(&runtime),
            Duration::ZERO,
            "nothing measured yet"
        );

        std::thread::sleep(Duration::from_millis(30));
        let stuck = probe.measure(&runtime);
        assert!(
            stuck >= Duration::from_millis(30),
            "the probe could not run while the only worker slept: {stuck:?}"
        );

        tokio::time::sleep(Duration::from_millis(20)).await;
        let served = probe.measure(&runtime);
        assert!(
            served >= Duration::from_millis(30),
            "the probe reports what it waited once it ran: {served:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            probe.measure(&runtime) < Duration::from_millis(30),
            "a probe on an idle runtime waits little"
        );
    }
}
