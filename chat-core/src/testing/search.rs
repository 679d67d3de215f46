//! The search checks: one public async function per promise of [`MessageStore::search`] and
//! [`RoomStore::room_ids_of`](crate::store::RoomStore::room_ids_of), also across edits and
//! deletions of [`ConversationStore`](crate::store::ConversationStore), run by every backend
//! through [`store_conformance!`](crate::store_conformance).
//!
//! Messages get timestamps a second apart, so "newest first" means the same in every store.

use std::sync::Arc;

use chrono::Duration;

use crate::id::{MessageId, RoomId};
use crate::model::{Message, Room, Timestamp, User, now};
use crate::search::{SearchQuery, Terms};
use crate::store::Store;
use crate::testing::fixtures::{self, new_message};
use crate::testing::groups::{change, group};

/// Appends `texts` to `room` from `sender`, a second apart starting at `start`.
async fn send_all(
    store: &Arc<dyn Store>,
    room: RoomId,
    sender: &User,
    start: Timestamp,
    texts: &[&str],
) -> Vec<Message> {
    let mut sent = Vec::with_capacity(texts.len());
    for (i, text) in texts.iter().enumerate() {
        let mut message = new_message(room, sender, text, None);
        message.timestamp = start + Duration::seconds(i as i64);
        sent.push(store.append(message).await.unwrap().message);
    }
    sent
}

async fn search(
    store: &Arc<dyn Store>,
    words: &str,
    rooms: &[RoomId],
    before: Option<MessageId>,
    limit: usize,
) -> Vec<Message> {
    let query = SearchQuery {
        terms: Terms::parse(words).unwrap(),
        rooms: rooms.to_vec(),
        before,
        limit,
    };
    store.search(&query).await.unwrap()
}

fn texts(found: &[Message]) -> Vec<&str> {
    found.iter().map(|message| message.text.as_str()).collect()
}

async fn direct(store: &Arc<dyn Store>) -> (Room, User, User) {
    let ann = fixtures::user(store.as_ref(), "Ann").await;
    let bob = fixtures::user(store.as_ref(), "Bob").await;
    let room = store.direct_room(ann.id, bob.id, now()).await.unwrap();
    (room, ann, bob)
}

/// Every word must be present, in any case; hits come newest first, whole, with their room
/// and seq.
pub async fn search_needs_every_word_in_any_case(store: Arc<dyn Store>) {
    let (room, ann, _) = direct(&store).await;
    let start = now() - Duration::hours(1);
    let sent = send_all(
        &store,
        room.id,
        &ann,
        start,
        &[
            "Lunch at the harbour?",
            "no lunch today",
            "HARBOUR lunch tomorrow, then",
            "the harbour is closed",
        ],
    )
    .await;
    let found = search(&store, "harbour LUNCH", &[room.id], None, 10).await;
    assert_eq!(
        texts(&found),
        ["HARBOUR lunch tomorrow, then", "Lunch at the harbour?"]
    );
    assert_eq!(found[0], sent[2]);
    assert_eq!(found[1].seq, 1);
    assert!(
        search(&store, "dinner", &[room.id], None, 10)
            .await
            .is_empty()
    );
    assert!(
        search(&store, "harbour dinner", &[room.id], None, 10)
            .await
            .is_empty()
    );
}

/// Only the rooms asked about are searched, whatever the other rooms hold.
pub async fn search_reads_only_the_rooms_given(store: Arc<dyn Store>) {
    let (ours, ann, _) = direct(&store).await;
    let (theirs, carl, _) = direct(&store).await;
    let start = now() - Duration::hours(1);
    send_all(&store, ours.id, &ann, start, &["secret plans for us"]).await;
    send_all(&store, theirs.id, &carl, start, &["secret plans for them"]).await;
    let mine = search(&store, "secret", &[ours.id], None, 10).await;
    assert_eq!(texts(&mine), ["secret plans for us"]);
    let both = search(&store, "secret plans", &[ours.id, theirs.id], None, 10).await;
    assert_eq!(both.len(), 2);
    assert!(search(&store, "secret", &[], None, 10).await.is_empty());
}

/// Paging by the last hit visits every match once, newest first; an unknown cursor gives
/// nothing.
pub async fn search_pages_by_the_last_hit(store: Arc<dyn Store>) {
    let (a, ann, _) = direct(&store).await;
    let (b, bea, _) = direct(&store).await;
    let start = now() - Duration::hours(1);
    let texts_a: Vec<String> = (0..5).map(|i| format!("ping number {i}")).collect();
    let texts_b: Vec<String> = (0..4).map(|i| format!("pong then ping {i}")).collect();
    let refs_a: Vec<&str> = texts_a.iter().map(String::as_str).collect();
    let refs_b: Vec<&str> = texts_b.iter().map(String::as_str).collect();
    // Interleaved in time: a at :00, :02, …; b at :01, :03, …
    let mut sent = Vec::new();
    for (i, text) in refs_a.iter().enumerate() {
        let at = start + Duration::seconds(2 * i as i64);
        sent.extend(send_all(&store, a.id, &ann, at, &[text]).await);
        if let Some(text) = refs_b.get(i) {
            sent.extend(send_all(&store, b.id, &bea, at + Duration::seconds(1), &[text]).await);
        }
    }
    sent.reverse();
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = search(&store, "ping", &[a.id, b.id], before, 4).await;
        assert!(page.len() <= 4);
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        seen.extend(page);
    }
    assert_eq!(seen, sent);
    assert!(
        search(&store, "ping", &[a.id], Some(MessageId::generate()), 4)
            .await
            .is_empty()
    );
}

/// Membership entries never match, even when they name what is searched for.
pub async fn membership_entries_never_match(store: Arc<dyn Store>) {
    let (room, owner, members) = group(&store, 2).await;
    let at = now() - Duration::seconds(30);
    store
        .rename(&change(&room, &owner, at), "zebra crossing")
        .await
        .unwrap();
    store
        .remove_member(&change(&room, &owner, at), members[0].id)
        .await
        .unwrap();
    assert!(
        search(&store, "zebra", &[room.id], None, 10)
            .await
            .is_empty()
    );
    send_all(&store, room.id, &owner, at, &["a zebra!"]).await;
    let found = search(&store, "zebra", &[room.id], None, 10).await;
    assert_eq!(texts(&found), ["a zebra!"]);
    assert_eq!(found[0].event, None);
}

/// A user's room ids are its direct rooms and the groups it is in now.
pub async fn room_ids_follow_memberships(store: Arc<dyn Store>) {
    let (direct_room, ann, bob) = direct(&store).await;
    let (group_room, owner, members) = group(&store, 1).await;
    let member = &members[0];
    let mut ids = store.room_ids_of(ann.id).await.unwrap();
    assert_eq!(ids, [direct_room.id]);
    ids = store.room_ids_of(bob.id).await.unwrap();
    assert_eq!(ids, [direct_room.id]);
    assert_eq!(store.room_ids_of(member.id).await.unwrap(), [group_room.id]);
    store
        .remove_member(&change(&group_room, member, now()), member.id)
        .await
        .unwrap();
    assert!(store.room_ids_of(member.id).await.unwrap().is_empty());
    assert_eq!(store.room_ids_of(owner.id).await.unwrap(), [group_room.id]);
    let stranger = fixtures::user(store.as_ref(), "Stranger").await;
    assert!(store.room_ids_of(stranger.id).await.unwrap().is_empty());
}

/// A message whose text a store blanks (an operator's purge) stops matching in the same write,
/// while the other sender's messages still match: the index follows the store's own edits.
pub async fn purged_messages_stop_matching(store: Arc<dyn Store>) {
    let (room, ann, bob) = direct(&store).await;
    let start = now() - Duration::hours(1);
    send_all(&store, room.id, &ann, start, &["ann mentions the kiwi"]).await;
    send_all(
        &store,
        room.id,
        &bob,
        start + Duration::seconds(5),
        &["bob likes the kiwi"],
    )
    .await;
    assert_eq!(search(&store, "kiwi", &[room.id], None, 10).await.len(), 2);
    store.erase_user(ann.id, true).await.unwrap();
    let found = search(&store, "kiwi", &[room.id], None, 10).await;
    assert_eq!(texts(&found), ["bob likes the kiwi"]);
}

/// An edited message matches its new text and no longer its old one; a deleted message
/// (a tombstone) never matches, whatever it said.
pub async fn edited_messages_match_their_new_text_and_deleted_ones_never(store: Arc<dyn Store>) {
    let (room, ann, _) = direct(&store).await;
    let start = now() - Duration::hours(1);
    let sent = send_all(
        &store,
        room.id,
        &ann,
        start,
        &["the quokka sleeps", "the wombat digs", "the quokka eats"],
    )
    .await;
    let edited = store
        .edit_message(room.id, sent[0].id, "the numbat sleeps", now())
        .await
        .unwrap();
    assert_eq!(edited.seq, sent[0].seq);
    let found = search(&store, "numbat", &[room.id], None, 10).await;
    assert_eq!(texts(&found), ["the numbat sleeps"]);
    assert_eq!(found[0].id, sent[0].id);
    assert!(found[0].edited_at.is_some());
    let found = search(&store, "quokka", &[room.id], None, 10).await;
    assert_eq!(texts(&found), ["the quokka eats"]);

    store
        .delete_message(room.id, sent[2].id, now())
        .await
        .unwrap();
    store
        .delete_message(room.id, sent[0].id, now())
        .await
        .unwrap();
    assert!(
        search(&store, "quokka", &[room.id], None, 10)
            .await
            .is_empty()
    );
    assert!(
        search(&store, "numbat", &[room.id], None, 10)
            .await
            .is_empty()
    );
    let found = search(&store, "the", &[room.id], None, 10).await;
    assert_eq!(texts(&found), ["the wombat digs"]);
    assert!(found.iter().all(|message| !message.deleted));
}
