//! The open sockets and who they belong to: socket `s` is user `s % users`, so each room's
//! messages go to every open socket of its members.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use crate::frames::Protocol;
use crate::socket::{Outgoing, SocketHandle};

/// A room as the bench sends to it: its name in frames and its members (user indexes).
#[derive(Debug, Clone)]
pub struct RoomPlan {
    /// A chat room id, or a Centrifugo channel.
    pub name: String,
    /// Indexes of its members among the users.
    pub members: Vec<usize>,
}

/// Open sockets, and the sockets each room sends from and delivers to.
pub struct Fleet {
    /// The protocol the sockets speak.
    pub protocol: Protocol,
    /// Socket handles by number; `None` where opening failed.
    pub sockets: Vec<Option<SocketHandle>>,
    /// Per room: every open socket of its members.
    pub room_sockets: Vec<Vec<u32>>,
    /// Per room: for each member with an open socket, the socket it sends from (its first).
    pub senders: Arc<Vec<Vec<u32>>>,
    /// Per room: its name in frames.
    pub room_ids: Arc<Vec<String>>,
    /// Where the server's Prometheus metrics are read, for the refusals by bound (a chat
    /// server that serves them on its API address).
    pub metrics_url: Option<String>,
}

impl Fleet {
    /// Maps `sockets` (socket `s` of user `s % users`) onto `rooms`.
    pub fn new(
        protocol: Protocol,
        users: usize,
        rooms: &[RoomPlan],
        sockets: Vec<Option<SocketHandle>>,
    ) -> Fleet {
        let users = users.max(1);
        let mut of_user: Vec<Vec<u32>> = vec![Vec::new(); users];
        for (number, handle) in sockets.iter().enumerate() {
            if handle.is_some() {
                of_user[number % users].push(number as u32);
            }
        }
        let room_sockets = rooms
            .iter()
            .map(|room| {
                room.members
                    .iter()
                    .flat_map(|member| of_user[*member].iter().copied())
                    .collect()
            })
            .collect();
        let senders = rooms
            .iter()
            .map(|room| {
                room.members
                    .iter()
                    .filter_map(|member| of_user[*member].first().copied())
                    .collect()
            })
            .collect();
        let room_ids = rooms.iter().map(|room| room.name.clone()).collect();
        Fleet {
            protocol,
            sockets,
            room_sockets,
            senders: Arc::new(senders),
            room_ids: Arc::new(room_ids),
            metrics_url: None,
        }
    }

    /// Every socket's queue, for the scheduler thread.
    pub fn outlets(&self) -> Vec<Option<UnboundedSender<Outgoing>>> {
        self.sockets
            .iter()
            .map(|handle| handle.as_ref().map(SocketHandle::outlet))
            .collect()
    }

    /// Sockets still open.
    pub fn open(&self) -> usize {
        self.sockets
            .iter()
            .flatten()
            .filter(|handle| handle.is_open())
            .count()
    }

    /// Closes every socket, politely and all at once.
    pub async fn close(self) {
        let closing: Vec<_> = self
            .sockets
            .into_iter()
            .flatten()
            .map(|handle| tokio::spawn(handle.close()))
            .collect();
        for task in closing {
            let _closed = task.await;
        }
    }
}
