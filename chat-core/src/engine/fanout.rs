//! Delivery of events: to local sockets through the hub, to other nodes through the bus, and
//! recovery of gaps from the store.
//!
//! Room events go to the room (one hub walk here, one publication on the room's topic for
//! the other nodes), user events to users (presence). Membership changes reach every node on
//! the notices topic before the room's next message, so each node moves its sockets in or out
//! of the room and drops the member list it cached.

use std::ops::Range;

use crate::bus::{NODE_NOTICES, Topic};
use crate::event::{Delivery, Outbound, ServerEvent};
use crate::hub::FanoutReport;
use crate::id::{RoomId, UserId};

use super::Engine;

/// How many times a gap is looked up in the store before the line gives up on it. Waiting
/// more than once covers an append on another node that is assigned but not yet visible.
const GAP_ATTEMPTS: u32 = 3;

/// How many failed reads a gap survives before the line gives up on it regardless; a message
/// that arrives after that is still delivered, late.
const GAP_FAILED_READS: u32 = 20;

/// The most messages one gap read asks the store for.
const GAP_PAGE: usize = 100;

impl Engine {
    /// Delivers `event`, which happened in `room`, to the local sockets following the room
    /// now and queues its relay to the other nodes. Never waits: neither on sockets nor on
    /// the bus.
    pub(crate) fn fanout_room(&self, room: RoomId, event: ServerEvent) {
        let delivery = Outbound::new(event);
        let report = self.inner.hub.deliver_room(room, &delivery);
        self.handle_report(report);
        self.inner
            .relay
            .publish(vec![Topic::Room(room)], delivery.event());
    }

    /// Delivers `event` to the local sockets of `users` and relays it on their topics.
    pub(crate) fn fanout_users(&self, users: &[UserId], event: ServerEvent) {
        let delivery = Outbound::new(event);
        let report = self.inner.hub.deliver_users(users, &delivery);
        self.handle_report(report);
        let topics = users.iter().map(|&user| Topic::User(user)).collect();
        self.inner.relay.publish(topics, delivery.event());
    }

    /// `users` became members of `room` with the entry at `from_seq`: their sockets here
    /// follow the room from that entry on, and every other node is told to do the same (and
    /// to forget the room's cached members) before the entry itself is published.
    pub(crate) fn members_changed(&self, room: RoomId, joined: Vec<UserId>, from_seq: u64) {
        self.forget_members(room);
        let opened = joined.iter().fold(false, |opened, &user| {
            self.inner.hub.join(room, user, from_seq) | opened
        });
        if opened {
            self.offer_newest_later(vec![room]);
        }
        self.inner.relay.publish(
            vec![NODE_NOTICES],
            &ServerEvent::MembersChanged {
                room_id: room,
                joined,
                from_seq,
            },
        );
    }

    /// Another node changed `room`'s members: forget them, and let the joined users' sockets
    /// here follow the room. A room this node did not follow yet is watched from now on and
    /// then read once, so a message published before the watch took is not missed.
    pub(crate) fn members_changed_elsewhere(&self, room: RoomId, joined: &[UserId], from_seq: u64) {
        self.forget_members(room);
        let opened = joined.iter().fold(false, |opened, &user| {
            self.inner.hub.join(room, user, from_seq) | opened
        });
        if opened {
            self.offer_newest_later(vec![room]);
        }
    }

    /// For rooms this node just started following: once the bus watches them, offers each
    /// one's newest message to its line, so what another node published before the watch
    /// took surfaces as a gap (or is delivered) instead of waiting for the room's next message.
    /// Nothing to do without other nodes.
    pub(crate) fn offer_newest_later(&self, rooms: Vec<RoomId>) {
        if rooms.is_empty() || !self.inner.relays {
            return;
        }
        let engine = self.clone();
        self.inner.relay.spawn_cancellable(async move {
            engine.interest_applied().await;
            for room in rooms {
                engine.offer_newest(room).await;
            }
        });
    }

    /// Delivers an event that came from another node on `topic`.
    pub(crate) fn deliver_relayed(&self, topic: Topic, delivery: &Delivery) {
        let report = match topic {
            Topic::Room(room) => self.inner.hub.deliver_room(room, delivery),
            Topic::User(user) => self.inner.hub.deliver_users(&[user], delivery),
        };
        self.handle_report(report);
    }

    /// Offers `room`'s newest stored message to its line: a line that missed messages sees
    /// the gap and reads them back. Used after the bus was away and when a room is newly
    /// followed.
    pub(crate) async fn offer_newest(&self, room: RoomId) {
        match self.inner.store.page(room, None, 1).await {
            Ok(newest) => {
                for message in newest {
                    let delivery = Outbound::new(ServerEvent::Message(message));
                    self.deliver_relayed(Topic::Room(room), &delivery);
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot read a room's newest message"),
        }
    }

    pub(crate) fn handle_report(&self, report: FanoutReport) {
        crate::metrics::fanout(&report);
        self.inner.admission.deliveries_queued(report.queued);
        if report.overflowed > 0 {
            tracing::info!(
                sockets = report.overflowed,
                "cut off sockets with full queues"
            );
        }
        for gap in report.gaps {
            let engine = self.clone();
            self.inner
                .relay
                .spawn_cancellable(async move { engine.fill_gap(gap.room, gap.missing).await });
        }
    }

    /// Waits for the gap `reported` in `room`'s line to close by itself, then reads what is
    /// missing from the store. Only reads that answer count towards giving up: while the
    /// store fails, the line keeps waiting (up to [`GAP_FAILED_READS`] failures), since a
    /// message it holds may be there. A gap that opens in the line after this one closed has
    /// a fill of its own, and this one leaves it alone.
    async fn fill_gap(&self, room: RoomId, reported: Range<u64>) {
        let (mut answered, mut failed) = (0, 0);
        while answered < GAP_ATTEMPTS && failed < GAP_FAILED_READS {
            tokio::time::sleep(self.inner.config.gap_wait * (answered + 1)).await;
            let Some(missing) = self.inner.hub.still_missing(room, &reported) else {
                return;
            };
            let count = ((missing.end - missing.start) as usize).min(GAP_PAGE);
            let upto = missing.start + count as u64;
            match self.inner.store.page(room, Some(upto), count).await {
                Ok(mut found) => {
                    answered += 1;
                    found.reverse();
                    for message in found.into_iter().filter(|m| m.seq >= missing.start) {
                        let delivery = Outbound::new(ServerEvent::Message(message));
                        self.deliver_relayed(Topic::Room(room), &delivery);
                    }
                }
                Err(err) => {
                    failed += 1;
                    tracing::warn!(error = %err, "cannot read a gap from the store");
                }
            }
        }
        if let Some(missing) = self.inner.hub.still_missing(room, &reported) {
            tracing::warn!(%room, ?missing, "giving up on messages the store does not have");
            let report = self.inner.hub.skip_gap(room, missing.end);
            self.handle_report(report);
        }
    }
}
