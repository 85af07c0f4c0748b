//! Between the steps table and an agent's socket: which commands a node should
//! receive now, and what its answers change.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
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
    /// Only pending ones (a nudge).
    None,
    /// Every unanswered one (a new connection: the agent answers those it ran
    /// from its journal instead of running them twice).
    All,
    /// Those unanswered for this long (their answer may have been lost).
    After(chrono::Duration),
}

/// Commands for `node_id`: pending steps become `sent`, and sent ones go out
/// again as `resend` says.
pub async fn commands_for(
    db: &DatabaseConnection,
    node_id: i64,
    resend: Resend,
) -> Result<Vec<ServerMessage>, ServiceError> {
    let statuses: &[StepStatus] = match resend {
        Resend::None => &[StepStatus::Pending],
        _ => &OPEN,
    };
    // `updated_at` stays the time a command was first sent (the step timeout
    // counts from it); each resend waits one more `age` than the last.
    let now = Utc::now();
    let stale = |step: &deployment_steps::Model| match resend {
        Resend::After(age) => step.updated_at + age * step.attempts.max(1) < now,
        _ => true,
    };
    let steps: Vec<_> = deployment_steps::Entity::find()
        .filter(deployment_steps::Column::NodeId.eq(node_id))
        .filter(deployment_steps::Column::Status.is_in(statuses.iter().copied()))
        .order_by_asc(deployment_steps::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter(|s| s.status == StepStatus::Pending || stale(s))
        .collect();
    let mut artifacts: HashMap<i64, (module_versions::Model, modules::Model)> = HashMap::new();
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
            let Some(deployment) = deployments::Entity::find_by_id(step.deployment_id)
                .one(db)
                .await?
            else {
                continue;
            };
            let version = module_versions::Entity::find_by_id(deployment.module_version_id)
                .one(db)
                .await?
                .ok_or(ServiceError::NotFound("module version"))?;
            let module = modules::Entity::find_by_id(deployment.module_id)
                .one(db)
                .await?
                .ok_or(ServiceError::NotFound("module"))?;
            slot.insert((version, module));
        }
        let Some((version, module)) = artifacts.get(&step.deployment_id) else {
            continue;
        };
        messages.push(match step.action {
            StepAction::Rollback => ServerMessage::Rollback {
                command_id: step.command_id,
                module: module.name.clone(),
                to_version: step.target_version,
            },
            StepAction::Swap => ServerMessage::Swap(SwapCommand {
                command_id: step.command_id,
                module: module.name.clone(),
                version: version.version.clone(),
                url: version.artifact_url.clone(),
                sha256: version.sha256.clone(),
                signature: version.signature.clone(),
                public_key: module
                    .public_key
                    .clone()
                    .filter(|_| module.require_signature),
            }),
        });
    }
    Ok(messages)
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
    use sea_orm::PaginatorTrait;
    let outstanding = deployment_steps::Entity::find()
        .filter(deployment_steps::Column::DeploymentId.eq(step.deployment_id))
        .filter(deployment_steps::Column::Status.is_in(OPEN))
        .count(db)
        .await?;
    Ok((outstanding == 0).then_some(step.deployment_id))
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
