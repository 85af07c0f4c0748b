//! Between the steps table and an agent's socket: which commands a node should
//! receive now, and what its answers change.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
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

/// Which node asks for its commands, and which sent ones it wants again.
#[derive(Debug, Clone, Copy)]
pub struct Due {
    pub node_id: i64,
    pub resend: Resend,
}

/// Commands for each node of `due`, in its order: pending steps become
/// `sent`, and sent ones go out again as its `resend` says. However many
/// nodes (500 ids a statement): a read of their open steps, one of each
/// deployment's artifact, a claim of the pending steps and a count of the
/// resent ones.
pub async fn commands_for(
    db: &DatabaseConnection,
    due: &[Due],
) -> Result<Vec<Vec<ServerMessage>>, ServiceError> {
    // `updated_at` stays the time a command was first sent (the step timeout
    // counts from it); each resend waits one more `age` than the last.
    let now = Utc::now();
    // A node asking twice in one burst (a reconnect racing its old
    // connection): a new connection's "everything again" wins.
    let mut resend: HashMap<i64, Resend> = HashMap::new();
    for d in due {
        let merged = match (resend.get(&d.node_id), d.resend) {
            (Some(Resend::All), _) | (_, Resend::All) => Resend::All,
            (_, after) => after,
        };
        resend.insert(d.node_id, merged);
    }
    let stale = |step: &deployment_steps::Model| match step.node_id.and_then(|n| resend.get(&n)) {
        Some(Resend::After(age)) => step.updated_at + *age * step.attempts.max(1) < now,
        Some(Resend::All) => true,
        None => false,
    };
    let mut open: Vec<deployment_steps::Model> = Vec::new();
    for nodes in due.chunks(CHUNK) {
        open.extend(
            deployment_steps::Entity::find()
                .filter(deployment_steps::Column::NodeId.is_in(nodes.iter().map(|d| d.node_id)))
                .filter(deployment_steps::Column::Status.is_in(OPEN))
                .order_by_asc(deployment_steps::Column::Id)
                .all(db)
                .await?,
        );
    }
    let pending: Vec<i64> = open
        .iter()
        .filter(|s| s.status == StepStatus::Pending)
        .map(|s| s.id)
        .collect();
    let resent: HashSet<i64> = open
        .iter()
        .filter(|s| s.status == StepStatus::Sent && stale(s))
        .map(|s| s.id)
        .collect();
    // What the commands carry, read before anything is claimed: a claim
    // that could not be sent would wait for its resend.
    let mut artifacts: HashMap<i64, Artifact> = HashMap::new();
    for step in open
        .iter()
        .filter(|s| s.status == StepStatus::Pending || resent.contains(&s.id))
    {
        if let std::collections::hash_map::Entry::Vacant(slot) = artifacts.entry(step.deployment_id)
        {
            if let Some(artifact) = Artifact::of_deployment(db, step.deployment_id).await? {
                slot.insert(artifact);
            }
        }
    }
    let attempt = Expr::col(deployment_steps::Column::Attempts).add(1);
    // Another replica may have claimed some meanwhile (a node connected to
    // two): only what this claim changed goes out from here.
    let mut claimed: HashSet<i64> = HashSet::new();
    for ids in pending.chunks(CHUNK) {
        claimed.extend(
            deployment_steps::Entity::update_many()
                .col_expr(
                    deployment_steps::Column::Status,
                    Expr::value(StepStatus::Sent),
                )
                .col_expr(deployment_steps::Column::Attempts, attempt.clone())
                .col_expr(deployment_steps::Column::UpdatedAt, now.into())
                .filter(deployment_steps::Column::Id.is_in(ids.iter().copied()))
                .filter(deployment_steps::Column::Status.eq(StepStatus::Pending))
                .exec_with_returning(db)
                .await?
                .into_iter()
                .map(|s| s.id),
        );
    }
    let again: Vec<i64> = resent.iter().copied().collect();
    for ids in again.chunks(CHUNK) {
        deployment_steps::Entity::update_many()
            .col_expr(deployment_steps::Column::Attempts, attempt.clone())
            .filter(deployment_steps::Column::Id.is_in(ids.iter().copied()))
            .exec(db)
            .await?;
    }
    let mut messages: HashMap<i64, Vec<ServerMessage>> = HashMap::new();
    open.sort_by_key(|s| s.id);
    for step in open
        .into_iter()
        .filter(|s| claimed.contains(&s.id) || resent.contains(&s.id))
    {
        let (Some(node_id), Some(artifact)) = (step.node_id, artifacts.get(&step.deployment_id))
        else {
            continue;
        };
        messages
            .entry(node_id)
            .or_default()
            .push(match step.action {
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
    // A node that asked twice gets its commands on the connection that
    // asked last (the newer).
    let mut replies = vec![Vec::new(); due.len()];
    for (reply, d) in replies.iter_mut().zip(due).rev() {
        if let Some(commands) = messages.remove(&d.node_id) {
            *reply = commands;
        }
    }
    Ok(replies)
}

/// Ids bound in one statement: well under both databases' limits.
const CHUNK: usize = 500;

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

/// An agent's answer to one of its node's commands.
#[derive(Debug, Clone)]
pub struct Answer {
    pub node_id: i64,
    pub node_name: String,
    pub result: CommandResult,
}

/// The longest text an answer may carry in one field (an error message is
/// the longest a real agent sends).
const ANSWER_TEXT: usize = 4_096;

/// Whether an answer can be written at all: text a database refuses (a NUL
/// character) or of absurd length would fail the whole burst it is written
/// with, and every other answer in it would be written again one by one.
pub fn writable(result: &CommandResult) -> bool {
    let fine = |text: &str| text.len() <= ANSWER_TEXT && !text.contains('\0');
    fine(&result.command_id)
        && fine(&result.module)
        && [
            &result.error,
            &result.current_version,
            &result.previous_version,
        ]
        .into_iter()
        .flatten()
        .all(|t| fine(t))
        && result.modules.iter().all(|(m, v)| fine(m) && fine(v))
}

/// Records a burst of answers in one transaction: what each node now runs,
/// its step closed, its event. Returns the deployments left with no open
/// step, which the engine has to decide on now.
pub async fn record_answers(
    db: &DatabaseConnection,
    answers: &[Answer],
) -> Result<Vec<i64>, ServiceError> {
    if answers.is_empty() {
        return Ok(Vec::new());
    }
    let txn = db.begin().await?;
    let now = Utc::now();
    let mut recorded = Vec::with_capacity(answers.len());
    let mut answered = BTreeSet::new();
    for answer in answers {
        let result = &answer.result;
        // What the agent says it runs is the truth; the table follows.
        nodes::Entity::update_many()
            .col_expr(
                nodes::Column::Versions,
                serde_json::to_value(&result.modules)
                    .unwrap_or_default()
                    .into(),
            )
            .col_expr(nodes::Column::UpdatedAt, now.into())
            .filter(nodes::Column::Id.eq(answer.node_id))
            .exec(&txn)
            .await?;
        // A node may only answer for its own commands, and each once.
        let status = if result.ok {
            StepStatus::Done
        } else {
            StepStatus::Failed
        };
        let closed = deployment_steps::Entity::update_many()
            .col_expr(deployment_steps::Column::Status, Expr::value(status))
            .col_expr(
                deployment_steps::Column::Result,
                serde_json::to_value(result).unwrap_or_default().into(),
            )
            .col_expr(deployment_steps::Column::UpdatedAt, now.into())
            .filter(deployment_steps::Column::CommandId.eq(result.command_id.as_str()))
            .filter(deployment_steps::Column::NodeId.eq(answer.node_id))
            .filter(deployment_steps::Column::Status.is_in(OPEN))
            .exec_with_returning(&txn)
            .await?;
        let Some(step) = closed.into_iter().next() else {
            continue;
        };
        let outcome = NodeOutcome {
            node: Some(answer.node_name.clone()),
            node_id: Some(answer.node_id),
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
        recorded.push((step.tenant_id, Some(step.deployment_id), event));
        answered.insert(step.deployment_id);
    }
    events::append_many(&txn, recorded).await?;
    txn.commit().await?;
    events::committed();
    // Written: what follows only decides whom to wake, and failing it must
    // not have the burst written again (the engine's own look every second
    // finds a deployment nobody woke).
    // The engine has nothing to decide while other commands of a deployment
    // are still out (its periodic look catches silent nodes), so only the
    // answers that closed its last open step wake it: one run per phase, not
    // one per node. Asked after the commit, so that answers committed on
    // another replica meanwhile are seen (one of the two wakes it, or both).
    let mut finished = Vec::new();
    for deployment_id in answered {
        let outstanding: Result<Option<i64>, _> = deployment_steps::Entity::find()
            .select_only()
            .column(deployment_steps::Column::Id)
            .filter(deployment_steps::Column::DeploymentId.eq(deployment_id))
            .filter(deployment_steps::Column::Status.is_in(OPEN))
            .into_tuple()
            .one(db)
            .await;
        match outstanding {
            Ok(None) => finished.push(deployment_id),
            Ok(Some(_)) => {}
            Err(error) => {
                tracing::debug!(%error, deployment_id, "could not tell whether a deployment's answers are all in")
            }
        }
    }
    Ok(finished)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> CommandResult {
        CommandResult {
            command_id: "c-1".into(),
            ok: true,
            error: None,
            module: "web".into(),
            current_version: Some("2.0.0".into()),
            previous_version: None,
            modules: [("web".to_string(), "2.0.0".to_string())].into(),
        }
    }

    #[test]
    fn answers_no_database_can_hold_are_not_written() {
        assert!(writable(&answer()));
        let mut nul = answer();
        nul.command_id = "c-\0".into();
        assert!(!writable(&nul));
        let mut long = answer();
        long.error = Some("x".repeat(ANSWER_TEXT + 1));
        assert!(!writable(&long));
        let mut versions = answer();
        versions.modules.insert("web\0".into(), "1".into());
        assert!(!writable(&versions));
    }
}
