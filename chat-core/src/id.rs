//! Compact identifiers for users, rooms and messages.
//!
//! An id is 12 bytes (4 bytes of seconds since the epoch, then 8 more), printed as 24 lowercase
//! hex characters: the shape of a MongoDB ObjectId, which the old client already handles, while
//! staying `Copy` and cheap to hash on the fanout path. Most ids end in 8 random bytes; message
//! ids, which stores insert by the thousand a second, ascend within a process
//! ([`RawId::generate_ascending`]) so that the stores' id indexes grow at their end.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The raw 12-byte identifier shared by all id kinds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RawId([u8; 12]);

impl RawId {
    /// A fresh id: roughly time-ordered, unique with overwhelming probability.
    pub fn generate() -> Self {
        RawId::now_then(rand::random())
    }

    /// An id of the current second followed by `tail`.
    fn now_then(tail: [u8; 8]) -> Self {
        let mut bytes = [0u8; 12];
        let secs = chrono::Utc::now().timestamp() as u32;
        bytes[..4].copy_from_slice(&secs.to_be_bytes());
        bytes[4..].copy_from_slice(&tail);
        RawId(bytes)
    }

    /// A fresh id laid out like a MongoDB ObjectId: 4 bytes of seconds, 5 random bytes drawn
    /// once per process, and a 3-byte counter that starts at a random value. Ids one process
    /// makes within a second ascend (but at the counter's wrap, once in 2^24), so an index of
    /// them is appended to at one place instead of being split at random places all over the
    /// current second's range, which cost a busy store one dirty page per message. Unique as
    /// long as a process makes fewer than 2^24 in a second and no two processes draw the same
    /// 5 bytes; unlike [`RawId::generate`], an id tells its neighbours, so use it only for ids
    /// that grant nothing to whoever guesses them.
    pub fn generate_ascending() -> Self {
        static PROCESS: OnceLock<[u8; 5]> = OnceLock::new();
        static COUNTER: OnceLock<AtomicU32> = OnceLock::new();
        let count = COUNTER
            .get_or_init(|| AtomicU32::new(rand::random()))
            .fetch_add(1, Ordering::Relaxed);
        let mut tail = [0u8; 8];
        tail[..5].copy_from_slice(PROCESS.get_or_init(rand::random));
        tail[5..].copy_from_slice(&count.to_be_bytes()[1..]);
        RawId::now_then(tail)
    }

    /// The id's bytes, for stores that keep ids in binary form.
    pub fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }

    /// Rebuilds an id from the bytes a store kept.
    pub const fn from_bytes(bytes: [u8; 12]) -> Self {
        RawId(bytes)
    }

    /// The id's 24 lowercase hex digits, on the stack: every event a socket receives prints
    /// three ids, and going through `fmt` a byte at a time cost more than the JSON around them.
    pub fn hex(&self) -> HexId {
        let mut digits = [0u8; 24];
        hex::encode_to_slice(self.0, &mut digits).expect("24 digits hold 12 bytes");
        HexId(digits)
    }
}

/// An id as text, without allocating ([`RawId::hex`]).
#[derive(Clone, Copy)]
pub struct HexId([u8; 24]);

impl HexId {
    /// The digits.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

impl fmt::Display for RawId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.hex().as_str())
    }
}

impl fmt::Debug for RawId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The text was not 24 hexadecimal characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed id")]
pub struct MalformedId;

/// Parses the 24 hex digits of an id, in either case; ids are compared as bytes, so every
/// spelling of one id (`"65AB…"`, `"65ab…"`) means the same id and prints as lowercase.
/// Nothing but hex digits is accepted (no signs or spaces).
impl FromStr for RawId {
    type Err = MalformedId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 12];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| MalformedId)?;
        Ok(RawId(bytes))
    }
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        typed_id!($(#[$doc])* $name, RawId::generate);
    };
    ($(#[$doc:meta])* $name:ident, $generate:path) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub RawId);

        impl $name {
            /// A fresh, unique id of this kind.
            pub fn generate() -> Self {
                $name($generate())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = MalformedId;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map($name)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.0.hex().as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

typed_id!(
    /// Identifies a registered user.
    UserId
);
typed_id!(
    /// Identifies a room (a direct conversation or a group).
    RoomId
);
typed_id!(
    /// Identifies one stored message. Fresh ones ascend within a process
    /// ([`RawId::generate_ascending`]): a message id grants nothing, every member of its room
    /// sees it.
    MessageId,
    RawId::generate_ascending
);
typed_id!(
    /// Identifies one uploaded file (an attachment, before or after it is attached).
    FileId
);
typed_id!(
    /// Identifies one live connection (socket) of a user on some node.
    ConnId
);
typed_id!(
    /// Identifies one server process among those sharing a store and a bus.
    NodeId
);
typed_id!(
    /// Identifies one sign-in (a token and the cookie or app holding it), so logout can
    /// revoke exactly that one.
    SessionId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let id = UserId::generate();
        let text = id.to_string();
        assert_eq!(text.len(), 24);
        assert_eq!(text.parse::<UserId>().unwrap(), id);
    }

    /// Message ids made in a row by one process ascend and share their process bytes; the
    /// other kinds stay random.
    #[test]
    fn message_ids_ascend_within_a_process() {
        let ids: Vec<MessageId> = (0..1_000).map(|_| MessageId::generate()).collect();
        let ascending = ids.windows(2).filter(|pair| pair[0] < pair[1]).count();
        // At most one step down, at the 3-byte counter's wrap (a new second in between still
        // ascends).
        assert!(
            ascending >= ids.len() - 2,
            "{ascending} of {} steps ascend",
            ids.len() - 1
        );
        assert!(ids.iter().all(|id| id.0.0[4..9] == ids[0].0.0[4..9]));
        assert_eq!(ids[0].to_string().len(), 24);
        let (a, b) = (UserId::generate(), UserId::generate());
        assert_ne!(a.0.0[4..9], b.0.0[4..9]);
    }

    /// The text form is fixed by the wire: lowercase digits, two per byte in order, the same
    /// in JSON as in `Display`, and padded like any string when asked to.
    #[test]
    fn prints_two_lowercase_digits_per_byte() {
        let raw = RawId::from_bytes([
            0x65, 0xab, 0x00, 0x01, 0x0f, 0xf0, 0x10, 0x20, 0x30, 0x40, 0xde, 0xad,
        ]);
        assert_eq!(raw.to_string(), "65ab00010ff010203040dead");
        assert_eq!(raw.hex().as_str(), "65ab00010ff010203040dead");
        assert_eq!(format!("[{raw:>26}]"), "[  65ab00010ff010203040dead]");
        let mut json = Vec::new();
        MessageId(raw)
            .serialize(&mut serde_json::Serializer::new(&mut json))
            .unwrap();
        assert_eq!(json, b"\"65ab00010ff010203040dead\"");
    }

    #[test]
    fn one_canonical_form_whatever_the_case() {
        let id = UserId::generate();
        let upper = id.to_string().to_uppercase();
        assert_eq!(upper.parse::<UserId>().unwrap(), id);
        assert_eq!(upper.parse::<UserId>().unwrap().to_string(), id.to_string());
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "abc",
            "zzzzzzzzzzzzzzzzzzzzzzzz",
            "0123456789abcdef012345678",
            "é1234567890abcdef012345",
            "+a+b+c0123456789abcdef01",
            " a0123456789abcdef01234 ",
        ] {
            assert_eq!(bad.parse::<RoomId>(), Err(MalformedId), "{bad:?}");
        }
    }
}
