//! The ledger of one load step: which socket must receive which message, and what arrived.
//!
//! Pure bookkeeping, fed by the socket tasks and tested here with synthetic event streams.
//! A message is named by its index in the step; each room lists the sockets that must
//! receive its messages (every socket of every member, the sender's own included, since that
//! echo is the server's acknowledgement), and one bit per socket per message, in words of 64
//! kept side by side for all messages, says what arrived. A second arrival at the same socket is a duplicate; an arrival whose `seq`
//! is below one that socket already saw in that room is out of order; what never arrived
//! by the end of the drain is lost.

use std::time::Duration;

use serde::Serialize;

/// Counts of one step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Messages sent.
    pub sent: u64,
    /// Sends the server refused with an error event (rate limits, validation).
    pub refused: u64,
    /// Deliveries the accepted messages owe: their rooms' sockets.
    pub expected: u64,
    /// First arrivals of a message at a socket that should get it.
    pub delivered: u64,
    /// Expected deliveries that never arrived.
    pub lost: u64,
    /// Second and later arrivals of a message at the same socket.
    pub duplicated: u64,
    /// First arrivals whose `seq` is below one the socket already saw in that room.
    pub out_of_order: u64,
    /// Arrivals of this step's messages at sockets that should not get them.
    pub misdelivered: u64,
}

/// What one arrival was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The first arrival of the message at this socket; carries the message's scheduled send
    /// time (since the step's epoch) for the latency.
    First {
        /// When the message was due to be sent.
        scheduled: Duration,
    },
    /// It had arrived at this socket before.
    Duplicate,
    /// Not a message of this step, or not for this socket.
    Stray,
}

struct Sent {
    room: u32,
    scheduled: Duration,
    /// Where its arrival bits start in [`Ledger::received`].
    first_word: usize,
    refused: bool,
}

/// A socket's place in one room: its bit in the room's messages, and the highest seq it has
/// seen there.
struct Seat {
    room: u32,
    bit: u32,
    highest_seq: Option<u64>,
}

/// The ledger of one step.
pub struct Ledger {
    room_sockets: Vec<u32>,
    seats: Vec<Vec<Seat>>,
    messages: Vec<Sent>,
    /// Arrival bits of every message, `words(room)` words each, in send order.
    received: Vec<u64>,
    counts: Counts,
}

/// Words of 64 bits that hold one bit per socket of a room of `sockets` sockets.
fn words(sockets: u32) -> usize {
    (sockets as usize).div_ceil(64)
}

impl Ledger {
    /// A ledger for rooms whose messages go to `room_sockets[room]` (socket numbers below
    /// `sockets`).
    pub fn new(sockets: usize, room_sockets: &[Vec<u32>]) -> anyhow::Result<Ledger> {
        let mut seats: Vec<Vec<Seat>> = (0..sockets).map(|_| Vec::new()).collect();
        let mut sizes = Vec::with_capacity(room_sockets.len());
        for (room, members) in room_sockets.iter().enumerate() {
            for (bit, &socket) in members.iter().enumerate() {
                let seat = Seat {
                    room: room as u32,
                    bit: bit as u32,
                    highest_seq: None,
                };
                seats
                    .get_mut(socket as usize)
                    .ok_or_else(|| anyhow::anyhow!("socket {socket} out of range"))?
                    .push(seat);
            }
            sizes.push(u32::try_from(members.len())?);
        }
        Ok(Ledger {
            room_sockets: sizes,
            seats,
            messages: Vec::new(),
            received: Vec::new(),
            counts: Counts::default(),
        })
    }

    /// Records a message sent to `room`, scheduled at `scheduled`; returns its index.
    pub fn sent(&mut self, room: u32, scheduled: Duration) -> u32 {
        let first_word = self.received.len();
        let owed = self.room_sockets[room as usize];
        self.received.resize(first_word + words(owed), 0);
        self.messages.push(Sent {
            room,
            scheduled,
            first_word,
            refused: false,
        });
        self.counts.sent += 1;
        (self.messages.len() - 1) as u32
    }

    /// The server refused message `index`: nobody will receive it.
    pub fn refused(&mut self, index: u32) {
        if let Some(message) = self.messages.get_mut(index as usize)
            && !message.refused
        {
            message.refused = true;
            self.counts.refused += 1;
        }
    }

    /// Message `index` (with this `seq` in its room) arrived at `socket`.
    pub fn arrived(&mut self, socket: u32, index: u32, seq: u64) -> Arrival {
        let Some(message) = self.messages.get(index as usize) else {
            return Arrival::Stray;
        };
        let Some(seat) = self
            .seats
            .get_mut(socket as usize)
            .and_then(|seats| seats.iter_mut().find(|seat| seat.room == message.room))
        else {
            self.counts.misdelivered += 1;
            return Arrival::Stray;
        };
        let word = &mut self.received[message.first_word + (seat.bit / 64) as usize];
        let bit = 1u64 << (seat.bit % 64);
        if *word & bit != 0 {
            self.counts.duplicated += 1;
            return Arrival::Duplicate;
        }
        *word |= bit;
        self.counts.delivered += 1;
        match seat.highest_seq {
            Some(highest) if seq < highest => self.counts.out_of_order += 1,
            _ => seat.highest_seq = Some(seq),
        }
        Arrival::First {
            scheduled: message.scheduled,
        }
    }

    /// Deliveries still owed (lost, if the step is over).
    pub fn outstanding(&self) -> u64 {
        self.messages
            .iter()
            .filter(|message| !message.refused)
            .map(|message| self.missing(message))
            .sum()
    }

    /// The counts so far; `lost` counts what has not arrived yet.
    pub fn counts(&self) -> Counts {
        let expected = self
            .messages
            .iter()
            .filter(|message| !message.refused)
            .map(|message| u64::from(self.room_sockets[message.room as usize]))
            .sum();
        Counts {
            expected,
            lost: self.outstanding(),
            ..self.counts
        }
    }

    fn missing(&self, message: &Sent) -> u64 {
        let owed = self.room_sockets[message.room as usize];
        let bits = &self.received[message.first_word..message.first_word + words(owed)];
        let arrived: u32 = bits.iter().map(|word| word.count_ones()).sum();
        u64::from(owed - arrived)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two direct rooms: sockets 0 and 1 in room 0, sockets 2 and 3 in room 1.
    fn ledger() -> Ledger {
        Ledger::new(4, &[vec![0, 1], vec![2, 3]]).unwrap()
    }

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn a_clean_stream_counts_every_delivery_once() {
        let mut ledger = ledger();
        for seq in 1..=3 {
            let index = ledger.sent(0, ms(seq));
            assert_eq!(
                ledger.arrived(0, index, seq),
                Arrival::First { scheduled: ms(seq) }
            );
            ledger.arrived(1, index, seq);
        }
        let counts = ledger.counts();
        assert_eq!((counts.sent, counts.expected, counts.delivered), (3, 6, 6));
        assert_eq!(
            (counts.lost, counts.duplicated, counts.out_of_order),
            (0, 0, 0)
        );
    }

    #[test]
    fn a_loss_a_duplicate_and_a_reordering_are_each_reported() {
        let mut ledger = ledger();
        let first = ledger.sent(1, ms(0));
        let second = ledger.sent(1, ms(1));
        let third = ledger.sent(1, ms(2));
        // Socket 2 gets everything, the second message twice.
        ledger.arrived(2, first, 1);
        ledger.arrived(2, second, 2);
        assert_eq!(ledger.arrived(2, second, 2), Arrival::Duplicate);
        ledger.arrived(2, third, 3);
        // Socket 3 gets the third before the first, and never the second.
        ledger.arrived(3, third, 3);
        ledger.arrived(3, first, 1);
        let counts = ledger.counts();
        assert_eq!(counts.expected, 6);
        assert_eq!(counts.delivered, 5);
        assert_eq!(counts.lost, 1);
        assert_eq!(counts.duplicated, 1);
        assert_eq!(counts.out_of_order, 1);
    }

    #[test]
    fn refused_messages_owe_nothing_and_strays_are_set_apart() {
        let mut ledger = ledger();
        let refused = ledger.sent(0, ms(0));
        ledger.refused(refused);
        ledger.refused(refused);
        let kept = ledger.sent(0, ms(1));
        assert_eq!(ledger.arrived(2, kept, 1), Arrival::Stray);
        assert_eq!(ledger.arrived(0, 99, 1), Arrival::Stray);
        let counts = ledger.counts();
        assert_eq!((counts.refused, counts.expected, counts.lost), (1, 2, 2));
        assert_eq!(counts.misdelivered, 1);
        ledger.arrived(0, kept, 1);
        ledger.arrived(1, kept, 1);
        assert_eq!(ledger.outstanding(), 0);
    }

    #[test]
    fn rooms_of_many_words_of_sockets_count_each_socket_apart() {
        // A direct room, then a room of 130 sockets (three words), then the direct room again,
        // so the big room's bits sit between others'.
        let big: Vec<u32> = (2..132).collect();
        let mut ledger = Ledger::new(132, &[vec![0, 1], big]).unwrap();
        let before = ledger.sent(0, ms(0));
        let index = ledger.sent(1, ms(1));
        let after = ledger.sent(0, ms(2));
        for socket in (2..132).filter(|socket| *socket != 70) {
            ledger.arrived(socket, index, 1);
        }
        assert_eq!(ledger.arrived(131, index, 1), Arrival::Duplicate);
        assert_eq!(ledger.outstanding(), 1 + 2 + 2);
        ledger.arrived(70, index, 1);
        for socket in [0, 1] {
            ledger.arrived(socket, before, 1);
            ledger.arrived(socket, after, 2);
        }
        let counts = ledger.counts();
        assert_eq!((counts.expected, counts.delivered), (134, 134));
        assert_eq!((counts.lost, counts.duplicated), (0, 1));
    }
}
