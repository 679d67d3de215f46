//! Client frames and error events: what a socket may say and how it is told it was wrong.
//!
//! Every frame is a JSON object with an optional `type` (default `"message"`); each type has
//! its own struct, so new types are one more match arm.

use std::borrow::Cow;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// A frame the client sent, decoded.
#[derive(Debug)]
pub enum ClientFrame {
    /// Send a message to a room.
    Message(SendFrame),
    /// Move the read position: `{"type":"read","room_id","seq"}`.
    Read(ReadFrame),
    /// Tell the room the user is typing: `{"type":"typing","room_id"}`.
    Typing(TypingFrame),
}

/// `{"type":"read","room_id","seq"}`.
#[derive(Debug, Deserialize)]
pub struct ReadFrame {
    /// The room.
    pub room_id: String,
    /// Everything up to this seq is read.
    pub seq: u64,
}

/// `{"type":"typing","room_id"}`.
#[derive(Debug, Deserialize)]
pub struct TypingFrame {
    /// The room.
    pub room_id: String,
}

/// `{"type":"message","room_id","message","client_id"?,"attachments"?:["file_id",…]}`. The
/// old client also sends
/// `sender_id`, `sender_name` and `timestamp`; only `sender_id` is looked at (it must be the
/// socket's user).
#[derive(Debug, Deserialize)]
pub struct SendFrame {
    /// Target room.
    pub room_id: String,
    /// The text.
    pub message: String,
    /// Idempotency key echoed back in the acknowledgement.
    pub client_id: Option<String>,
    /// What the old client claims to be; checked, never trusted.
    pub sender_id: Option<String>,
    /// Ids of files the sender uploaded to the room, to attach.
    #[serde(default)]
    pub attachments: Vec<String>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_id: Option<serde_json::Value>,
}

/// Why a frame was refused, as sent back to the client.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorEvent {
    #[serde(rename = "type")]
    kind: &'static str,
    /// Stable code (or the host's, for a hook's rejection).
    pub code: Cow<'static, str>,
    /// Explanation.
    pub detail: String,
    /// The client's id for the refused message, so it can mark it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

impl ErrorEvent {
    /// An error event.
    pub fn new(
        code: impl Into<Cow<'static, str>>,
        detail: impl Into<String>,
        client_id: Option<String>,
    ) -> Self {
        ErrorEvent {
            kind: "error",
            code: code.into(),
            detail: detail.into(),
            client_id,
        }
    }

    /// Whether the client is to retry later (`overloaded`, `rate_limited`): what a node
    /// shedding load, or a client over its quota, sends many of, and what can wait a little
    /// to share a write with the socket's other frames.
    pub fn retry_later(&self) -> bool {
        matches!(self.code.as_ref(), "overloaded" | "rate_limited")
    }

    /// The text frame.
    pub fn encode(&self) -> Bytes {
        serde_json::to_vec(self)
            .map(Bytes::from)
            .unwrap_or_default()
    }
}

/// Decodes one text frame; on failure, the error event to send (with the frame's
/// `client_id` when one could be read).
pub fn decode(text: &str) -> Result<ClientFrame, ErrorEvent> {
    let envelope: Envelope = serde_json::from_str(text)
        .map_err(|_| ErrorEvent::new("malformed_json", "frame is not a JSON object", None))?;
    let client_id = envelope
        .client_id
        .as_ref()
        .and_then(|id| id.as_str())
        .map(str::to_owned);
    match envelope.kind.as_deref().unwrap_or("message") {
        "message" => serde_json::from_str::<SendFrame>(text)
            .map(ClientFrame::Message)
            .map_err(|err| {
                ErrorEvent::new("invalid", format!("invalid message: {err}"), client_id)
            }),
        "read" => serde_json::from_str::<ReadFrame>(text)
            .map(ClientFrame::Read)
            .map_err(|err| ErrorEvent::new("invalid", format!("invalid read: {err}"), client_id)),
        "typing" => serde_json::from_str::<TypingFrame>(text)
            .map(ClientFrame::Typing)
            .map_err(|err| ErrorEvent::new("invalid", format!("invalid typing: {err}"), client_id)),
        other => Err(ErrorEvent::new(
            "unknown_type",
            format!("unknown frame type {other:?}"),
            client_id,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_defaults_to_message_and_old_fields_are_accepted() {
        let frame = decode(
            r#"{"room_id":"r","message":"hi","sender_id":"u","sender_name":"n","timestamp":"t"}"#,
        )
        .unwrap();
        let ClientFrame::Message(send) = frame else {
            panic!("not a message frame");
        };
        assert_eq!(send.message, "hi");
        assert_eq!(send.sender_id.as_deref(), Some("u"));
    }

    #[test]
    fn bad_frames_get_codes_and_keep_the_client_id() {
        assert_eq!(decode("{nope").unwrap_err().code, "malformed_json");
        assert_eq!(decode("[1,2]").unwrap_err().code, "malformed_json");
        let wrong_type = decode(r#"{"room_id":"r","message":5,"client_id":"c9"}"#).unwrap_err();
        assert_eq!(wrong_type.code, "invalid");
        assert_eq!(wrong_type.client_id.as_deref(), Some("c9"));
        assert_eq!(
            decode(r#"{"type":"dance"}"#).unwrap_err().code,
            "unknown_type"
        );
    }

    #[test]
    fn read_and_typing_frames_decode() {
        let Ok(ClientFrame::Read(read)) = decode(r#"{"type":"read","room_id":"r","seq":7}"#) else {
            panic!("not a read frame");
        };
        assert_eq!((read.room_id.as_str(), read.seq), ("r", 7));
        assert!(matches!(
            decode(r#"{"type":"typing","room_id":"r"}"#),
            Ok(ClientFrame::Typing(typing)) if typing.room_id == "r"
        ));
        assert_eq!(
            decode(r#"{"type":"read","room_id":"r","seq":-1}"#)
                .unwrap_err()
                .code,
            "invalid"
        );
    }

    mod properties {
        use proptest::prelude::*;
        use serde_json::Value;

        use super::super::*;
        use crate::fuzz::json;

        const CODES: &[&str] = &["malformed_json", "invalid", "unknown_type"];

        fn assert_clean(text: &str) {
            match decode(text) {
                Ok(ClientFrame::Message(frame)) => {
                    let value: Value = serde_json::from_str(text).unwrap();
                    assert_eq!(value["message"].as_str(), Some(frame.message.as_str()));
                }
                Ok(ClientFrame::Read(frame)) => {
                    let value: Value = serde_json::from_str(text).unwrap();
                    assert_eq!(value["seq"].as_u64(), Some(frame.seq));
                }
                Ok(ClientFrame::Typing(frame)) => {
                    let value: Value = serde_json::from_str(text).unwrap();
                    assert_eq!(value["room_id"].as_str(), Some(frame.room_id.as_str()));
                }
                Err(error) => {
                    assert!(CODES.contains(&error.code.as_ref()), "{}", error.code);
                    let event: Value = serde_json::from_slice(&error.encode()).unwrap();
                    assert_eq!(event["type"], "error");
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn arbitrary_text_never_panics_and_errors_are_clean(text in ".{0,256}") {
                assert_clean(&text);
            }

            #[test]
            fn arbitrary_bytes_read_as_text_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
                assert_clean(&String::from_utf8_lossy(&bytes));
            }

            #[test]
            fn arbitrary_json_never_panics_and_errors_are_clean(value in json()) {
                assert_clean(&value.to_string());
            }
        }
    }
}
