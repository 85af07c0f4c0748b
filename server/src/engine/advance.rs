//! Moving one deployment forward by as much as it can go now. Every write is
//! conditional or keyed by a unique command id, so running this twice — after
//! a crash, or by two workers in a race — never does a step twice.

use std::collections::HashMap;

use app::model::event::{self as ev, Event, EventKind};
use app::model::lifecycle::{DeploymentStatus, NodeStatus, Stage, StepAction, StepStatus};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;

use crate::domain::analysis::{decide, Verdict};
use crate::domain::plan::{plan, Phase, PhaseAction, Plan};
use crate::domain::strategy::Strategy;
use crate::engine::providers::{self, Window};
use crate::engine::Engine;
use crate::entities::{
    deployment_steps, deployments, environments, module_versions, modules, nodes,
};
use crate::services::lifecycle::{self, plan_targets, transition};
use crate::services::{events, ServiceError};

/// When to look at the deployment again.
#[derive(Debug, PartialEq)]
pub enum Next {
    At(DateTime<Utc>),
    Done,
}

/// Rollback steps live outside the plan's phases.
pub const ROLLBACK_PHASE: i32 = -1;

const POLL: i64 = 1;

fn soon() -> Next {
    Next::At(Utc::now() + Duration::seconds(POLL))
}

/// Analysis settings of an environment (`analysis` column).
struct Analysis {
    interval: Duration,
    min_requests: u64,
    inconclusive_passes: bool,
}

fn analysis_of(env: &environments::Model) -> Analysis {
    let doc = &env.analysis;
    // Bounded, so a stored value from before the bound cannot overflow a time.
    let interval = app::model::duration::BoundedDuration::from_json(
        &doc["interval"],
        &app::model::duration::ANALYSIS_INTERVAL,
    )
    .map(|d| d.to_chrono())
    .unwrap_or(Duration::seconds(30));
    Analysis {
        interval,
        min_requests: doc["min_samples"].as_u64().unwrap_or(10),
        inconclusive_passes: doc["inconclusive"].as_str() == Some("pass"),
    }
}

pub async fn advance(engine: &Engine, deployment_id: i64) -> Result<Next, ServiceError> {
    let db = engine.db();
    let Some(dep) = deployments::Entity::find_by_id(deployment_id)
        .one(db)
        .await?
    else {
        return Ok(Next::Done);
    };
    match dep.status {
        DeploymentStatus::Queued => start(engine, dep).await,
        DeploymentStatus::Running => {
            let plan: Plan = serde_json::from_value(dep.plan.clone()).map_err(|e| {
                anyhow::anyhow!("deployment {deployment_id} has an unreadable plan: {e}")
            })?;
            let env = environments::Entity::find_by_id(dep.environment_id)
                .one(db)
                .await?
                .ok_or(ServiceError::NotFound("environment"))?;
            match dep.stage {
                Stage::Rollback => roll_back(engine, dep, &plan, &env).await,
                Stage::Verify => verify(engine, dep, &plan, &env).await,
                Stage::Swap => swap(engine, dep, &plan, &env).await,
            }
        }
        // Waiting on a person; their action wakes the job.
        DeploymentStatus::Paused | DeploymentStatus::PendingApproval => {
            Ok(Next::At(Utc::now() + Duration::seconds(60)))
        }
        _ => Ok(Next::Done),
    }
}

async fn start(engine: &Engine, dep: deployments::Model) -> Result<Next, ServiceError> {
    let db = engine.db();
    let env = environments::Entity::find_by_id(dep.environment_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("environment"))?;
    // Stored before today's bounds, it may no longer be valid: the deployment
    // fails rather than retrying for ever.
    let strategy = match Strategy::parse(&dep.strategy) {
        Ok(strategy) => strategy,
        Err(error) => {
            finish(
                engine,
                &dep,
                DeploymentStatus::Failed,
                format!("its strategy is no longer valid: {error}"),
            )
            .await?;
            return Ok(Next::Done);
        }
    };
    let targets = plan_targets(db, env.id).await?;
    let now = Utc::now();
    let planned = match plan(&strategy, &targets, env.active_pool.as_deref()) {
        Ok(p) => p,
        Err(error) => {
            finish(
                engine,
                &dep,
                DeploymentStatus::Failed,
                format!("could not plan: {error}"),
            )
            .await?;
            return Ok(Next::Done);
        }
    };
    let started = transition(
        dep.id,
        &[DeploymentStatus::Queued],
        DeploymentStatus::Running,
    )
    .col_expr(
        deployments::Column::Plan,
        serde_json::to_value(&planned).unwrap_or_default().into(),
    )
    .col_expr(deployments::Column::CurrentPhase, 0.into())
    .col_expr(deployments::Column::Stage, Expr::value(Stage::Swap))
    .col_expr(deployments::Column::StartedAt, Some(now).into())
    .exec(db)
    .await?;
    if started.rows_affected == 1 {
        events::append(
            db,
            dep.tenant_id,
            Some(dep.id),
            Event::DeploymentStarted(ev::Started {
                strategy: strategy.kind().to_string(),
                nodes: targets.len(),
                phases: planned.phases.iter().map(|p| p.label.clone()).collect(),
            }),
        )
        .await?;
    }
    Ok(Next::At(Utc::now()))
}

async fn finish(
    engine: &Engine,
    dep: &deployments::Model,
    status: DeploymentStatus,
    outcome: String,
) -> Result<(), ServiceError> {
    lifecycle::finish(engine.db(), engine, dep, status, outcome).await?;
    Ok(())
}

/// Turns the deployment back and looks again at once.
async fn begin_rollback(
    db: &DatabaseConnection,
    dep: &deployments::Model,
    reason: String,
) -> Result<Next, ServiceError> {
    lifecycle::begin_rollback(db, dep, reason).await?;
    Ok(Next::At(Utc::now()))
}

/// Nodes by id, for names in messages and liveness.
async fn nodes_of(
    db: &DatabaseConnection,
    env_id: i64,
) -> Result<HashMap<i64, nodes::Model>, ServiceError> {
    Ok(nodes::Entity::find()
        .filter(nodes::Column::EnvironmentId.eq(env_id))
        .all(db)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect())
}

fn command_id(dep: i64, phase: i32, node: i64, action: StepAction) -> String {
    if phase == ROLLBACK_PHASE {
        format!("d{dep}-rollback-n{node}")
    } else {
        format!("d{dep}-p{phase}-n{node}-{action}")
    }
}

/// Inserts the steps that do not exist yet and nudges their nodes' connections.
async fn ensure_steps(
    engine: &Engine,
    dep: &deployments::Model,
    phase: i32,
    action: StepAction,
    wanted: &[(i64, Option<String>)],
    existing: &[deployment_steps::Model],
) -> Result<(), ServiceError> {
    let db = engine.db();
    let now = Utc::now();
    let created: Vec<i64> = wanted
        .iter()
        .map(|(node, _)| *node)
        .filter(|node| !existing.iter().any(|s| s.node_id == Some(*node)))
        .collect();
    let rows: Vec<deployment_steps::ActiveModel> = wanted
        .iter()
        .filter(|(node, _)| created.contains(node))
        .map(|(node_id, target)| deployment_steps::ActiveModel {
            tenant_id: Set(dep.tenant_id),
            deployment_id: Set(dep.id),
            phase: Set(phase),
            node_id: Set(Some(*node_id)),
            action: Set(action),
            command_id: Set(command_id(dep.id, phase, *node_id, action)),
            status: Set(StepStatus::Pending),
            attempts: Set(0),
            result: Set(None),
            target_version: Set(target.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    // One statement per few hundred steps; a command id a racing worker
    // already inserted is the same command, so it is skipped, not an error.
    for chunk in rows.chunks(500) {
        deployment_steps::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(deployment_steps::Column::CommandId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    engine.announce_commands(&created).await;
    Ok(())
}

/// Makes sure the phase's steps exist and fails those whose node went silent.
/// `None` while any is still unanswered; else the steps and the nodes by id.
async fn run_steps(
    engine: &Engine,
    dep: &deployments::Model,
    env_id: i64,
    phase: i32,
    action: StepAction,
    wanted: &[(i64, Option<String>)],
) -> Result<Option<(Vec<deployment_steps::Model>, HashMap<i64, nodes::Model>)>, ServiceError> {
    let db = engine.db();
    let mut steps = steps_of(db, dep.id, Some(phase), action).await?;
    if steps.len() < wanted.len() {
        ensure_steps(engine, dep, phase, action, wanted, &steps).await?;
        steps = steps_of(db, dep.id, Some(phase), action).await?;
    }
    let nodes = nodes_of(db, env_id).await?;
    fail_stale(engine, &mut steps, &nodes).await?;
    if steps.iter().any(|s| s.status.is_open()) {
        return Ok(None);
    }
    Ok(Some((steps, nodes)))
}

/// Fails unanswered steps whose node went silent or which waited too long.
async fn fail_stale(
    engine: &Engine,
    steps: &mut [deployment_steps::Model],
    nodes: &HashMap<i64, nodes::Model>,
) -> Result<(), ServiceError> {
    let db = engine.db();
    let now = Utc::now();
    let silent_since = now - engine.config().node_timeout;
    for step in steps.iter_mut().filter(|s| s.status.is_open()) {
        let node = step.node_id.and_then(|id| nodes.get(&id));
        let reason = match node {
            None => Some("the node was removed".to_string()),
            Some(n)
                if n.status != NodeStatus::Online
                    && n.last_heartbeat_at.is_none_or(|t| t < silent_since)
                    && step.created_at < silent_since =>
            {
                Some(format!("node {} is offline", n.name))
            }
            Some(n)
                if step.status == StepStatus::Sent
                    && step.updated_at < now - engine.config().step_timeout =>
            {
                Some(format!("node {} did not answer in time", n.name))
            }
            _ => None,
        };
        let Some(reason) = reason else { continue };
        let failed = deployment_steps::Entity::update_many()
            .col_expr(
                deployment_steps::Column::Status,
                Expr::value(StepStatus::Failed),
            )
            .col_expr(
                deployment_steps::Column::Result,
                Some(json!({ "ok": false, "error": reason })).into(),
            )
            .col_expr(deployment_steps::Column::UpdatedAt, now.into())
            .filter(deployment_steps::Column::Id.eq(step.id))
            .filter(deployment_steps::Column::Status.is_in([StepStatus::Pending, StepStatus::Sent]))
            .exec(db)
            .await?;
        if failed.rows_affected == 1 {
            step.status = StepStatus::Failed;
            step.result = Some(json!({ "ok": false, "error": reason }));
            let outcome = ev::NodeOutcome {
                node: node.map(|n| n.name.clone()),
                node_id: step.node_id,
                phase: step.phase,
                error: Some(reason),
                ..Default::default()
            };
            let event = match step.action {
                StepAction::Rollback => Event::NodeRollbackFailed(outcome),
                StepAction::Swap => Event::NodeSwapFailed(outcome),
            };
            events::append(db, step.tenant_id, Some(step.deployment_id), event).await?;
        }
    }
    Ok(())
}

fn step_error(step: &deployment_steps::Model, nodes: &HashMap<i64, nodes::Model>) -> String {
    let name = step
        .node_id
        .and_then(|id| nodes.get(&id))
        .map(|n| n.name.clone())
        .unwrap_or_else(|| "a removed node".into());
    let error = step
        .result
        .as_ref()
        .and_then(|r| r["error"].as_str())
        .unwrap_or("failed");
    format!("{name}: {error}")
}

async fn steps_of(
    db: &DatabaseConnection,
    dep: i64,
    phase: Option<i32>,
    action: StepAction,
) -> Result<Vec<deployment_steps::Model>, ServiceError> {
    let mut query = deployment_steps::Entity::find()
        .filter(deployment_steps::Column::DeploymentId.eq(dep))
        .filter(deployment_steps::Column::Action.eq(action));
    if let Some(phase) = phase {
        query = query.filter(deployment_steps::Column::Phase.eq(phase));
    }
    Ok(query
        .order_by_asc(deployment_steps::Column::Id)
        .all(db)
        .await?)
}

async fn swap(
    engine: &Engine,
    dep: deployments::Model,
    plan: &Plan,
    env: &environments::Model,
) -> Result<Next, ServiceError> {
    let db = engine.db();
    let index = dep.current_phase;
    let Some(phase) = plan.phases.get(index as usize) else {
        return next_phase(engine, dep, plan).await;
    };
    match &phase.action {
        PhaseAction::Switch { to_pool } => {
            let outcome = super::switch::run(
                env.switch_hook.as_ref(),
                engine.client(),
                &engine.config().switch_commands,
                &env.name,
                plan.previous_pool.as_deref(),
                to_pool,
            )
            .await;
            match outcome {
                Ok(()) => {
                    set_active_pool(db, env, Some(to_pool)).await?;
                    events::append(
                        db,
                        dep.tenant_id,
                        Some(dep.id),
                        Event::TrafficSwitched(ev::TrafficSwitched {
                            environment: env.name.clone(),
                            from: plan.previous_pool.clone(),
                            to: to_pool.clone(),
                            rollback: false,
                        }),
                    )
                    .await?;
                    enter_verify(db, &dep, phase).await
                }
                Err(error) => {
                    begin_rollback(db, &dep, format!("the switch to {to_pool} failed: {error}"))
                        .await
                }
            }
        }
        PhaseAction::Swap => {
            if steps_of(db, dep.id, Some(index), StepAction::Swap)
                .await?
                .is_empty()
            {
                events::append(
                    db,
                    dep.tenant_id,
                    Some(dep.id),
                    Event::PhaseStarted(ev::PhaseStarted {
                        phase: index,
                        label: phase.label.clone(),
                        nodes: phase.nodes.len(),
                    }),
                )
                .await?;
            }
            let wanted: Vec<_> = phase.nodes.iter().map(|n| (*n, None)).collect();
            let Some((steps, nodes)) =
                run_steps(engine, &dep, env.id, index, StepAction::Swap, &wanted).await?
            else {
                return Ok(soon());
            };
            let all_failed: Vec<_> = steps_of(db, dep.id, None, StepAction::Swap)
                .await?
                .into_iter()
                .filter(|s| s.status == StepStatus::Failed)
                .collect();
            if all_failed.len() as u32 > plan.max_failed {
                let first = all_failed
                    .first()
                    .map(|s| step_error(s, &nodes))
                    .unwrap_or_default();
                let reason = if all_failed.len() == 1 {
                    format!("{} failed: {first}", phase.label)
                } else {
                    format!(
                        "{} nodes failed (at most {} may); first: {first}",
                        all_failed.len(),
                        plan.max_failed
                    )
                };
                return begin_rollback(db, &dep, reason).await;
            }
            events::append(
                db,
                dep.tenant_id,
                Some(dep.id),
                Event::PhaseSwapped(ev::PhaseSwapped {
                    phase: index,
                    label: phase.label.clone(),
                    swapped: steps
                        .iter()
                        .filter(|s| s.status == StepStatus::Done)
                        .count(),
                    failed: steps
                        .iter()
                        .filter(|s| s.status == StepStatus::Failed)
                        .count(),
                }),
            )
            .await?;
            enter_verify(db, &dep, phase).await
        }
    }
}

async fn enter_verify(
    db: &DatabaseConnection,
    dep: &deployments::Model,
    phase: &Phase,
) -> Result<Next, ServiceError> {
    let now = Utc::now();
    let mut active = dep.clone().into_active_model();
    active.stage = Set(Stage::Verify);
    active.phase_started_at = Set(Some(now));
    active.analyzed_at = Set(Some(now));
    active.updated_at = Set(now);
    active.update(db).await?;
    Ok(if phase.wait_secs == 0 {
        Next::At(now)
    } else {
        Next::At(now + Duration::seconds(1))
    })
}

async fn verify(
    engine: &Engine,
    dep: deployments::Model,
    plan: &Plan,
    env: &environments::Model,
) -> Result<Next, ServiceError> {
    let db = engine.db();
    let Some(phase) = plan.phases.get(dep.current_phase as usize) else {
        return next_phase(engine, dep, plan).await;
    };
    let now = Utc::now();
    let started = dep.phase_started_at.unwrap_or(now);
    let deadline = started + Duration::seconds(phase.wait_secs as i64);
    if dep.skip_wait {
        return next_phase(engine, dep, plan).await;
    }
    let Some(thresholds) = phase.thresholds else {
        return if now >= deadline {
            next_phase(engine, dep, plan).await
        } else {
            Ok(Next::At(deadline))
        };
    };
    let settings = analysis_of(env);
    let canaries: Vec<i64> = steps_of(db, dep.id, None, StepAction::Swap)
        .await?
        .into_iter()
        .filter(|s| s.status == StepStatus::Done)
        .filter_map(|s| s.node_id)
        .collect();
    let analyzed = dep.analyzed_at.unwrap_or(started);
    if now >= analyzed + settings.interval || now >= deadline {
        let names: Vec<String> = {
            let nodes = nodes_of(db, env.id).await?;
            canaries
                .iter()
                .filter_map(|id| nodes.get(id).map(|n| n.name.clone()))
                .collect()
        };
        let version = module_versions::Entity::find_by_id(dep.module_version_id)
            .one(db)
            .await?
            .ok_or(ServiceError::NotFound("module version"))?;
        let module = modules::Entity::find_by_id(dep.module_id)
            .one(db)
            .await?
            .ok_or(ServiceError::NotFound("module"))?;
        let judge = |since: DateTime<Utc>| {
            let window = Window {
                module: &module.name,
                version: &version.version,
                node_ids: &canaries,
                node_names: &names,
                since,
                until: now,
            };
            let analysis = env.analysis.clone();
            async move {
                match providers::samples(db, engine.client(), &analysis, &window).await {
                    Ok(samples) => decide(&samples, &thresholds, settings.min_requests),
                    Err(error) => {
                        let mut d = decide(&[], &thresholds, settings.min_requests);
                        d.reason = format!("no samples: {error}");
                        d
                    }
                }
            }
        };
        let decision = judge(analyzed).await;
        events::append(
            db,
            dep.tenant_id,
            Some(dep.id),
            Event::Analysis(ev::Analysis {
                phase: dep.current_phase,
                label: phase.label.clone(),
                verdict: decision.verdict,
                reason: decision.reason.clone(),
                requests: decision.requests,
                errors: decision.errors,
                error_rate: decision.error_rate,
                p95_ms: decision.p95_ms,
                max_error_rate: thresholds.max_error_rate,
                max_p95_ms: thresholds.max_p95_ms,
                canaries: canaries.len(),
            }),
        )
        .await?;
        if decision.verdict == Verdict::Fail {
            return begin_rollback(db, &dep, format!("{}: {}", phase.label, decision.reason)).await;
        }
        let mut active = dep.clone().into_active_model();
        active.analyzed_at = Set(Some(now));
        active.updated_at = Set(now);
        let dep = active.update(db).await?;
        if now >= deadline {
            // The phase as a whole must have enough evidence.
            let whole = judge(started).await;
            return match whole.verdict {
                Verdict::Pass => next_phase(engine, dep, plan).await,
                Verdict::Inconclusive if settings.inconclusive_passes => {
                    next_phase(engine, dep, plan).await
                }
                Verdict::Inconclusive => {
                    begin_rollback(
                        db,
                        &dep,
                        format!(
                            "{}: inconclusive at the end of the phase: {}",
                            phase.label, whole.reason
                        ),
                    )
                    .await
                }
                Verdict::Fail => {
                    begin_rollback(db, &dep, format!("{}: {}", phase.label, whole.reason)).await
                }
            };
        }
    }
    let next_look = (analyzed + settings.interval).max(now + Duration::milliseconds(200));
    Ok(Next::At(next_look.min(deadline)))
}

async fn next_phase(
    engine: &Engine,
    dep: deployments::Model,
    plan: &Plan,
) -> Result<Next, ServiceError> {
    let db = engine.db();
    let next = dep.current_phase + 1;
    if next as usize >= plan.phases.len() {
        let nodes: usize = plan.phases.iter().map(|p| p.nodes.len()).sum();
        finish(
            engine,
            &dep,
            DeploymentStatus::Succeeded,
            format!("{nodes} nodes swapped"),
        )
        .await?;
        return Ok(Next::Done);
    }
    let now = Utc::now();
    let mut active = dep.into_active_model();
    active.current_phase = Set(next);
    active.stage = Set(Stage::Swap);
    active.skip_wait = Set(false);
    active.updated_at = Set(now);
    active.update(db).await?;
    Ok(Next::At(now))
}

async fn roll_back(
    engine: &Engine,
    dep: deployments::Model,
    plan: &Plan,
    env: &environments::Model,
) -> Result<Next, ServiceError> {
    let db = engine.db();
    // Blue-green: traffic goes back to the old pool first; that is the instant part.
    let mut switch_error = None;
    if let Some(previous) = &plan.previous_pool {
        if env.active_pool.as_deref() != Some(previous.as_str())
            && traffic_moved(db, dep.id).await?
        {
            let from = env.active_pool.clone();
            match super::switch::run(
                env.switch_hook.as_ref(),
                engine.client(),
                &engine.config().switch_commands,
                &env.name,
                from.as_deref(),
                previous,
            )
            .await
            {
                Ok(()) => {
                    set_active_pool(db, env, Some(previous)).await?;
                    events::append(
                        db,
                        dep.tenant_id,
                        Some(dep.id),
                        Event::TrafficSwitched(ev::TrafficSwitched {
                            environment: env.name.clone(),
                            from,
                            to: previous.clone(),
                            rollback: true,
                        }),
                    )
                    .await?;
                }
                Err(error) => {
                    switch_error = Some(format!(
                        "switching traffic back to {previous} failed: {error}"
                    ))
                }
            }
        }
    }
    let swapped: Vec<_> = steps_of(db, dep.id, None, StepAction::Swap)
        .await?
        .into_iter()
        .filter(|s| s.status == StepStatus::Done)
        .filter_map(|s| {
            let node = s.node_id?;
            let previous = s
                .result
                .as_ref()
                .and_then(|r| r["previous_version"].as_str().map(str::to_string));
            Some((node, previous))
        })
        .collect();
    let Some((steps, nodes)) = run_steps(
        engine,
        &dep,
        env.id,
        ROLLBACK_PHASE,
        StepAction::Rollback,
        &swapped,
    )
    .await?
    else {
        return Ok(soon());
    };
    let reason = dep.outcome.clone().unwrap_or_else(|| "rolled back".into());
    let failures: Vec<String> = steps
        .iter()
        .filter(|s| s.status == StepStatus::Failed)
        .map(|s| step_error(s, &nodes))
        .chain(switch_error)
        .collect();
    if failures.is_empty() {
        finish(engine, &dep, DeploymentStatus::RolledBack, reason).await?;
    } else {
        finish(
            engine,
            &dep,
            DeploymentStatus::Failed,
            format!("{reason}; the rollback failed too: {}", failures.join("; ")),
        )
        .await?;
    }
    Ok(Next::Done)
}

async fn traffic_moved(db: &DatabaseConnection, dep: i64) -> Result<bool, ServiceError> {
    use sea_orm::PaginatorTrait;
    Ok(crate::entities::events::Entity::find()
        .filter(crate::entities::events::Column::DeploymentId.eq(dep))
        .filter(crate::entities::events::Column::Kind.eq(EventKind::TrafficSwitched))
        .count(db)
        .await?
        > 0)
}

async fn set_active_pool(
    db: &DatabaseConnection,
    env: &environments::Model,
    pool: Option<&str>,
) -> Result<(), ServiceError> {
    environments::Entity::update_many()
        .col_expr(
            environments::Column::ActivePool,
            pool.map(str::to_string).into(),
        )
        .col_expr(environments::Column::UpdatedAt, Utc::now().into())
        .filter(environments::Column::Id.eq(env.id))
        .exec(db)
        .await?;
    Ok(())
}
