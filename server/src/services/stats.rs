//! Counts the metrics report that every replica must agree on, read from the
//! database at scrape time. Deployments and approvals are read from the
//! tallies the database keeps beside them (triggers, migration 23), so a
//! scrape costs one row per label set however long the history grows.

use std::collections::BTreeMap;

use app::model::lifecycle::{Decision, DeploymentStatus, NodeStatus};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::services::ServiceError;

/// Deployments of one (environment, strategy, status).
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentCount {
    pub environment: String,
    pub strategy: String,
    pub status: DeploymentStatus,
    pub count: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub deployments: Vec<DeploymentCount>,
    /// Approval decisions by kind, and requests that expired (`expired`).
    pub approvals: BTreeMap<String, i64>,
    pub queue_depth: i64,
    /// Every node status, with 0 where none are in it.
    pub nodes: BTreeMap<NodeStatus, i64>,
}

impl Counts {
    /// Deployments pending approval, queued, running or paused.
    pub fn active(&self) -> i64 {
        self.deployments
            .iter()
            .filter(|d| d.status.is_active())
            .map(|d| d.count)
            .sum()
    }
}

async fn rows(
    db: &DatabaseConnection,
    sql: &str,
) -> Result<Vec<sea_orm::QueryResult>, ServiceError> {
    Ok(db
        .query_all(Statement::from_string(db.get_database_backend(), sql))
        .await?)
}

pub async fn counts(db: &DatabaseConnection) -> Result<Counts, ServiceError> {
    let sql = "SELECT e.name AS environment, t.strategy AS strategy, t.status AS status, \
               CAST(SUM(t.total) AS BIGINT) AS n \
               FROM deployment_tallies t JOIN environments e ON e.id = t.environment_id \
               WHERE t.total > 0 \
               GROUP BY e.name, t.strategy, t.status";
    let mut deployments = Vec::new();
    for row in rows(db, sql).await? {
        let status: String = row.try_get("", "status")?;
        let Some(status) = DeploymentStatus::parse(&status) else {
            continue;
        };
        deployments.push(DeploymentCount {
            environment: row.try_get("", "environment")?,
            strategy: row.try_get("", "strategy")?,
            status,
            count: row.try_get("", "n")?,
        });
    }

    let mut approvals: BTreeMap<String, i64> =
        Decision::ALL.iter().map(|d| (d.to_string(), 0)).collect();
    for row in rows(db, "SELECT decision, total FROM approval_tallies").await? {
        approvals.insert(row.try_get("", "decision")?, row.try_get("", "total")?);
    }
    let expired: i64 = deployments
        .iter()
        .filter(|d| d.status == DeploymentStatus::Expired)
        .map(|d| d.count)
        .sum();
    approvals.insert(DeploymentStatus::Expired.to_string(), expired);

    let mut nodes: BTreeMap<NodeStatus, i64> = NodeStatus::ALL.iter().map(|s| (*s, 0)).collect();
    for row in rows(
        db,
        "SELECT status, COUNT(*) AS n FROM nodes GROUP BY status",
    )
    .await?
    {
        let status: String = row.try_get("", "status")?;
        if let Some(status) = NodeStatus::parse(&status) {
            nodes.insert(status, row.try_get("", "n")?);
        }
    }
    Ok(Counts {
        deployments,
        approvals,
        queue_depth: crate::services::jobs::depth(db).await?,
        nodes,
    })
}
