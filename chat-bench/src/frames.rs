//! The socket protocol as the bench speaks it: the send frame it writes, the tag that names
//! each message in its `client_id`, and the few fields it reads from events. Centrifugo's
//! frames are in [`crate::centrifugo`].

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;

/// The server the bench talks to, and so the protocol its sockets speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// `chat serve`: its socket protocol.
    Chat,
    /// Centrifugo v6: its JSON client protocol (connect with a JWT, subscribe, publish).
    Centrifugo,
}

impl Protocol {
    /// The frame that sends message `tag` of `text_bytes` bytes to `room` (a room id, or a
    /// Centrifugo channel).
    pub fn send_frame(self, room: &str, tag: Tag, text_bytes: usize) -> String {
        match self {
            Protocol::Chat => send_frame(room, tag, text_bytes),
            Protocol::Centrifugo => crate::centrifugo::publish_frame(room, tag, text_bytes),
        }
    }
}

/// Names one message of one run: `b{run}-{step}-{index}` in the message's `client_id`.
///
/// The run id keeps messages of earlier runs (sharing the reused rooms) apart; the step keeps
/// late deliveries of a previous `--find-max` step out of the current one's accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// Random per bench run.
    pub run: u32,
    /// Load step within the run.
    pub step: u32,
    /// Message within the step, in send order.
    pub index: u32,
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b{:08x}-{}-{}", self.run, self.step, self.index)
    }
}

impl Tag {
    /// Reads a tag back from a `client_id`; `None` for anything the bench did not send.
    pub fn parse(text: &str) -> Option<Tag> {
        let rest = text.strip_prefix('b')?;
        let mut parts = rest.splitn(3, '-');
        let run = u32::from_str_radix(parts.next()?, 16).ok()?;
        let step = parts.next()?.parse().ok()?;
        let index = parts.next()?.parse().ok()?;
        Some(Tag { run, step, index })
    }
}

/// The client frame that sends a message of `text_bytes` bytes (at least the tag's length).
pub fn send_frame(room_id: &str, tag: Tag, text_bytes: usize) -> String {
    let tag = tag.to_string();
    format!(
        r#"{{"type":"message","room_id":"{room_id}","message":"{}","client_id":"{tag}"}}"#,
        text(&tag, text_bytes)
    )
}

/// A message text of `text_bytes` bytes (at least the tag's length): the tag, then padding.
pub fn text(tag: &str, text_bytes: usize) -> String {
    let padding = text_bytes.saturating_sub(tag.len() + 1);
    format!("{tag} {}", "x".repeat(padding))
}

/// What the bench needs from a server event.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A message delivered to this socket.
    Message {
        /// Its position in its room.
        seq: u64,
        /// The sender's idempotency key, if any.
        client_id: Option<Cow<'a, str>>,
    },
    /// A send the server refused, with the error code.
    Refused {
        /// The refused message's key, if the server could read it.
        client_id: Option<Cow<'a, str>>,
        /// Why (e.g. `rate_limited`).
        code: Cow<'a, str>,
    },
    /// Presence and anything else: not accounted.
    Other,
}

#[derive(Deserialize)]
struct EventIn<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    seq: Option<u64>,
    #[serde(borrow)]
    client_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
}

/// Reads one text frame; fields the bench does not use are skipped, not decoded.
pub fn decode(text: &str) -> Event<'_> {
    let Ok(event) = serde_json::from_str::<EventIn<'_>>(text) else {
        return Event::Other;
    };
    match (event.kind.as_ref(), event.seq) {
        ("message", Some(seq)) => Event::Message {
            seq,
            client_id: event.client_id,
        },
        ("error", _) => Event::Refused {
            client_id: event.client_id,
            code: event.code.unwrap_or(Cow::Borrowed("unknown")),
        },
        _ => Event::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_foreign_ids_are_not_tags() {
        let tag = Tag {
            run: 0xdead_beef,
            step: 3,
            index: 12345,
        };
        assert_eq!(Tag::parse(&tag.to_string()), Some(tag));
        for foreign in ["", "b", "client-1", "bzz-1-2", "b0000000a-1", "b0a-1-x"] {
            assert_eq!(Tag::parse(foreign), None, "{foreign:?}");
        }
    }

    #[test]
    fn send_frames_are_json_of_the_asked_size() {
        let tag = Tag {
            run: 1,
            step: 0,
            index: 7,
        };
        let frame = send_frame("0123456789abcdef01234567", tag, 64);
        let value: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(value["message"].as_str().unwrap().len(), 64);
        assert_eq!(value["client_id"], tag.to_string());
        assert_eq!(value["room_id"], "0123456789abcdef01234567");
    }

    #[test]
    fn events_yield_seq_client_id_and_error_codes() {
        let message = r#"{"type":"message","_id":"m","room_id":"r","chat_id":"r","sender_id":"s",
            "sender_name":"Ann \"A\"","message":"hi","timestamp":"t","seq":42,"client_id":"b1-0-7"}"#;
        assert_eq!(
            decode(message),
            Event::Message {
                seq: 42,
                client_id: Some("b1-0-7".into())
            }
        );
        let refused =
            r#"{"type":"error","code":"rate_limited","detail":"slow down","client_id":"c"}"#;
        assert_eq!(
            decode(refused),
            Event::Refused {
                client_id: Some("c".into()),
                code: "rate_limited".into()
            }
        );
        assert_eq!(
            decode(r#"{"type":"presence","user_id":"u","online":true}"#),
            Event::Other
        );
        assert_eq!(decode("not json"), Event::Other);
    }
}
