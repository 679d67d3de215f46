//! The receiving end of one socket's queue, as the transport's socket loop sees it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Notify, mpsc};

use crate::event::Delivery;
use crate::id::{ConnId, UserId};

/// Shared between the hub's slot and the socket loop: how the hub tells a socket to go away.
#[derive(Debug, Default)]
pub(crate) struct Control {
    overflowed: AtomicBool,
    wake: Notify,
}

impl Control {
    pub(crate) fn overflow(&self) {
        self.overflowed.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    fn has_overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Acquire)
    }
}

/// What the socket loop should do next.
#[derive(Debug)]
pub enum Next {
    /// Send this event.
    Event(Delivery),
    /// The socket fell so far behind that its queue filled; close it (WebSocket code 1013).
    Overflowed,
    /// The hub dropped the socket (engine shutting down); close it.
    Closed,
}

/// One socket's bounded queue of events. Created by [`crate::hub::Hub::register`].
#[derive(Debug)]
pub struct Subscription {
    pub(crate) user: UserId,
    pub(crate) conn: ConnId,
    pub(crate) rx: mpsc::Receiver<Delivery>,
    pub(crate) control: Arc<Control>,
}

impl Subscription {
    /// The user this socket belongs to.
    pub fn user(&self) -> UserId {
        self.user
    }

    /// This socket's id.
    pub fn conn(&self) -> ConnId {
        self.conn
    }

    /// Waits for the next event, or for the hub to end this socket.
    pub async fn next(&mut self) -> Next {
        if self.control.has_overflowed() {
            return Next::Overflowed;
        }
        tokio::select! {
            biased;
            _ = self.control.wake.notified() => Next::Overflowed,
            event = self.rx.recv() => match event {
                Some(delivery) => Next::Event(delivery),
                None => Next::Closed,
            },
        }
    }

    /// An event already queued, without waiting; lets the socket loop batch writes.
    pub fn try_next(&mut self) -> Option<Delivery> {
        if self.control.has_overflowed() {
            return None;
        }
        self.rx.try_recv().ok()
    }
}
