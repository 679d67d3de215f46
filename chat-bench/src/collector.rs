//! What every socket task reports into: the current step's ledger and latencies, refusals,
//! and sockets the server closed.
//!
//! One mutex, held for a few hundred nanoseconds per event; the generator is meant to run on
//! one core, where it is never contended.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::accounting::{Arrival, Ledger};
use crate::frames::{self, Event, Tag};
use crate::latency::Recorder;

/// The step being measured.
pub struct Step {
    /// Number of the step in the run, as in the messages' tags.
    pub number: u32,
    /// When the step's schedule starts; scheduled times count from here.
    pub epoch: Instant,
    /// Messages scheduled before this are sent but not measured.
    pub warmup: Duration,
    /// Who must receive what.
    pub ledger: Ledger,
    /// Latencies of first arrivals of measured messages.
    pub latency: Recorder,
    /// How late each measured send was written, behind its schedule (µs).
    pub send_lag: Histogram<u64>,
    /// Refusals by error code.
    pub refusals: BTreeMap<String, u64>,
    /// Message events discarded by `--drop-every`.
    pub dropped: u64,
}

impl Step {
    /// A step starting at `epoch`.
    pub fn new(number: u32, epoch: Instant, warmup: Duration, ledger: Ledger) -> Step {
        Step {
            number,
            epoch,
            warmup,
            ledger,
            latency: Recorder::new(),
            send_lag: Histogram::new_with_bounds(1, 60_000_000, 3)
                .unwrap_or_else(|_| unreachable!("constant valid bounds")),
            refusals: BTreeMap::new(),
            dropped: 0,
        }
    }
}

/// Shared by the socket tasks and the scheduler.
pub struct Collector {
    run: u32,
    drop_every: Option<u64>,
    step: Mutex<Option<Step>>,
    message_events: AtomicU64,
    /// Sockets that ended before the bench closed them, by close code (0: no close frame).
    closed: Mutex<BTreeMap<u16, u64>>,
}

impl Collector {
    /// A collector for run `run`; `drop_every` discards every Nth message event (tests).
    pub fn new(run: u32, drop_every: Option<u64>) -> Self {
        Collector {
            run,
            drop_every: drop_every.filter(|every| *every > 0),
            step: Mutex::new(None),
            message_events: AtomicU64::new(0),
            closed: Mutex::new(BTreeMap::new()),
        }
    }

    /// The run's id, for tags.
    pub fn run(&self) -> u32 {
        self.run
    }

    /// Starts accounting a new step.
    pub fn begin(&self, step: Step) {
        *self.lock() = Some(step);
    }

    /// Ends the current step and hands its records over.
    pub fn end(&self) -> Option<Step> {
        self.lock().take()
    }

    /// Runs `f` on the current step.
    pub fn with_step<T>(&self, f: impl FnOnce(&mut Step) -> T) -> Option<T> {
        self.lock().as_mut().map(f)
    }

    /// A text frame of chat's protocol arrived at `socket` at `at`.
    pub fn frame(&self, socket: u32, text: &str, at: Instant) {
        self.event(socket, frames::decode(text), at);
    }

    /// An event arrived at `socket` at `at`.
    pub fn event(&self, socket: u32, event: Event<'_>, at: Instant) {
        match event {
            Event::Message { seq, client_id } => {
                let count = self.message_events.fetch_add(1, Ordering::Relaxed) + 1;
                let tag = client_id.as_deref().and_then(Tag::parse);
                let mut guard = self.lock();
                let Some(step) = guard.as_mut() else { return };
                if self
                    .drop_every
                    .is_some_and(|every| count.is_multiple_of(every))
                {
                    step.dropped += 1;
                    return;
                }
                let Some(tag) = tag.filter(|tag| tag.run == self.run && tag.step == step.number)
                else {
                    return;
                };
                if let Arrival::First { scheduled } = step.ledger.arrived(socket, tag.index, seq)
                    && scheduled >= step.warmup
                {
                    let latency = at.saturating_duration_since(step.epoch + scheduled);
                    step.latency.record(scheduled, latency);
                }
            }
            Event::Refused { client_id, code } => {
                let tag = client_id.as_deref().and_then(Tag::parse);
                let mut guard = self.lock();
                let Some(step) = guard.as_mut() else { return };
                *step.refusals.entry(code.into_owned()).or_default() += 1;
                if let Some(tag) = tag.filter(|tag| tag.run == self.run && tag.step == step.number)
                {
                    step.ledger.refused(tag.index);
                }
            }
            Event::Other => {}
        }
    }

    /// A message of step `step_number`, due at `scheduled`, was written at `at`.
    pub fn written(&self, step_number: u32, scheduled: Duration, at: Instant) {
        let mut guard = self.lock();
        if let Some(step) = guard.as_mut().filter(|step| step.number == step_number)
            && scheduled >= step.warmup
        {
            let lag = at.saturating_duration_since(step.epoch + scheduled);
            step.send_lag
                .saturating_record((lag.as_micros() as u64).max(1));
        }
    }

    /// The server ended a socket (close `code`, 0 when it just went away).
    pub fn socket_ended(&self, code: u16) {
        *self
            .closed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(code)
            .or_default() += 1;
    }

    /// Sockets the server ended so far, by close code.
    pub fn ended(&self) -> BTreeMap<u16, u64> {
        self.closed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Step>> {
        self.step
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
