use serde::{Deserialize, Serialize};

/// An environment and the policy a person needs to know before deploying to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentSummary {
    pub name: String,
    pub requires_approval: bool,
    pub required_approvals: i32,
    pub allow_self_approval: bool,
    pub approval_timeout_secs: i64,
    pub default_strategy: String,
    pub nodes_online: u64,
    pub nodes_total: u64,
    /// Blue-green: the pool serving traffic.
    pub active_pool: Option<String>,
    /// The freeze window in force, in words, if any.
    pub frozen: Option<String>,
}

/// A freeze window of an environment, as the admin page and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FreezeInfo {
    pub id: i64,
    pub environment: String,
    pub name: String,
    /// In words, e.g. "every friday 16:00–23:59 UTC".
    pub schedule: String,
    /// In force right now.
    pub active: bool,
}

/// An Admin's change of an environment's approval policy, as the form sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyChange {
    pub environment: String,
    pub requires_approval: bool,
    pub required_approvals: String,
    pub allow_self_approval: bool,
    pub approval_timeout: String,
}

/// A new freeze window as the form sends it: a one-off range (`starts_at`,
/// `ends_at`, RFC 3339) or a weekly one (`day`, `from`, `to`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewFreeze {
    pub environment: String,
    pub name: String,
    /// `once` or `weekly`.
    pub kind: String,
    pub starts_at: String,
    pub ends_at: String,
    pub day: String,
    pub from: String,
    pub to: String,
}
