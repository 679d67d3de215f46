//! The open-loop schedule, run on a dedicated OS thread: message `i` is due at `i / rate`
//! seconds after the step's epoch and is handed to its socket's task at that instant.
//!
//! Tokio's timer wheel has a resolution of one millisecond, and a scheduler task shares its
//! worker with every socket task, so it woke late by about a millisecond (1.3 ms p50 send lag
//! at 200 msg/s). This thread sleeps until shortly before the next due instant, then spins
//! (yielding the core to the socket tasks) until it arrives, so a send leaves on time to a
//! few microseconds plus the hand-over to the socket task.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use crate::collector::Collector;
use crate::frames::{Protocol, Tag};
use crate::socket::Outgoing;

/// How long before a due instant the thread stops sleeping and starts spinning, at most:
/// more than the kernel's timer slack (50 µs by default) and a wakeup's latency on an idle
/// machine.
const SPIN: Duration = Duration::from_micros(250);

/// The share of the gap between two sends the thread may spend spinning. At high rates the
/// generator's core is busy with the sockets, and a thread spinning through most of every gap
/// would take half of it; past a few thousand messages a second the thread sleeps instead and
/// sends what has come due when it wakes (a lag of about the timer slack).
const SPIN_SHARE_OF_GAP: u32 = 8;

/// Everything the thread needs, owned, so that it runs on its own.
pub struct Schedule {
    /// Step number, in the messages' tags.
    pub step: u32,
    /// The run's id, in the messages' tags.
    pub run: u32,
    /// When message 0 is due.
    pub epoch: Instant,
    /// Messages per second.
    pub rate: f64,
    /// Messages in the step.
    pub total: u64,
    /// Text length of each message.
    pub message_bytes: usize,
    /// How frames are written.
    pub protocol: Protocol,
    /// Per room: its name in frames (a room id, or a Centrifugo channel).
    pub rooms: Arc<Vec<String>>,
    /// Per room: the sockets its members send from.
    pub senders: Arc<Vec<Vec<u32>>>,
    /// Per socket: its task's queue, `None` where it never opened.
    pub outlets: Vec<Option<UnboundedSender<Outgoing>>>,
}

impl Schedule {
    /// Runs the schedule on a new thread; the receiver yields, at the end, the number of
    /// messages that had no sender socket.
    pub fn start(self, collector: Arc<Collector>) -> std::io::Result<oneshot::Receiver<u64>> {
        let (done, finished) = oneshot::channel();
        thread::Builder::new()
            .name("bench-scheduler".into())
            .spawn(move || {
                let _unwatched = done.send(self.run(&collector));
            })?;
        Ok(finished)
    }

    fn run(self, collector: &Collector) -> u64 {
        let rooms = self.rooms.len() as u64;
        let mut next = 0u64;
        let mut unsendable = 0u64;
        let mut batch = Vec::new();
        let spin = SPIN.min(Duration::from_secs_f64(1.0 / self.rate) / SPIN_SHARE_OF_GAP);
        while next < self.total {
            wait_until(self.epoch + self.due_at(next), spin);
            let now = Instant::now();
            let due = (((now - self.epoch).as_secs_f64() * self.rate) as u64 + 1).min(self.total);
            collector.with_step(|step| {
                for i in next..due {
                    let room = (i % rooms) as usize;
                    let senders = &self.senders[room];
                    if senders.is_empty() {
                        unsendable += 1;
                        continue;
                    }
                    let socket = senders[(i / rooms) as usize % senders.len()];
                    let scheduled = self.due_at(i);
                    let index = step.ledger.sent(room as u32, scheduled);
                    batch.push((socket, room, index, scheduled));
                }
            });
            for (socket, room, index, scheduled) in batch.drain(..) {
                let tag = Tag {
                    run: self.run,
                    step: self.step,
                    index,
                };
                let message = Outgoing {
                    step: self.step,
                    scheduled,
                    frame: self
                        .protocol
                        .send_frame(&self.rooms[room], tag, self.message_bytes),
                };
                if let Some(outlet) = &self.outlets[socket as usize] {
                    // A closed socket's message stays owed: the server ended that socket.
                    let _closed = outlet.send(message);
                }
            }
            next = due;
        }
        unsendable
    }

    fn due_at(&self, index: u64) -> Duration {
        Duration::from_secs_f64(index as f64 / self.rate)
    }
}

/// Returns at `deadline`: sleeps while it is more than `spin` away, then spins, yielding the
/// core.
fn wait_until(deadline: Instant, spin: Duration) {
    loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        let left = deadline - now;
        if left > spin {
            thread::sleep(left - spin);
        } else {
            thread::yield_now();
        }
    }
}
