use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use super::event::{EventInfo, EventPage};
pub use super::lifecycle::{Decision, DeploymentStatus, NodeProgressState, PhaseState, Stage};

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

/// A deployment in full: its plan, where it is, and every node's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentDetail {
    #[serde(flatten)]
    pub summary: DeploymentSummary,
    pub strategy_document: serde_json::Value,
    pub outcome: Option<String>,
    pub current_phase: i32,
    pub stage: Stage,
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
            .filter(|d| d.decision == Decision::Approved)
            .count()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalDecision {
    pub approver: String,
    pub decision: Decision,
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
    pub state: PhaseState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeProgress {
    pub id: i64,
    pub name: String,
    pub pool: Option<String>,
    pub online: bool,
    pub state: NodeProgressState,
    pub version: Option<String>,
    pub error: Option<String>,
}

/// Everything the detail page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentView {
    /// Its nodes as many as [`NODES_SHOWN`], those that need attention first.
    pub detail: DeploymentDetail,
    /// How many nodes of each state the page leaves out.
    #[serde(default)]
    pub hidden_nodes: Vec<(NodeProgressState, usize)>,
    pub events: Vec<EventInfo>,
    pub now: DateTime<Utc>,
}

/// The most node cells the detail page draws: a grid of thousands is read by
/// nobody, and drawing it made the page the slowest of all.
pub const NODES_SHOWN: usize = 100;

/// Which of `nodes` a page draws, at most `limit`: failures first, then what
/// is under way, then the rest, each in its order; and how many of each state
/// are left out, in the order of [`NodeProgressState::ALL`].
pub fn nodes_to_show(
    mut nodes: Vec<NodeProgress>,
    limit: usize,
) -> (Vec<NodeProgress>, Vec<(NodeProgressState, usize)>) {
    let attention = |state: NodeProgressState| match state {
        NodeProgressState::Failed => 0,
        NodeProgressState::RollingBack => 1,
        NodeProgressState::Swapping => 2,
        NodeProgressState::RolledBack => 3,
        NodeProgressState::Waiting => 4,
        NodeProgressState::Swapped => 5,
    };
    if nodes.len() <= limit {
        return (nodes, Vec::new());
    }
    nodes.sort_by_key(|n| attention(n.state));
    let hidden = nodes.split_off(limit);
    let counts = NodeProgressState::ALL
        .iter()
        .map(|state| (*state, hidden.iter().filter(|n| n.state == *state).count()))
        .filter(|(_, count)| *count > 0)
        .collect();
    (nodes, counts)
}

#[cfg(test)]
mod node_tests {
    use super::*;

    fn node(id: i64, state: NodeProgressState) -> NodeProgress {
        NodeProgress {
            id,
            name: format!("web-{id}"),
            pool: None,
            online: true,
            state,
            version: None,
            error: None,
        }
    }

    #[test]
    fn a_page_draws_failures_first_and_counts_what_it_leaves_out() {
        use NodeProgressState::*;
        let nodes = vec![
            node(1, Swapped),
            node(2, Waiting),
            node(3, Failed),
            node(4, Swapped),
            node(5, Swapping),
            node(6, Waiting),
        ];
        let (shown, hidden) = nodes_to_show(nodes.clone(), 3);
        let ids: Vec<i64> = shown.iter().map(|n| n.id).collect();
        assert_eq!(ids, vec![3, 5, 2]);
        assert_eq!(hidden, vec![(Waiting, 1), (Swapped, 2)]);
        assert_eq!(nodes_to_show(nodes.clone(), 6), (nodes, Vec::new()));
    }
}
