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
