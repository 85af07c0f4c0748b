//! Between the steps table and an agent's socket: which commands a node should
//! receive now, and what its answers change.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::entities::{deployment_steps, deployments, module_versions, modules, nodes};
use crate::services::{events, ServiceError};
use app::model::event::{Event, NodeOutcome};
use app::model::lifecycle::{StepAction, StepStatus};
use hotswap_protocol::{CommandResult, ServerMessage, SwapCommand};

const OPEN: [StepStatus; 2] = [StepStatus::Pending, StepStatus::Sent];

/// Which already-sent commands go out again.
#[derive(Debug, Clone, Copy)]
pub enum Resend {
    /// Every unanswered one (a new connection: the agent answers those it ran
    /// from its journal instead of running them twice).
    All,
    /// Those unanswered for this long (their answer may have been lost).
    After(chrono::Duration),
}

/// How long a sent command waits for its answer before it goes out again
/// (its answer may have been lost); each resend waits once more.
pub fn resend_after() -> chrono::Duration {
    chrono::Duration::seconds(30)
}

/// Commands for `node_id`: pending steps become `sent`, and sent ones go out
/// again as `resend` says.
pub async fn commands_for(
    db: &DatabaseConnection,
    node_id: i64,
    resend: Resend,
) -> Result<Vec<ServerMessage>, ServiceError> {
    // `updated_at` stays the time a command was first sent (the step timeout
    // counts from it); each resend waits one more `age` than the last.
    let now = Utc::now();
    let stale = |step: &deployment_steps::Model| match resend {
        Resend::After(age) => step.updated_at + age * step.attempts.max(1) < now,
        _ => true,
    };
    let steps: Vec<_> = deployment_steps::Entity::find()
        .filter(deployment_steps::Column::NodeId.eq(node_id))
        .filter(deployment_steps::Column::Status.is_in(OPEN))
        .order_by_asc(deployment_steps::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter(|s| s.status == StepStatus::Pending || stale(s))
        .collect();
    let mut artifacts: HashMap<i64, Artifact> = HashMap::new();
    let mut messages = Vec::with_capacity(steps.len());
    for step in steps {
        if step.status == StepStatus::Pending {
            let claimed = deployment_steps::Entity::update_many()
                .col_expr(
                    deployment_steps::Column::Status,
                    Expr::value(StepStatus::Sent),
                )
                .col_expr(
                    deployment_steps::Column::Attempts,
                    (step.attempts + 1).into(),
                )
                .col_expr(deployment_steps::Column::UpdatedAt, Utc::now().into())
                .filter(deployment_steps::Column::Id.eq(step.id))
                .filter(deployment_steps::Column::Status.eq(StepStatus::Pending))
                .exec(db)
                .await?;
            if claimed.rows_affected == 0 {
                continue;
            }
        } else {
            deployment_steps::Entity::update_many()
                .col_expr(
                    deployment_steps::Column::Attempts,
                    (step.attempts + 1).into(),
                )
                .filter(deployment_steps::Column::Id.eq(step.id))
                .exec(db)
                .await?;
        }
        if let std::collections::hash_map::Entry::Vacant(slot) = artifacts.entry(step.deployment_id)
        {
            match Artifact::of_deployment(db, step.deployment_id).await? {
                Some(artifact) => slot.insert(artifact),
                None => continue,
            };
        }
        let Some(artifact) = artifacts.get(&step.deployment_id) else {
            continue;
        };
        messages.push(match step.action {
            StepAction::Rollback => ServerMessage::Rollback {
                command_id: step.command_id,
                module: artifact.module.clone(),
                to_version: step.target_version,
            },
            StepAction::Swap => ServerMessage::Swap(SwapCommand {
                command_id: step.command_id,
                module: artifact.module.clone(),
                version: artifact.version.clone(),
                url: artifact.artifact_url.clone(),
                sha256: artifact.sha256.clone(),
                signature: artifact.signature.clone(),
                public_key: artifact
                    .public_key
                    .clone()
                    .filter(|_| artifact.require_signature),
            }),
        });
    }
    Ok(messages)
}

/// What a deployment's commands carry of its module and version. Read by
/// joining, never by loading the deployment row: its plan lists every node,
/// and reading it for each of 10,000 nodes made delivery cost the square of
/// the fleet.
#[derive(Debug, sea_orm::FromQueryResult)]
struct Artifact {
    module: String,
    public_key: Option<String>,
    require_signature: bool,
    version: String,
    artifact_url: String,
    sha256: String,
    signature: Option<String>,
}

impl Artifact {
    async fn of_deployment(
        db: &DatabaseConnection,
        deployment_id: i64,
    ) -> Result<Option<Self>, ServiceError> {
        use sea_orm::sea_query::{Alias, Query};
        use sea_orm::{ConnectionTrait, FromQueryResult};
        let m = |c: modules::Column| (modules::Entity, c);
        let v = |c: module_versions::Column| (module_versions::Entity, c);
        let query = Query::select()
            .expr_as(Expr::col(m(modules::Column::Name)), Alias::new("module"))
            .column(m(modules::Column::PublicKey))
            .column(m(modules::Column::RequireSignature))
            .column(v(module_versions::Column::Version))
            .column(v(module_versions::Column::ArtifactUrl))
            .column(v(module_versions::Column::Sha256))
            .column(v(module_versions::Column::Signature))
            .from(deployments::Entity)
            .inner_join(
                module_versions::Entity,
                Expr::col(v(module_versions::Column::Id))
                    .equals((deployments::Entity, deployments::Column::ModuleVersionId)),
            )
            .inner_join(
                modules::Entity,
                Expr::col(m(modules::Column::Id))
                    .equals((deployments::Entity, deployments::Column::ModuleId)),
            )
            .and_where(Expr::col((deployments::Entity, deployments::Column::Id)).eq(deployment_id))
            .to_owned();
        let statement = db.get_database_backend().build(&query);
        Ok(Self::find_by_statement(statement).one(db).await?)
    }
}

/// Records an agent's answer. Returns the deployment to wake, if any.
pub async fn apply_result(
    db: &DatabaseConnection,
    node: &nodes::Model,
    result: CommandResult,
) -> Result<Option<i64>, ServiceError> {
    update_versions(db, node.id, &result.modules).await?;
    // A node may only answer for its own commands.
    let Some(step) = deployment_steps::Entity::find()
        .filter(deployment_steps::Column::CommandId.eq(result.command_id.as_str()))
        .filter(deployment_steps::Column::NodeId.eq(node.id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if !step.status.is_open() {
        return Ok(None);
    }
    let status = if result.ok {
        StepStatus::Done
    } else {
        StepStatus::Failed
    };
    let updated = deployment_steps::Entity::update_many()
        .col_expr(deployment_steps::Column::Status, Expr::value(status))
        .col_expr(
            deployment_steps::Column::Result,
            serde_json::to_value(&result).unwrap_or_default().into(),
        )
        .col_expr(deployment_steps::Column::UpdatedAt, Utc::now().into())
        .filter(deployment_steps::Column::Id.eq(step.id))
        .filter(deployment_steps::Column::Status.is_in(OPEN))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        return Ok(None);
    }
    let outcome = NodeOutcome {
        node: Some(node.name.clone()),
        node_id: Some(node.id),
        phase: step.phase,
        version: result.current_version.clone(),
        previous_version: result.previous_version.clone(),
        error: result.error.clone(),
    };
    let event = match (step.action, result.ok) {
        (StepAction::Rollback, true) => Event::NodeRolledBack(outcome),
        (StepAction::Rollback, false) => Event::NodeRollbackFailed(outcome),
        (StepAction::Swap, true) => Event::NodeSwapped(outcome),
        (StepAction::Swap, false) => Event::NodeSwapFailed(outcome),
    };
    events::append(db, step.tenant_id, Some(step.deployment_id), event).await?;
    // The engine has nothing to decide while other commands of this
    // deployment are still out (its periodic look catches silent nodes), so
    // only the last answer wakes it: one run per phase, not one per node.
    // Asked at every answer, so only whether one is left, by index: counting
    // them all made a roll-out cost the square of its nodes.
    let outstanding: Option<i64> = deployment_steps::Entity::find()
        .select_only()
        .column(deployment_steps::Column::Id)
        .filter(deployment_steps::Column::DeploymentId.eq(step.deployment_id))
        .filter(deployment_steps::Column::Status.is_in(OPEN))
        .into_tuple()
        .one(db)
        .await?;
    Ok(outstanding.is_none().then_some(step.deployment_id))
}

/// The nodes that have commands to deliver: pending ones, and sent ones
/// due to go again by the same rule as [`commands_for`] (each resend waits
/// once more), so a long swap does not wake its node at every sweep. One
/// query for the whole fleet, along the `(status, node_id)` index.
pub async fn nodes_with_due_commands(
    db: &DatabaseConnection,
    resend_after: chrono::Duration,
) -> Result<Vec<i64>, ServiceError> {
    let now = Utc::now();
    let due = sea_orm::Condition::any()
        .add(deployment_steps::Column::Status.eq(StepStatus::Pending))
        .add(
            sea_orm::Condition::all()
                .add(deployment_steps::Column::Status.eq(StepStatus::Sent))
                .add(deployment_steps::Column::UpdatedAt.lt(now - resend_after)),
        );
    let steps: Vec<(Option<i64>, StepStatus, chrono::DateTime<Utc>, i32)> =
        deployment_steps::Entity::find()
            .select_only()
            .column(deployment_steps::Column::NodeId)
            .column(deployment_steps::Column::Status)
            .column(deployment_steps::Column::UpdatedAt)
            .column(deployment_steps::Column::Attempts)
            .filter(due)
            .into_tuple()
            .all(db)
            .await?;
    let mut nodes: Vec<i64> = steps
        .into_iter()
        .filter(|(_, status, updated_at, attempts)| {
            *status == StepStatus::Pending || *updated_at + resend_after * (*attempts).max(1) < now
        })
        .filter_map(|(node, ..)| node)
        .collect();
    nodes.sort_unstable();
    nodes.dedup();
    Ok(nodes)
}

/// What the agent says it runs is the truth; the table follows.
pub async fn update_versions(
    db: &DatabaseConnection,
    node_id: i64,
    modules: &hotswap_protocol::Modules,
) -> Result<(), ServiceError> {
    let versions = serde_json::to_value(modules).unwrap_or_default();
    if let Some(node) = nodes::Entity::find_by_id(node_id).one(db).await? {
        if node.versions != versions {
            let mut active = node.into_active_model();
            active.versions = Set(versions);
            active.updated_at = Set(Utc::now());
            active.update(db).await?;
        }
    }
    Ok(())
}
