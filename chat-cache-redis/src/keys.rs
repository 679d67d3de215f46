//! Where everything lives in Redis: every key and channel name is built here, so the layout
//! in the crate docs is the whole truth.

use std::sync::Arc;

use chat_core::UserId;
use chat_core::bus::Topic;

use crate::error::RedisError;

/// Presence is spread over this many cluster hash tags; changing it moves every presence key.
pub(crate) const PRESENCE_SHARDS: u32 = 16;

/// Builds names under one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: Arc<str>,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Result<Self, RedisError> {
        if prefix.contains(['{', '}']) {
            return Err(RedisError::InvalidPrefix(prefix.into()));
        }
        Ok(Keys {
            prefix: prefix.into(),
        })
    }

    /// The channel carrying a topic's events between nodes: `u:{user}` or `r:{room}`.
    pub(crate) fn channel(&self, topic: Topic) -> String {
        format!("{}{topic}", self.prefix)
    }

    /// The topic a channel from [`Keys::channel`] carries.
    pub(crate) fn channel_topic(&self, channel: &str) -> Option<Topic> {
        channel.strip_prefix(&*self.prefix)?.parse().ok()
    }

    /// The sorted set of `user`'s sockets, scored by expiry.
    pub(crate) fn sockets(&self, user: UserId) -> String {
        format!("{{{}presence:{}}}:sockets:{user}", self.prefix, shard(user))
    }

    /// The sorted set of a shard's users, scored by their last socket's expiry.
    pub(crate) fn expiry_index(&self, shard: u32) -> String {
        format!("{{{}presence:{shard}}}:expiry", self.prefix)
    }

    /// The attempt bucket named `key` (e.g. logins from one address).
    pub(crate) fn attempts(&self, key: &str) -> String {
        format!("{}attempts:{key}", self.prefix)
    }

    /// `user`'s rate-limit state.
    pub(crate) fn rate(&self, user: UserId) -> String {
        format!("{}rate:{user}", self.prefix)
    }
}

/// The presence shard of `user`, from the random tail of the id.
pub(crate) fn shard(user: UserId) -> u32 {
    let bytes = user.0.as_bytes();
    u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) % PRESENCE_SHARDS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_round_trip_to_topics() {
        let keys = Keys::new("t:").unwrap();
        for topic in [
            Topic::User(UserId::generate()),
            Topic::Room(chat_core::RoomId::generate()),
        ] {
            assert_eq!(keys.channel_topic(&keys.channel(topic)), Some(topic));
        }
        let user = UserId::generate();
        assert_eq!(keys.channel(Topic::User(user)), format!("t:u:{user}"));
        assert_eq!(keys.channel_topic("other:u:abc"), None);
        assert_eq!(keys.channel_topic("t:x:abc"), None);
    }

    #[test]
    fn a_users_presence_keys_share_a_hash_tag() {
        let keys = Keys::new("t:").unwrap();
        let user = UserId::generate();
        let tag = |key: &str| key[..=key.find('}').unwrap()].to_owned();
        assert_eq!(
            tag(&keys.sockets(user)),
            tag(&keys.expiry_index(shard(user)))
        );
        assert!(shard(user) < PRESENCE_SHARDS);
    }

    #[test]
    fn braces_in_the_prefix_are_refused() {
        assert!(matches!(
            Keys::new("a{b}:"),
            Err(RedisError::InvalidPrefix(_))
        ));
    }
}
