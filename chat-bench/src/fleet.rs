//! The open sockets and who they belong to: socket `s` is user `s % users`, so each room's
//! messages go to every open socket of its members.

use crate::population::Population;
use crate::socket::SocketHandle;

/// Open sockets, and the sockets each room sends from and delivers to.
pub struct Fleet {
    /// Socket handles by number; `None` where opening failed.
    pub sockets: Vec<Option<SocketHandle>>,
    /// Per room: every open socket of its members.
    pub room_sockets: Vec<Vec<u32>>,
    /// Per room: for each member with an open socket, the socket it sends from (its first).
    pub senders: Vec<Vec<u32>>,
    /// Per room: its id as text, for frames.
    pub room_ids: Vec<String>,
}

impl Fleet {
    /// Maps `sockets` (socket `s` of user `s % users`) onto the population's rooms of
    /// `room_size` members.
    pub fn new(
        population: &Population,
        room_size: usize,
        sockets: Vec<Option<SocketHandle>>,
    ) -> Fleet {
        let rooms = population.rooms_of(room_size);
        let users = population.users.len().max(1);
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
        let room_ids = rooms.iter().map(|room| room.id.to_string()).collect();
        Fleet {
            sockets,
            room_sockets,
            senders,
            room_ids,
        }
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
