//! Starting deployments and the operator actions on them. The engine does the
//! rest; these only change rows and wake it.

use std::collections::{HashMap, HashSet};

use app::model::deployment::{
    DeployPreview, DeploymentDetail, NodeChange, NodeProgress, PhaseView,
};
use app::model::event::{self as ev, Event};
use app::model::lifecycle::{
    DeploymentStatus, NodeProgressState, NodeStatus, PhaseState, Stage, StepAction, StepStatus,
};
use app::model::role::Action;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, EntityTrait, FromQueryResult, IsolationLevel, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::plan::{plan, Plan, StoredPlan};
use crate::domain::strategy::Strategy;
use crate::entities::{
    deployment_steps, deployments, environments, memberships, module_versions, modules, nodes,
};
use crate::services::error::is_unique_violation;
use crate::services::jobs as queue;
use crate::services::lifecycle::{self, begin_rollback, plan_targets, transition, Orchestrator};
use crate::services::principal::Principal;
use crate::services::tenancy::{scoped, Tenant};
use crate::services::{events, sql, ServiceError};

#[derive(Debug, Deserialize)]
pub struct NewDeployment {
    pub module: String,
    pub version: String,
    pub environment: String,
    pub strategy: Option<Value>,
    /// Break glass: an Admin's reason to deploy inside a freeze window.
    #[serde(default)]
    pub override_freeze: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Created {
    pub id: i64,
    pub status: DeploymentStatus,
}

/// A request checked against the tenant's modules, environments and nodes.
struct Resolved {
    module: modules::Model,
    version: module_versions::Model,
    env: environments::Model,
    strategy: Strategy,
    plan: Plan,
}

async fn resolve(
    db: &DatabaseConnection,
    tenant: &Tenant,
    new: &NewDeployment,
) -> Result<Resolved, ServiceError> {
    let module = scoped::<modules::Entity>(tenant)
        .filter(modules::Column::Name.eq(new.module.trim()))
        .one(db)
        .await?
        .ok_or_else(|| {
            ServiceError::invalid("module", format!("no module named {:?}", new.module))
        })?;
    let version = scoped::<module_versions::Entity>(tenant)
        .filter(module_versions::Column::ModuleId.eq(module.id))
        .filter(module_versions::Column::Version.eq(new.version.trim()))
        .one(db)
        .await?
        .ok_or_else(|| {
            ServiceError::invalid(
                "version",
                format!("{} has no version {:?}", module.name, new.version),
            )
        })?;
    let env = scoped::<environments::Entity>(tenant)
        .filter(environments::Column::Name.eq(new.environment.trim()))
        .one(db)
        .await?
        .ok_or_else(|| {
            ServiceError::invalid(
                "environment",
                format!("no environment named {:?}", new.environment),
            )
        })?;
    let document = new
        .strategy
        .clone()
        .unwrap_or_else(|| env.default_strategy.clone());
    let strategy =
        Strategy::parse(&document).map_err(|e| ServiceError::invalid("strategy", e.to_string()))?;
    // Plan now as well, so an impossible roll-out is refused up front.
    let targets = plan_targets(db, env.id).await?;
    let plan = plan(&strategy, &targets, env.active_pool.as_deref())
        .map_err(|e| ServiceError::invalid("environment", format!("{}: {e}", env.name)))?;
    Ok(Resolved {
        module,
        version,
        env,
        strategy,
        plan,
    })
}

/// Deployment requests one person (or token owner) may make per minute.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit(pub u32);

pub async fn create(
    db: &DatabaseConnection,
    engine: &dyn Orchestrator,
    principal: &Principal,
    new: NewDeployment,
    rate: RateLimit,
) -> Result<Created, ServiceError> {
    principal.require(Action::Deploy)?;
    // A cheap refusal first, so a member over the limit costs one indexed
    // read, not a plan and a write; the count that decides is in `insert`.
    check_rate(db, rate, principal.tenant.id, principal.user_id, false).await?;
    let r = resolve(db, &principal.tenant, &new).await?;
    let reason = new
        .override_freeze
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let frozen = crate::services::freeze::in_force(db, r.env.id, Utc::now()).await?;
    if let Some(window) = &frozen {
        match reason {
            None => return Err(ServiceError::Conflict(window.refusal(&r.env.name))),
            Some(_) if !principal.role.allows(Action::Approve) => {
                return Err(ServiceError::Forbidden(format!(
                    "{} Only an Admin may override a freeze.",
                    window.refusal(&r.env.name)
                )))
            }
            Some(_) => {}
        }
    }
    let created = insert(
        db,
        engine,
        principal.tenant.id,
        Some(principal.user_id),
        &r.module,
        &r.version,
        &r.env,
        &r.strategy,
        None,
        Some(rate),
    )
    .await?;
    if let (Some(window), Some(reason)) = (frozen, reason) {
        let overridden = Event::FreezeOverridden(ev::FreezeOverridden {
            by: principal.username.clone(),
            reason: reason.to_string(),
            window: window.name.clone(),
            schedule: window.schedule.clone(),
        });
        let details = overridden.payload();
        events::append(db, principal.tenant.id, Some(created.id), overridden).await?;
        crate::services::audit::record(
            db,
            crate::services::audit::AuditRecord {
                tenant_id: Some(principal.tenant.id),
                actor_user_id: Some(principal.user_id),
                actor: principal.username.clone(),
                action: "override freeze window".into(),
                target: Some(format!("/api/v1/deployments/{}", created.id)),
                source_ip: None,
                outcome: "success",
                details,
            },
        )
        .await?;
    }
    Ok(created)
}

/// Deployment requests are limited per member (SPEC §8), counted from the
/// table so every replica agrees: the member's requests of the last minute,
/// a range of the `(tenant, requester, created_at)` index. The count that
/// decides is asked inside the transaction that inserts the request, after
/// the insert (`with_new`: the new row is among those counted), so
/// concurrent requests cannot all pass one count: SQLite has one writer,
/// and on PostgreSQL the member's row is locked first.
async fn check_rate(
    db: &impl ConnectionTrait,
    RateLimit(limit): RateLimit,
    tenant_id: i64,
    user_id: i64,
    with_new: bool,
) -> Result<(), ServiceError> {
    if limit == 0 {
        return Err(ServiceError::TooManyAttempts {
            retry_after_secs: 60,
        });
    }
    // Refused once the rows counted exceed what the limit allows.
    let allowed = u64::from(limit) + u64::from(with_new) - 1;
    let since = Utc::now() - chrono::Duration::minutes(1);
    #[derive(FromQueryResult)]
    struct Requested {
        created_at: chrono::DateTime<Utc>,
    }
    let query = deployments::Entity::find()
        .select_only()
        .column(deployments::Column::CreatedAt)
        .filter(deployments::Column::TenantId.eq(tenant_id))
        .filter(deployments::Column::RequestedBy.eq(user_id))
        .filter(deployments::Column::CreatedAt.gt(since))
        .order_by_asc(deployments::Column::CreatedAt);
    let statement = sql::limited(db.get_database_backend(), query.into_query(), allowed + 1);
    let recent = Requested::find_by_statement(statement).all(db).await?;
    match recent.first() {
        Some(oldest) if recent.len() as u64 > allowed => {
            let wait = (oldest.created_at - since).num_seconds().clamp(1, 60) as u64;
            Err(ServiceError::TooManyAttempts {
                retry_after_secs: wait,
            })
        }
        _ => Ok(()),
    }
}

/// On PostgreSQL, holds the member's row until the transaction ends, so one
/// member's requests are counted one at a time. (SQLite needs nothing: its
/// one writer already orders them, and a read before the first write could
/// fail under concurrent writers.)
async fn serialize_member(
    txn: &DatabaseTransaction,
    tenant_id: i64,
    user_id: i64,
) -> Result<(), ServiceError> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        memberships::Entity::find()
            .filter(memberships::Column::TenantId.eq(tenant_id))
            .filter(memberships::Column::UserId.eq(user_id))
            .lock_exclusive()
            .one(txn)
            .await?;
    }
    Ok(())
}

/// What `create` would do with `new`, without doing it: the phases, and each
/// node's version now and after.
pub async fn preview(
    db: &DatabaseConnection,
    principal: &Principal,
    new: NewDeployment,
) -> Result<DeployPreview, ServiceError> {
    principal.require(Action::Read)?;
    let r = resolve(db, &principal.tenant, &new).await?;
    let env_nodes = node_lines(db, r.env.id, &r.module.name).await?;
    // Each node's phase by look-up, not by a search per node.
    let mut phases_by_node: HashMap<i64, &str> = HashMap::new();
    for phase in &r.plan.phases {
        for node in &phase.nodes {
            phases_by_node.entry(*node).or_insert(&phase.label);
        }
    }
    let phase_of = |id: i64| phases_by_node.get(&id).map(|l| l.to_string());
    let nodes = env_nodes
        .iter()
        .map(|n| NodeChange {
            name: n.name.clone(),
            pool: n.pool.clone(),
            online: n.status == NodeStatus::Online,
            current: n.version.clone(),
            next: if phase_of(n.id).is_some() {
                r.version.version.clone()
            } else {
                n.version.as_deref().unwrap_or("nothing").to_string()
            },
            phase: phase_of(n.id),
        })
        .collect();
    let phases = r
        .plan
        .phases
        .iter()
        .enumerate()
        .map(|(i, phase)| PhaseView {
            index: i as i32,
            label: phase.label.clone(),
            nodes: phase.nodes.len(),
            wait_secs: phase.wait_secs,
            max_error_rate: phase.thresholds.map(|t| t.max_error_rate),
            max_p95_ms: phase.thresholds.map(|t| t.max_p95_ms),
            state: PhaseState::Pending,
        })
        .collect();
    Ok(DeployPreview {
        strategy: crate::domain::strategy::summarize(&r.strategy.to_document()),
        phases,
        nodes,
        requires_approval: r.env.requires_approval,
        required_approvals: r.env.required_approvals.max(1),
        freeze: crate::services::freeze::in_force(db, r.env.id, Utc::now())
            .await?
            .map(|w| w.refusal(&r.env.name)),
    })
}

#[allow(clippy::too_many_arguments)]
async fn insert(
    db: &DatabaseConnection,
    engine: &dyn Orchestrator,
    tenant_id: i64,
    requested_by: Option<i64>,
    module: &modules::Model,
    version: &module_versions::Model,
    env: &environments::Model,
    strategy: &Strategy,
    rollback_of: Option<i64>,
    rate: Option<RateLimit>,
) -> Result<Created, ServiceError> {
    let now = Utc::now();
    // A rollback restores a release that was already let through, so it does
    // not wait for approval again: it is the way back to safety.
    let gated = env.requires_approval && rollback_of.is_none();
    let (status, deadline) = if gated {
        let timeout = chrono::Duration::seconds(env.approval_timeout_secs.max(1));
        (DeploymentStatus::PendingApproval, Some(now + timeout))
    } else {
        (DeploymentStatus::Queued, None)
    };
    // Read committed on PostgreSQL whatever the server's default, so the
    // count after the member's lock sees the requests committed meanwhile.
    let txn = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            db.begin_with_config(Some(IsolationLevel::ReadCommitted), None)
                .await?
        }
        _ => db.begin().await?,
    };
    let limited = rate.zip(requested_by);
    if let Some((_, user_id)) = limited {
        serialize_member(&txn, tenant_id, user_id).await?;
    }
    // Write first: on SQLite a transaction that reads before writing can fail
    // under concurrent writers.
    let row = deployments::ActiveModel {
        tenant_id: Set(tenant_id),
        module_id: Set(module.id),
        module_version_id: Set(version.id),
        environment_id: Set(env.id),
        strategy: Set(strategy.into()),
        plan: Set(StoredPlan::NotStarted),
        status: Set(status),
        current_phase: Set(0),
        outcome: Set(None),
        requested_by: Set(requested_by),
        rollback_of: Set(rollback_of),
        created_at: Set(now),
        updated_at: Set(now),
        started_at: Set(None),
        finished_at: Set(None),
        stage: Set(Stage::Swap),
        phase_started_at: Set(None),
        skip_wait: Set(false),
        analyzed_at: Set(None),
        approval_deadline: Set(deadline),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            ServiceError::Conflict(format!(
                "{} already has an active deployment in {}; wait for it, or abort it first",
                module.name, env.name
            ))
        } else {
            e.into()
        }
    })?;
    if let Some((rate, user_id)) = limited {
        check_rate(&txn, rate, tenant_id, user_id, true).await?;
    }
    queue::enqueue(&txn, tenant_id, row.id).await?;
    events::append(
        &txn,
        tenant_id,
        Some(row.id),
        Event::DeploymentCreated(ev::Created {
            module: module.name.clone(),
            version: version.version.clone(),
            environment: env.name.clone(),
            strategy: strategy.to_document(),
            rollback_of,
        }),
    )
    .await?;
    if let Some(deadline) = deadline {
        events::append(
            &txn,
            tenant_id,
            Some(row.id),
            Event::ApprovalRequested(ev::ApprovalRequested {
                required: env.required_approvals,
                deadline,
                environment: env.name.clone(),
            }),
        )
        .await?;
    }
    txn.commit().await?;
    engine.nudge();
    Ok(Created { id: row.id, status })
}

async fn find(
    db: &DatabaseConnection,
    tenant: &Tenant,
    id: i64,
) -> Result<deployments::Model, ServiceError> {
    scoped::<deployments::Entity>(tenant)
        .filter(deployments::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("deployment"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Pause,
    Resume,
    Abort,
    Promote,
    Rollback,
    Cancel,
}

impl Verb {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pause" => Verb::Pause,
            "resume" => Verb::Resume,
            "abort" => Verb::Abort,
            "promote" => Verb::Promote,
            "rollback" => Verb::Rollback,
            "cancel" => Verb::Cancel,
            _ => return None,
        })
    }
}

/// Answer to an operator action: the deployment acted on (a rollback of a
/// finished deployment creates a new one and answers with that).
#[derive(Debug, Serialize, Deserialize)]
pub struct Acted {
    pub id: i64,
    pub status: DeploymentStatus,
}

pub async fn act(
    db: &DatabaseConnection,
    engine: &dyn Orchestrator,
    principal: &Principal,
    id: i64,
    verb: Verb,
) -> Result<Acted, ServiceError> {
    let dep = find(db, &principal.tenant, id).await?;
    match verb {
        Verb::Cancel => principal.require(Action::Deploy)?,
        _ => principal.require(Action::Operate)?,
    }
    let status = dep.status;
    let by = ev::Actor {
        by: principal.username.clone(),
    };
    let conflict = |what: &str| {
        ServiceError::Conflict(format!(
            "cannot {what} a deployment that is {}",
            status.label()
        ))
    };

    match verb {
        Verb::Pause | Verb::Resume => {
            let (from, to, word, event) = if verb == Verb::Pause {
                (
                    DeploymentStatus::Running,
                    DeploymentStatus::Paused,
                    "pause",
                    Event::Paused(by),
                )
            } else {
                (
                    DeploymentStatus::Paused,
                    DeploymentStatus::Running,
                    "resume",
                    Event::Resumed(by),
                )
            };
            // A rollback under way is not paused: it is the way back to safety.
            let moved = status == from
                && dep.stage != Stage::Rollback
                && transition(dep.id, &[from], to)
                    .exec(db)
                    .await?
                    .rows_affected
                    == 1;
            if !moved {
                return Err(conflict(word));
            }
            events::append(db, dep.tenant_id, Some(dep.id), event).await?;
        }
        Verb::Promote => {
            if status != DeploymentStatus::Running || dep.stage != Stage::Verify {
                return Err(ServiceError::Conflict(
                    "nothing to promote: the deployment is not waiting in a phase".into(),
                ));
            }
            deployments::Entity::update_many()
                .col_expr(deployments::Column::SkipWait, true.into())
                .filter(deployments::Column::Id.eq(dep.id))
                .exec(db)
                .await?;
            events::append(
                db,
                dep.tenant_id,
                Some(dep.id),
                Event::Promoted(ev::Promoted {
                    by: principal.username.clone(),
                    phase: dep.current_phase,
                }),
            )
            .await?;
        }
        Verb::Cancel => {
            if !matches!(
                status,
                DeploymentStatus::Queued | DeploymentStatus::PendingApproval
            ) {
                return Err(conflict("cancel"));
            }
            if dep.requested_by != Some(principal.user_id)
                && !principal.role.allows(Action::Approve)
            {
                return Err(ServiceError::Forbidden(
                    "only its requester or an Admin may cancel a deployment".into(),
                ));
            }
            lifecycle::finish(
                db,
                engine,
                &dep,
                DeploymentStatus::Cancelled,
                format!("cancelled by {}", principal.username),
            )
            .await?;
        }
        Verb::Abort | Verb::Rollback
            if matches!(
                status,
                DeploymentStatus::Queued | DeploymentStatus::PendingApproval
            ) =>
        {
            lifecycle::finish(
                db,
                engine,
                &dep,
                DeploymentStatus::Cancelled,
                format!("aborted by {} before it started", principal.username),
            )
            .await?;
        }
        Verb::Abort | Verb::Rollback
            if matches!(status, DeploymentStatus::Running | DeploymentStatus::Paused) =>
        {
            if dep.stage == Stage::Rollback {
                return Err(ServiceError::Conflict(
                    "the deployment is already rolling back".into(),
                ));
            }
            let word = if verb == Verb::Abort {
                "aborted"
            } else {
                "rolled back"
            };
            begin_rollback(db, &dep, format!("{word} by {}", principal.username)).await?;
        }
        Verb::Abort => return Err(conflict("abort")),
        Verb::Rollback => return roll_back_finished(db, engine, principal, &dep).await,
    }
    engine.wake(dep.id).await;
    let now = find(db, &principal.tenant, id).await?;
    Ok(Acted {
        id,
        status: now.status,
    })
}

/// Returns the environment to the version that ran before a finished deployment.
async fn roll_back_finished(
    db: &DatabaseConnection,
    engine: &dyn Orchestrator,
    principal: &Principal,
    dep: &deployments::Model,
) -> Result<Acted, ServiceError> {
    if dep.status != DeploymentStatus::Succeeded {
        return Err(ServiceError::Conflict(
            "only a succeeded deployment can be rolled back; this one changed nothing that stays"
                .into(),
        ));
    }
    let before = scoped::<deployments::Entity>(&principal.tenant)
        .filter(deployments::Column::ModuleId.eq(dep.module_id))
        .filter(deployments::Column::EnvironmentId.eq(dep.environment_id))
        .filter(deployments::Column::Status.eq(DeploymentStatus::Succeeded))
        .filter(deployments::Column::Id.lt(dep.id))
        .filter(deployments::Column::ModuleVersionId.ne(dep.module_version_id))
        .order_by_desc(deployments::Column::Id)
        .one(db)
        .await?
        .ok_or_else(|| {
            ServiceError::Conflict(
                "no earlier version of this module succeeded in this environment".into(),
            )
        })?;
    let module = modules::Entity::find_by_id(dep.module_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("module"))?;
    let version = module_versions::Entity::find_by_id(before.module_version_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("module version"))?;
    let env = environments::Entity::find_by_id(dep.environment_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("environment"))?;
    let created = insert(
        db,
        engine,
        principal.tenant.id,
        Some(principal.user_id),
        &module,
        &version,
        &env,
        &Strategy::Direct,
        Some(dep.id),
        None,
    )
    .await?;
    Ok(Acted {
        id: created.id,
        status: created.status,
    })
}

/// The full picture of one deployment for its detail view.
pub async fn detail(
    db: &DatabaseConnection,
    read: &crate::services::read::ReadModel,
    tenant: &Tenant,
    id: i64,
) -> Result<DeploymentDetail, ServiceError> {
    let dep = find(db, tenant, id).await?;
    let summary = read.deployment(tenant, id).await?;
    let mut plan = dep.plan.plan().cloned();
    // Not started yet (waiting for approval, or queued): show the plan it
    // would follow if it started now, so an approver sees what they approve.
    let waiting = matches!(
        dep.status,
        DeploymentStatus::PendingApproval | DeploymentStatus::Queued
    );
    if waiting {
        if let (Ok(strategy), Some(env)) = (
            dep.strategy.strategy(),
            environments::Entity::find_by_id(dep.environment_id)
                .one(db)
                .await?,
        ) {
            let targets = plan_targets(db, env.id).await?;
            plan = crate::domain::plan::plan(&strategy, &targets, env.active_pool.as_deref()).ok();
        }
    }
    let env_nodes = node_lines(db, dep.environment_id, &summary.module).await?;
    let steps = step_lines(db, dep.id).await?;
    let finished = dep.status.is_finished();
    let phases = plan
        .as_ref()
        .map(|p| {
            p.phases
                .iter()
                .enumerate()
                .map(|(i, phase)| {
                    let i = i as i32;
                    let state = if waiting {
                        PhaseState::Pending
                    } else if finished && dep.status == DeploymentStatus::Succeeded
                        || i < dep.current_phase
                    {
                        PhaseState::Done
                    } else if i == dep.current_phase && !finished {
                        PhaseState::Active
                    } else {
                        PhaseState::Pending
                    };
                    PhaseView {
                        index: i,
                        label: phase.label.clone(),
                        nodes: phase.nodes.len(),
                        wait_secs: phase.wait_secs,
                        max_error_rate: phase.thresholds.map(|t| t.max_error_rate),
                        max_p95_ms: phase.thresholds.map(|t| t.max_p95_ms),
                        state,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    // Looked up by node, not searched per node: at 10,000 nodes a search
    // per node is 10^8 comparisons for one page view.
    let in_plan: HashSet<i64> = plan
        .as_ref()
        .map(|p| {
            p.phases
                .iter()
                .flat_map(|ph| ph.nodes.iter().copied())
                .collect()
        })
        .unwrap_or_default();
    let mut steps_of: HashMap<i64, Vec<&StepLine>> = HashMap::new();
    for step in &steps {
        if let Some(node) = step.node_id {
            steps_of.entry(node).or_default().push(step);
        }
    }
    let nodes = env_nodes
        .into_iter()
        .filter(|n| in_plan.is_empty() || in_plan.contains(&n.id))
        .map(|n| {
            let mine = steps_of.get(&n.id).map(Vec::as_slice).unwrap_or_default();
            let rollback = mine.iter().find(|s| s.action == StepAction::Rollback);
            let swap = mine.iter().find(|s| s.action == StepAction::Swap);
            use NodeProgressState as P;
            let (state, error) = match (swap, rollback) {
                (_, Some(r)) if r.status == StepStatus::Done => (P::RolledBack, None),
                (_, Some(r)) if r.status == StepStatus::Failed => (P::Failed, r.error.clone()),
                (_, Some(_)) => (P::RollingBack, None),
                (Some(s), None) if s.status == StepStatus::Done => (P::Swapped, None),
                (Some(s), None) if s.status == StepStatus::Failed => (P::Failed, s.error.clone()),
                (Some(_), None) => (P::Swapping, None),
                (None, None) => (P::Waiting, None),
            };
            NodeProgress {
                id: n.id,
                name: n.name,
                pool: n.pool,
                online: n.status == NodeStatus::Online,
                state,
                version: n.version,
                error,
            }
        })
        .collect();
    let approval = crate::services::approvals::state_of(db, &dep).await?;
    Ok(DeploymentDetail {
        summary,
        strategy_document: dep.strategy.document().clone(),
        outcome: dep.outcome,
        current_phase: dep.current_phase,
        stage: dep.stage,
        started_at: dep.started_at,
        rollback_of: dep.rollback_of,
        phases,
        nodes,
        approval,
    })
}

/// What the detail page and the preview show of a node, and no more: a page
/// over thousands of nodes never decodes their version documents.
#[derive(Debug, FromQueryResult)]
struct NodeLine {
    id: i64,
    name: String,
    pool: Option<String>,
    status: NodeStatus,
    /// What it reports running of the module in question.
    version: Option<String>,
}

/// The nodes of an environment, in enrollment order.
async fn node_lines(
    db: &DatabaseConnection,
    environment_id: i64,
    module: &str,
) -> Result<Vec<NodeLine>, ServiceError> {
    Ok(nodes::Entity::find()
        .select_only()
        .columns([
            nodes::Column::Id,
            nodes::Column::Name,
            nodes::Column::Pool,
            nodes::Column::Status,
        ])
        .column_as(sql::json_text(nodes::Column::Versions, module), "version")
        .filter(nodes::Column::EnvironmentId.eq(environment_id))
        .order_by_asc(nodes::Column::Id)
        .into_model::<NodeLine>()
        .all(db)
        .await?)
}

/// What the detail page shows of a step: its node, what it did, how it
/// ended, and the agent's error if it failed.
#[derive(Debug, FromQueryResult)]
struct StepLine {
    node_id: Option<i64>,
    action: StepAction,
    status: StepStatus,
    error: Option<String>,
}

async fn step_lines(
    db: &DatabaseConnection,
    deployment: i64,
) -> Result<Vec<StepLine>, ServiceError> {
    use deployment_steps::Column as C;
    Ok(deployment_steps::Entity::find()
        .select_only()
        .columns([C::NodeId, C::Action, C::Status])
        .column_as(sql::json_text(C::Result, "error"), "error")
        .filter(C::DeploymentId.eq(deployment))
        .order_by_asc(C::Id)
        .into_model::<StepLine>()
        .all(db)
        .await?)
}

/// Exists and belongs to the tenant (for event listings).
pub async fn check_visible(
    db: &DatabaseConnection,
    tenant: &Tenant,
    id: i64,
) -> Result<(), ServiceError> {
    find(db, tenant, id).await.map(|_| ())
}
