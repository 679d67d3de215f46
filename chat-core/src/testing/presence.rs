//! The presence checks: one public async function per promise of the [`Presence`] trait.
//!
//! Each check gets two handles on one shared presence, as two nodes of a deployment would
//! hold them (for the in-process presence, the same instance twice).

use std::sync::Arc;

use crate::id::{ConnId, UserId};
use crate::presence::Presence;

/// Two nodes' handles on one shared presence.
pub type PresencePair = (Arc<dyn Presence>, Arc<dyn Presence>);

/// Lets the conformance macro accept a pair or an optional one.
pub trait IntoPresenceOption {
    /// `None` means "skip: backend not configured".
    fn into_presence_option(self) -> Option<PresencePair>;
}

impl IntoPresenceOption for PresencePair {
    fn into_presence_option(self) -> Option<PresencePair> {
        Some(self)
    }
}

impl IntoPresenceOption for Option<PresencePair> {
    fn into_presence_option(self) -> Option<PresencePair> {
        self
    }
}

/// Used by the macro.
pub fn into_option(value: impl IntoPresenceOption) -> Option<PresencePair> {
    value.into_presence_option()
}

/// Counts add up across nodes: 1 means "came online" wherever the socket opened, 0 means
/// "went offline" wherever the last one closed.
pub async fn counts_add_up_across_nodes((one, two): PresencePair) {
    let user = UserId::generate();
    let (here, there) = (ConnId::generate(), ConnId::generate());
    assert_eq!(one.connect(user, here).await.unwrap(), 1);
    assert_eq!(two.connect(user, there).await.unwrap(), 2);
    assert_eq!(one.online(&[user]).await.unwrap(), vec![true]);
    assert_eq!(one.disconnect(user, here).await.unwrap(), 1);
    assert_eq!(two.online(&[user]).await.unwrap(), vec![true]);
    assert_eq!(two.disconnect(user, there).await.unwrap(), 0);
    assert_eq!(one.online(&[user]).await.unwrap(), vec![false]);
}

/// Two sockets of one user on one node are one presence: closing one keeps the user online.
pub async fn devices_of_one_user_are_one_presence((one, _): PresencePair) {
    let user = UserId::generate();
    let (phone, laptop) = (ConnId::generate(), ConnId::generate());
    assert_eq!(one.connect(user, phone).await.unwrap(), 1);
    assert_eq!(one.connect(user, laptop).await.unwrap(), 2);
    assert_eq!(one.disconnect(user, phone).await.unwrap(), 1);
    assert_eq!(one.online(&[user]).await.unwrap(), vec![true]);
    assert_eq!(one.disconnect(user, laptop).await.unwrap(), 0);
    assert_eq!(one.online(&[user]).await.unwrap(), vec![false]);
}

/// Recording a socket twice or forgetting it twice changes nothing the second time.
pub async fn connect_and_disconnect_are_idempotent((one, two): PresencePair) {
    let user = UserId::generate();
    let conn = ConnId::generate();
    assert_eq!(one.connect(user, conn).await.unwrap(), 1);
    assert_eq!(two.connect(user, conn).await.unwrap(), 1);
    assert_eq!(one.disconnect(user, conn).await.unwrap(), 0);
    assert_eq!(two.disconnect(user, conn).await.unwrap(), 0);
    let stranger = UserId::generate();
    assert_eq!(
        one.disconnect(stranger, ConnId::generate()).await.unwrap(),
        0
    );
}

/// `online` answers for each user in the order asked, unknown users included.
pub async fn online_answers_in_order((one, two): PresencePair) {
    let users: Vec<UserId> = (0..5).map(|_| UserId::generate()).collect();
    one.connect(users[0], ConnId::generate()).await.unwrap();
    two.connect(users[3], ConnId::generate()).await.unwrap();
    let asked = [users[0], users[1], users[2], users[3], users[4], users[0]];
    assert_eq!(
        two.online(&asked).await.unwrap(),
        vec![true, false, false, true, false, true]
    );
    assert_eq!(one.online(&[]).await.unwrap(), Vec::<bool>::new());
}

/// One user's sockets never count towards another's.
pub async fn users_are_independent((one, two): PresencePair) {
    let (ann, bob) = (UserId::generate(), UserId::generate());
    let ann_conn = ConnId::generate();
    assert_eq!(one.connect(ann, ann_conn).await.unwrap(), 1);
    assert_eq!(two.connect(bob, ConnId::generate()).await.unwrap(), 1);
    assert_eq!(one.disconnect(ann, ann_conn).await.unwrap(), 0);
    assert_eq!(two.online(&[ann, bob]).await.unwrap(), vec![false, true]);
}

/// Heartbeats keep live sockets online, and live or cleanly closed sockets are never reported
/// as expired.
pub async fn heartbeats_keep_sockets_and_nothing_live_expires((one, two): PresencePair) {
    let (ann, bob, cid) = (UserId::generate(), UserId::generate(), UserId::generate());
    let (ann_conn, bob_conn, cid_conn) =
        (ConnId::generate(), ConnId::generate(), ConnId::generate());
    one.connect(ann, ann_conn).await.unwrap();
    two.connect(bob, bob_conn).await.unwrap();
    one.connect(cid, cid_conn).await.unwrap();
    one.disconnect(cid, cid_conn).await.unwrap();
    one.heartbeat(&[(ann, ann_conn)]).await.unwrap();
    two.heartbeat(&[(bob, bob_conn)]).await.unwrap();
    one.heartbeat(&[]).await.unwrap();
    assert_eq!(
        one.online(&[ann, bob, cid]).await.unwrap(),
        vec![true, true, false]
    );
    for presence in [&one, &two] {
        let expired = presence.expired().await.unwrap();
        for user in [ann, bob, cid] {
            assert!(!expired.contains(&user), "{user:?} reported as expired");
        }
    }
    assert_eq!(one.connect(ann, ConnId::generate()).await.unwrap(), 2);
}
