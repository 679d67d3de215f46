//! One room as this node follows it: the sockets subscribed to it, the ordering line every
//! message of the room passes through once (whatever the number of subscribers), and the last
//! few deliveries, replayed to a socket that subscribes after the line has passed them.
//!
//! Delivering an event to a room is one walk over its subscriber list: no lookup, lock or
//! allocation per subscriber, one uncontended lock, one reference-count increment and one
//! queue push each.

use std::collections::VecDeque;

use crate::event::{Delivery, Membership};
use crate::id::{ConnId, RoomId};

use super::line::{Admission, Line};
use super::subscription::{Pushed, Socket};
use super::{FanoutReport, Gap};

/// Deliveries a room keeps for sockets that subscribe just after the line passed them.
const RECENT: usize = 64;

/// A socket following the room, from `from` on.
struct Subscriber {
    socket: Socket,
    /// The first seq this socket is to receive: messages the line releases below it came
    /// before the socket's view of the room began (its user joined at `from`, or its history
    /// read at connect ended just before).
    from: u64,
}

/// The state of one followed room, behind the room's own lock.
pub(super) struct RoomState {
    room: RoomId,
    /// Set when the room is taken out of the hub's map; a delivery that finds its room closed
    /// looks it up again.
    pub(super) closed: bool,
    line: Line,
    recent: VecDeque<(u64, Delivery)>,
    subscribers: Vec<Subscriber>,
}

impl RoomState {
    /// A room followed from just after `latest`, the newest seq stored when it was looked up.
    pub(super) fn after(room: RoomId, latest: u64) -> Self {
        RoomState {
            room,
            closed: false,
            line: Line::after(latest),
            recent: VecDeque::new(),
            subscribers: Vec::new(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.subscribers.is_empty()
    }

    /// Adds `socket` (once) to receive the room's messages from `from` on; those the line has
    /// already released and the room still remembers are queued on it at once.
    pub(super) fn subscribe(&mut self, socket: &Socket, from: u64, report: &mut FanoutReport) {
        if self
            .subscribers
            .iter()
            .any(|subscriber| subscriber.socket.conn == socket.conn)
        {
            return;
        }
        for (seq, delivery) in &self.recent {
            if *seq >= from && !push(socket, delivery, report) {
                return;
            }
        }
        self.subscribers.push(Subscriber {
            socket: socket.clone(),
            from,
        });
    }

    /// Takes socket `conn` out of the room.
    pub(super) fn unsubscribe(&mut self, conn: ConnId) {
        self.subscribers
            .retain(|subscriber| subscriber.socket.conn != conn);
    }

    /// Queues `delivery` on the subscribers: events of the timeline through the line, in seq
    /// order and once each; others straight away.
    pub(super) fn deliver(&mut self, delivery: &Delivery, report: &mut FanoutReport) {
        let Some((_, seq)) = delivery.event().room_seq() else {
            self.broadcast(delivery, None, report);
            return;
        };
        match self.line.admit(seq, delivery) {
            Admission::InOrder | Admission::Late => self.release(seq, delivery, report),
            Admission::Ready(ready) => {
                for delivery in &ready {
                    let seq = delivery.event().room_seq().map_or(0, |(_, seq)| seq);
                    self.release(seq, delivery, report);
                }
                self.report_open_gap(report);
            }
            Admission::HeldNewGap { missing } => report.gaps.push(Gap {
                room: self.room,
                missing,
            }),
            Admission::Held | Admission::Duplicate => {}
        }
    }

    /// The part of the line's gap still open, if it waits for one.
    pub(super) fn open_gap(&self) -> Option<std::ops::Range<u64>> {
        self.line.open_gap()
    }

    /// Gives up on the seqs below `upto` and releases what waited behind them.
    pub(super) fn skip_to(&mut self, upto: u64, report: &mut FanoutReport) {
        for delivery in self.line.skip_to(upto) {
            let seq = delivery.event().room_seq().map_or(0, |(_, seq)| seq);
            self.release(seq, &delivery, report);
        }
        self.report_open_gap(report);
    }

    /// Reports the gap the line waits on after a release, if any: it is a new one (the line
    /// moved past the last), though no arrival opened it, and each gap needs its own report
    /// for a fill to read it back.
    fn report_open_gap(&self, report: &mut FanoutReport) {
        if let Some(missing) = self.line.open_gap() {
            report.gaps.push(Gap {
                room: self.room,
                missing,
            });
        }
    }

    /// Sends one in-order timeline event to its subscribers; the entry that ends a user's
    /// membership is the last of the room its sockets get.
    fn release(&mut self, seq: u64, delivery: &Delivery, report: &mut FanoutReport) {
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back((seq, delivery.clone()));
        self.broadcast(delivery, Some(seq), report);
        if let Some(Membership::Gone(user)) = delivery.event().membership() {
            self.subscribers
                .retain(|subscriber| subscriber.socket.user != user);
        }
    }

    /// Queues `delivery` on every subscriber whose view of the room includes `seq` (every
    /// subscriber for events outside the timeline).
    fn broadcast(&mut self, delivery: &Delivery, seq: Option<u64>, report: &mut FanoutReport) {
        self.subscribers.retain(|subscriber| {
            seq.is_some_and(|seq| seq < subscriber.from)
                || push(&subscriber.socket, delivery, report)
        });
    }
}

/// Queues `delivery` on `socket`; false when the socket is gone or was just cut off for a
/// full queue, so callers drop it.
pub(super) fn push(socket: &Socket, delivery: &Delivery, report: &mut FanoutReport) -> bool {
    match socket.inbox.push(delivery) {
        Pushed::Queued => {
            report.queued += 1;
            true
        }
        Pushed::Overflowed => {
            report.overflowed += 1;
            false
        }
        Pushed::Gone => false,
    }
}
