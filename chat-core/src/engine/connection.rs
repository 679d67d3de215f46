//! Live connections: opening one (with the socket cap and presence), and closing it.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::event::ServerEvent;
use crate::hub::{Next, Subscription};
use crate::id::{ConnId, RoomId, UserId};
use crate::metrics;
use crate::model::{Room, RoomKind, User};

use super::Engine;

/// Groups up to this many members hear their members' presence changes.
pub const PRESENCE_GROUP_LIMIT: usize = 100;

/// One open socket of a user: the queue the transport drains, and the registration that is
/// undone when this value is dropped.
#[derive(Debug)]
pub struct Connection {
    engine: Engine,
    user: User,
    subscription: Subscription,
}

impl Connection {
    /// The authenticated user of this socket.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// This socket's id.
    pub fn conn(&self) -> ConnId {
        self.subscription.conn()
    }

    /// The engine, to send through.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Waits for the next event for this socket.
    pub async fn next(&mut self) -> Next {
        self.subscription.next().await
    }

    /// An event already waiting, for batching writes.
    pub fn try_next(&mut self) -> Option<crate::event::Delivery> {
        self.subscription.try_next()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let engine = self.engine.clone();
        let user = self.user.id;
        let conn = self.subscription.conn();
        if tokio::runtime::Handle::try_current().is_ok() {
            let relay = &self.engine.inner.relay;
            relay.spawn(async move { engine.disconnect(user, conn).await });
        }
    }
}

impl Engine {
    /// Opens a socket for `user`: refused when the user already has the maximum number of
    /// sockets (across nodes when presence is shared).
    ///
    /// From the moment this returns, the socket receives every message of the user's rooms,
    /// in `seq` order, once each: the user's ordering lines start after each room's newest
    /// stored message as read here, so a message that overtakes an earlier one is held for it.
    ///
    /// The host's [`on_connect`](crate::hooks::Hooks::on_connect) hook is asked first; its
    /// rejection refuses the socket with `Error::Rejected`.
    pub async fn connect(&self, user: User) -> Result<Connection> {
        let conn = ConnId::generate();
        self.decide_connect(&user, conn).await?;
        let presence = self.inner.presence.connect(user.id, conn);
        let sockets = match self.sidecar("presence", presence).await {
            Ok(count) => count,
            Err(err) => {
                tracing::warn!(error = %err, "presence unavailable; counting local sockets");
                self.inner.hub.sockets_of(user.id) + 1
            }
        };
        if sockets > self.inner.config.max_sockets_per_user {
            let undo = self.inner.presence.disconnect(user.id, conn);
            let _best_effort = self.sidecar("presence", undo).await;
            metrics::rate_limited(metrics::Limit::Sockets);
            return Err(Error::RateLimited(format!(
                "at most {} open sockets per user",
                self.inner.config.max_sockets_per_user
            )));
        }
        let rooms = match self.inner.store.rooms_of(user.id, usize::MAX).await {
            Ok(rooms) => rooms,
            Err(err) => {
                let undo = self.inner.presence.disconnect(user.id, conn);
                let _best_effort = self.sidecar("presence", undo).await;
                return Err(err);
            }
        };
        let (subscription, opened) = self.inner.hub.register(user.id, conn, latest_seqs(&rooms));
        if !self.interest_applied().await {
            tracing::warn!("bus watch not confirmed in time; cross-node delivery may lag");
        }
        self.offer_newest_later(opened);
        if sockets == 1 {
            let engine = self.clone();
            let contacts = Contacts::of(&rooms);
            self.inner
                .relay
                .spawn(async move { engine.presence_changed(user.id, true, Some(contacts)).await });
        }
        Ok(Connection {
            engine: self.clone(),
            user,
            subscription,
        })
    }

    /// Whether each of `users` is online; falls back to this node's view if presence fails.
    pub async fn online(&self, users: &[UserId]) -> Vec<bool> {
        match self
            .sidecar("presence", self.inner.presence.online(users))
            .await
        {
            Ok(online) => online,
            Err(_) => users
                .iter()
                .map(|user| self.inner.hub.sockets_of(*user) > 0)
                .collect(),
        }
    }

    async fn disconnect(&self, user: UserId, conn: ConnId) {
        self.forget_socket(user, conn);
        self.inner.hub.unregister(user, conn);
        let left = self
            .sidecar("presence", self.inner.presence.disconnect(user, conn))
            .await
            .unwrap_or_else(|_| self.inner.hub.sockets_of(user));
        if left == 0 {
            self.presence_changed(user, false, None).await;
        }
        self.notify_disconnect(user, conn).await;
    }

    /// Tells everyone who shares a room with `user` that they came online or went offline:
    /// a direct room's other member and the members of its groups of at most
    /// [`PRESENCE_GROUP_LIMIT`] members. Larger groups get no presence pushes (each change
    /// would cost one event per member); their clients ask for presence when they show it.
    /// `contacts`: whom it concerns, when the caller has just read the user's rooms (a
    /// connect has), so they are not read again.
    pub(crate) async fn announce_presence(
        &self,
        user: UserId,
        online: bool,
        contacts: Option<Contacts>,
    ) {
        let contacts = match contacts {
            Some(contacts) => contacts,
            None => match self.inner.store.rooms_of(user, usize::MAX).await {
                Ok(rooms) => Contacts::of(&rooms),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot list rooms to announce presence");
                    return;
                }
            },
        };
        let mut peers: HashSet<UserId> = contacts.direct.into_iter().collect();
        for group in contacts.groups {
            match self.members_for(user, group).await {
                Ok(members) if members.len() <= PRESENCE_GROUP_LIMIT => {
                    peers.extend(members.iter().copied());
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "cannot list a group to announce presence")
                }
            }
        }
        peers.remove(&user);
        if peers.is_empty() {
            return;
        }
        let peers: Vec<UserId> = peers.into_iter().collect();
        self.fanout_users(
            &peers,
            ServerEvent::Presence {
                user_id: user,
                online,
            },
        );
    }
}

/// Whom a presence change of a user concerns, from their rooms: the members of their direct
/// rooms, and their groups, whose members are looked up when it is announced.
#[derive(Debug)]
pub(crate) struct Contacts {
    direct: Vec<UserId>,
    groups: Vec<RoomId>,
}

impl Contacts {
    fn of(rooms: &[Room]) -> Self {
        let mut contacts = Contacts {
            direct: Vec::new(),
            groups: Vec::new(),
        };
        for room in rooms {
            match room.kind {
                RoomKind::Direct => contacts.direct.extend(room.members.iter().copied()),
                RoomKind::Group => contacts.groups.push(room.id),
            }
        }
        contacts
    }
}

/// Each of `rooms` with its newest stored seq (0 for none yet): a socket follows each room from
/// just after it.
fn latest_seqs(rooms: &[Room]) -> Vec<(RoomId, u64)> {
    rooms
        .iter()
        .map(|room| {
            (
                room.id,
                room.last_message.as_ref().map_or(0, |last| last.seq),
            )
        })
        .collect()
}
