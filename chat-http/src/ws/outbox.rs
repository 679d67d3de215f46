//! A socket's frames waiting to be written, and the write in progress, driven from the
//! socket loop's `select!` so that a peer that stops reading never blocks the loop.
//!
//! Frames are fed to the sink as fast as it takes them and flushed once the outbox is empty,
//! so whatever queues up while the peer is slow goes out in one batch. The loop keeps
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

/// The writing half of a socket.
pub type Sink = SplitSink<WebSocket, Message>;

/// Frames not yet handed to the sink, and whether the sink holds unflushed ones.
#[derive(Debug)]
pub struct Outbox {
    frames: VecDeque<Message>,
    unflushed: bool,
    last_progress: Instant,
    write_timeout: Duration,
}

impl Outbox {
    /// An empty outbox whose writes must progress within `write_timeout`.
    pub fn new(write_timeout: Duration) -> Self {
        Outbox {
            frames: VecDeque::new(),
            unflushed: false,
            last_progress: Instant::now(),
            write_timeout,
        }
    }

    /// Queues a frame; a write that starts now gets a fresh deadline.
    pub fn push(&mut self, frame: Message) {
        if !self.is_busy() {
            self.last_progress = Instant::now();
        }
        self.frames.push_back(frame);
    }

    /// Frames waiting for the sink.
    pub fn waiting(&self) -> usize {
        self.frames.len()
    }

    /// Drops the frames not yet handed to the sink (the socket is closing).
    pub fn clear(&mut self) {
        self.frames.clear();
    }

    /// Whether a write is in progress: frames wait, or the sink holds unflushed ones.
    pub fn is_busy(&self) -> bool {
        !self.frames.is_empty() || self.unflushed
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
