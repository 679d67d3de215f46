//! The conversation checks: read positions, forward paging, edits, tombstones, reactions and
//! change paging, one public async function per promise of
//! [`ConversationStore`](crate::store::ConversationStore), run by every backend through
//! [`store_conformance!`](crate::store_conformance).

use std::sync::Arc;

use chrono::Duration;

use crate::error::Error;
use crate::files::Attachment;
use crate::id::{FileId, MessageId, RoomId};
use crate::model::{Message, Room, User, now};
use crate::store::{ReactionChange, Store};
use crate::testing::fixtures::{self, new_message};
use crate::testing::groups;

async fn direct(store: &Arc<dyn Store>) -> (Room, User, User) {
    let ann = fixtures::user(store.as_ref(), "Ann").await;
    let bob = fixtures::user(store.as_ref(), "Bob").await;
    let room = store.direct_room(ann.id, bob.id, now()).await.unwrap();
    (room, ann, bob)
}

async fn send(store: &Arc<dyn Store>, room: RoomId, sender: &User, text: &str) -> Message {
    store
        .append(new_message(room, sender, text, None))
        .await
        .unwrap()
        .message
}

fn reaction<'a>(
    room: RoomId,
    message: MessageId,
    user: &User,
    emoji: &'a str,
    add: bool,
) -> ReactionChange<'a> {
    ReactionChange {
        room,
        message,
        user: user.id,
        emoji,
        add,
        at: now(),
    }
}

/// A read position starts at 0, moves up, and ignores lower seqs.
pub async fn read_positions_only_move_forward(store: Arc<dyn Store>) {
    let (room, ann, bob) = direct(&store).await;
    assert_eq!(
        store.read_positions(&[(room.id, bob.id)]).await.unwrap(),
        vec![0]
    );
    assert_eq!(store.mark_read(room.id, bob.id, 3).await.unwrap(), 3);
    assert_eq!(store.mark_read(room.id, bob.id, 1).await.unwrap(), 3);
    assert_eq!(store.mark_read(room.id, bob.id, 5).await.unwrap(), 5);
    let positions = store
        .read_positions(&[
            (room.id, ann.id),
            (room.id, bob.id),
            (RoomId::generate(), bob.id),
        ])
        .await
        .unwrap();
    assert_eq!(positions, vec![0, 5, 0]);
}

/// Racing moves of one position (as from several servers) end at the highest.
pub async fn concurrent_read_marks_keep_the_highest(store: Arc<dyn Store>) {
    let (room, _, bob) = direct(&store).await;
    let marks = (1..=24u64).rev().map(|seq| {
        let store = store.clone();
        tokio::spawn(async move { store.mark_read(room.id, bob.id, seq).await.unwrap() })
    });
    for mark in marks {
        mark.await.unwrap();
    }
    assert_eq!(
        store.read_positions(&[(room.id, bob.id)]).await.unwrap(),
        vec![24]
    );
    assert_eq!(store.mark_read(room.id, bob.id, 2).await.unwrap(), 24);
}

/// Sending moves the sender's read position to its message and nobody else's; a group's
/// creator has read the entry creating it.
pub async fn sending_moves_the_senders_read_position(store: Arc<dyn Store>) {
    let (room, ann, bob) = direct(&store).await;
    send(&store, room.id, &ann, "one").await;
    let second = send(&store, room.id, &ann, "two").await;
    let positions = store
        .read_positions(&[(room.id, ann.id), (room.id, bob.id)])
        .await
        .unwrap();
    assert_eq!(positions, vec![second.seq, 0]);
    let (group, owner, members) = groups::group(&store, 1).await;
    let positions = store
        .read_positions(&[(group.id, owner.id), (group.id, members[0].id)])
        .await
        .unwrap();
    assert_eq!(positions, vec![1, 0]);
}

/// Under concurrent sends the room's newest seq (what unread counts are computed from)
/// counts every message once.
pub async fn unread_counters_hold_under_concurrent_sends(store: Arc<dyn Store>) {
    let (room, ann, bob) = direct(&store).await;
    let sends = (0..20).map(|i| {
        let store = store.clone();
        let sender = if i % 2 == 0 { ann.clone() } else { bob.clone() };
        tokio::spawn(async move { send(&store, room.id, &sender, &format!("m{i}")).await })
    });
    for send in sends {
        send.await.unwrap();
    }
    let head = store
        .room(room.id)
        .await
        .unwrap()
        .unwrap()
        .last_message
        .unwrap()
        .seq;
    assert_eq!(head, 20);
    let positions = store
        .read_positions(&[(room.id, ann.id), (room.id, bob.id)])
        .await
        .unwrap();
    assert!(
        positions.iter().all(|&read| (19..=20).contains(&read)),
        "{positions:?}"
    );
}

/// Forward pages from a seq walk the rest of the history, oldest first, once each.
pub async fn pages_after_a_seq_walk_forward(store: Arc<dyn Store>) {
    let (room, ann, _) = direct(&store).await;
    for i in 0..7 {
        send(&store, room.id, &ann, &format!("m{i}")).await;
    }
    let mut seen = Vec::new();
    let mut after = 2;
    loop {
        let page = store.page_after(room.id, after, 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().unwrap().seq;
        seen.extend(page.into_iter().map(|message| message.seq));
    }
    assert_eq!(seen, vec![3, 4, 5, 6, 7]);
    assert!(store.page_after(room.id, 7, 10).await.unwrap().is_empty());
}

/// An edit replaces the text, keeps the seq and sets `edited_at`; unknown messages and
/// messages of other rooms are not found.
pub async fn edits_keep_the_seq_and_mark_the_message(store: Arc<dyn Store>) {
    let (room, ann, _) = direct(&store).await;
    let original = send(&store, room.id, &ann, "helo").await;
    let at = now();
    let edited = store
        .edit_message(room.id, original.id, "hello", at)
        .await
        .unwrap();
    assert_eq!(edited.text, "hello");
    assert_eq!(edited.seq, original.seq);
    assert_eq!(edited.edited_at, Some(at));
    assert_eq!(
        store.message(original.id).await.unwrap(),
        Some(edited.clone())
    );
    assert_eq!(store.page(room.id, None, 10).await.unwrap(), vec![edited]);
    let (other, _, _) = direct(&store).await;
    for (room, id) in [(other.id, original.id), (room.id, MessageId::generate())] {
        let missing = store.edit_message(room, id, "x", now()).await;
        assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");
    }
}

/// A deletion leaves a tombstone with its seq, sender and time, no text, no reactions and no
/// attachments; history and the room's last message show it; deleting again changes nothing;
/// it can no longer be edited or reacted to.
pub async fn deletions_leave_tombstones(store: Arc<dyn Store>) {
    let (room, ann, bob) = direct(&store).await;
    let mut with_file = new_message(room.id, &ann, "a secret", None);
    with_file.attachments = vec![Attachment {
        file_id: FileId::generate(),
        name: "secret.txt".into(),
        size: 6,
        content_type: "text/plain".into(),
        width: None,
        height: None,
    }];
    let original = store.append(with_file).await.unwrap().message;
    assert_eq!(original.attachments.len(), 1);
    store
        .react(reaction(room.id, original.id, &bob, "👍", true), 20)
        .await
        .unwrap();
    let tombstone = store
        .delete_message(room.id, original.id, now())
        .await
        .unwrap();
    assert!(tombstone.deleted);
    assert_eq!(tombstone.text, "");
    assert!(tombstone.reactions.is_empty());
    assert!(tombstone.attachments.is_empty());
    assert_eq!(
        (tombstone.seq, tombstone.sender_id, tombstone.timestamp),
        (original.seq, original.sender_id, original.timestamp)
    );
    assert_eq!(
        store.page(room.id, None, 10).await.unwrap(),
        vec![tombstone.clone()]
    );
    assert_eq!(
        store.message(original.id).await.unwrap(),
        Some(tombstone.clone())
    );
    let last = store
        .room(room.id)
        .await
        .unwrap()
        .unwrap()
        .last_message
        .unwrap();
    assert!(last.deleted && last.text.is_empty(), "{last:?}");
    let again = store
        .delete_message(room.id, original.id, now())
        .await
        .unwrap();
    assert_eq!(again, tombstone);
    let edit = store
        .edit_message(room.id, original.id, "back", now())
        .await;
    assert!(matches!(edit, Err(Error::Conflict(_))), "{edit:?}");
    let react = store
        .react(reaction(room.id, original.id, &bob, "👍", true), 20)
        .await;
    assert!(matches!(react, Err(Error::Conflict(_))), "{react:?}");
    let missing = store
        .delete_message(room.id, MessageId::generate(), now())
        .await;
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");
}

/// Each user reacts with an emoji once; removing takes only their own; history carries the
/// reactions; a message holds at most `max_distinct` distinct emoji.
pub async fn reactions_count_each_user_once(store: Arc<dyn Store>) {
    let (room, ann, bob) = direct(&store).await;
    let message = send(&store, room.id, &ann, "hi").await;
    let add = |user: &User, emoji: &'static str| reaction(room.id, message.id, user, emoji, true);
    assert!(store.react(add(&ann, "👍"), 2).await.unwrap().changed);
    assert!(!store.react(add(&ann, "👍"), 2).await.unwrap().changed);
    let both = store.react(add(&bob, "👍"), 2).await.unwrap();
    assert!(both.changed);
    assert_eq!(both.message.reactions.len(), 1);
    assert_eq!(both.message.reactions[0].emoji, "👍");
    assert_eq!(both.message.reactions[0].users, vec![ann.id, bob.id]);
    store.react(add(&bob, "🎉"), 2).await.unwrap();
    let third = store.react(add(&bob, "😀"), 2).await;
    assert!(matches!(third, Err(Error::Conflict(_))), "{third:?}");
    let removed = store
        .react(reaction(room.id, message.id, &ann, "👍", false), 2)
        .await
        .unwrap();
    assert!(removed.changed);
    let again = store
        .react(reaction(room.id, message.id, &ann, "👍", false), 2)
        .await
        .unwrap();
    assert!(!again.changed);
    let page = store.page(room.id, None, 10).await.unwrap();
    let emoji: Vec<(&str, Vec<_>)> = page[0]
        .reactions
        .iter()
        .map(|reaction| (reaction.emoji.as_str(), reaction.users.clone()))
        .collect();
    assert_eq!(emoji, vec![("👍", vec![bob.id]), ("🎉", vec![bob.id])]);
    let missing = store
        .react(
            reaction(room.id, MessageId::generate(), &ann, "👍", true),
            2,
        )
        .await;
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");
}

/// Racing reactions of one user with one emoji count once.
pub async fn concurrent_reactions_count_once(store: Arc<dyn Store>) {
    let (room, ann, bob) = direct(&store).await;
    let message = send(&store, room.id, &ann, "hi").await;
    let adds = (0..8).map(|_| {
        let (store, bob) = (store.clone(), bob.clone());
        tokio::spawn(async move {
            store
                .react(reaction(room.id, message.id, &bob, "🔥", true), 20)
                .await
                .unwrap()
                .changed
        })
    });
    let mut changed = 0;
    for add in adds {
        changed += usize::from(add.await.unwrap());
    }
    assert_eq!(changed, 1);
    let stored = store.message(message.id).await.unwrap().unwrap();
    assert_eq!(stored.reactions.len(), 1);
    assert_eq!(stored.reactions[0].users, vec![bob.id]);
}

/// Edits, deletions and reactions are listed by `changed`, each message once with its
/// current state, from the cursor on; older changes are not.
pub async fn changes_are_paged_by_time(store: Arc<dyn Store>) {
    let (room, ann, bob) = direct(&store).await;
    let old = send(&store, room.id, &ann, "old").await;
    let edited = send(&store, room.id, &ann, "edited").await;
    let deleted = send(&store, room.id, &ann, "deleted").await;
    let reacted = send(&store, room.id, &ann, "reacted").await;
    store
        .edit_message(
            room.id,
            old.id,
            "old, changed long ago",
            now() - Duration::hours(1),
        )
        .await
        .unwrap();
    let since = now() - Duration::seconds(1);
    store
        .edit_message(room.id, edited.id, "v2", now())
        .await
        .unwrap();
    store
        .edit_message(room.id, edited.id, "v3", now())
        .await
        .unwrap();
    store
        .delete_message(room.id, deleted.id, now())
        .await
        .unwrap();
    store
        .react(reaction(room.id, reacted.id, &bob, "👍", true), 20)
        .await
        .unwrap();
    let changes = store.changed(room.id, since, 10).await.unwrap();
    let mut seqs: Vec<u64> = changes.iter().map(|changed| changed.message.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, vec![edited.seq, deleted.seq, reacted.seq]);
    assert!(changes.windows(2).all(|pair| pair[0].at <= pair[1].at));
    for changed in &changes {
        assert!(changed.at >= since);
        assert_eq!(
            Some(&changed.message),
            store.message(changed.message.id).await.unwrap().as_ref()
        );
    }
    assert_eq!(store.changed(room.id, since, 2).await.unwrap().len(), 2);
    let (other, _, _) = direct(&store).await;
    assert!(store.changed(other.id, since, 10).await.unwrap().is_empty());
}

/// An edit racing a deletion never brings the text back.
pub async fn edits_racing_deletions_never_restore_text(store: Arc<dyn Store>) {
    let (room, ann, _) = direct(&store).await;
    for round in 0..5 {
        let message = send(&store, room.id, &ann, "original").await;
        let edits = (0..4).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let _either = store
                    .edit_message(room.id, message.id, &format!("edit {round}.{i}"), now())
                    .await;
            })
        });
        let edits: Vec<_> = edits.collect();
        store
            .delete_message(room.id, message.id, now())
            .await
            .unwrap();
        for edit in edits {
            edit.await.unwrap();
        }
        let stored = store.message(message.id).await.unwrap().unwrap();
        assert!(stored.deleted && stored.text.is_empty(), "{stored:?}");
    }
}
