//! A socket's frames waiting to be written, and the write in progress, driven from the
//! socket loop's `select!` so that a peer that stops reading never blocks the loop.
//!
//! Frames are fed to the sink as fast as it takes them and flushed once the outbox is empty,
//! so whatever queues up while the peer is slow goes out in one batch. Refusals that tell the
//! client to retry later (`overloaded`, `rate_limited`) are held back a little to share the
//! socket's next write: a node shedding load writes them in the batches it writes anyway, not
//! one write (and one wakeup of the client) per refused frame. The loop keeps
//! reading, pinging and watching shutdown while a write waits; it ends the socket when the
//! outbox outgrows the socket's queue (1013) or a write makes no progress for the write
//! timeout.

use std::collections::VecDeque;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use tokio::time::Instant;

/// Frames an idle socket keeps room for; a burst's larger outbox is given back once written.
const KEPT_CAPACITY: usize = 16;

/// The longest a held refusal waits for a write to join: short beside the second its client
/// is told to wait before retrying.
pub const REFUSAL_HOLD: Duration = Duration::from_millis(50);

/// Held refusals that go out at once without waiting for their hold to end, so a client
/// flooding refused frames gets them in batches of this size.
const HELD_MOST: usize = 32;

/// The writing half of a socket.
pub type Sink = SplitSink<WebSocket, Message>;

/// Frames not yet handed to the sink, and whether the sink holds unflushed ones.
#[derive(Debug)]
pub struct Outbox {
    frames: VecDeque<Message>,
    /// Set while `frames` holds only refusals waiting to join the next write (they are held
    /// only while no write is in progress): when they go out whether a write comes or not.
    held_until: Option<Instant>,
    unflushed: bool,
    last_progress: Instant,
    write_timeout: Duration,
}

impl Outbox {
    /// An empty outbox whose writes must progress within `write_timeout`.
    pub fn new(write_timeout: Duration) -> Self {
        Outbox {
            frames: VecDeque::new(),
            held_until: None,
            unflushed: false,
            last_progress: Instant::now(),
            write_timeout,
        }
    }

    /// Queues a frame, after the refusals held before it; a write that starts now gets a
    /// fresh deadline.
    pub fn push(&mut self, frame: Message) {
        self.release_held();
        if !self.is_busy() {
            self.last_progress = Instant::now();
        }
        self.frames.push_back(frame);
    }

    /// Queues a refusal that can wait up to `hold` for a write to join, and joins the write
    /// in progress, if any, at once.
    pub fn push_held(&mut self, frame: Message, hold: Duration) {
        if self.is_busy() {
            self.push(frame);
            return;
        }
        self.held_until.get_or_insert_with(|| Instant::now() + hold);
        self.frames.push_back(frame);
        if self.frames.len() >= HELD_MOST {
            self.release_held();
        }
    }

    /// Queues the held refusals for writing if their hold has ended by `now`.
    pub fn release_due(&mut self, now: Instant) {
        if self.held_until.is_some_and(|until| now >= until) {
            self.release_held();
        }
    }

    fn release_held(&mut self) {
        if self.held_until.take().is_some() {
            self.last_progress = Instant::now();
        }
    }

    /// When the loop must next look at the outbox: the write deadline while a write is in
    /// progress, else the end of the held refusals' hold, if any.
    pub fn next_due(&self) -> Option<Instant> {
        if self.is_busy() {
            Some(self.deadline())
        } else {
            self.held_until
        }
    }

    /// Frames waiting for the sink, held ones included.
    pub fn waiting(&self) -> usize {
        self.frames.len()
    }

    /// Drops the frames not yet handed to the sink (the socket is closing).
    pub fn clear(&mut self) {
        self.frames.clear();
        self.held_until = None;
    }

    /// Whether a write is in progress: frames wait that are not held, or the sink holds
    /// unflushed ones.
    pub fn is_busy(&self) -> bool {
        (self.held_until.is_none() && !self.frames.is_empty()) || self.unflushed
    }

    /// When the write in progress is late if it makes no progress before.
    pub fn deadline(&self) -> Instant {
        self.last_progress + self.write_timeout
    }

    /// Whether the write in progress has made no progress for the write timeout.
    pub fn is_stalled(&self) -> bool {
        self.is_busy() && Instant::now() >= self.deadline()
    }

    /// Feeds every waiting frame to `sink`, then flushes; ready when all is written.
    pub fn poll_drive(
        &mut self,
        sink: &mut Sink,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), axum::Error>> {
        while !self.frames.is_empty() {
            ready!(sink.poll_ready_unpin(cx))?;
            if let Some(frame) = self.frames.pop_front() {
                sink.start_send_unpin(frame)?;
                self.unflushed = true;
                self.last_progress = Instant::now();
            }
        }
        if self.unflushed {
            ready!(sink.poll_flush_unpin(cx))?;
            self.unflushed = false;
            self.last_progress = Instant::now();
            if self.frames.capacity() > KEPT_CAPACITY {
                self.frames.shrink_to(KEPT_CAPACITY);
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Writes everything waiting.
    pub async fn drain(&mut self, sink: &mut Sink) -> Result<(), axum::Error> {
        std::future::poll_fn(|cx| self.poll_drive(sink, cx)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &'static str) -> Message {
        Message::Text(text.into())
    }

    fn queued(outbox: &Outbox) -> Vec<String> {
        outbox
            .frames
            .iter()
            .map(|frame| frame.to_text().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn a_held_refusal_waits_for_its_hold_then_goes_alone() {
        let mut outbox = Outbox::new(Duration::from_secs(5));
        let before = Instant::now();
        outbox.push_held(frame("refused"), REFUSAL_HOLD);
        assert!(
            !outbox.is_busy(),
            "nothing is written while the refusal is held"
        );
        assert_eq!(outbox.waiting(), 1);
        let until = outbox.next_due().expect("the hold's end is due");
        assert!(until >= before + REFUSAL_HOLD && until <= Instant::now() + REFUSAL_HOLD);

        outbox.release_due(until - Duration::from_millis(1));
        assert!(!outbox.is_busy(), "released before its hold ended");

        outbox.release_due(until);
        assert!(outbox.is_busy());
        assert_eq!(queued(&outbox), ["refused"]);
        assert_eq!(outbox.next_due(), Some(outbox.deadline()));
    }

    #[test]
    fn held_refusals_join_the_next_write_ahead_of_its_frame() {
        let mut outbox = Outbox::new(Duration::from_secs(5));
        outbox.push_held(frame("first refusal"), REFUSAL_HOLD);
        let first_due = outbox.next_due();
        outbox.push_held(frame("second refusal"), Duration::from_secs(60));
        assert_eq!(
            outbox.next_due(),
            first_due,
            "the first refusal's hold sets when both go"
        );

        outbox.push(frame("message"));
        assert_eq!(
            queued(&outbox),
            ["first refusal", "second refusal", "message"]
        );
        assert_eq!(outbox.waiting(), 3);

        outbox.push_held(frame("refused while writing"), REFUSAL_HOLD);
        assert_eq!(
            queued(&outbox).last().map(String::as_str),
            Some("refused while writing")
        );
    }

    #[test]
    fn a_flood_of_refusals_goes_out_in_batches() {
        let mut outbox = Outbox::new(Duration::from_secs(5));
        for _ in 1..HELD_MOST {
            outbox.push_held(frame("refused"), REFUSAL_HOLD);
        }
        assert!(!outbox.is_busy());
        outbox.push_held(frame("refused"), REFUSAL_HOLD);
        assert!(outbox.is_busy(), "a full hold goes out without waiting");
        assert_eq!(queued(&outbox).len(), HELD_MOST);
    }

    #[test]
    fn clearing_drops_held_refusals() {
        let mut outbox = Outbox::new(Duration::from_secs(5));
        outbox.push_held(frame("refused"), REFUSAL_HOLD);
        outbox.clear();
        assert_eq!(outbox.waiting(), 0);
        assert_eq!(outbox.next_due(), None);
    }
}
