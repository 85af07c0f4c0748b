//! The agents connected to this replica, so the engine can nudge the
//! connection that should deliver a new command. Delivery itself reads the
//! steps table: a nudge that goes nowhere (the agent is on another replica, or
//! offline) is caught by the connection's periodic sweep.

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

    /// Forgets the connection unless a newer one replaced it.
    pub fn unregister(&self, node_id: i64, notify: &Arc<Notify>) {
        if let Ok(mut map) = self.connections.lock() {
            if map.get(&node_id).is_some_and(|n| Arc::ptr_eq(n, notify)) {
                map.remove(&node_id);
            }
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

    pub fn connected(&self) -> usize {
        self.connections.lock().map(|m| m.len()).unwrap_or(0)
    }
}
