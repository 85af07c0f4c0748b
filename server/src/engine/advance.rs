//! Moving one deployment forward by as much as it can go now: load what the
//! state machine needs (`domain/rollout.rs`), carry out its decision, record
//! it, and ask again until it says to wait. Every write is conditional or
//! keyed by a unique command id, so running this twice — after a crash, or
//! by two workers in a race — never does a step twice.

use std::collections::HashMap;

use app::model::event::{self as ev, Event, EventKind};
use app::model::lifecycle::{DeploymentStatus, NodeStatus, Stage, StepAction, StepStatus};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;

use crate::domain::analysis::{decide as judge_samples, Decision as Judgement, Thresholds};
use crate::domain::plan::{plan, Plan, StoredPlan};
use crate::domain::rollout::{self, command_id, AnalysisSettings, Decision, Pass, Timeouts, World};
use crate::engine::providers::{self, Window};
use crate::engine::Engine;
use crate::entities::{
    deployment_steps, deployments, environments, events as event_rows, module_versions, modules,
    nodes,
};
use crate::services::lifecycle::{self, plan_targets, transition};
use crate::services::{events, ServiceError};

/// When to look at the deployment again.
#[derive(Debug, PartialEq)]
pub enum Next {
    At(DateTime<Utc>),
    Done,
}

/// Decisions carried out in one look before handing the job back (each
/// changes the stored state, so this bounds a look, not the progress).
const MOVES_PER_LOOK: usize = 32;

/// Analysis settings of an environment (`analysis` column).
fn analysis_of(env: &environments::Model) -> AnalysisSettings {
    let doc = &env.analysis;
    let defaults = AnalysisSettings::default();
    // Bounded, so a stored value from before the bound cannot overflow a time.
    let interval = app::model::duration::BoundedDuration::from_json(
        &doc["interval"],
        &app::model::duration::ANALYSIS_INTERVAL,
    )
    .map_or(defaults.interval, |d| d.to_chrono());
    AnalysisSettings {
        interval,
        min_requests: doc["min_samples"].as_u64().unwrap_or(defaults.min_requests),
        inconclusive_passes: doc["inconclusive"].as_str() == Some("pass"),
    }
}

pub async fn advance(engine: &Engine, deployment_id: i64) -> Result<Next, ServiceError> {
    let mut pass = Pass::default();
    for _ in 0..MOVES_PER_LOOK {
        let Some(loaded) = Loaded::load(engine, deployment_id).await? else {
            return Ok(Next::Done);
        };
        let world = loaded.world(engine, &pass, Utc::now());
        let decision = rollout::decide(&world);
        match carry_out(engine, &loaded, &world, decision).await? {
            Moved::Stop(next) => return Ok(next),
            Moved::Again => {}
            Moved::SwitchedBack(outcome) => pass.switched_back = Some(outcome),
            Moved::PhaseStarted(phase) => pass.started_phase = Some(phase),
        }
    }
    // Every move changes what is stored, so this is a decision that does
    // not: look again later rather than spin.
    tracing::error!(
        deployment_id,
        "the rollout made {MOVES_PER_LOOK} moves in one look; looking again shortly"
    );
    Ok(Next::At(Utc::now() + chrono::Duration::seconds(1)))
}

/// One deployment and everything its next decision depends on.
struct Loaded {
    dep: deployments::Model,
    deployment: rollout::Deployment,
    plan: Plan,
    env: environments::Model,
    steps: Vec<rollout::Step>,
    nodes: HashMap<i64, rollout::Node>,
    traffic_moved: bool,
}

impl Loaded {
    async fn load(engine: &Engine, id: i64) -> Result<Option<Self>, ServiceError> {
        let db = engine.db();
        let Some(dep) = deployments::Entity::find_by_id(id).one(db).await? else {
            return Ok(None);
        };
        let env = environments::Entity::find_by_id(dep.environment_id)
            .one(db)
            .await?
            .ok_or(ServiceError::NotFound("environment"))?;
        let deployment = rollout::Deployment {
            id: dep.id,
            status: dep.status,
            stage: dep.stage,
            current_phase: dep.current_phase,
            skip_wait: dep.skip_wait,
            phase_started_at: dep.phase_started_at,
            analyzed_at: dep.analyzed_at,
            outcome: dep.outcome.clone(),
        };
        // Only a started deployment has a plan, steps and nodes to look at.
        if !matches!(
            dep.status,
            DeploymentStatus::Running | DeploymentStatus::Paused
        ) {
            return Ok(Some(Self {
                deployment,
                plan: Plan {
                    phases: Vec::new(),
                    max_failed: 0,
                    previous_pool: None,
                },
                env,
                steps: Vec::new(),
                nodes: HashMap::new(),
                traffic_moved: false,
                dep,
            }));
        }
        let plan = match &dep.plan {
            StoredPlan::Planned(plan) => plan.clone(),
            other => {
                return Err(anyhow::anyhow!(
                    "deployment {id} has no plan this build can follow: {other:?}"
                )
                .into())
            }
        };
        let steps = deployment_steps::Entity::find()
            .filter(deployment_steps::Column::DeploymentId.eq(dep.id))
            .order_by_asc(deployment_steps::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|s| {
                let text = |key: &str| {
                    s.result
                        .as_ref()
                        .and_then(|r| r[key].as_str().map(str::to_string))
                };
                rollout::Step {
                    id: s.id,
                    command_id: s.command_id.clone(),
                    phase: s.phase,
                    node_id: s.node_id,
                    action: s.action,
                    status: s.status,
                    created_at: s.created_at,
                    updated_at: s.updated_at,
                    previous_version: text("previous_version"),
                    error: text("error"),
                }
            })
            .collect();
        // Only what a decision reads: every node's labels and versions,
        // parsed at each look, were most of a look's cost.
        type Row = (i64, String, NodeStatus, Option<DateTime<Utc>>);
        let rows: Vec<Row> = nodes::Entity::find()
            .select_only()
            .columns([
                nodes::Column::Id,
                nodes::Column::Name,
                nodes::Column::Status,
                nodes::Column::LastHeartbeatAt,
            ])
            .filter(nodes::Column::EnvironmentId.eq(env.id))
            .into_tuple()
            .all(db)
            .await?;
        let nodes = rows
            .into_iter()
            .map(|(id, name, status, last_heartbeat_at)| {
                let node = rollout::Node {
                    name,
                    online: status == NodeStatus::Online,
                    last_heartbeat_at,
                };
                (id, node)
            })
            .collect();
        let traffic_moved = plan.previous_pool.is_some()
            && event_rows::Entity::find()
                .filter(event_rows::Column::DeploymentId.eq(dep.id))
                .filter(event_rows::Column::Kind.eq(EventKind::TrafficSwitched))
                .count(db)
                .await?
                > 0;
        Ok(Some(Self {
            dep,
            deployment,
            plan,
            env,
            steps,
            nodes,
            traffic_moved,
        }))
    }

    fn world<'a>(&'a self, engine: &Engine, pass: &'a Pass, now: DateTime<Utc>) -> World<'a> {
        World {
            deployment: &self.deployment,
            plan: &self.plan,
            steps: &self.steps,
            nodes: &self.nodes,
            active_pool: self.env.active_pool.as_deref(),
            traffic_moved: self.traffic_moved,
            analysis: analysis_of(&self.env),
            timeouts: Timeouts {
                node_timeout: engine.config().node_timeout,
                step_timeout: engine.config().step_timeout,
            },
            pass,
            now,
        }
    }
}

/// What carrying a decision out led to.
enum Moved {
    /// The look ends; the job comes back at `Next`.
    Stop(Next),
    /// Decide again on what is stored now.
    Again,
    /// The switch back of a rollback was tried in this look.
    SwitchedBack(Result<(), String>),
    /// Phase `n` was announced (and its steps written) in this look.
    PhaseStarted(i32),
}

/// Does what was decided.
async fn carry_out(
    engine: &Engine,
    loaded: &Loaded,
    world: &World<'_>,
    decision: Decision,
) -> Result<Moved, ServiceError> {
    let db = engine.db();
    let dep = &loaded.dep;
    match decision {
        Decision::WaitUntil(at) => return Ok(Moved::Stop(Next::At(at))),
        Decision::Release => return Ok(Moved::Stop(Next::Done)),
        Decision::Start => {
            if !start(engine, dep).await? {
                return Ok(Moved::Stop(Next::Done));
            }
        }
        Decision::StartPhase {
            phase,
            label,
            nodes,
        } => {
            let event = Event::PhaseStarted(ev::PhaseStarted {
                phase,
                label,
                nodes: nodes.len(),
            });
            events::append(db, dep.tenant_id, Some(dep.id), event).await?;
            let wanted: Vec<_> = nodes.into_iter().map(|n| (n, None)).collect();
            create_steps(engine, dep, phase, StepAction::Swap, &wanted).await?;
            return Ok(Moved::PhaseStarted(phase));
        }
        Decision::CreateSteps {
            phase,
            action,
            nodes,
        } => create_steps(engine, dep, phase, action, &nodes).await?,
        Decision::FailSteps(stale) => fail_steps(db, loaded, &stale).await?,
        Decision::Switch { from, to, rollback } => {
            let outcome = super::switch::run(
                loaded.env.switch_hook.as_ref(),
                engine.client(),
                &engine.config().switch_commands,
                &loaded.env.name,
                from.as_deref(),
                &to,
            )
            .await;
            match (outcome, rollback) {
                (Ok(()), _) => {
                    set_active_pool(db, &loaded.env, Some(&to)).await?;
                    let event = Event::TrafficSwitched(ev::TrafficSwitched {
                        environment: loaded.env.name.clone(),
                        from,
                        to,
                        rollback,
                    });
                    events::append(db, dep.tenant_id, Some(dep.id), event).await?;
                    if rollback {
                        return Ok(Moved::SwitchedBack(Ok(())));
                    }
                    enter_verify(db, dep).await?;
                }
                (Err(error), true) => return Ok(Moved::SwitchedBack(Err(error))),
                (Err(error), false) => {
                    let failed = rollout::switch_failed(&to, &error);
                    return transition_to(engine, dep, failed).await;
                }
            }
        }
        Decision::PhaseSwapped {
            phase,
            label,
            swapped,
            failed,
        } => {
            let event = Event::PhaseSwapped(ev::PhaseSwapped {
                phase,
                label,
                swapped,
                failed,
            });
            events::append(db, dep.tenant_id, Some(dep.id), event).await?;
            enter_verify(db, dep).await?;
        }
        Decision::Analyse {
            since,
            phase_since,
            thresholds,
            canaries,
        } => {
            let now = world.now;
            let samples_since =
                |since| judge(engine, loaded, world, &canaries, thresholds, since, now);
            let window = samples_since(since).await?;
            record_analysis(db, loaded, world, &window, &thresholds, canaries.len()).await?;
            if let Some(failed) = rollout::judged_window(world, &window) {
                return transition_to(engine, dep, failed).await;
            }
            deployments::Entity::update_many()
                .col_expr(deployments::Column::AnalyzedAt, Expr::value(Some(now)))
                .col_expr(deployments::Column::UpdatedAt, Expr::value(now))
                .filter(deployments::Column::Id.eq(dep.id))
                .exec(db)
                .await?;
            if let Some(phase_since) = phase_since {
                // The phase as a whole must have enough evidence.
                let whole = samples_since(phase_since).await?;
                let next = rollout::judged_phase(world, &whole);
                return transition_to(engine, dep, next).await;
            }
        }
        other @ (Decision::NextPhase(_) | Decision::BeginRollback(_) | Decision::Finish(..)) => {
            return transition_to(engine, dep, other).await;
        }
    }
    Ok(Moved::Again)
}

/// Carries out a decision that moves the deployment on: to a phase, into
/// its rollback, or to its end.
async fn transition_to(
    engine: &Engine,
    dep: &deployments::Model,
    decision: Decision,
) -> Result<Moved, ServiceError> {
    let db = engine.db();
    match decision {
        Decision::NextPhase(next) => {
            // Not over a rollback an operator began meanwhile.
            deployments::Entity::update_many()
                .col_expr(deployments::Column::CurrentPhase, Expr::value(next))
                .col_expr(deployments::Column::Stage, Expr::value(Stage::Swap))
                .col_expr(deployments::Column::SkipWait, Expr::value(false))
                .col_expr(deployments::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(deployments::Column::Id.eq(dep.id))
                .filter(deployments::Column::CurrentPhase.eq(dep.current_phase))
                .filter(deployments::Column::Stage.ne(Stage::Rollback))
                .exec(db)
                .await?;
            Ok(Moved::Again)
        }
        Decision::BeginRollback(reason) => {
            lifecycle::begin_rollback(db, dep, reason).await?;
            Ok(Moved::Again)
        }
        Decision::Finish(status, outcome) => {
            lifecycle::finish(db, engine, dep, status, outcome).await?;
            Ok(Moved::Stop(Next::Done))
        }
        Decision::WaitUntil(at) => Ok(Moved::Stop(Next::At(at))),
        // The judgements and switches above only ever move the deployment on.
        other => Err(anyhow::anyhow!("not a transition: {other:?}").into()),
    }
}

/// Plans a queued deployment against today's nodes and starts it. `false`
/// when it cannot be (it is then failed, saying why).
async fn start(engine: &Engine, dep: &deployments::Model) -> Result<bool, ServiceError> {
    let db = engine.db();
    let env = environments::Entity::find_by_id(dep.environment_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("environment"))?;
    // Stored before today's bounds, it may no longer be valid: the deployment
    // fails rather than retrying for ever.
    let strategy = match dep.strategy.strategy() {
        Ok(strategy) => strategy,
        Err(error) => {
            let outcome = format!("its strategy is no longer valid: {error}");
            lifecycle::finish(db, engine, dep, DeploymentStatus::Failed, outcome).await?;
            return Ok(false);
        }
    };
    let targets = plan_targets(db, env.id).await?;
    let planned = match plan(&strategy, &targets, env.active_pool.as_deref()) {
        Ok(p) => p,
        Err(error) => {
            let outcome = format!("could not plan: {error}");
            lifecycle::finish(db, engine, dep, DeploymentStatus::Failed, outcome).await?;
            return Ok(false);
        }
    };
    let now = Utc::now();
    let started = transition(
        dep.id,
        &[DeploymentStatus::Queued],
        DeploymentStatus::Running,
    )
    .col_expr(
        deployments::Column::Plan,
        Expr::value(StoredPlan::Planned(planned.clone())),
    )
    .col_expr(deployments::Column::CurrentPhase, Expr::value(0))
    .col_expr(deployments::Column::Stage, Expr::value(Stage::Swap))
    .col_expr(deployments::Column::StartedAt, Expr::value(Some(now)))
    .exec(db)
    .await?;
    if started.rows_affected == 1 {
        let event = Event::DeploymentStarted(ev::Started {
            strategy: strategy.kind().to_string(),
            nodes: targets.len(),
            phases: planned.phases.iter().map(|p| p.label.clone()).collect(),
        });
        events::append(db, dep.tenant_id, Some(dep.id), event).await?;
    }
    Ok(true)
}

/// Inserts the steps that do not exist yet and nudges their nodes' connections.
async fn create_steps(
    engine: &Engine,
    dep: &deployments::Model,
    phase: i32,
    action: StepAction,
    wanted: &[(i64, Option<String>)],
) -> Result<(), ServiceError> {
    let now = Utc::now();
    let rows: Vec<deployment_steps::ActiveModel> = wanted
        .iter()
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
            .exec_without_returning(engine.db())
            .await?;
    }
    let nodes: Vec<i64> = wanted.iter().map(|(node, _)| *node).collect();
    engine.announce_commands(&nodes).await;
    Ok(())
}

/// Fails unanswered steps, each once (an answer that came in meanwhile wins).
async fn fail_steps(
    db: &DatabaseConnection,
    loaded: &Loaded,
    stale: &[(i64, String)],
) -> Result<(), ServiceError> {
    let now = Utc::now();
    for (id, reason) in stale {
        let Some(step) = loaded.steps.iter().find(|s| s.id == *id) else {
            continue;
        };
        let failed = deployment_steps::Entity::update_many()
            .col_expr(
                deployment_steps::Column::Status,
                Expr::value(StepStatus::Failed),
            )
            .col_expr(
                deployment_steps::Column::Result,
                Expr::value(Some(json!({ "ok": false, "error": reason }))),
            )
            .col_expr(deployment_steps::Column::UpdatedAt, Expr::value(now))
            .filter(deployment_steps::Column::Id.eq(step.id))
            .filter(deployment_steps::Column::Status.is_in([StepStatus::Pending, StepStatus::Sent]))
            .exec(db)
            .await?;
        if failed.rows_affected != 1 {
            continue;
        }
        let outcome = ev::NodeOutcome {
            node: step
                .node_id
                .and_then(|n| loaded.nodes.get(&n))
                .map(|n| n.name.clone()),
            node_id: step.node_id,
            phase: step.phase,
            error: Some(reason.clone()),
            ..Default::default()
        };
        let event = match step.action {
            StepAction::Rollback => Event::NodeRollbackFailed(outcome),
            StepAction::Swap => Event::NodeSwapFailed(outcome),
        };
        events::append(db, loaded.dep.tenant_id, Some(loaded.dep.id), event).await?;
    }
    Ok(())
}

/// Starts watching the current phase (not over a rollback an operator began
/// meanwhile).
async fn enter_verify(
    db: &DatabaseConnection,
    dep: &deployments::Model,
) -> Result<(), ServiceError> {
    let now = Utc::now();
    deployments::Entity::update_many()
        .col_expr(deployments::Column::Stage, Expr::value(Stage::Verify))
        .col_expr(deployments::Column::PhaseStartedAt, Expr::value(Some(now)))
        .col_expr(deployments::Column::AnalyzedAt, Expr::value(Some(now)))
        .col_expr(deployments::Column::UpdatedAt, Expr::value(now))
        .filter(deployments::Column::Id.eq(dep.id))
        .filter(deployments::Column::CurrentPhase.eq(dep.current_phase))
        .filter(deployments::Column::Stage.eq(Stage::Swap))
        .exec(db)
        .await?;
    Ok(())
}

/// Judges the canaries' samples from `since` to `now`. A provider that
/// cannot be asked makes the window inconclusive, never a pass.
async fn judge(
    engine: &Engine,
    loaded: &Loaded,
    world: &World<'_>,
    canaries: &[i64],
    thresholds: Thresholds,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Judgement, ServiceError> {
    let db = engine.db();
    let dep = &loaded.dep;
    let names: Vec<String> = canaries
        .iter()
        .filter_map(|id| loaded.nodes.get(id).map(|n| n.name.clone()))
        .collect();
    let version = module_versions::Entity::find_by_id(dep.module_version_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("module version"))?;
    let module = modules::Entity::find_by_id(dep.module_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("module"))?;
    let window = Window {
        module: &module.name,
        version: &version.version,
        node_ids: canaries,
        node_names: &names,
        since,
        until: now,
    };
    let min_requests = world.analysis.min_requests;
    Ok(
        match providers::samples(db, engine.client(), &loaded.env.analysis, &window).await {
            Ok(samples) => judge_samples(&samples, &thresholds, min_requests),
            Err(error) => {
                let mut d = judge_samples(&[], &thresholds, min_requests);
                d.reason = format!("no samples: {error}");
                d
            }
        },
    )
}

async fn record_analysis(
    db: &DatabaseConnection,
    loaded: &Loaded,
    world: &World<'_>,
    judged: &Judgement,
    thresholds: &Thresholds,
    canaries: usize,
) -> Result<(), ServiceError> {
    let dep = &loaded.dep;
    let label = usize::try_from(dep.current_phase)
        .ok()
        .and_then(|i| world.plan.phases.get(i))
        .map(|p| p.label.clone())
        .unwrap_or_default();
    let event = Event::Analysis(ev::Analysis {
        phase: dep.current_phase,
        label,
        verdict: judged.verdict,
        reason: judged.reason.clone(),
        requests: judged.requests,
        errors: judged.errors,
        error_rate: judged.error_rate,
        p95_ms: judged.p95_ms,
        max_error_rate: thresholds.max_error_rate,
        max_p95_ms: thresholds.max_p95_ms,
        canaries,
    });
    events::append(db, dep.tenant_id, Some(dep.id), event).await?;
    Ok(())
}

async fn set_active_pool(
    db: &DatabaseConnection,
    env: &environments::Model,
    pool: Option<&str>,
) -> Result<(), ServiceError> {
    environments::Entity::update_many()
        .col_expr(
            environments::Column::ActivePool,
            Expr::value(pool.map(str::to_string)),
        )
        .col_expr(environments::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(environments::Column::Id.eq(env.id))
        .exec(db)
        .await?;
    Ok(())
}
