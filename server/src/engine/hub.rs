//! The agents connected to this replica, so the engine can nudge the
//! connection that should deliver a new command. Delivery itself reads the
//! steps table: a nudge that goes nowhere (the agent is on another replica, or
//! offline) is caught by the engine's sweep of this replica's connections.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// One agent connection as the hub knows it.
#[derive(Default)]
pub struct Link {
    wake: Notify,
    replaced: AtomicBool,
    /// Its node may have been removed: the connection reads whether it is
    /// still enrolled (a nudge for commands alone costs no such read).
    recheck: AtomicBool,
}

impl Link {
    /// Resolves when the connection has something to do: commands may be
    /// due, its node may have been removed, or it was replaced.
    pub async fn woken(&self) {
        self.wake.notified().await
    }

    /// A newer connection of the same node took this one's place here (one
    /// credential on two machines, or a reconnect racing the old socket):
    /// only the newest is nudged, so the older must end.
    pub fn is_replaced(&self) -> bool {
        self.replaced.load(Ordering::Acquire)
    }

    /// Whether the connection was asked to check its node is still
    /// enrolled since it last looked.
    pub fn take_recheck(&self) -> bool {
        self.recheck.swap(false, Ordering::AcqRel)
    }
}

#[derive(Default)]
pub struct AgentHub {
    connections: Mutex<HashMap<i64, Arc<Link>>>,
}

impl AgentHub {
    /// Registers a connection for `node_id`; an older one is told it was
    /// replaced.
    pub fn register(&self, node_id: i64) -> Arc<Link> {
        let link = Arc::new(Link::default());
        if let Ok(mut map) = self.connections.lock() {
            if let Some(old) = map.insert(node_id, link.clone()) {
                old.replaced.store(true, Ordering::Release);
                old.wake.notify_one();
            }
        }
        link
    }

    /// Forgets the connection unless a newer one replaced it; says whether
    /// it was still the node's connection here.
    pub fn unregister(&self, node_id: i64, link: &Arc<Link>) -> bool {
        let Ok(mut map) = self.connections.lock() else {
            return false;
        };
        if map.get(&node_id).is_some_and(|l| Arc::ptr_eq(l, link)) {
            map.remove(&node_id);
            true
        } else {
            false
        }
    }

    pub fn wake(&self, node_ids: &[i64]) {
        if let Ok(map) = self.connections.lock() {
            for id in node_ids {
                if let Some(link) = map.get(id) {
                    link.wake.notify_one();
                }
            }
        }
    }

    /// Asks the connections of `node_ids` to check their node is still
    /// enrolled (it may have been removed), and wakes them.
    pub fn recheck(&self, node_ids: &[i64]) {
        if let Ok(map) = self.connections.lock() {
            for id in node_ids {
                if let Some(link) = map.get(id) {
                    link.recheck.store(true, Ordering::Release);
                    link.wake.notify_one();
                }
            }
        }
    }

    /// The nodes connected here.
    pub fn node_ids(&self) -> Vec<i64> {
        self.connections
            .lock()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default()
    }

    pub fn connected(&self) -> usize {
        self.connections.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_newer_connection_of_a_node_ends_the_older() {
        let hub = AgentHub::default();
        let old = hub.register(7);
        let new = hub.register(7);
        // The older is woken and learns it was replaced; the newer is not.
        tokio::time::timeout(std::time::Duration::from_secs(1), old.woken())
            .await
            .expect("the older connection is woken");
        assert!(old.is_replaced());
        assert!(!new.is_replaced());
        // The older ending leaves the newer registered, and says so.
        assert!(!hub.unregister(7, &old));
        assert_eq!(hub.node_ids(), vec![7]);
        assert!(hub.unregister(7, &new));
        assert!(hub.node_ids().is_empty());
    }

    #[tokio::test]
    async fn only_a_recheck_asks_a_connection_to_read_its_enrollment() {
        let hub = AgentHub::default();
        let link = hub.register(3);
        hub.wake(&[3]);
        link.woken().await;
        assert!(!link.take_recheck(), "commands alone");
        hub.recheck(&[3]);
        link.woken().await;
        assert!(link.take_recheck());
        assert!(!link.take_recheck(), "asked once, checked once");
    }
}
