//! Group rooms: who belongs to them with which role, and the membership changes that a room's
//! timeline records between its messages.
//!
//! A membership change is stored as a [`Message`] whose `event` is set: it takes the room's next
//! `seq` like any message, so history shows it in order and a client following seqs sees it.
//! Its `sender_id`/`sender_name` are the user who made the change and its `text` is empty.

use serde::{Deserialize, Serialize};

use crate::id::{MessageId, RoomId, UserId};
use crate::model::{Message, Room, RoomKind, Timestamp, User};

/// The longest group name, in characters.
pub const GROUP_NAME_MAX_CHARS: usize = 100;

/// What a member of a group may do; ordered from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Promotes and demotes admins, and everything an admin does. The creator starts as owner.
    Owner,
    /// Adds members, removes non-owners, renames.
    Admin,
    /// Reads and writes.
    Member,
}

impl Role {
    /// How stores spell the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    /// The role spelled by [`Role::as_str`], if any.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The user.
    pub user_id: UserId,
    /// What the user may do in the room.
    pub role: Role,
    /// When the user (last) joined; the longest-standing member inherits ownership.
    pub joined_at: Timestamp,
}

/// What only a group room has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInfo {
    /// The current name: the latest rename, or the name it was created with.
    pub name: String,
    /// Who created it.
    pub created_by: UserId,
}

/// A membership change, as recorded in a room's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoomEvent {
    /// The group was created under this name (always its first entry, seq 1).
    Created {
        /// The initial name.
        name: String,
    },
    /// `user_id` was added with `role`.
    Added {
        /// Who joined.
        user_id: UserId,
        /// The role it joined with.
        role: Role,
    },
    /// `user_id` was removed by the sender.
    Removed {
        /// Who was removed.
        user_id: UserId,
    },
    /// `user_id` left by itself.
    Left {
        /// Who left.
        user_id: UserId,
    },
    /// The group was renamed.
    Renamed {
        /// The new name.
        name: String,
    },
    /// `user_id` now has `role`; a sender equal to `user_id` with `Owner` is the automatic
    /// hand-over when the last owner left.
    RoleChanged {
        /// Whose role changed.
        user_id: UserId,
        /// The new role.
        role: Role,
    },
}

/// A [`RoomEvent`] taken apart into flat fields, the way the database backends store it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventParts<'a> {
    /// `created`, `added`, `removed`, `left`, `renamed` or `role_changed`.
    pub kind: &'static str,
    /// The user the change is about, if any.
    pub user: Option<UserId>,
    /// The role it is about, if any.
    pub role: Option<Role>,
    /// The name it is about, if any.
    pub name: Option<&'a str>,
}

impl RoomEvent {
    /// The event as flat fields.
    pub fn parts(&self) -> EventParts<'_> {
        let (kind, user, role, name) = match self {
            RoomEvent::Created { name } => ("created", None, None, Some(name.as_str())),
            RoomEvent::Added { user_id, role } => ("added", Some(*user_id), Some(*role), None),
            RoomEvent::Removed { user_id } => ("removed", Some(*user_id), None, None),
            RoomEvent::Left { user_id } => ("left", Some(*user_id), None, None),
            RoomEvent::Renamed { name } => ("renamed", None, None, Some(name.as_str())),
            RoomEvent::RoleChanged { user_id, role } => {
                ("role_changed", Some(*user_id), Some(*role), None)
            }
        };
        EventParts {
            kind,
            user,
            role,
            name,
        }
    }

    /// The change in words for people, e.g. "Ann renamed the group to Crew", for clients that
    /// show entries as text; clients that draw them read the event's fields instead.
    pub fn describe(&self, actor: &str) -> String {
        match self {
            RoomEvent::Created { name } => format!("{actor} created the group {name}"),
            RoomEvent::Added { .. } => format!("{actor} added a member"),
            RoomEvent::Removed { .. } => format!("{actor} removed a member"),
            RoomEvent::Left { .. } => format!("{actor} left"),
            RoomEvent::Renamed { name } => format!("{actor} renamed the group to {name}"),
            RoomEvent::RoleChanged { role, .. } => {
                format!("{actor} made a member {}", role.as_str())
            }
        }
    }

    /// Puts flat fields back together; `None` when they do not form an event.
    pub fn from_parts(
        kind: &str,
        user: Option<UserId>,
        role: Option<Role>,
        name: Option<String>,
    ) -> Option<RoomEvent> {
        Some(match kind {
            "created" => RoomEvent::Created { name: name? },
            "added" => RoomEvent::Added {
                user_id: user?,
                role: role?,
            },
            "removed" => RoomEvent::Removed { user_id: user? },
            "left" => RoomEvent::Left { user_id: user? },
            "renamed" => RoomEvent::Renamed { name: name? },
            "role_changed" => RoomEvent::RoleChanged {
                user_id: user?,
                role: role?,
            },
            _ => return None,
        })
    }
}

/// What a store needs to create a group; the engine has validated the name, checked that the
/// members exist and applied the member limit's policy.
#[derive(Debug, Clone)]
pub struct NewGroup {
    /// Chosen by the engine.
    pub id: RoomId,
    /// Validated name.
    pub name: String,
    /// The creator, who becomes the owner.
    pub creator: UserId,
    /// The creator's current name, for the `Created` entry.
    pub creator_name: String,
    /// The other members; duplicates and the creator are ignored.
    pub members: Vec<UserId>,
    /// Creation time, also every initial member's join time.
    pub created_at: Timestamp,
    /// The most members the room may have, creator included.
    pub max_members: usize,
}

impl NewGroup {
    /// The creator as owner, then the other members in the order given, each once: what every
    /// store writes, so they agree on who is in a new group.
    pub fn initial_members(&self) -> Vec<Member> {
        let mut members: Vec<Member> = Vec::with_capacity(self.members.len() + 1);
        for (user, role) in std::iter::once((self.creator, Role::Owner))
            .chain(self.members.iter().map(|&user| (user, Role::Member)))
        {
            if !members.iter().any(|member| member.user_id == user) {
                members.push(Member {
                    user_id: user,
                    role,
                    joined_at: self.created_at,
                });
            }
        }
        members
    }

    /// The room record of the new group, before any message.
    pub fn room(&self) -> Room {
        Room {
            id: self.id,
            kind: RoomKind::Group,
            members: Vec::new(),
            created_at: self.created_at,
            last_activity: self.created_at,
            last_message: None,
            group: Some(GroupInfo {
                name: self.name.clone(),
                created_by: self.creator,
            }),
        }
    }
}

/// Who changes a group, and when: the common part of every membership change.
#[derive(Debug, Clone)]
pub struct Change {
    /// The group.
    pub room: RoomId,
    /// The user making the change; the engine has checked its role.
    pub actor: UserId,
    /// The actor's current name, stored with the timeline entry.
    pub actor_name: String,
    /// When the change happens.
    pub at: Timestamp,
}

impl Change {
    /// The timeline entry recording `event`, before the store gives it a seq (0 here).
    pub fn entry(&self, event: RoomEvent) -> Message {
        event_entry(self.room, self.actor, &self.actor_name, self.at, event)
    }
}

/// A timeline entry recording `event`, sent by `actor`, with seq 0 until the store places it.
pub fn event_entry(
    room: RoomId,
    actor: UserId,
    actor_name: &str,
    at: Timestamp,
    event: RoomEvent,
) -> Message {
    Message {
        id: MessageId::generate(),
        room_id: room,
        seq: 0,
        sender_id: actor,
        sender_name: actor_name.to_owned(),
        text: String::new(),
        client_id: None,
        timestamp: at,
        event: Some(event),
        edited_at: None,
        deleted: false,
        reactions: Vec::new(),
        attachments: Vec::new(),
    }
}

/// A group and what a change recorded in its timeline.
#[derive(Debug, Clone)]
pub struct GroupUpdate {
    /// The room after the change.
    pub room: Room,
    /// The entries the change recorded, in seq order; each must reach the room's members
    /// (and a removed member, as its last event of the room).
    pub entries: Vec<Message>,
}

/// A member with its account, as member lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// Role and join time.
    pub member: Member,
    /// The account (name etc.).
    pub user: User,
}

/// A group as its members see it: the room, how many members it has, and the first of them.
#[derive(Debug, Clone)]
pub struct GroupView {
    /// The room, with its name and last entry.
    pub room: Room,
    /// How many members it has.
    pub member_count: usize,
    /// The first members by user id (the engine includes up to 100).
    pub members: Vec<GroupMember>,
}

/// Picks who inherits ownership when the last owner is gone: the longest-standing admin, else
/// the longest-standing member (ties broken by user id). `None` when nobody is left.
pub fn heir<'a>(members: impl IntoIterator<Item = &'a Member>) -> Option<&'a Member> {
    members.into_iter().min_by(|a, b| {
        let rank = |member: &Member| match member.role {
            Role::Owner => 0,
            Role::Admin => 1,
            Role::Member => 2,
        };
        rank(a)
            .cmp(&rank(b))
            .then(a.joined_at.cmp(&b.joined_at))
            .then(a.user_id.cmp(&b.user_id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::now;

    #[test]
    fn events_survive_being_taken_apart() {
        let user = UserId::generate();
        for event in [
            RoomEvent::Created { name: "a".into() },
            RoomEvent::Added {
                user_id: user,
                role: Role::Admin,
            },
            RoomEvent::Removed { user_id: user },
            RoomEvent::Left { user_id: user },
            RoomEvent::Renamed { name: "b".into() },
            RoomEvent::RoleChanged {
                user_id: user,
                role: Role::Owner,
            },
        ] {
            let parts = event.parts();
            let back = RoomEvent::from_parts(
                parts.kind,
                parts.user,
                parts.role,
                parts.name.map(Into::into),
            );
            assert_eq!(back, Some(event));
        }
        assert_eq!(RoomEvent::from_parts("added", None, None, None), None);
        assert_eq!(RoomEvent::from_parts("exploded", None, None, None), None);
    }

    #[test]
    fn the_heir_is_the_longest_standing_admin_else_member() {
        let at = now();
        let member = |role, secs| Member {
            user_id: UserId::generate(),
            role,
            joined_at: at + chrono::Duration::seconds(secs),
        };
        let old_member = member(Role::Member, 0);
        let young_admin = member(Role::Admin, 5);
        let old_admin = member(Role::Admin, 1);
        let all = [old_member.clone(), young_admin, old_admin.clone()];
        assert_eq!(heir(&all), Some(&old_admin));
        assert_eq!(heir(&all[..1]), Some(&old_member));
        assert_eq!(heir(&[]), None);
        for role in [Role::Owner, Role::Admin, Role::Member] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }
}
