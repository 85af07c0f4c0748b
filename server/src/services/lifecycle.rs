//! The one owner of a deployment's status changes. Every change is
//! conditional on the status it leaves, so two writers racing (two workers,
//! a worker and a person, two replicas) move a deployment once; whoever
//! loses sees `false` and changes nothing else.
//!
//! The engine, the operator actions and approvals all change statuses here.
//! What they need of the engine (wake it, count what ended) they reach
//! through [`Orchestrator`], so this layer never depends on the workers.

use app::model::event::{self as ev, Event};
use app::model::lifecycle::{DeploymentStatus, NodeStatus, Stage};
use async_trait::async_trait;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, UpdateMany,
};

use crate::domain::plan::PlanNode;
use crate::entities::{deployments, environments, nodes};
use crate::services::{events, ServiceError};

/// What services ask of the engine.
#[async_trait]
pub trait Orchestrator: Send + Sync {
    /// The deployment changed: a worker should look at it now.
    async fn wake(&self, deployment_id: i64);
    /// New work was queued: idle workers should look.
    fn nudge(&self);
    /// Something the metrics count happened.
    fn observe(&self, observed: Observed<'_>);
}

/// What the metrics count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observed<'a> {
    /// A started deployment ended, after `seconds`.
    Finished {
        environment: &'a str,
        strategy: &'a str,
        status: DeploymentStatus,
        seconds: f64,
    },
    /// An approval request was settled (decided or expired) after `seconds`.
    ApprovalSettled { seconds: f64 },
}

/// The deployment moves to `to`, only if it is in one of `from` now. Callers
/// add the columns that change with it, then run it; one affected row means
/// this writer made the change.
pub fn transition(
    id: i64,
    from: &[DeploymentStatus],
    to: DeploymentStatus,
) -> UpdateMany<deployments::Entity> {
    deployments::Entity::update_many()
        .col_expr(deployments::Column::Status, Expr::value(to))
        .col_expr(deployments::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(deployments::Column::Id.eq(id))
        .filter(deployments::Column::Status.is_in(from.iter().copied()))
}

/// Ends a deployment once with `status` and `outcome`; a second call (a
/// racing worker) changes nothing. Returns whether this call ended it.
pub async fn finish(
    db: &DatabaseConnection,
    engine: &dyn Orchestrator,
    dep: &deployments::Model,
    status: DeploymentStatus,
    outcome: String,
) -> Result<bool, ServiceError> {
    let now = Utc::now();
    let active: Vec<DeploymentStatus> = DeploymentStatus::active().collect();
    let ended = transition(dep.id, &active, status)
        .col_expr(
            deployments::Column::Outcome,
            Expr::value(Some(outcome.clone())),
        )
        .col_expr(deployments::Column::FinishedAt, Expr::value(Some(now)))
        .exec(db)
        .await?;
    if ended.rows_affected != 1 {
        return Ok(false);
    }
    if let Some(started) = dep.started_at {
        let environment = environments::Entity::find_by_id(dep.environment_id)
            .one(db)
            .await?
            .map(|e| e.name)
            .unwrap_or_default();
        let strategy = dep.strategy.kind();
        engine.observe(Observed::Finished {
            environment: &environment,
            strategy,
            status,
            seconds: (now - started).num_milliseconds() as f64 / 1000.0,
        });
    }
    if let Some(event) = Event::ended(status, outcome) {
        events::append(db, dep.tenant_id, Some(dep.id), event).await?;
    }
    Ok(true)
}

/// Turns a running or paused deployment back, once: the engine then undoes
/// what it swapped. Returns whether this call turned it.
pub async fn begin_rollback(
    db: &DatabaseConnection,
    dep: &deployments::Model,
    reason: String,
) -> Result<bool, ServiceError> {
    let moved = transition(
        dep.id,
        &[DeploymentStatus::Running, DeploymentStatus::Paused],
        DeploymentStatus::Running,
    )
    .col_expr(deployments::Column::Stage, Expr::value(Stage::Rollback))
    .col_expr(
        deployments::Column::Outcome,
        Expr::value(Some(reason.clone())),
    )
    .filter(deployments::Column::Stage.ne(Stage::Rollback))
    .exec(db)
    .await?;
    if moved.rows_affected != 1 {
        return Ok(false);
    }
    events::append(
        db,
        dep.tenant_id,
        Some(dep.id),
        Event::RollbackStarted(ev::Reason { reason }),
    )
    .await?;
    Ok(true)
}

/// The nodes a roll-out in `env_id` covers, in the stable order plans use.
pub async fn plan_targets(
    db: &impl ConnectionTrait,
    env_id: i64,
) -> Result<Vec<PlanNode>, ServiceError> {
    let rows: Vec<(i64, Option<String>)> = nodes::Entity::find()
        .select_only()
        .columns([nodes::Column::Id, nodes::Column::Pool])
        .filter(nodes::Column::EnvironmentId.eq(env_id))
        .filter(nodes::Column::Status.ne(NodeStatus::Draining))
        .order_by_asc(nodes::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, pool)| PlanNode { id, pool })
        .collect())
}
