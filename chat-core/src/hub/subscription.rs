//! One socket's queue: the sending end the hub's rooms hold ([`Socket`]), and the receiving
//! end the transport's socket loop drains ([`Subscription`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Notify, mpsc};

use crate::event::Delivery;
use crate::id::{ConnId, UserId};

/// The hub's end of one socket: what a room pushes events into. Rooms keep their own copy
/// inline, so a delivery touches the channel without another pointer hop.
#[derive(Debug, Clone)]
pub(crate) struct Socket {
    pub(crate) user: UserId,
    pub(crate) conn: ConnId,
    pub(crate) tx: mpsc::Sender<Delivery>,
    pub(crate) control: Arc<Control>,
}

/// Shared between the hub's socket and the socket loop: how the hub tells a socket to go away.
#[derive(Debug, Default)]
pub(crate) struct Control {
    overflowed: AtomicBool,
    revoked: AtomicBool,
    wake: Notify,
}

impl Control {
    pub(crate) fn overflow(&self) {
        self.overflowed.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    pub(crate) fn revoke(&self) {
        self.revoked.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    fn has_overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Acquire)
    }

    /// Why the hub wants this socket gone, if it does.
    fn verdict(&self) -> Option<Next> {
        if self.revoked.load(Ordering::Acquire) {
            Some(Next::Revoked)
        } else if self.has_overflowed() {
            Some(Next::Overflowed)
        } else {
            None
        }
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
    /// The socket's session was revoked (logout, password change); close it (1008).
    Revoked,
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
        if let Some(verdict) = self.control.verdict() {
            return verdict;
        }
        tokio::select! {
            biased;
            _ = self.control.wake.notified() => self.control.verdict().unwrap_or(Next::Overflowed),
            event = self.rx.recv() => match event {
                Some(delivery) => Next::Event(delivery),
                None => Next::Closed,
            },
        }
    }

    /// An event already queued, without waiting; lets the socket loop batch writes.
    pub fn try_next(&mut self) -> Option<Delivery> {
        if self.control.verdict().is_some() {
            return None;
        }
        self.rx.try_recv().ok()
    }
}
