//! Who follows live events on this replica, and whether they still may. A
//! disabled member, a removed membership or a revoked token must stop
//! streaming within seconds; each stream asking the database for itself
//! every few seconds was 2,000 queries a second at 10,000 open pages. One
//! sweep per replica asks once per viewer instead (many pages of one person,
//! or one token's many clients, are one viewer) and ends the streams of those
//! who may no longer read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use crate::services::principal::{Credential, Principal};

/// How often the viewers are checked.
pub const RECHECK: Duration = Duration::from_secs(5);

/// One viewer: a person (or token) in a tenant, by one credential.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    user_id: i64,
    tenant_id: i64,
    credential: Credential,
}

struct Viewer {
    /// Which registration of the key this is: streams of a revoked one
    /// must not count against a newer.
    generation: u64,
    principal: Principal,
    streams: usize,
    revoked: watch::Sender<bool>,
}

#[derive(Clone, Default)]
pub struct Viewers {
    open: Arc<Mutex<HashMap<Key, Viewer>>>,
    generations: Arc<std::sync::atomic::AtomicU64>,
}

/// A stream's hold on its viewer's access; let go when dropped.
pub struct Access {
    key: Key,
    generation: u64,
    viewers: Viewers,
    revoked: watch::Receiver<bool>,
}

impl Access {
    /// Resolves once the viewer may no longer read (never, if the sweep
    /// stops).
    pub async fn revoked(&mut self) {
        if self.revoked.wait_for(|revoked| *revoked).await.is_err() {
            std::future::pending::<()>().await
        }
    }
}

impl Drop for Access {
    fn drop(&mut self) {
        let mut open = self.viewers.lock();
        if let Some(viewer) = open
            .get_mut(&self.key)
            .filter(|v| v.generation == self.generation)
        {
            viewer.streams -= 1;
            if viewer.streams == 0 {
                open.remove(&self.key);
            }
        }
    }
}

impl Viewers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Viewer>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a stream of `principal`.
    pub fn open(&self, principal: &Principal) -> Access {
        let key = Key {
            user_id: principal.user_id,
            tenant_id: principal.tenant.id,
            credential: principal.credential.clone(),
        };
        let mut open = self.lock();
        let viewer = open.entry(key.clone()).or_insert_with(|| Viewer {
            generation: self
                .generations
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            principal: principal.clone(),
            streams: 0,
            revoked: watch::Sender::new(false),
        });
        viewer.streams += 1;
        let revoked = viewer.revoked.subscribe();
        let generation = viewer.generation;
        drop(open);
        Access {
            key,
            generation,
            viewers: self.clone(),
            revoked,
        }
    }

    /// How many distinct viewers have streams open here.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Every [`RECHECK`], asks once per viewer whether they may still read,
    /// one after the other (however many viewers, the database sees one
    /// question at a time); a database hiccup ends no stream.
    pub async fn sweep(self, db: DatabaseConnection) {
        let mut tick = tokio::time::interval(RECHECK);
        tick.tick().await;
        loop {
            tick.tick().await;
            let viewers: Vec<(Key, Principal)> = self
                .lock()
                .iter()
                .map(|(key, viewer)| (key.clone(), viewer.principal.clone()))
                .collect();
            for (key, principal) in viewers {
                if let Ok(false) = crate::services::auth::still_valid(&db, &principal).await {
                    self.revoke(&key);
                }
            }
        }
    }

    fn revoke(&self, key: &Key) {
        // Removed, so that a stream opened afterwards (its principal read
        // anew) starts from a fresh check.
        if let Some(viewer) = self.lock().remove(key) {
            viewer.revoked.send_replace(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::tenancy::Tenant;

    fn principal(user_id: i64) -> Principal {
        Principal {
            user_id,
            username: format!("user{user_id}"),
            tenant: Tenant {
                id: 1,
                slug: "default".into(),
                name: "Default".into(),
            },
            role: app::model::role::Role::Viewer,
            is_platform_admin: false,
            must_change_password: false,
            credential: Credential::Session,
        }
    }

    #[tokio::test]
    async fn the_streams_of_one_viewer_are_one_viewer_and_end_together() {
        let viewers = Viewers::default();
        let mut first = viewers.open(&principal(1));
        let mut second = viewers.open(&principal(1));
        let other = viewers.open(&principal(2));
        assert_eq!(viewers.count(), 2);
        viewers.revoke(&first.key.clone());
        let ended = tokio::time::timeout(Duration::from_secs(1), async {
            first.revoked().await;
            second.revoked().await;
        });
        ended.await.expect("both streams of the viewer end");
        assert!(!*other.revoked.borrow(), "another viewer streams on");
        // A page the viewer opens again is checked afresh, and the ended
        // streams letting go do not count against it.
        let again = viewers.open(&principal(1));
        drop((first, second));
        assert_eq!(viewers.count(), 2);
        assert!(!*again.revoked.borrow());
        drop((other, again));
        assert_eq!(viewers.count(), 0);
    }
}
