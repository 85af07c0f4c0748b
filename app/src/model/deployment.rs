use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The life cycle of a deployment (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentStatus {
    PendingApproval,
    Queued,
    Running,
    Paused,
    Succeeded,
    Failed,
    RolledBack,
    Rejected,
    Expired,
    Cancelled,
}

impl DeploymentStatus {
    pub const ALL: [DeploymentStatus; 10] = [
        Self::PendingApproval,
        Self::Queued,
        Self::Running,
        Self::Paused,
        Self::Succeeded,
        Self::Failed,
        Self::RolledBack,
        Self::Rejected,
        Self::Expired,
        Self::Cancelled,
    ];

    /// The name stored in the database and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingApproval => "pending_approval",
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::RolledBack => "rolled_back",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// The words a person reads on a badge.
    pub fn label(self) -> &'static str {
        match self {
            Self::PendingApproval => "pending approval",
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::RolledBack => "rolled back",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    /// Active deployments hold their (module, environment) slot.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Self::PendingApproval | Self::Queued | Self::Running | Self::Paused
        )
    }

    /// Finished deployments never change status again.
    pub fn is_finished(self) -> bool {
        !self.is_active()
    }
}

impl std::fmt::Display for DeploymentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of a deployment list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentSummary {
    pub id: i64,
    pub module: String,
    pub version: String,
    pub environment: String,
    pub strategy: String,
    pub status: DeploymentStatus,
    pub requested_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Which deployments to list, newest first, starting below `cursor`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentFilter {
    pub environment: Option<String>,
    pub module: Option<String>,
    /// The requester's username.
    pub requester: Option<String>,
    pub status: Option<DeploymentStatus>,
    pub cursor: Option<i64>,
    pub limit: Option<u64>,
}

/// A page of deployments and the cursor of the next one, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentPage {
    pub items: Vec<DeploymentSummary>,
    pub next_cursor: Option<i64>,
    pub now: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_stored_name() {
        for status in DeploymentStatus::ALL {
            assert_eq!(DeploymentStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_string(&status).expect("serialises");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        assert_eq!(DeploymentStatus::parse("done"), None);
    }

    #[test]
    fn only_undecided_and_in_flight_deployments_hold_the_slot() {
        let active: Vec<_> = DeploymentStatus::ALL
            .into_iter()
            .filter(|s| s.is_active())
            .collect();
        assert_eq!(
            active,
            [
                DeploymentStatus::PendingApproval,
                DeploymentStatus::Queued,
                DeploymentStatus::Running,
                DeploymentStatus::Paused
            ]
        );
    }
}

/// One entry of a deployment's event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventInfo {
    pub id: i64,
    pub deployment_id: Option<i64>,
    pub kind: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    pub items: Vec<EventInfo>,
    /// Pass as `after` to read on.
    pub last_id: i64,
}

/// A deployment in full: its plan, where it is, and every node's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentDetail {
    #[serde(flatten)]
    pub summary: DeploymentSummary,
    pub strategy_document: serde_json::Value,
    pub outcome: Option<String>,
    pub current_phase: i32,
    pub stage: String,
    pub started_at: Option<DateTime<Utc>>,
    pub rollback_of: Option<i64>,
    pub phases: Vec<PhaseView>,
    pub nodes: Vec<NodeProgress>,
    /// Set when the environment asked for approval.
    pub approval: Option<ApprovalState>,
}

/// What a deployment would do, before it is requested (the wizard's preview).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployPreview {
    pub strategy: String,
    pub phases: Vec<PhaseView>,
    pub nodes: Vec<NodeChange>,
    pub requires_approval: bool,
    pub required_approvals: i32,
    /// The freeze window in force, if any.
    pub freeze: Option<String>,
}

/// One node in the preview: what it runs now and what it will run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeChange {
    pub name: String,
    pub pool: Option<String>,
    pub online: bool,
    pub current: Option<String>,
    pub next: String,
    /// The phase that swaps it, e.g. "canary 5%".
    pub phase: Option<String>,
}

/// A deployment as the wizard asks for it; `strategy` is a JSON document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeployRequest {
    pub module: String,
    pub version: String,
    pub environment: String,
    pub strategy: String,
    /// An Admin's reason to deploy inside a freeze window; empty otherwise.
    pub override_freeze: String,
}

/// What a deployment request answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requested {
    pub id: i64,
    pub status: DeploymentStatus,
}

/// Where a deployment's approval request stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalState {
    pub required: i32,
    pub allow_self_approval: bool,
    pub deadline: Option<DateTime<Utc>>,
    pub decisions: Vec<ApprovalDecision>,
}

impl ApprovalState {
    pub fn approved(&self) -> usize {
        self.decisions
            .iter()
            .filter(|d| d.decision == "approved")
            .count()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalDecision {
    pub approver: String,
    /// `approved` or `rejected`.
    pub decision: String,
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

/// One request in the approvals inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub deployment: DeploymentSummary,
    pub approval: ApprovalState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalInbox {
    pub items: Vec<ApprovalRequest>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseView {
    pub index: i32,
    pub label: String,
    pub nodes: usize,
    pub wait_secs: u64,
    pub max_error_rate: Option<f64>,
    pub max_p95_ms: Option<f64>,
    /// `pending`, `active`, `done`.
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeProgress {
    pub id: i64,
    pub name: String,
    pub pool: Option<String>,
    pub online: bool,
    /// `waiting`, `swapping`, `swapped`, `failed`, `rolling_back`, `rolled_back`.
    pub state: String,
    pub version: Option<String>,
    pub error: Option<String>,
}

/// Everything the detail page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentView {
    pub detail: DeploymentDetail,
    pub events: Vec<EventInfo>,
    pub now: DateTime<Utc>,
}

/// One line a person reads for an event of the log.
pub fn describe_event(event: &EventInfo) -> String {
    let p = &event.payload;
    let text = |key: &str| p[key].as_str().unwrap_or("").to_string();
    match event.kind.as_str() {
        "deployment_created" => format!(
            "{} {} requested for {}",
            text("module"),
            text("version"),
            text("environment")
        ),
        "deployment_started" => format!(
            "started: {} nodes, {}",
            p["nodes"].as_u64().unwrap_or(0),
            p["phases"]
                .as_array()
                .map(|a| a
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(" → "))
                .unwrap_or_default()
        ),
        "phase_started" => format!(
            "{} started on {} node(s)",
            text("label"),
            p["nodes"].as_u64().unwrap_or(0)
        ),
        "phase_swapped" => format!(
            "{}: {} swapped, {} failed",
            text("label"),
            p["swapped"].as_u64().unwrap_or(0),
            p["failed"].as_u64().unwrap_or(0)
        ),
        "node_swapped" => format!("{} now runs {}", text("node"), text("version")),
        "node_swap_failed" => format!("{} failed: {}", text("node"), text("error")),
        "node_rolled_back" => match p["version"].as_str() {
            Some(v) => format!("{} back on {v}", text("node")),
            None => format!("{} back to nothing installed", text("node")),
        },
        "node_rollback_failed" => {
            format!("{} could not roll back: {}", text("node"), text("error"))
        }
        "analysis" => format!(
            "{}: {} — {}",
            text("label"),
            text("verdict"),
            text("reason")
        ),
        "traffic_switched" => format!("traffic switched to the {} pool", text("to")),
        "rollback_started" => format!("rolling back: {}", text("reason")),
        "paused" | "resumed" | "promoted" => format!("{} by {}", event.kind, text("by")),
        "approval_requested" => format!(
            "waiting for {} approval(s) before it starts",
            p["required"].as_i64().unwrap_or(1)
        ),
        "approved" => format!(
            "approved by {} ({} of {}){}",
            text("by"),
            p["approvals"].as_i64().unwrap_or(0),
            p["required"].as_i64().unwrap_or(1),
            comment(p)
        ),
        "rejected" => format!("rejected by {}{}", text("by"), comment(p)),
        "freeze_overridden" => format!(
            "freeze “{}” overridden by {}: {}",
            text("window"),
            text("by"),
            text("reason")
        ),
        "deployment_succeeded"
        | "deployment_failed"
        | "deployment_rolled_back"
        | "deployment_cancelled"
        | "deployment_rejected"
        | "deployment_expired" => {
            format!(
                "{}: {}",
                event
                    .kind
                    .trim_start_matches("deployment_")
                    .replace('_', " "),
                text("outcome")
            )
        }
        other => other.replace('_', " "),
    }
}

fn comment(payload: &serde_json::Value) -> String {
    match payload["comment"].as_str().map(str::trim) {
        Some(c) if !c.is_empty() => format!(": “{c}”"),
        _ => String::new(),
    }
}
