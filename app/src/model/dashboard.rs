use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::deployment::DeploymentSummary;
use crate::model::environment::EnvironmentSummary;

/// Everything the dashboard shows, read in one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub tenant: String,
    pub environments: Vec<EnvironmentSummary>,
    pub modules: Vec<String>,
    /// One row per environment, one cell per module (same order as `modules`):
    /// the version its last successful deployment put there.
    pub matrix: Vec<MatrixRow>,
    pub active: Vec<DeploymentSummary>,
    /// Progress of each active deployment, in the order of `active`.
    pub progress: Vec<Progress>,
    pub recent: Vec<DeploymentSummary>,
    pub week: WeekStats,
    /// When the figures were read; relative times are computed from it so the
    /// server and the browser render the same text.
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixRow {
    pub environment: String,
    pub cells: Vec<Option<String>>,
    /// What the environment's nodes report running, per cell: (version, nodes).
    pub reported: Vec<Vec<(String, u64)>>,
}

/// Nodes disagree with each other, or with the last successful deployment.
pub fn drift(deployed: Option<&str>, reported: &[(String, u64)]) -> bool {
    match reported {
        [] => false,
        [(only, _)] => deployed.is_some_and(|d| d != only),
        _ => true,
    }
}

/// How far an active deployment got: nodes swapped of the nodes it plans.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub swapped: u64,
    pub planned: u64,
    pub phase: Option<String>,
}

/// Finished deployments of the last seven days.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WeekStats {
    pub finished: u64,
    pub succeeded: u64,
    pub mean_duration_secs: Option<f64>,
}

impl WeekStats {
    /// Success rate in percent, or `None` before anything finished.
    pub fn success_rate(&self) -> Option<f64> {
        (self.finished > 0).then(|| self.succeeded as f64 * 100.0 / self.finished as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_is_disagreement_among_nodes_or_with_the_deployment() {
        let one = vec![("1.0.0".to_string(), 3)];
        assert!(!drift(Some("1.0.0"), &one));
        assert!(drift(Some("1.1.0"), &one));
        assert!(!drift(None, &[]));
        let two = vec![("1.0.0".to_string(), 2), ("0.9.0".to_string(), 1)];
        assert!(drift(Some("1.0.0"), &two));
    }

    #[test]
    fn success_rate_is_unknown_until_something_finished() {
        assert_eq!(WeekStats::default().success_rate(), None);
        let stats = WeekStats {
            finished: 8,
            succeeded: 6,
            mean_duration_secs: None,
        };
        assert_eq!(stats.success_rate(), Some(75.0));
    }
}
