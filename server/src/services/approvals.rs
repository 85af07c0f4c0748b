//! Approval of deployments to gated environments (SPEC §3): N distinct
//! approvers, never the requester unless the environment allows it, a
//! rejection needs a reason, and an undecided request expires.

use std::collections::HashMap;

use app::model::deployment::{
    ApprovalDecision, ApprovalInbox, ApprovalRequest, ApprovalState, DeploymentStatus,
};
use app::model::event::{self as ev, Event};
pub use app::model::lifecycle::Decision;
use app::model::role::Action;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::entities::{approvals, deployments, environments, users};
use crate::services::audit::{self, AuditRecord};
use crate::services::error::is_unique_violation;
use crate::services::lifecycle::{transition, Observed, Orchestrator};
use crate::services::principal::Principal;
use crate::services::read::ReadModel;
use crate::services::tenancy::{scoped, Tenant};
use crate::services::{events, ServiceError};

/// The longest comment kept with a decision.
pub const MAX_COMMENT: usize = 2000;

/// The answer to a decision: where the deployment now stands.
#[derive(Debug, Serialize, Deserialize)]
pub struct Decided {
    pub id: i64,
    pub status: DeploymentStatus,
    pub approvals: usize,
    pub required: i32,
}

pub async fn decide(
    db: &DatabaseConnection,
    engine: &dyn Orchestrator,
    principal: &Principal,
    id: i64,
    decision: Decision,
    comment: Option<String>,
) -> Result<Decided, ServiceError> {
    principal.require(Action::Approve)?;
    let dep = scoped::<deployments::Entity>(&principal.tenant)
        .filter(deployments::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("deployment"))?;
    let env = environments::Entity::find_by_id(dep.environment_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("environment"))?;
    let comment = comment
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    if comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT)
    {
        return Err(ServiceError::invalid(
            "comment",
            format!("at most {MAX_COMMENT} characters"),
        ));
    }
    if decision == Decision::Rejected && comment.is_none() {
        return Err(ServiceError::invalid(
            "comment",
            "say why you reject it: the requester reads this",
        ));
    }
    if dep.status != DeploymentStatus::PendingApproval {
        return Err(ServiceError::Conflict(format!(
            "this deployment is {}; only a pending one can be {}",
            dep.status.label(),
            decision.as_str()
        )));
    }
    if dep.requested_by == Some(principal.user_id) && !env.allow_self_approval {
        return Err(ServiceError::Forbidden(format!(
            "you requested this deployment, and {} does not allow approving your own; \
             another Admin must decide",
            env.name
        )));
    }

    let now = Utc::now();
    let txn = db.begin().await?;
    approvals::ActiveModel {
        tenant_id: Set(dep.tenant_id),
        deployment_id: Set(dep.id),
        approver_id: Set(principal.user_id),
        decision: Set(decision),
        comment: Set(comment.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            ServiceError::Conflict(
                "you already decided on this deployment; a second decision by the same person \
                 does not count"
                    .into(),
            )
        } else {
            e.into()
        }
    })?;
    let approved = approvals::Entity::find()
        .filter(approvals::Column::DeploymentId.eq(dep.id))
        .filter(approvals::Column::Decision.eq(Decision::Approved))
        .all(&txn)
        .await?
        .len();
    let required = env.required_approvals.max(1);
    let next = match decision {
        Decision::Rejected => Some(DeploymentStatus::Rejected),
        Decision::Approved if approved as i32 >= required => Some(DeploymentStatus::Queued),
        Decision::Approved => None,
    };
    if let Some(next) = next {
        // Conditional: a concurrent decision or the expiry sweep may have
        // settled it already; then this decision changes nothing.
        let mut update = transition(dep.id, &[DeploymentStatus::PendingApproval], next);
        if next == DeploymentStatus::Rejected {
            let outcome = format!(
                "rejected by {}: {}",
                principal.username,
                comment.clone().unwrap_or_default()
            );
            update = update
                .col_expr(deployments::Column::Outcome, Some(outcome).into())
                .col_expr(deployments::Column::FinishedAt, Some(now).into());
        }
        if update.exec(&txn).await?.rows_affected != 1 {
            return Err(ServiceError::Conflict(
                "this deployment was decided a moment ago; reload to see how".into(),
            ));
        }
    }
    events::append(
        &txn,
        dep.tenant_id,
        Some(dep.id),
        Event::decided(
            decision,
            ev::Decided {
                by: principal.username.clone(),
                comment: comment.clone(),
                approvals: approved as i64,
                required: i64::from(required),
            },
        ),
    )
    .await?;
    if next == Some(DeploymentStatus::Rejected) {
        events::append(
            &txn,
            dep.tenant_id,
            Some(dep.id),
            Event::DeploymentRejected(ev::Ended {
                outcome: format!("rejected by {}", principal.username),
            }),
        )
        .await?;
    }
    txn.commit().await?;
    if let Some(next) = next {
        engine.observe(Observed::ApprovalSettled {
            seconds: (now - dep.created_at).num_milliseconds() as f64 / 1000.0,
        });
        if next == DeploymentStatus::Queued {
            engine.wake(dep.id).await;
        }
    }
    Ok(Decided {
        id: dep.id,
        status: next.unwrap_or(DeploymentStatus::PendingApproval),
        approvals: approved,
        required,
    })
}

/// Expires every request past its deadline (any replica may run this; the
/// conditional update lets exactly one of them expire each request).
pub async fn expire_overdue(
    db: &DatabaseConnection,
    engine: &dyn Orchestrator,
) -> Result<usize, ServiceError> {
    let now = Utc::now();
    let overdue = deployments::Entity::find()
        .filter(deployments::Column::Status.eq(DeploymentStatus::PendingApproval))
        .filter(deployments::Column::ApprovalDeadline.lte(now))
        .all(db)
        .await?;
    let mut expired = 0;
    for dep in overdue {
        let outcome = "no decision before the approval timeout".to_string();
        let txn = db.begin().await?;
        let moved = transition(
            dep.id,
            &[DeploymentStatus::PendingApproval],
            DeploymentStatus::Expired,
        )
        .col_expr(deployments::Column::Outcome, Some(outcome.clone()).into())
        .col_expr(deployments::Column::FinishedAt, Some(now).into())
        .exec(&txn)
        .await?
        .rows_affected
            == 1;
        if moved {
            events::append(
                &txn,
                dep.tenant_id,
                Some(dep.id),
                Event::DeploymentExpired(ev::Ended { outcome }),
            )
            .await?;
        }
        txn.commit().await?;
        if moved {
            expired += 1;
            engine.observe(Observed::ApprovalSettled {
                seconds: (now - dep.created_at).num_milliseconds() as f64 / 1000.0,
            });
            let entry = AuditRecord {
                tenant_id: Some(dep.tenant_id),
                actor_user_id: None,
                actor: "system".into(),
                action: "expire approval request".into(),
                target: Some(format!("/api/v1/deployments/{}", dep.id)),
                source_ip: None,
                outcome: "success",
                details: json!({ "deadline": dep.approval_deadline }),
            };
            audit::record(db, entry).await?;
        }
    }
    Ok(expired)
}

/// The approval state of one deployment, if its environment asked for one.
pub async fn state_of(
    db: &DatabaseConnection,
    dep: &deployments::Model,
) -> Result<Option<ApprovalState>, ServiceError> {
    if dep.approval_deadline.is_none() {
        return Ok(None);
    }
    let env = environments::Entity::find_by_id(dep.environment_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("environment"))?;
    let mut states = states(db, std::slice::from_ref(dep), &[env]).await?;
    Ok(states.remove(&dep.id))
}

async fn states(
    db: &DatabaseConnection,
    deps: &[deployments::Model],
    envs: &[environments::Model],
) -> Result<HashMap<i64, ApprovalState>, ServiceError> {
    if deps.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<i64> = deps.iter().map(|d| d.id).collect();
    let rows = approvals::Entity::find()
        .filter(approvals::Column::DeploymentId.is_in(ids))
        .order_by_asc(approvals::Column::Id)
        .all(db)
        .await?;
    let approver_ids: Vec<i64> = rows.iter().map(|r| r.approver_id).collect();
    let names: HashMap<i64, String> = if approver_ids.is_empty() {
        HashMap::new()
    } else {
        users::Entity::find()
            .filter(users::Column::Id.is_in(approver_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.username))
            .collect()
    };
    let mut out: HashMap<i64, ApprovalState> = HashMap::new();
    for dep in deps {
        let Some(env) = envs.iter().find(|e| e.id == dep.environment_id) else {
            continue;
        };
        out.insert(
            dep.id,
            ApprovalState {
                required: env.required_approvals.max(1),
                allow_self_approval: env.allow_self_approval,
                deadline: dep.approval_deadline,
                decisions: Vec::new(),
            },
        );
    }
    for row in rows {
        if let Some(state) = out.get_mut(&row.deployment_id) {
            state.decisions.push(ApprovalDecision {
                approver: names.get(&row.approver_id).cloned().unwrap_or_default(),
                decision: row.decision,
                comment: row.comment,
                at: row.created_at,
            });
        }
    }
    Ok(out)
}

/// How many requests of the tenant wait for a decision.
pub async fn pending_count(
    db: &DatabaseConnection,
    principal: &Principal,
) -> Result<u64, ServiceError> {
    principal.require(Action::Read)?;
    Ok(scoped::<deployments::Entity>(&principal.tenant)
        .filter(deployments::Column::Status.eq(DeploymentStatus::PendingApproval))
        .count(db)
        .await?)
}

/// The tenant's pending requests, the most urgent first.
pub async fn inbox(
    db: &DatabaseConnection,
    read: &ReadModel,
    principal: &Principal,
) -> Result<ApprovalInbox, ServiceError> {
    principal.require(Action::Read)?;
    let tenant: &Tenant = &principal.tenant;
    let pending = scoped::<deployments::Entity>(tenant)
        .filter(deployments::Column::Status.eq(DeploymentStatus::PendingApproval))
        .order_by_asc(deployments::Column::ApprovalDeadline)
        .order_by_asc(deployments::Column::Id)
        .all(db)
        .await?;
    let envs = scoped::<environments::Entity>(tenant).all(db).await?;
    let mut states = states(db, &pending, &envs).await?;
    let ids: Vec<i64> = pending.iter().map(|d| d.id).collect();
    let summaries = read.summaries_of(tenant, &ids).await?;
    let items = summaries
        .into_iter()
        .filter_map(|deployment| {
            let approval = states.remove(&deployment.id)?;
            Some(ApprovalRequest {
                deployment,
                approval,
            })
        })
        .collect();
    Ok(ApprovalInbox {
        items,
        now: Utc::now(),
    })
}
