//! Counts the metrics report that every replica must agree on: read from the
//! database at scrape time, grouped there, so a scrape costs one row per
//! label set rather than one per deployment.

use std::collections::BTreeMap;

use app::model::lifecycle::{Decision, DeploymentStatus, NodeStatus};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};

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
    let kind = match db.get_database_backend() {
        DatabaseBackend::Postgres => "d.strategy->>'kind'",
        _ => "json_extract(d.strategy, '$.kind')",
    };
    let sql = format!(
        "SELECT e.name AS environment, {kind} AS strategy, d.status AS status, COUNT(*) AS n \
         FROM deployments d JOIN environments e ON e.id = d.environment_id \
         GROUP BY e.name, {kind}, d.status"
    );
    let mut deployments = Vec::new();
    for row in rows(db, &sql).await? {
        let status: String = row.try_get("", "status")?;
        let Some(status) = DeploymentStatus::parse(&status) else {
            continue;
        };
        deployments.push(DeploymentCount {
            environment: row.try_get("", "environment")?,
            strategy: row
                .try_get::<Option<String>>("", "strategy")?
                .unwrap_or_else(|| "unknown".into()),
            status,
            count: row.try_get("", "n")?,
        });
    }

    let mut approvals: BTreeMap<String, i64> =
        Decision::ALL.iter().map(|d| (d.to_string(), 0)).collect();
    for row in rows(
        db,
        "SELECT decision, COUNT(*) AS n FROM approvals GROUP BY decision",
    )
    .await?
    {
        approvals.insert(row.try_get("", "decision")?, row.try_get("", "n")?);
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
