//! The agents connected to this replica, so the engine can nudge the
//! connection that should deliver a new command. Delivery itself reads the
//! steps table: a nudge that goes nowhere (the agent is on another replica, or
//! offline) is caught by the engine's sweep of this replica's connections.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

#[derive(Default)]
pub struct AgentHub {
    connections: Mutex<HashMap<i64, Arc<Notify>>>,
}

impl AgentHub {
    /// Registers a connection for `node_id`, replacing an older one.
    pub fn register(&self, node_id: i64) -> Arc<Notify> {
        let notify = Arc::new(Notify::new());
        if let Ok(mut map) = self.connections.lock() {
            map.insert(node_id, notify.clone());
        }
        notify
    }

    /// Forgets the connection unless a newer one replaced it; says whether
    /// it was still the node's connection here.
    pub fn unregister(&self, node_id: i64, notify: &Arc<Notify>) -> bool {
        let Ok(mut map) = self.connections.lock() else {
            return false;
        };
        if map.get(&node_id).is_some_and(|n| Arc::ptr_eq(n, notify)) {
            map.remove(&node_id);
            true
        } else {
            false
        }
    }

    pub fn wake(&self, node_ids: &[i64]) {
        if let Ok(map) = self.connections.lock() {
            for id in node_ids {
                if let Some(n) = map.get(id) {
                    n.notify_one();
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
