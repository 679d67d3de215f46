//! Presence announcements, coalesced per user: a user who connects and disconnects in a loop
//! must not push an event to every contact on every flap.
//!
//! The first change after a quiet period is announced at once and opens a window; changes
//! during the window are only noted, and when it ends the user's actual state is announced if
//! it differs from the last one told, which opens another window. So contacts hear at most one
//! presence event per user per window, and always the final state.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Mutex;

use crate::id::UserId;
use crate::sync::lock;

use super::Engine;
use super::connection::Contacts;

/// Open windows by user; a user is forgotten when a window ends quietly.
#[derive(Default)]
pub(super) struct Announcer {
    windows: Mutex<HashMap<UserId, Window>>,
}

struct Window {
    /// What contacts were last told.
    announced: bool,
    /// Whether the user changed since.
    changed: bool,
}

impl Announcer {
    /// Notes that `user` went online or offline; true when no window is open, so the change
    /// is announced now and a window opens.
    fn note(&self, user: UserId, online: bool) -> bool {
        match lock(&self.windows).entry(user) {
            Entry::Vacant(vacant) => {
                vacant.insert(Window {
                    announced: online,
                    changed: false,
                });
                true
            }
            Entry::Occupied(mut open) => {
                open.get_mut().changed = true;
                false
            }
        }
    }

    /// Ends `user`'s window: `None` when nothing changed during it (the user is forgotten),
    /// else what contacts were last told, to compare with the user's state now.
    fn close(&self, user: UserId) -> Option<bool> {
        let mut windows = lock(&self.windows);
        let window = windows.get_mut(&user)?;
        if !window.changed {
            windows.remove(&user);
            return None;
        }
        window.changed = false;
        Some(window.announced)
    }

    fn told(&self, user: UserId, online: bool) {
        if let Some(window) = lock(&self.windows).get_mut(&user) {
            window.announced = online;
        }
    }

    /// Users whose window holds a change not yet announced, at shutdown.
    fn changed(&self) -> Vec<UserId> {
        lock(&self.windows)
            .iter()
            .filter(|(_, window)| window.changed)
            .map(|(user, _)| *user)
            .collect()
    }
}

impl Engine {
    /// Tells `user`'s contacts that they came online or went offline, at most once per
    /// presence window. `contacts`: whom it concerns, if the caller has just read them.
    pub(super) async fn presence_changed(
        &self,
        user: UserId,
        online: bool,
        contacts: Option<Contacts>,
    ) {
        if !self.inner.announcer.note(user, online) {
            return;
        }
        self.announce_presence(user, online, contacts).await;
        let engine = self.clone();
        self.inner
            .relay
            .spawn_cancellable(async move { engine.presence_window(user).await });
    }

    async fn presence_window(&self, user: UserId) {
        loop {
            tokio::time::sleep(self.inner.config.presence_window).await;
            if !self.announce_if_changed(user).await {
                return;
            }
        }
    }

    /// Ends `user`'s window and announces their state if it differs from what was told.
    /// False when the window was quiet and is gone.
    async fn announce_if_changed(&self, user: UserId) -> bool {
        let Some(announced) = self.inner.announcer.close(user) else {
            return false;
        };
        let online = self.online(&[user]).await.first().copied().unwrap_or(false);
        if online != announced {
            self.inner.announcer.told(user, online);
            self.announce_presence(user, online, None).await;
        }
        true
    }

    /// At shutdown, announces every change still waiting for its window to end.
    pub(super) async fn flush_presence_windows(&self) {
        for user in self.inner.announcer.changed() {
            self.announce_if_changed(user).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_change_of_a_window_is_announced_at_once() {
        let announcer = Announcer::default();
        let user = UserId::generate();
        assert!(announcer.note(user, true));
        assert!(!announcer.note(user, false));
        assert!(!announcer.note(user, true));
        assert_eq!(announcer.changed(), vec![user]);
        assert_eq!(announcer.close(user), Some(true));
        assert_eq!(
            announcer.close(user),
            None,
            "a quiet window forgets the user"
        );
        assert!(announcer.note(user, false));
    }
}
