//! The file-record checks of the store suite: what [`crate::store::FileStore`] promises about
//! attaching (once, only one's own uploads to the room), detaching, collecting and deleting.

use std::sync::Arc;

use chrono::Duration;

use crate::error::Error;
use crate::files::{FileRecord, MAX_ATTACHMENTS};
use crate::id::{FileId, MessageId, RoomId, UserId};
use crate::model::{NewMessage, Room, User, now};
use crate::store::Store;
use crate::testing::fixtures::{self, new_message};

/// An unattached file record uploaded by `uploader` to `room`, `age` ago.
pub fn new_file(room: RoomId, uploader: UserId, age: Duration) -> FileRecord {
    FileRecord {
        id: FileId::generate(),
        room_id: room,
        uploader_id: uploader,
        name: "photo ünïcode.png".into(),
        size: 1234,
        content_type: "image/png".into(),
        width: Some(640),
        height: Some(480),
        created_at: now() - age,
        message_id: None,
    }
}

async fn setup(store: &Arc<dyn Store>) -> (Room, User, User) {
    let ann = fixtures::user(store.as_ref(), "Ann").await;
    let bob = fixtures::user(store.as_ref(), "Bob").await;
    let room = store.direct_room(ann.id, bob.id, now()).await.unwrap();
    (room, ann, bob)
}

async fn uploaded(store: &Arc<dyn Store>, room: RoomId, uploader: UserId) -> FileRecord {
    let file = new_file(room, uploader, Duration::zero());
    store.create_file(file.clone()).await.unwrap();
    file
}

/// The ids of `files`, sorted.
fn sorted_ids(files: Vec<FileRecord>) -> Vec<FileId> {
    let mut ids: Vec<FileId> = files.into_iter().map(|file| file.id).collect();
    ids.sort();
    ids
}

/// Records round-trip exactly, and ids are unique.
pub async fn file_records_round_trip(store: Arc<dyn Store>) {
    let (room, ann, _) = setup(&store).await;
    let file = uploaded(&store, room.id, ann.id).await;
    assert_eq!(store.file(file.id).await.unwrap(), Some(file.clone()));
    let plain = FileRecord {
        id: FileId::generate(),
        width: None,
        height: None,
        content_type: "application/octet-stream".into(),
        ..file.clone()
    };
    store.create_file(plain.clone()).await.unwrap();
    assert_eq!(store.file(plain.id).await.unwrap(), Some(plain));
    assert!(matches!(
        store.create_file(file.clone()).await,
        Err(Error::Conflict(_))
    ));
    assert_eq!(store.file(FileId::generate()).await.unwrap(), None);
}

/// Attaching marks every listed file, in order, and a message stores its attachments.
pub async fn attached_files_are_marked_and_listed_by_the_message(store: Arc<dyn Store>) {
    let (room, ann, _) = setup(&store).await;
    let (a, b) = (
        uploaded(&store, room.id, ann.id).await,
        uploaded(&store, room.id, ann.id).await,
    );
    let message = MessageId::generate();
    let attached = store
        .attach_files(&[b.id, a.id], message, ann.id, room.id)
        .await
        .unwrap();
    assert_eq!(
        attached.iter().map(|f| f.id).collect::<Vec<_>>(),
        [b.id, a.id]
    );
    assert!(attached.iter().all(|f| f.message_id == Some(message)));
    assert_eq!(
        store.file(a.id).await.unwrap().unwrap().message_id,
        Some(message)
    );
    let stored = store
        .append(NewMessage {
            id: message,
            text: String::new(),
            attachments: attached.iter().map(FileRecord::attachment).collect(),
            ..new_message(room.id, &ann, "", None)
        })
        .await
        .unwrap()
        .message;
    assert_eq!(stored.attachments, [b.attachment(), a.attachment()]);
    let page = store.page(room.id, None, 10).await.unwrap();
    assert_eq!(page[0].attachments, stored.attachments);
    let by_id = store.message(message).await.unwrap().unwrap();
    assert_eq!(by_id.attachments, stored.attachments);
    let listed = store.rooms_of(ann.id, 10).await.unwrap();
    assert_eq!(
        listed[0].last_message.as_ref().unwrap().attachments,
        stored.attachments
    );
}

/// Only the uploader's own files, uploaded to that room, unattached and existing, can be
/// attached; a refused attach attaches nothing.
pub async fn only_own_unattached_files_of_the_room_attach(store: Arc<dyn Store>) {
    let (room, ann, bob) = setup(&store).await;
    let carl = fixtures::user(store.as_ref(), "Carl").await;
    let other = store.direct_room(ann.id, carl.id, now()).await.unwrap();
    let mine = uploaded(&store, room.id, ann.id).await;
    let bobs = uploaded(&store, room.id, bob.id).await;
    let elsewhere = uploaded(&store, other.id, ann.id).await;
    let attach = |ids: Vec<FileId>| {
        let store = store.clone();
        async move {
            store
                .attach_files(&ids, MessageId::generate(), ann.id, room.id)
                .await
        }
    };
    assert!(matches!(
        attach(vec![mine.id, bobs.id]).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        attach(vec![mine.id, elsewhere.id]).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        attach(vec![mine.id, FileId::generate()]).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(store.file(mine.id).await.unwrap().unwrap().message_id, None);
    attach(vec![mine.id]).await.unwrap();
    assert!(matches!(
        attach(vec![mine.id]).await,
        Err(Error::Conflict(_))
    ));
}

/// Of many concurrent attaches of one file, exactly one wins.
pub async fn concurrent_attaches_of_one_file_have_one_winner(store: Arc<dyn Store>) {
    let (room, ann, _) = setup(&store).await;
    let file = uploaded(&store, room.id, ann.id).await;
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let message = MessageId::generate();
                store
                    .attach_files(&[file.id], message, ann.id, room.id)
                    .await
                    .map(|_| message)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(message) => winners.push(message),
            Err(Error::Conflict(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(
        store.file(file.id).await.unwrap().unwrap().message_id,
        Some(winners[0])
    );
}

/// Detaching frees a message's files for another message; it is idempotent.
pub async fn detached_files_can_be_attached_again(store: Arc<dyn Store>) {
    let (room, ann, _) = setup(&store).await;
    let file = uploaded(&store, room.id, ann.id).await;
    let first = MessageId::generate();
    store
        .attach_files(&[file.id], first, ann.id, room.id)
        .await
        .unwrap();
    store.detach_files(first).await.unwrap();
    store.detach_files(first).await.unwrap();
    assert_eq!(store.file(file.id).await.unwrap().unwrap().message_id, None);
    let second = MessageId::generate();
    store
        .attach_files(&[file.id], second, ann.id, room.id)
        .await
        .unwrap();
    store.detach_files(first).await.unwrap();
    assert_eq!(
        store.file(file.id).await.unwrap().unwrap().message_id,
        Some(second)
    );
}

/// The collector sees old unattached files only, oldest first, and collects each once; an
/// attached file is never collected.
pub async fn only_old_unattached_files_are_collected(store: Arc<dyn Store>) {
    let (room, ann, _) = setup(&store).await;
    let day = Duration::hours(24);
    let older = new_file(room.id, ann.id, day * 3);
    let old = new_file(room.id, ann.id, day * 2);
    let attached = new_file(room.id, ann.id, day * 2);
    let fresh = new_file(room.id, ann.id, Duration::zero());
    for file in [&old, &older, &attached, &fresh] {
        store.create_file(file.clone()).await.unwrap();
    }
    store
        .attach_files(&[attached.id], MessageId::generate(), ann.id, room.id)
        .await
        .unwrap();
    let cutoff = now() - day;
    let stale: Vec<FileId> = store
        .unattached_files(cutoff, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|file| file.id)
        .filter(|id| [older.id, old.id, attached.id, fresh.id].contains(id))
        .collect();
    assert_eq!(stale, [older.id, old.id]);
    assert_eq!(store.unattached_files(cutoff, 1).await.unwrap().len(), 1);
    assert!(store.collect_file(old.id).await.unwrap());
    assert!(!store.collect_file(old.id).await.unwrap());
    assert!(!store.collect_file(attached.id).await.unwrap());
    assert!(store.file(attached.id).await.unwrap().is_some());
    assert_eq!(store.file(old.id).await.unwrap(), None);
}

/// An attach racing the collection of the same file: exactly one of them wins.
pub async fn attach_and_collect_never_both_win(store: Arc<dyn Store>) {
    let (room, ann, _) = setup(&store).await;
    for _ in 0..5 {
        let file = new_file(room.id, ann.id, Duration::hours(48));
        store.create_file(file.clone()).await.unwrap();
        let attaching = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .attach_files(&[file.id], MessageId::generate(), ann.id, room.id)
                    .await
            })
        };
        let collecting = {
            let store = store.clone();
            tokio::spawn(async move { store.collect_file(file.id).await })
        };
        let attached = attaching.await.unwrap();
        let collected = collecting.await.unwrap().unwrap();
        assert!(
            attached.is_ok() != collected,
            "attached {attached:?}, collected {collected}"
        );
        assert_eq!(store.file(file.id).await.unwrap().is_some(), !collected);
    }
}

/// Deleting a message's files removes exactly its files' records, once.
pub async fn a_messages_files_are_deleted_with_it(store: Arc<dyn Store>) {
    let (room, ann, _) = setup(&store).await;
    let ids: Vec<FileId> = {
        let mut ids = Vec::new();
        for _ in 0..MAX_ATTACHMENTS.min(3) {
            ids.push(uploaded(&store, room.id, ann.id).await.id);
        }
        ids
    };
    let other = uploaded(&store, room.id, ann.id).await;
    let message = MessageId::generate();
    store
        .attach_files(&ids, message, ann.id, room.id)
        .await
        .unwrap();
    let deleted = sorted_ids(store.delete_message_files(message).await.unwrap());
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(deleted, expected);
    for id in ids {
        assert_eq!(store.file(id).await.unwrap(), None);
    }
    assert!(
        store
            .delete_message_files(message)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.file(other.id).await.unwrap().is_some());
}

/// Purging an account lists, then deletes, every file record it uploaded, attached or not,
/// and only its; its messages no longer show the attachments.
pub async fn purging_an_uploader_deletes_its_files_and_empties_its_attachments(
    store: Arc<dyn Store>,
) {
    let (room, ann, bob) = setup(&store).await;
    let (attached, loose) = (
        uploaded(&store, room.id, ann.id).await,
        uploaded(&store, room.id, ann.id).await,
    );
    let bobs = uploaded(&store, room.id, bob.id).await;
    let message = MessageId::generate();
    let records = store
        .attach_files(&[attached.id], message, ann.id, room.id)
        .await
        .unwrap();
    store
        .append(NewMessage {
            id: message,
            attachments: records.iter().map(FileRecord::attachment).collect(),
            ..new_message(room.id, &ann, "look", None)
        })
        .await
        .unwrap();

    store.erase_user(ann.id, true).await.unwrap();
    let mut expected = vec![attached.id, loose.id];
    expected.sort();
    assert_eq!(
        sorted_ids(store.uploaders_files(ann.id).await.unwrap()),
        expected
    );
    let deleted = sorted_ids(store.delete_uploaders_files(ann.id).await.unwrap());
    assert_eq!(deleted, expected);
    assert!(store.uploaders_files(ann.id).await.unwrap().is_empty());
    for id in expected {
        assert_eq!(store.file(id).await.unwrap(), None);
    }
    assert!(store.file(bobs.id).await.unwrap().is_some());
    let purged = store.message(message).await.unwrap().unwrap();
    assert_eq!((purged.text.as_str(), purged.attachments.len()), ("", 0));
    let page = store.page(room.id, None, 10).await.unwrap();
    assert!(page[0].attachments.is_empty());
    let listed = store.rooms_of(bob.id, 10).await.unwrap();
    assert!(
        listed[0]
            .last_message
            .as_ref()
            .unwrap()
            .attachments
            .is_empty()
    );
    assert!(
        store
            .delete_uploaders_files(ann.id)
            .await
            .unwrap()
            .is_empty()
    );
}
