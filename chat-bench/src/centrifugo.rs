//! Centrifugo v6's JSON client protocol as the bench speaks it (`--target centrifugo`), so
//! that the same open-loop scenario runs against Centrifugo with the same accounting.
//!
//! A socket connects with `{"id":…,"connect":{"token":…}}` (an HS256 JWT whose `sub` is the
//! user), subscribes to its rooms' channels `room:K` with `{"id":…,"subscribe":{"channel":…}}`,
//! and publishes with `{"id":…,"publish":{"channel":…,"data":{"client_id":TAG,"text":…}}}`.
//! Publications arrive as `{"push":{"channel":…,"pub":{"data":…,"offset":N}}}`, the
//! publisher's own included (its echo, as with chat); the offset, the channel's stream
//! position when history is on, stands for the room's seq. A publish reply's error is a
//! refusal. The server's ping is an empty object, answered with an empty object. One frame
//! may carry several replies, one per line.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;

use crate::fleet::RoomPlan;
use crate::frames::{Event, Tag, text};

/// Bits of a publish command's id that hold the message index (plus one); the bits above
/// hold the step, so that a refusal names its message without a lookup.
const INDEX_BITS: u32 = 24;
/// Command ids of the connect handshake: above every publish id.
const HANDSHAKE_IDS: u32 = 0x8000_0000;
/// How long the connect tokens stay valid.
const TOKEN_SECONDS: u64 = 24 * 3600;

/// The id of the publish command that sends `tag`.
pub fn command_id(tag: Tag) -> u32 {
    ((tag.step & 0x7f) << INDEX_BITS) | ((tag.index + 1) & ((1 << INDEX_BITS) - 1))
}

/// The message a publish command's id names, in run `run`.
fn tag_of(id: u32, run: u32) -> Option<Tag> {
    let index = (id & ((1 << INDEX_BITS) - 1)).checked_sub(1)?;
    (id < HANDSHAKE_IDS).then_some(Tag {
        run,
        step: id >> INDEX_BITS,
        index,
    })
}

/// The publish command of message `tag`, of `text_bytes` bytes of text, into `channel`.
pub fn publish_frame(channel: &str, tag: Tag, text_bytes: usize) -> String {
    let id = command_id(tag);
    let tag = tag.to_string();
    format!(
        r#"{{"id":{id},"publish":{{"channel":"{channel}","data":{{"client_id":"{tag}","text":"{}"}}}}}}"#,
        text(&tag, text_bytes)
    )
}

/// The rooms of `users` users in rooms of `size`: room `k` holds users `size·k` to
/// `size·k + size - 1` and is the channel `room:k`.
pub fn rooms(users: usize, size: usize) -> Vec<RoomPlan> {
    (0..users / size)
        .map(|k| RoomPlan {
            name: format!("room:{k}"),
            members: (k * size..k * size + size).collect(),
        })
        .collect()
}

/// The user name of user `index` (the JWT's `sub`).
pub fn user_name(index: usize) -> String {
    format!("user{index}")
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    exp: u64,
}

/// A connect token for `user`, signed with HS256 and `secret`.
pub fn token(secret: &str, user: &str) -> anyhow::Result<String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let claims = Claims {
        sub: user,
        exp: now + TOKEN_SECONDS,
    };
    Ok(jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )?)
}

/// One line of a server frame, as far as the bench cares.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply<'a> {
    /// The server's ping: answer with an empty object.
    Ping,
    /// A delivery or a refused publish.
    Event(Event<'a>),
    /// The reply to command `id`: `Err` with the server's error.
    Answer(u32, Result<(), String>),
    /// Anything else.
    Other,
}

#[derive(Deserialize)]
struct ReplyIn<'a> {
    id: Option<u32>,
    #[serde(borrow)]
    error: Option<ErrorIn<'a>>,
    #[serde(borrow)]
    push: Option<PushIn<'a>>,
}

#[derive(Deserialize)]
struct ErrorIn<'a> {
    code: u32,
    #[serde(borrow, default)]
    message: Cow<'a, str>,
}

#[derive(Deserialize)]
struct PushIn<'a> {
    #[serde(rename = "pub", borrow)]
    publication: Option<PublicationIn<'a>>,
}

#[derive(Deserialize)]
struct PublicationIn<'a> {
    #[serde(borrow)]
    data: DataIn<'a>,
    #[serde(default)]
    offset: u64,
}

#[derive(Deserialize)]
struct DataIn<'a> {
    #[serde(borrow)]
    client_id: Option<Cow<'a, str>>,
}

/// Reads one line of a server frame of run `run`.
pub fn decode(line: &str, run: u32) -> Reply<'_> {
    let line = line.trim();
    if line == "{}" {
        return Reply::Ping;
    }
    let Ok(reply) = serde_json::from_str::<ReplyIn<'_>>(line) else {
        return Reply::Other;
    };
    if let Some(publication) = reply.push.and_then(|push| push.publication) {
        return Reply::Event(Event::Message {
            seq: publication.offset,
            client_id: publication.data.client_id,
        });
    }
    let Some(id) = reply.id else {
        return Reply::Other;
    };
    match (reply.error, tag_of(id, run)) {
        (Some(error), Some(tag)) => Reply::Event(Event::Refused {
            client_id: Some(Cow::Owned(tag.to_string())),
            code: Cow::Owned(format!("centrifugo_{}", error.code)),
        }),
        (error, _) => Reply::Answer(
            id,
            error.map_or(Ok(()), |error| {
                Err(format!("error {}: {}", error.code, error.message))
            }),
        ),
    }
}

/// Connects `socket` with `token` and subscribes it to `channels`, each command awaiting
/// its reply.
pub async fn handshake<S>(socket: &mut S, token: &str, channels: &[String]) -> Result<(), String>
where
    S: futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error>
        + futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
        + Unpin,
{
    let connect = serde_json::json!({"id": HANDSHAKE_IDS, "connect": {"token": token}});
    command(socket, HANDSHAKE_IDS, connect.to_string(), "connect").await?;
    for (n, channel) in channels.iter().enumerate() {
        let id = HANDSHAKE_IDS + 1 + n as u32;
        let subscribe = serde_json::json!({"id": id, "subscribe": {"channel": channel}});
        command(socket, id, subscribe.to_string(), "subscribe").await?;
    }
    Ok(())
}

async fn command<S>(socket: &mut S, id: u32, frame: String, what: &str) -> Result<(), String>
where
    S: futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error>
        + futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
        + Unpin,
{
    socket
        .send(Message::text(frame))
        .await
        .map_err(|err| format!("{what}: {err}"))?;
    while let Some(frame) = socket.next().await {
        let frame = frame.map_err(|err| format!("{what}: {err}"))?;
        let Message::Text(text) = frame else { continue };
        for line in text.as_str().lines() {
            match decode(line, 0) {
                Reply::Answer(answered, result) if answered == id => {
                    return result.map_err(|err| format!("{what}: {err}"));
                }
                Reply::Ping => socket
                    .send(Message::text("{}"))
                    .await
                    .map_err(|err| format!("{what}: {err}"))?,
                _ => {}
            }
        }
    }
    Err(format!("{what}: the server closed the socket"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_ids_name_their_message_and_frames_are_json() {
        let tag = Tag {
            run: 7,
            step: 3,
            index: 12_345,
        };
        assert_eq!(tag_of(command_id(tag), 7), Some(tag));
        let frame: serde_json::Value =
            serde_json::from_str(&publish_frame("room:4", tag, 100)).unwrap();
        assert_eq!(frame["id"], command_id(tag));
        assert_eq!(frame["publish"]["channel"], "room:4");
        assert_eq!(frame["publish"]["data"]["client_id"], tag.to_string());
        assert_eq!(
            frame["publish"]["data"]["text"].as_str().unwrap().len(),
            100
        );
    }

    #[test]
    fn replies_decode_into_deliveries_refusals_answers_and_pings() {
        let push = r#"{"push":{"channel":"room:1","pub":{"data":{"client_id":"b1-0-7","text":"x"},"offset":42}}}"#;
        assert_eq!(
            decode(push, 1),
            Reply::Event(Event::Message {
                seq: 42,
                client_id: Some("b1-0-7".into())
            })
        );
        let tag = Tag {
            run: 1,
            step: 0,
            index: 7,
        };
        let refused = format!(
            r#"{{"id":{},"error":{{"code":103,"message":"permission denied"}}}}"#,
            command_id(tag)
        );
        assert_eq!(
            decode(&refused, 1),
            Reply::Event(Event::Refused {
                client_id: Some(tag.to_string().into()),
                code: "centrifugo_103".into()
            })
        );
        let connected = format!(r#"{{"id":{HANDSHAKE_IDS},"connect":{{"client":"c"}}}}"#);
        assert_eq!(decode(&connected, 1), Reply::Answer(HANDSHAKE_IDS, Ok(())));
        assert_eq!(decode("{}", 1), Reply::Ping);
        assert_eq!(
            decode(r#"{"id":5,"publish":{}}"#, 1),
            Reply::Answer(5, Ok(()))
        );
        assert_eq!(decode(r#"{"channel":"room:1"}"#, 1), Reply::Other);
    }

    #[test]
    fn rooms_pair_users_into_channels() {
        let rooms = rooms(5, 2);
        assert_eq!(rooms.len(), 2);
        assert_eq!(rooms[1].name, "room:1");
        assert_eq!(rooms[1].members, vec![2, 3]);
    }
}
