//! The engine's Prometheus metrics (SPEC §8). Counts that must agree across
//! replicas are read from the database at scrape time; durations are observed
//! by the replica that finished the deployment (sum them across replicas).

use app::model::lifecycle::{Decision, DeploymentStatus, NodeStatus};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, Registry, TextEncoder,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    Statement,
};

use crate::entities::deployments;

use crate::services::ServiceError;

pub struct EngineMetrics {
    registry: Registry,
    duration: HistogramVec,
    approval_wait: Histogram,
    job_panics: IntCounter,
    worker_restarts: IntCounter,
}

impl EngineMetrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "hotswap_deployment_duration_seconds",
                "Time from start to end of finished deployments",
            )
            .buckets(vec![
                1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0,
            ]),
            &["environment", "strategy", "status"],
        )?;
        registry.register(Box::new(duration.clone()))?;
        let approval_wait = Histogram::with_opts(
            HistogramOpts::new(
                "hotswap_approval_wait_seconds",
                "Time from an approval request to its decision or expiry",
            )
            .buckets(vec![
                10.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 14400.0, 43200.0, 86400.0,
            ]),
        )?;
        registry.register(Box::new(approval_wait.clone()))?;
        let job_panics = IntCounter::new(
            "hotswap_engine_panics_total",
            "Deployments stopped because the engine panicked while advancing them",
        )?;
        registry.register(Box::new(job_panics.clone()))?;
        let worker_restarts = IntCounter::new(
            "hotswap_worker_restarts_total",
            "Orchestration workers that died and were started again",
        )?;
        registry.register(Box::new(worker_restarts.clone()))?;
        Ok(Self {
            registry,
            duration,
            approval_wait,
            job_panics,
            worker_restarts,
        })
    }

    pub fn job_panicked(&self) {
        self.job_panics.inc();
    }

    pub fn worker_restarted(&self) {
        self.worker_restarts.inc();
    }

    pub fn observe_approval_wait(&self, seconds: f64) {
        self.approval_wait.observe(seconds.max(0.0));
    }

    pub fn observe_finished(&self, environment: &str, strategy: &str, status: &str, seconds: f64) {
        self.duration
            .with_label_values(&[environment, strategy, status])
            .observe(seconds.max(0.0));
    }

    /// The engine's metrics in Prometheus text format.
    pub async fn render(&self, db: &DatabaseConnection) -> Result<String, ServiceError> {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .map_err(|e| anyhow::anyhow!(e))?;
        let mut text = String::from_utf8(buffer).map_err(|e| anyhow::anyhow!(e))?;
        text.push_str(&database_metrics(db).await?);
        Ok(text)
    }
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

async fn rows(
    db: &DatabaseConnection,
    sql: &str,
) -> Result<Vec<sea_orm::QueryResult>, ServiceError> {
    Ok(db
        .query_all(Statement::from_string(db.get_database_backend(), sql))
        .await?)
}

async fn database_metrics(db: &DatabaseConnection) -> Result<String, ServiceError> {
    let mut out = String::new();
    out.push_str(
        "# HELP hotswap_deployments_total Deployments by environment, strategy and status\n",
    );
    out.push_str("# TYPE hotswap_deployments_total counter\n");
    let mut active = 0i64;
    let mut by_labels: std::collections::BTreeMap<(String, String, String), i64> =
        Default::default();
    let sql = "SELECT e.name AS environment, d.strategy AS strategy, d.status AS status \
               FROM deployments d JOIN environments e ON e.id = d.environment_id";
    for row in rows(db, sql).await? {
        let environment: String = row.try_get("", "environment")?;
        let status: String = row.try_get("", "status")?;
        let strategy: serde_json::Value = row.try_get("", "strategy")?;
        let kind = strategy["kind"].as_str().unwrap_or("unknown").to_string();
        if DeploymentStatus::parse(&status).is_some_and(DeploymentStatus::is_active) {
            active += 1;
        }
        *by_labels.entry((environment, kind, status)).or_default() += 1;
    }
    for ((environment, strategy, status), n) in by_labels {
        out.push_str(&format!(
            "hotswap_deployments_total{{environment=\"{}\",strategy=\"{}\",status=\"{}\"}} {n}\n",
            label(&environment),
            label(&strategy),
            label(&status)
        ));
    }
    out.push_str("# HELP hotswap_active_deployments Deployments pending approval, queued, running or paused\n");
    out.push_str("# TYPE hotswap_active_deployments gauge\n");
    out.push_str(&format!("hotswap_active_deployments {active}\n"));

    out.push_str("# HELP hotswap_approvals_total Approval decisions, and requests that expired\n");
    out.push_str("# TYPE hotswap_approvals_total counter\n");
    let mut decisions: std::collections::BTreeMap<String, i64> =
        Decision::ALL.iter().map(|s| (s.to_string(), 0)).collect();
    for row in rows(
        db,
        "SELECT decision, COUNT(*) AS n FROM approvals GROUP BY decision",
    )
    .await?
    {
        let decision: String = row.try_get("", "decision")?;
        let n: i64 = row.try_get("", "n")?;
        decisions.insert(decision, n);
    }
    let expired = deployments::Entity::find()
        .filter(deployments::Column::Status.eq(DeploymentStatus::Expired))
        .count(db)
        .await?;
    decisions.insert(DeploymentStatus::Expired.to_string(), expired as i64);
    for (decision, n) in decisions {
        out.push_str(&format!(
            "hotswap_approvals_total{{decision=\"{}\"}} {n}\n",
            label(&decision)
        ));
    }

    let depth = crate::services::jobs::depth(db).await?;
    out.push_str("# HELP hotswap_job_queue_depth Jobs waiting or running in the queue\n");
    out.push_str("# TYPE hotswap_job_queue_depth gauge\n");
    out.push_str(&format!("hotswap_job_queue_depth {depth}\n"));

    out.push_str("# HELP hotswap_nodes Enrolled nodes by status\n");
    out.push_str("# TYPE hotswap_nodes gauge\n");
    let mut nodes: std::collections::BTreeMap<String, i64> =
        NodeStatus::ALL.iter().map(|s| (s.to_string(), 0)).collect();
    for row in rows(
        db,
        "SELECT status, COUNT(*) AS n FROM nodes GROUP BY status",
    )
    .await?
    {
        let status: String = row.try_get("", "status")?;
        let n: i64 = row.try_get("", "n")?;
        nodes.insert(status, n);
    }
    for (status, n) in nodes {
        out.push_str(&format!(
            "hotswap_nodes{{status=\"{}\"}} {n}\n",
            label(&status)
        ));
    }
    Ok(out)
}
