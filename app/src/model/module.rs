use crate::model::lifecycle::NodeStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A deployable unit: a binary, plugin, WASM module or config bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleInfo {
    pub name: String,
    pub description: Option<String>,
    pub require_signature: bool,
    pub latest_version: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub module: String,
    pub version: String,
    pub artifact_url: String,
    pub sha256: String,
    pub signed: bool,
    pub published_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// An enrolled agent, as the nodes list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub id: i64,
    pub name: String,
    pub environment: String,
    pub pool: Option<String>,
    pub status: NodeStatus,
    pub labels: std::collections::BTreeMap<String, String>,
    pub versions: std::collections::BTreeMap<String, String>,
    pub agent_version: Option<String>,
    pub last_heartbeat_at: Option<DateTime<Utc>>,
}

/// Which nodes to list, by name, starting after `cursor` (a node's name).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeFilter {
    pub environment: Option<String>,
    pub status: Option<NodeStatus>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// One page of nodes; `next_cursor` asks for the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodePage {
    pub items: Vec<NodeInfo>,
    pub next_cursor: Option<String>,
}

/// How many nodes of an environment report running a version of a module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningVersion {
    pub environment: String,
    pub module: String,
    pub version: String,
    pub nodes: u64,
}

/// A new enrollment token: shown once, with where it enrolls nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedEnrollment {
    #[serde(default)]
    pub id: i64,
    pub token: String,
    pub environment: String,
    pub pool: Option<String>,
    pub expires_at: DateTime<Utc>,
    /// How many nodes it may enroll.
    #[serde(default)]
    pub max_uses: i32,
}

/// An enrollment token as Admins see it later (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrollmentTokenInfo {
    pub id: i64,
    pub environment: String,
    pub pool: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub uses: i32,
    pub max_uses: i32,
    pub revoked: bool,
    pub created_at: DateTime<Utc>,
}
