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
