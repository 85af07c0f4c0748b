//! The roll-out state machine, without I/O: given a running deployment, its
//! plan, its steps, its nodes and `now`, what to do next. The engine
//! (`engine/advance.rs`) loads a [`World`], carries the [`Decision`] out,
//! records it, and asks again until the answer is to wait.
//!
//! Every decision follows from the stored state alone, so a worker that
//! crashed half-way, or a second worker racing it, decides the same thing.

use std::collections::HashMap;

use app::model::lifecycle::{DeploymentStatus, Stage, StepAction, StepStatus, Verdict};
use chrono::{DateTime, Duration, Utc};

use crate::domain::analysis::{Decision as Judgement, Thresholds};
use crate::domain::plan::{Phase, PhaseAction, Plan};

/// Rollback steps live outside the plan's phases.
pub const ROLLBACK_PHASE: i32 = -1;
/// How soon to look again while nodes are working.
const POLL: Duration = Duration::seconds(1);
/// How long a paused or undecided deployment sleeps before a look (a
/// person's action wakes it sooner).
const IDLE: Duration = Duration::seconds(60);

/// The deployment as the state machine sees it.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub id: i64,
    pub status: DeploymentStatus,
    pub stage: Stage,
    pub current_phase: i32,
    /// An operator asked to end the current wait early (promote).
    pub skip_wait: bool,
    pub phase_started_at: Option<DateTime<Utc>>,
    pub analyzed_at: Option<DateTime<Utc>>,
    /// Why it is rolling back, once it is.
    pub outcome: Option<String>,
}

/// One step (one command to one node).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: i64,
    /// Unique per (deployment, phase, node, action): see [`command_id`].
    pub command_id: String,
    pub phase: i32,
    pub node_id: Option<i64>,
    pub action: StepAction,
    pub status: StepStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// What the node reported it ran before (swaps), for the rollback.
    pub previous_version: Option<String>,
    pub error: Option<String>,
}

/// A node of the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    pub online: bool,
    pub last_heartbeat_at: Option<DateTime<Utc>>,
}

/// How canary windows are judged in this environment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalysisSettings {
    pub interval: Duration,
    pub min_requests: u64,
    /// A phase that ends without enough evidence passes (else it rolls back).
    pub inconclusive_passes: bool,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        Self {
            interval: Duration::seconds(30),
            min_requests: 10,
            inconclusive_passes: false,
        }
    }
}

/// The server's time limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeouts {
    /// A node silent this long is gone, with the steps that need it.
    pub node_timeout: Duration,
    /// A command unanswered this long fails.
    pub step_timeout: Duration,
}

/// What happened earlier in this look (the engine's pass): the switch back
/// is tried once per look, and its failure counts only if the look ends the
/// rollback; a phase without nodes is announced once and then counts as
/// swapped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pass {
    pub switched_back: Option<Result<(), String>>,
    pub started_phase: Option<i32>,
}

/// Everything a decision depends on.
#[derive(Debug, Clone)]
pub struct World<'a> {
    pub deployment: &'a Deployment,
    pub plan: &'a Plan,
    /// Every step of the deployment, oldest first.
    pub steps: &'a [Step],
    pub nodes: &'a HashMap<i64, Node>,
    /// The environment's pool serving traffic now.
    pub active_pool: Option<&'a str>,
    /// Traffic was switched during this deployment (so a rollback switches it back).
    pub traffic_moved: bool,
    pub analysis: AnalysisSettings,
    pub timeouts: Timeouts,
    pub pass: &'a Pass,
    pub now: DateTime<Utc>,
}

/// What to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Nothing before `at`.
    WaitUntil(DateTime<Utc>),
    /// Finished: the engine lets go of it.
    Release,
    /// Queued: plan it against today's nodes and start it.
    Start,
    /// A new phase of swaps: announce it and write its steps.
    StartPhase {
        phase: i32,
        label: String,
        nodes: Vec<i64>,
    },
    /// Write the steps still missing (each with the version to restore, for a rollback).
    CreateSteps {
        phase: i32,
        action: StepAction,
        nodes: Vec<(i64, Option<String>)>,
    },
    /// Fail unanswered steps whose node is gone or too slow.
    FailSteps(Vec<(i64, String)>),
    /// Make `to` the pool serving traffic.
    Switch {
        from: Option<String>,
        to: String,
        /// Part of a rollback (a failure is then reported, not acted on).
        rollback: bool,
    },
    /// The phase's swaps are in: announce the counts and start watching it.
    PhaseSwapped {
        phase: i32,
        label: String,
        swapped: usize,
        failed: usize,
    },
    /// Judge the canaries' samples since `since`; and, at the end of the
    /// phase, the whole phase since `phase_since`.
    Analyse {
        since: DateTime<Utc>,
        phase_since: Option<DateTime<Utc>>,
        thresholds: Thresholds,
        /// The nodes whose swap is done.
        canaries: Vec<i64>,
    },
    /// Move to phase `phase` (its swaps start at once).
    NextPhase(i32),
    BeginRollback(String),
    Finish(DeploymentStatus, String),
}

/// The next thing to do for a deployment.
pub fn decide(world: &World) -> Decision {
    let dep = world.deployment;
    match dep.status {
        DeploymentStatus::Running => match dep.stage {
            Stage::Swap => swap(world),
            Stage::Verify => verify(world),
            Stage::Rollback => roll_back(world),
        },
        // Waiting on a person; their action wakes the job.
        DeploymentStatus::Paused | DeploymentStatus::PendingApproval => {
            Decision::WaitUntil(world.now + IDLE)
        }
        DeploymentStatus::Queued => Decision::Start,
        _ => Decision::Release,
    }
}

fn phase<'a>(world: &'a World) -> Option<&'a Phase> {
    usize::try_from(world.deployment.current_phase)
        .ok()
        .and_then(|i| world.plan.phases.get(i))
}

fn next_phase(world: &World) -> Decision {
    let next = world.deployment.current_phase + 1;
    if next as usize >= world.plan.phases.len() {
        let nodes: usize = world.plan.phases.iter().map(|p| p.nodes.len()).sum();
        return Decision::Finish(
            DeploymentStatus::Succeeded,
            format!("{nodes} nodes swapped"),
        );
    }
    Decision::NextPhase(next)
}

fn steps<'a>(
    world: &'a World,
    phase: Option<i32>,
    action: StepAction,
) -> impl Iterator<Item = &'a Step> {
    world
        .steps
        .iter()
        .filter(move |s| s.action == action && phase.is_none_or(|p| s.phase == p))
}

/// The steps of `(phase, action)` that still need writing, failing, or an
/// answer; `None` once every one of `wanted` is answered.
fn run_steps(
    world: &World,
    phase: i32,
    action: StepAction,
    wanted: &[(i64, Option<String>)],
) -> Option<Decision> {
    let mine: Vec<&Step> = steps(world, Some(phase), action).collect();
    // By command id, not node: a step whose node was removed since keeps its
    // command id (and fails as removed) but no longer names the node.
    let dep = world.deployment.id;
    let missing: Vec<(i64, Option<String>)> = wanted
        .iter()
        .filter(|(node, _)| {
            let command = command_id(dep, phase, *node, action);
            !mine.iter().any(|s| s.command_id == command)
        })
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Some(Decision::CreateSteps {
            phase,
            action,
            nodes: missing,
        });
    }
    let stale: Vec<(i64, String)> = mine
        .iter()
        .filter(|s| s.status.is_open())
        .filter_map(|s| stale(world, s).map(|reason| (s.id, reason)))
        .collect();
    if !stale.is_empty() {
        return Some(Decision::FailSteps(stale));
    }
    if mine.iter().any(|s| s.status.is_open()) {
        return Some(Decision::WaitUntil(world.now + POLL));
    }
    None
}

/// Why an unanswered step has failed, if it has: its node was removed, has
/// been silent for a node timeout since before the step, or took too long.
pub fn stale(world: &World, step: &Step) -> Option<String> {
    let silent_since = world.now - world.timeouts.node_timeout;
    let Some(node) = step.node_id.and_then(|id| world.nodes.get(&id)) else {
        return Some("the node was removed".into());
    };
    if !node.online
        && node.last_heartbeat_at.is_none_or(|t| t < silent_since)
        && step.created_at < silent_since
    {
        return Some(format!("node {} is offline", node.name));
    }
    if step.status == StepStatus::Sent && step.updated_at < world.now - world.timeouts.step_timeout
    {
        return Some(format!("node {} did not answer in time", node.name));
    }
    None
}

/// `web-1: checksum mismatch`, for outcomes.
fn step_error(world: &World, step: &Step) -> String {
    let name = step
        .node_id
        .and_then(|id| world.nodes.get(&id))
        .map_or("a removed node", |n| n.name.as_str());
    format!("{name}: {}", step.error.as_deref().unwrap_or("failed"))
}

fn swap(world: &World) -> Decision {
    let index = world.deployment.current_phase;
    let Some(phase) = phase(world) else {
        return next_phase(world);
    };
    match &phase.action {
        PhaseAction::Switch { to_pool } => Decision::Switch {
            from: world.plan.previous_pool.clone(),
            to: to_pool.clone(),
            rollback: false,
        },
        PhaseAction::Swap => {
            let announced = world.pass.started_phase == Some(index);
            if !announced && steps(world, Some(index), StepAction::Swap).next().is_none() {
                return Decision::StartPhase {
                    phase: index,
                    label: phase.label.clone(),
                    nodes: phase.nodes.clone(),
                };
            }
            let wanted: Vec<_> = phase.nodes.iter().map(|n| (*n, None)).collect();
            if let Some(pending) = run_steps(world, index, StepAction::Swap, &wanted) {
                return pending;
            }
            let failed: Vec<&Step> = steps(world, None, StepAction::Swap)
                .filter(|s| s.status == StepStatus::Failed)
                .collect();
            if failed.len() as u32 > world.plan.max_failed {
                let first = failed
                    .first()
                    .map(|s| step_error(world, s))
                    .unwrap_or_default();
                let reason = if failed.len() == 1 {
                    format!("{} failed: {first}", phase.label)
                } else {
                    format!(
                        "{} nodes failed (at most {} may); first: {first}",
                        failed.len(),
                        world.plan.max_failed
                    )
                };
                return Decision::BeginRollback(reason);
            }
            let here = || steps(world, Some(index), StepAction::Swap);
            Decision::PhaseSwapped {
                phase: index,
                label: phase.label.clone(),
                swapped: here().filter(|s| s.status == StepStatus::Done).count(),
                failed: here().filter(|s| s.status == StepStatus::Failed).count(),
            }
        }
    }
}

/// A forward switch failed: the deployment goes back.
pub fn switch_failed(to: &str, error: &str) -> Decision {
    Decision::BeginRollback(format!("the switch to {to} failed: {error}"))
}

fn verify(world: &World) -> Decision {
    let dep = world.deployment;
    let Some(phase) = phase(world) else {
        return next_phase(world);
    };
    let now = world.now;
    let started = dep.phase_started_at.unwrap_or(now);
    let deadline = started + Duration::seconds(phase.wait_secs.min(i64::MAX as u64) as i64);
    if dep.skip_wait {
        return next_phase(world);
    }
    let Some(thresholds) = phase.thresholds else {
        return if now >= deadline {
            next_phase(world)
        } else {
            Decision::WaitUntil(deadline)
        };
    };
    let analyzed = dep.analyzed_at.unwrap_or(started);
    let interval = world.analysis.interval;
    if now >= analyzed + interval || now >= deadline {
        let canaries = steps(world, None, StepAction::Swap)
            .filter(|s| s.status == StepStatus::Done)
            .filter_map(|s| s.node_id)
            .collect();
        return Decision::Analyse {
            since: analyzed,
            phase_since: (now >= deadline).then_some(started),
            thresholds,
            canaries,
        };
    }
    let next_look = (analyzed + interval).max(now + Duration::milliseconds(200));
    Decision::WaitUntil(next_look.min(deadline))
}

/// What a window's judgement means: a failing window rolls back at once.
pub fn judged_window(world: &World, window: &Judgement) -> Option<Decision> {
    let label = phase(world).map_or("", |p| p.label.as_str());
    (window.verdict == Verdict::Fail)
        .then(|| Decision::BeginRollback(format!("{label}: {}", window.reason)))
}

/// What the judgement of a whole phase means at its end: it must have
/// passed, or be inconclusive where the environment lets that pass.
pub fn judged_phase(world: &World, whole: &Judgement) -> Decision {
    let label = phase(world).map_or("", |p| p.label.as_str());
    match whole.verdict {
        Verdict::Pass => next_phase(world),
        Verdict::Inconclusive if world.analysis.inconclusive_passes => next_phase(world),
        Verdict::Inconclusive => Decision::BeginRollback(format!(
            "{label}: inconclusive at the end of the phase: {}",
            whole.reason
        )),
        Verdict::Fail => Decision::BeginRollback(format!("{label}: {}", whole.reason)),
    }
}

fn roll_back(world: &World) -> Decision {
    // Blue-green: traffic goes back to the old pool first; that is the
    // instant part. Tried once per look until the rollback ends.
    if let Some(previous) = &world.plan.previous_pool {
        if world.pass.switched_back.is_none()
            && world.active_pool != Some(previous.as_str())
            && world.traffic_moved
        {
            return Decision::Switch {
                from: world.active_pool.map(str::to_string),
                to: previous.clone(),
                rollback: true,
            };
        }
    }
    let swapped: Vec<(i64, Option<String>)> = steps(world, None, StepAction::Swap)
        .filter(|s| s.status == StepStatus::Done)
        .filter_map(|s| Some((s.node_id?, s.previous_version.clone())))
        .collect();
    if let Some(pending) = run_steps(world, ROLLBACK_PHASE, StepAction::Rollback, &swapped) {
        return pending;
    }
    let reason = world
        .deployment
        .outcome
        .clone()
        .unwrap_or_else(|| "rolled back".into());
    let switch_error = match &world.pass.switched_back {
        Some(Err(error)) => {
            let to = world.plan.previous_pool.as_deref().unwrap_or_default();
            Some(format!("switching traffic back to {to} failed: {error}"))
        }
        _ => None,
    };
    let failures: Vec<String> = steps(world, Some(ROLLBACK_PHASE), StepAction::Rollback)
        .filter(|s| s.status == StepStatus::Failed)
        .map(|s| step_error(world, s))
        .chain(switch_error)
        .collect();
    if failures.is_empty() {
        Decision::Finish(DeploymentStatus::RolledBack, reason)
    } else {
        Decision::Finish(
            DeploymentStatus::Failed,
            format!("{reason}; the rollback failed too: {}", failures.join("; ")),
        )
    }
}

/// The command id of a step: unique, so a step written twice (a crash, a
/// race) is one command, and an agent's journal recognises a resend.
pub fn command_id(dep: i64, phase: i32, node: i64, action: StepAction) -> String {
    if phase == ROLLBACK_PHASE {
        format!("d{dep}-rollback-n{node}")
    } else {
        format!("d{dep}-p{phase}-n{node}-{action}")
    }
}

#[cfg(test)]
mod tests {
    //! The state machine driven by a simulator that does what the engine
    //! does, in memory, with a clock it moves itself: whole roll-outs of
    //! every strategy in microseconds, and each failure path on its own.

    use super::*;
    use crate::domain::plan::{plan, PlanNode};
    use crate::domain::strategy::{BatchSize, CanaryPhase, Strategy};

    /// How a node answers the commands it is sent.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Agent {
        Works,
        Breaks,
        /// Swaps, but cannot roll back.
        CannotRollBack,
        /// Stays connected and never answers.
        Ignores,
        /// Never answers, and stops sending heartbeats.
        Vanishes,
    }

    struct Sim {
        dep: Deployment,
        plan: Plan,
        steps: Vec<Step>,
        nodes: HashMap<i64, Node>,
        agents: HashMap<i64, Agent>,
        active_pool: Option<String>,
        traffic_moved: bool,
        switch: Result<(), String>,
        /// What each canary window shows.
        verdict: Verdict,
        analysis: AnalysisSettings,
        now: DateTime<Utc>,
        /// Every decision taken, in order.
        taken: Vec<Decision>,
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000) + Duration::seconds(secs)
    }

    const TIMEOUTS: Timeouts = Timeouts {
        node_timeout: Duration::seconds(15),
        step_timeout: Duration::minutes(10),
    };

    fn fleet(n: i64, pool: impl Fn(i64) -> Option<&'static str>) -> Vec<PlanNode> {
        (1..=n)
            .map(|id| PlanNode {
                id,
                pool: pool(id).map(str::to_string),
            })
            .collect()
    }

    impl Sim {
        fn new(strategy: Strategy, targets: &[PlanNode], active_pool: Option<&str>) -> Self {
            let plan = plan(&strategy, targets, active_pool).expect("plannable");
            let nodes = targets
                .iter()
                .map(|n| {
                    let node = Node {
                        name: format!("web-{}", n.id),
                        online: true,
                        last_heartbeat_at: Some(at(0)),
                    };
                    (n.id, node)
                })
                .collect();
            Self {
                dep: Deployment {
                    id: 7,
                    status: DeploymentStatus::Running,
                    stage: Stage::Swap,
                    current_phase: 0,
                    skip_wait: false,
                    phase_started_at: None,
                    analyzed_at: None,
                    outcome: None,
                },
                plan,
                steps: Vec::new(),
                nodes,
                agents: targets.iter().map(|n| (n.id, Agent::Works)).collect(),
                active_pool: active_pool.map(str::to_string),
                traffic_moved: false,
                switch: Ok(()),
                verdict: Verdict::Pass,
                analysis: AnalysisSettings::default(),
                now: at(0),
                taken: Vec::new(),
            }
        }

        fn decide(&self, pass: &Pass) -> Decision {
            decide(&self.world(pass))
        }

        fn world<'a>(&'a self, pass: &'a Pass) -> World<'a> {
            World {
                deployment: &self.dep,
                plan: &self.plan,
                steps: &self.steps,
                nodes: &self.nodes,
                active_pool: self.active_pool.as_deref(),
                traffic_moved: self.traffic_moved,
                analysis: self.analysis,
                timeouts: TIMEOUTS,
                pass,
                now: self.now,
            }
        }

        /// The nodes answer what they were sent (the engine's agents, at once).
        fn agents_answer(&mut self) {
            for step in self.steps.iter_mut().filter(|s| s.status.is_open()) {
                let agent = step.node_id.and_then(|n| self.agents.get(&n)).copied();
                let rollback = step.action == StepAction::Rollback;
                match agent {
                    Some(Agent::CannotRollBack) if rollback => {
                        step.status = StepStatus::Failed;
                        step.error = Some("the old release is gone".into());
                    }
                    Some(Agent::Works | Agent::CannotRollBack) => {
                        step.status = StepStatus::Done;
                        step.previous_version = Some("1.0.0".into());
                    }
                    Some(Agent::Breaks) => {
                        step.status = StepStatus::Failed;
                        step.error = Some("checksum mismatch".into());
                    }
                    Some(Agent::Ignores | Agent::Vanishes) | None => {
                        if step.status == StepStatus::Sent {
                            continue;
                        }
                        step.status = StepStatus::Sent;
                    }
                }
                step.updated_at = self.now;
            }
            for (id, agent) in &self.agents {
                if let Some(node) = self.nodes.get_mut(id) {
                    node.online = *agent != Agent::Vanishes;
                    if node.online {
                        node.last_heartbeat_at = Some(self.now);
                    }
                }
            }
        }

        /// One look, as the engine takes it: decide and carry out until told
        /// to wait. Returns when to look again (`None`: released).
        fn look(&mut self) -> Option<DateTime<Utc>> {
            let mut pass = Pass::default();
            for _ in 0..MOVES {
                let decision = self.decide(&pass);
                self.taken.push(decision.clone());
                match decision {
                    Decision::WaitUntil(t) => return Some(t),
                    Decision::Release => return None,
                    Decision::Start => unreachable!("the simulator starts running"),
                    Decision::StartPhase { phase, nodes, .. } => {
                        let wanted: Vec<_> = nodes.into_iter().map(|n| (n, None)).collect();
                        self.create(phase, StepAction::Swap, &wanted);
                        pass.started_phase = Some(phase);
                    }
                    Decision::CreateSteps {
                        phase,
                        action,
                        nodes,
                    } => self.create(phase, action, &nodes),
                    Decision::FailSteps(stale) => {
                        for (id, reason) in stale {
                            let step = self.steps.iter_mut().find(|s| s.id == id).expect("step");
                            step.status = StepStatus::Failed;
                            step.error = Some(reason);
                        }
                    }
                    Decision::Switch { to, rollback, .. } => match self.switch.clone() {
                        Ok(()) => {
                            self.active_pool = Some(to);
                            self.traffic_moved = true;
                            if rollback {
                                pass.switched_back = Some(Ok(()));
                            } else {
                                self.enter_verify();
                            }
                        }
                        Err(e) if rollback => pass.switched_back = Some(Err(e)),
                        Err(e) => {
                            let failed = switch_failed(&to, &e);
                            self.apply(failed);
                        }
                    },
                    Decision::PhaseSwapped { .. } => self.enter_verify(),
                    Decision::Analyse { phase_since, .. } => {
                        let judgement = Judgement {
                            verdict: self.verdict,
                            requests: 100,
                            errors: 0,
                            error_rate: 0.0,
                            p95_ms: 10.0,
                            reason: format!("{:?}", self.verdict),
                        };
                        let world = self.world(&pass);
                        let next = match judged_window(&world, &judgement) {
                            Some(rollback) => Some(rollback),
                            None => phase_since.map(|_| judged_phase(&world, &judgement)),
                        };
                        self.dep.analyzed_at = Some(self.now);
                        if let Some(next) = next {
                            self.apply(next);
                        }
                    }
                    other => self.apply(other),
                }
                self.agents_answer();
            }
            panic!(
                "a look that never waits: {:?}",
                &self.taken[self.taken.len() - 5..]
            );
        }

        fn create(&mut self, phase: i32, action: StepAction, nodes: &[(i64, Option<String>)]) {
            for (node, _) in nodes {
                let id = self.steps.len() as i64 + 1;
                self.steps.push(Step {
                    id,
                    command_id: command_id(self.dep.id, phase, *node, action),
                    phase,
                    node_id: Some(*node),
                    action,
                    status: StepStatus::Pending,
                    created_at: self.now,
                    updated_at: self.now,
                    previous_version: None,
                    error: None,
                });
            }
        }

        fn enter_verify(&mut self) {
            self.dep.stage = Stage::Verify;
            self.dep.phase_started_at = Some(self.now);
            self.dep.analyzed_at = Some(self.now);
        }

        fn apply(&mut self, decision: Decision) {
            match decision {
                Decision::NextPhase(n) => {
                    self.dep.current_phase = n;
                    self.dep.stage = Stage::Swap;
                    self.dep.skip_wait = false;
                }
                Decision::BeginRollback(reason) => {
                    if self.dep.stage != Stage::Rollback {
                        self.dep.stage = Stage::Rollback;
                        self.dep.status = DeploymentStatus::Running;
                        self.dep.outcome = Some(reason);
                    }
                }
                Decision::Finish(status, outcome) => {
                    self.dep.status = status;
                    self.dep.outcome = Some(outcome);
                }
                other => panic!("not a transition: {other:?}"),
            }
        }

        /// Looks until the deployment ends (or `limit` seconds pass); the
        /// clock jumps to each requested look. Returns the seconds it took.
        fn run(&mut self, limit: i64) -> i64 {
            while self.now < at(limit) {
                match self.look() {
                    None => break,
                    Some(next) => self.now = next.max(self.now + Duration::milliseconds(1)),
                }
                if self.dep.status.is_finished() {
                    break;
                }
            }
            (self.now - at(0)).num_seconds()
        }

        fn ended(&self) -> (DeploymentStatus, &str) {
            (self.dep.status, self.dep.outcome.as_deref().unwrap_or(""))
        }

        fn swapped(&self, action: StepAction) -> usize {
            self.steps
                .iter()
                .filter(|s| s.action == action && s.status == StepStatus::Done)
                .count()
        }
    }

    const MOVES: usize = 64;

    fn canary(phases: &[(u32, u64)]) -> Strategy {
        Strategy::Canary {
            phases: phases
                .iter()
                .map(|&(percent, duration_secs)| CanaryPhase {
                    percent,
                    duration_secs,
                    max_error_rate: 0.01,
                    max_p95_ms: 200.0,
                })
                .collect(),
        }
    }

    #[test]
    fn direct_swaps_every_node_at_once_and_succeeds() {
        let mut sim = Sim::new(Strategy::Direct, &fleet(3, |_| None), None);
        let took = sim.run(60);
        assert_eq!(
            sim.ended(),
            (DeploymentStatus::Succeeded, "3 nodes swapped")
        );
        assert_eq!(sim.swapped(StepAction::Swap), 3);
        assert!(took <= 1, "no waiting without a watch: {took} s");
        assert!(matches!(sim.taken[0], Decision::StartPhase { ref nodes, .. } if nodes.len() == 3));
    }

    #[test]
    fn rolling_goes_batch_by_batch() {
        let strategy = Strategy::Rolling {
            batch: BatchSize::Count(2),
            max_failed: 0,
        };
        let mut sim = Sim::new(strategy, &fleet(5, |_| None), None);
        sim.run(60);
        assert_eq!(
            sim.ended(),
            (DeploymentStatus::Succeeded, "5 nodes swapped")
        );
        let phases: Vec<(i32, usize)> = sim
            .taken
            .iter()
            .filter_map(|d| match d {
                Decision::StartPhase { phase, nodes, .. } => Some((*phase, nodes.len())),
                _ => None,
            })
            .collect();
        assert_eq!(phases, [(0, 2), (1, 2), (2, 1)]);
    }

    #[test]
    fn rolling_tolerates_up_to_max_failed_and_rolls_back_beyond() {
        let strategy = |max_failed| Strategy::Rolling {
            batch: BatchSize::Count(2),
            max_failed,
        };
        let mut tolerant = Sim::new(strategy(1), &fleet(4, |_| None), None);
        tolerant.agents.insert(2, Agent::Breaks);
        tolerant.run(60);
        assert_eq!(tolerant.ended().0, DeploymentStatus::Succeeded);

        let mut strict = Sim::new(strategy(1), &fleet(4, |_| None), None);
        strict.agents.insert(2, Agent::Breaks);
        strict.agents.insert(3, Agent::Breaks);
        strict.run(60);
        let (status, outcome) = strict.ended();
        assert_eq!(status, DeploymentStatus::RolledBack);
        assert_eq!(
            outcome,
            "2 nodes failed (at most 1 may); first: web-2: checksum mismatch"
        );
        // Only the nodes that swapped are rolled back, to what they ran before.
        assert_eq!(strict.swapped(StepAction::Rollback), 2);
        assert!(strict.steps.iter().any(|s| s.action == StepAction::Rollback
            && s.phase == ROLLBACK_PHASE
            && s.node_id == Some(1)));
    }

    #[test]
    fn one_failed_node_names_its_phase_and_error() {
        let mut sim = Sim::new(Strategy::Direct, &fleet(2, |_| None), None);
        sim.agents.insert(1, Agent::Breaks);
        sim.run(60);
        assert_eq!(
            sim.ended(),
            (
                DeploymentStatus::RolledBack,
                "all nodes failed: web-1: checksum mismatch"
            )
        );
    }

    #[test]
    fn a_rollback_that_fails_fails_the_deployment_and_says_both() {
        let mut sim = Sim::new(Strategy::Direct, &fleet(2, |_| None), None);
        sim.agents.insert(1, Agent::Breaks);
        sim.agents.insert(2, Agent::CannotRollBack);
        sim.run(60);
        assert_eq!(
            sim.ended(),
            (
                DeploymentStatus::Failed,
                "all nodes failed: web-1: checksum mismatch; \
                 the rollback failed too: web-2: the old release is gone"
            )
        );
    }

    #[test]
    fn a_vanished_node_fails_its_step_after_the_node_timeout() {
        let mut sim = Sim::new(Strategy::Direct, &fleet(2, |_| None), None);
        sim.agents.insert(2, Agent::Vanishes);
        let took = sim.run(120);
        let (status, outcome) = sim.ended();
        assert_eq!(status, DeploymentStatus::RolledBack);
        assert!(outcome.contains("node web-2 is offline"), "{outcome}");
        assert!((15..=17).contains(&took), "failed after {took} s");
    }

    #[test]
    fn a_connected_node_that_never_answers_fails_after_the_step_timeout() {
        let mut sim = Sim::new(Strategy::Direct, &fleet(1, |_| None), None);
        sim.agents.insert(1, Agent::Ignores);
        sim.look();
        sim.now = at(599);
        assert_eq!(sim.decide(&Pass::default()), Decision::WaitUntil(at(600)));
        sim.now = at(601);
        let decision = sim.decide(&Pass::default());
        assert_eq!(
            decision,
            Decision::FailSteps(vec![(1, "node web-1 did not answer in time".into())])
        );
    }

    #[test]
    fn a_removed_node_fails_its_step_at_once() {
        let mut sim = Sim::new(Strategy::Direct, &fleet(2, |_| None), None);
        sim.agents.insert(2, Agent::Ignores);
        sim.look();
        sim.nodes.remove(&2);
        assert_eq!(
            sim.decide(&Pass::default()),
            Decision::FailSteps(vec![(2, "the node was removed".into())])
        );
    }

    #[test]
    fn the_guide_canary_finishes_on_small_fleets_whose_phases_repeat_nodes() {
        // On a few nodes several of the guide's shares round to the same
        // count, so some phases have no node of their own.
        let guide = || Strategy::Canary {
            phases: crate::domain::strategy::guide_canary(),
        };
        for n in 1..=6 {
            let mut sim = Sim::new(guide(), &fleet(n, |_| None), None);
            assert!(sim.plan.phases.iter().any(|p| p.nodes.is_empty()) || n == 6);
            sim.run(24 * 3600);
            assert_eq!(
                sim.ended(),
                (
                    DeploymentStatus::Succeeded,
                    format!("{n} nodes swapped").as_str()
                ),
                "{n} nodes"
            );
            let started = sim
                .taken
                .iter()
                .filter(|d| matches!(d, Decision::StartPhase { .. }))
                .count();
            assert_eq!(started, sim.plan.phases.len(), "each phase announced once");
        }
    }

    #[test]
    fn a_node_removed_mid_phase_fails_its_step_instead_of_being_sent_again() {
        let mut sim = Sim::new(Strategy::Direct, &fleet(2, |_| None), None);
        sim.agents.insert(2, Agent::Ignores);
        sim.look();
        // Removing the node clears the step's node (ON DELETE SET NULL).
        sim.nodes.remove(&2);
        sim.steps[1].node_id = None;
        assert_eq!(
            sim.decide(&Pass::default()),
            Decision::FailSteps(vec![(2, "the node was removed".into())])
        );
        sim.run(60);
        assert_eq!(
            sim.ended(),
            (
                DeploymentStatus::RolledBack,
                "all nodes failed: a removed node: the node was removed"
            )
        );
    }

    #[test]
    fn blue_green_deploys_to_the_idle_pool_then_switches() {
        let nodes = fleet(4, |id| Some(if id <= 2 { "blue" } else { "green" }));
        let mut sim = Sim::new(Strategy::BlueGreen, &nodes, Some("blue"));
        sim.run(60);
        assert_eq!(sim.ended().0, DeploymentStatus::Succeeded);
        assert_eq!(sim.active_pool.as_deref(), Some("green"));
        let swapped: Vec<i64> = sim.steps.iter().filter_map(|s| s.node_id).collect();
        assert_eq!(swapped, [3, 4], "only the idle pool is touched");
    }

    #[test]
    fn a_failed_switch_rolls_back_without_switching_back() {
        let nodes = fleet(2, |id| Some(if id == 1 { "blue" } else { "green" }));
        let mut sim = Sim::new(Strategy::BlueGreen, &nodes, Some("blue"));
        sim.switch = Err("load balancer said 502".into());
        sim.run(60);
        assert_eq!(
            sim.ended(),
            (
                DeploymentStatus::RolledBack,
                "the switch to green failed: load balancer said 502"
            )
        );
        assert_eq!(sim.active_pool.as_deref(), Some("blue"));
        assert!(!sim
            .taken
            .iter()
            .any(|d| matches!(d, Decision::Switch { rollback: true, .. })));
    }

    #[test]
    fn a_blue_green_rollback_switches_traffic_back_first() {
        let nodes = fleet(2, |id| Some(if id == 1 { "blue" } else { "green" }));
        let mut sim = Sim::new(Strategy::BlueGreen, &nodes, Some("blue"));
        sim.run(60);
        // An operator rolls the switched deployment back before it is recorded done.
        sim.dep.status = DeploymentStatus::Running;
        sim.apply(Decision::BeginRollback("rolled back by ops".into()));
        let first = sim.decide(&Pass::default());
        assert_eq!(
            first,
            Decision::Switch {
                from: Some("green".into()),
                to: "blue".into(),
                rollback: true
            }
        );
        sim.run(120);
        assert_eq!(
            sim.ended(),
            (DeploymentStatus::RolledBack, "rolled back by ops")
        );
        assert_eq!(sim.active_pool.as_deref(), Some("blue"));
    }

    #[test]
    fn a_failed_switch_back_fails_the_rollback_and_says_so() {
        let nodes = fleet(2, |id| Some(if id == 1 { "blue" } else { "green" }));
        let mut sim = Sim::new(Strategy::BlueGreen, &nodes, Some("blue"));
        sim.run(60);
        sim.dep.status = DeploymentStatus::Running;
        sim.apply(Decision::BeginRollback("aborted by ops".into()));
        sim.switch = Err("timed out".into());
        sim.run(120);
        assert_eq!(
            sim.ended(),
            (
                DeploymentStatus::Failed,
                "aborted by ops; the rollback failed too: switching traffic back to blue failed: timed out"
            )
        );
    }

    #[test]
    fn canary_watches_each_phase_for_its_duration() {
        let mut sim = Sim::new(canary(&[(25, 60), (50, 120)]), &fleet(4, |_| None), None);
        let took = sim.run(3600);
        assert_eq!(
            sim.ended(),
            (DeploymentStatus::Succeeded, "4 nodes swapped")
        );
        // 60 s, then 120 s, then the last phase (100 %) without a watch.
        assert!((180..=182).contains(&took), "took {took} s");
        let analyses = sim
            .taken
            .iter()
            .filter(|d| matches!(d, Decision::Analyse { .. }))
            .count();
        // One window every 30 s, and the whole phase at each end.
        assert!(analyses >= 6, "{analyses} analyses");
    }

    #[test]
    fn a_failing_canary_window_rolls_back_at_once() {
        let mut sim = Sim::new(canary(&[(25, 600)]), &fleet(4, |_| None), None);
        sim.verdict = Verdict::Fail;
        let took = sim.run(3600);
        let (status, outcome) = sim.ended();
        assert_eq!(status, DeploymentStatus::RolledBack);
        assert_eq!(outcome, "canary 25%: Fail");
        assert!(took <= 31, "judged at the first window: {took} s");
        assert_eq!(sim.swapped(StepAction::Rollback), 1);
    }

    #[test]
    fn an_inconclusive_phase_rolls_back_unless_the_environment_lets_it_pass() {
        let mut strict = Sim::new(canary(&[(50, 60)]), &fleet(2, |_| None), None);
        strict.verdict = Verdict::Inconclusive;
        strict.run(3600);
        assert_eq!(
            strict.ended(),
            (
                DeploymentStatus::RolledBack,
                "canary 50%: inconclusive at the end of the phase: Inconclusive"
            )
        );

        let mut lenient = Sim::new(canary(&[(50, 60)]), &fleet(2, |_| None), None);
        lenient.verdict = Verdict::Inconclusive;
        lenient.analysis.inconclusive_passes = true;
        lenient.run(3600);
        assert_eq!(lenient.ended().0, DeploymentStatus::Succeeded);
    }

    #[test]
    fn promote_ends_the_wait_of_the_current_phase() {
        let mut sim = Sim::new(canary(&[(50, 3600)]), &fleet(2, |_| None), None);
        sim.look();
        assert_eq!(sim.dep.stage, Stage::Verify);
        sim.dep.skip_wait = true;
        assert_eq!(sim.decide(&Pass::default()), Decision::NextPhase(1));
        let took = sim.run(7200);
        assert_eq!(sim.ended().0, DeploymentStatus::Succeeded);
        assert!(took < 5, "promoted, not waited: {took} s");
    }

    #[test]
    fn a_paused_deployment_waits_for_a_person_and_resumes_where_it_was() {
        let mut sim = Sim::new(canary(&[(34, 600)]), &fleet(3, |_| None), None);
        sim.look();
        assert_eq!(sim.dep.stage, Stage::Verify);
        sim.dep.status = DeploymentStatus::Paused;
        let now = sim.now;
        assert_eq!(
            sim.decide(&Pass::default()),
            Decision::WaitUntil(now + Duration::seconds(60))
        );
        let phase = sim.dep.current_phase;
        sim.now = now + Duration::hours(3);
        sim.look();
        assert_eq!(sim.dep.current_phase, phase, "nothing moves while paused");
        sim.dep.status = DeploymentStatus::Running;
        sim.run(20_000);
        assert_eq!(
            sim.ended(),
            (DeploymentStatus::Succeeded, "3 nodes swapped")
        );
    }

    #[test]
    fn an_abort_mid_phase_rolls_back_what_was_swapped() {
        let mut sim = Sim::new(canary(&[(50, 600)]), &fleet(4, |_| None), None);
        sim.look();
        // The operator's abort (the service's begin_rollback).
        sim.apply(Decision::BeginRollback("aborted by ops".into()));
        sim.run(3600);
        assert_eq!(
            sim.ended(),
            (DeploymentStatus::RolledBack, "aborted by ops")
        );
        assert_eq!(sim.swapped(StepAction::Rollback), 2);
        let restored: Vec<i64> = sim
            .taken
            .iter()
            .filter_map(|d| match d {
                Decision::CreateSteps {
                    action: StepAction::Rollback,
                    nodes,
                    ..
                } => Some(nodes.iter().map(|(n, v)| {
                    assert_eq!(v.as_deref(), Some("1.0.0"), "back to what it ran");
                    *n
                })),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(restored, [1, 2]);
    }

    #[test]
    fn queued_starts_and_finished_releases() {
        let mut sim = Sim::new(Strategy::Direct, &fleet(1, |_| None), None);
        sim.dep.status = DeploymentStatus::Queued;
        assert_eq!(sim.decide(&Pass::default()), Decision::Start);
        for status in DeploymentStatus::ALL.iter().filter(|s| s.is_finished()) {
            sim.dep.status = *status;
            assert_eq!(sim.decide(&Pass::default()), Decision::Release, "{status}");
        }
        sim.dep.status = DeploymentStatus::PendingApproval;
        assert!(matches!(
            sim.decide(&Pass::default()),
            Decision::WaitUntil(_)
        ));
    }

    #[test]
    fn deciding_twice_on_the_same_state_decides_the_same() {
        let mut sim = Sim::new(canary(&[(50, 60)]), &fleet(4, |_| None), None);
        for _ in 0..5 {
            let pass = Pass::default();
            assert_eq!(sim.decide(&pass), sim.decide(&pass));
            sim.look();
            sim.now += Duration::seconds(20);
        }
    }

    #[test]
    fn command_ids_are_stable_and_distinct() {
        assert_eq!(command_id(7, 0, 3, StepAction::Swap), "d7-p0-n3-swap");
        assert_eq!(
            command_id(7, ROLLBACK_PHASE, 3, StepAction::Rollback),
            "d7-rollback-n3"
        );
    }
}
