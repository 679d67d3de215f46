//! One socket's queue: the [`Inbox`] the hub's rooms push events into, and the
//! [`Subscription`] the transport's socket loop drains.
//!
//! The inbox is one small allocation per socket: a lock around a ring of events, the waiting
//! loop's waker and why the hub wants the socket gone. A delivery to it is one uncontended
//! lock, one push and one reference-count increment; the loop is woken only when it waits on
//! an empty queue, so a burst into a busy socket wakes nobody.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker, ready};

use crate::event::Delivery;
use crate::id::{ConnId, UserId};
use crate::sync::lock;

/// Events an idle socket keeps room for; a burst's larger ring is given back once drained.
const KEPT_CAPACITY: usize = 16;

/// The hub's end of one socket: what a room pushes events into. Rooms keep their own copy
/// inline, so a delivery reaches the inbox in one pointer hop.
#[derive(Debug, Clone)]
pub(crate) struct Socket {
    pub(crate) user: UserId,
    pub(crate) conn: ConnId,
    pub(crate) inbox: Arc<Inbox>,
}

/// What a push did.
pub(crate) enum Pushed {
    Queued,
    /// The queue was full: the socket is now cut off.
    Overflowed,
    /// The socket is already gone or cut off.
    Gone,
}

/// Shared between the hub's socket and the socket loop.
#[derive(Debug)]
pub(crate) struct Inbox {
    capacity: usize,
    state: Mutex<InboxState>,
}

#[derive(Debug, Default)]
struct InboxState {
    events: VecDeque<Delivery>,
    /// The loop waiting on an empty queue, if it is.
    waiting: Option<Waker>,
    /// Set once; the loop ends with it whatever is still queued.
    verdict: Option<Verdict>,
}

/// Why the hub wants a socket gone.
#[derive(Debug, Clone, Copy)]
enum Verdict {
    Overflowed,
    Revoked,
    Closed,
}

impl Inbox {
    /// An empty inbox holding at most `capacity` events.
    pub(crate) fn new(capacity: usize) -> Self {
        Inbox {
            capacity,
            state: Mutex::default(),
        }
    }

    /// Queues `delivery`, or cuts the socket off when its queue is full.
    pub(crate) fn push(&self, delivery: &Delivery) -> Pushed {
        let mut state = lock(&self.state);
        if state.verdict.is_some() {
            return Pushed::Gone;
        }
        let (pushed, waiting) = if state.events.len() >= self.capacity {
            (Pushed::Overflowed, state.end(Verdict::Overflowed))
        } else {
            state.events.push_back(delivery.clone());
            (Pushed::Queued, state.waiting.take())
        };
        drop(state);
        wake(waiting);
        pushed
    }

    /// Tells the loop its session was revoked (logout, password change).
    pub(crate) fn revoke(&self) {
        self.end(Verdict::Revoked);
    }

    /// Tells the loop the hub dropped the socket (engine shutting down, or its loop gone).
    pub(crate) fn close(&self) {
        self.end(Verdict::Closed);
    }

    fn end(&self, verdict: Verdict) {
        let waiting = lock(&self.state).end(verdict);
        wake(waiting);
    }
}

impl InboxState {
    /// Ends the socket (the first verdict stands) and drops what it had queued, which it will
    /// never send; returns the loop to wake.
    fn end(&mut self, verdict: Verdict) -> Option<Waker> {
        self.verdict.get_or_insert(verdict);
        self.events.clear();
        self.waiting.take()
    }
}

/// Wakes the loop, if it was waiting; called with the inbox unlocked.
fn wake(waiting: Option<Waker>) {
    if let Some(waker) = waiting {
        waker.wake();
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

impl From<Verdict> for Next {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Overflowed => Next::Overflowed,
            Verdict::Revoked => Next::Revoked,
            Verdict::Closed => Next::Closed,
        }
    }
}

/// One socket's bounded queue of events. Created by [`crate::hub::Hub::register`].
#[derive(Debug)]
pub struct Subscription {
    pub(crate) user: UserId,
    pub(crate) conn: ConnId,
    pub(crate) inbox: Arc<Inbox>,
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

    /// Waits for the next event, or for the hub to end this socket. Each event spends the
    /// task's cooperative budget, as a tokio channel's would, so a socket whose inbox never
    /// empties still lets the runtime's other tasks run.
    pub async fn next(&mut self) -> Next {
        std::future::poll_fn(|cx| {
            let budget = ready!(tokio::task::coop::poll_proceed(cx));
            let mut state = lock(&self.inbox.state);
            if let Some(verdict) = state.verdict {
                return Poll::Ready(verdict.into());
            }
            match state.events.pop_front() {
                Some(delivery) => {
                    budget.made_progress();
                    Poll::Ready(Next::Event(delivery))
                }
                None => {
                    shrink(&mut state.events);
                    match &mut state.waiting {
                        Some(waker) => waker.clone_from(cx.waker()),
                        none => *none = Some(cx.waker().clone()),
                    }
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// An event already queued, without waiting; lets the socket loop batch writes.
    pub fn try_next(&mut self) -> Option<Delivery> {
        let mut state = lock(&self.inbox.state);
        if state.verdict.is_some() {
            return None;
        }
        let next = state.events.pop_front();
        if next.is_none() {
            shrink(&mut state.events);
        }
        next
    }
}

impl Drop for Subscription {
    /// A socket whose loop is gone takes no more events: rooms drop it at their next delivery.
    fn drop(&mut self) {
        self.inbox.close();
    }
}

/// Gives back what a burst grew an emptied queue to.
fn shrink(events: &mut VecDeque<Delivery>) {
    if events.capacity() > KEPT_CAPACITY {
        events.shrink_to(KEPT_CAPACITY);
    }
}
