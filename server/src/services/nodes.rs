//! Nodes: enrollment with a token an Admin created, the node credential that
//! replaces it, and what agents report about themselves.

use std::collections::{BTreeMap, HashMap};

use app::model::module::NodeInfo;
use app::model::role::Action;
use chrono::{DateTime, Duration, Utc};
use rand::distributions::{Alphanumeric, DistString};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use serde::Deserialize;

use crate::agent::protocol::{EnrollRequest, EnrollResponse, Modules, ProbeSample};
use crate::domain::token::hash;
use crate::entities::{enrollment_tokens, environments, node_samples, nodes};
use crate::services::principal::Principal;
use crate::services::tenancy::{scoped, Tenant};
use crate::services::ServiceError;

pub const ONLINE: &str = "online";
pub const OFFLINE: &str = "offline";

/// How often agents are told to heartbeat.
pub const HEARTBEAT_SECS: u64 = 2;

#[derive(Debug, Deserialize)]
pub struct NewEnrollmentToken {
    pub pool: Option<String>,
    /// Lifetime such as `1h` or `7d` (default 24 h).
    pub expires: Option<String>,
}

pub use app::model::module::CreatedEnrollment as CreatedEnrollmentToken;

fn secret(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        Alphanumeric.sample_string(&mut rand::rngs::OsRng, 40)
    )
}

pub async fn create_enrollment_token(
    db: &DatabaseConnection,
    principal: &Principal,
    environment: &str,
    new: NewEnrollmentToken,
) -> Result<CreatedEnrollmentToken, ServiceError> {
    principal.require(Action::ManageEnvironments)?;
    let env = scoped::<environments::Entity>(&principal.tenant)
        .filter(environments::Column::Name.eq(environment))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("environment"))?;
    let pool = match new.pool.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(p @ ("blue" | "green")) => Some(p.to_string()),
        Some(_) => return Err(ServiceError::invalid("pool", "blue or green")),
    };
    let lifetime = match new.expires.as_deref().filter(|e| !e.trim().is_empty()) {
        None => Duration::hours(24),
        Some(text) => crate::domain::token::parse_lifetime(text)
            .map_err(|m| ServiceError::invalid("expires", m))?,
    };
    let token = secret("hse_");
    let now = Utc::now();
    let row = enrollment_tokens::ActiveModel {
        tenant_id: Set(principal.tenant.id),
        environment_id: Set(env.id),
        pool: Set(pool.clone()),
        token_hash: Set(hash(&token)),
        created_by: Set(Some(principal.user_id)),
        expires_at: Set(now + lifetime),
        used_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(CreatedEnrollmentToken {
        token,
        environment: env.name,
        pool,
        expires_at: row.expires_at,
    })
}

/// Enrolls a node, or re-enrolls one of the same name in the same environment
/// (a rebuilt machine): it gets a fresh credential and the old one stops working.
pub async fn enroll(
    db: &DatabaseConnection,
    request: EnrollRequest,
) -> Result<EnrollResponse, ServiceError> {
    let now = Utc::now();
    let token = enrollment_tokens::Entity::find()
        .filter(enrollment_tokens::Column::TokenHash.eq(hash(request.token.trim())))
        .one(db)
        .await?
        .filter(|t| t.expires_at > now)
        .ok_or(ServiceError::Unauthorized)?;
    let name = app::model::validate::module_name(&request.name).map_err(|_| {
        ServiceError::invalid(
            "name",
            "1 to 64 characters: letters, digits, '.', '-', '_' or '+'",
        )
    })?;
    if request.labels.len() > 50
        || request
            .labels
            .iter()
            .any(|(k, v)| k.len() > 64 || v.len() > 256)
    {
        return Err(ServiceError::invalid(
            "labels",
            "at most 50 labels, keys up to 64 and values up to 256 characters",
        ));
    }
    let env = environments::Entity::find_by_id(token.environment_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("environment"))?;
    let credential = secret("hsn_");
    let existing = nodes::Entity::find()
        .filter(nodes::Column::TenantId.eq(token.tenant_id))
        .filter(nodes::Column::Name.eq(name.as_str()))
        .one(db)
        .await?;
    let labels = serde_json::to_value(&request.labels).unwrap_or_default();
    let node = match existing {
        Some(node) if node.environment_id != env.id => {
            return Err(ServiceError::Conflict(format!(
                "a node named {name} is enrolled in another environment; choose another --name"
            )))
        }
        Some(node) => {
            let mut active = node.into_active_model();
            active.credential_hash = Set(Some(hash(&credential)));
            active.pool = Set(token.pool.clone());
            active.labels = Set(labels);
            active.agent_version = Set(Some(request.agent_version.clone()));
            active.updated_at = Set(now);
            active.update(db).await?
        }
        None => {
            nodes::ActiveModel {
                tenant_id: Set(token.tenant_id),
                environment_id: Set(env.id),
                name: Set(name),
                labels: Set(labels),
                pool: Set(token.pool.clone()),
                status: Set(OFFLINE.into()),
                versions: Set(serde_json::json!({})),
                agent_version: Set(Some(request.agent_version.clone())),
                credential_hash: Set(Some(hash(&credential))),
                last_heartbeat_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await?
        }
    };
    if token.used_at.is_none() {
        let mut used = token.into_active_model();
        used.used_at = Set(Some(now));
        used.update(db).await?;
    }
    Ok(EnrollResponse {
        node_id: node.id,
        credential,
        environment: env.name,
        pool: node.pool,
        heartbeat_secs: HEARTBEAT_SECS,
    })
}

pub async fn authenticate(
    db: &DatabaseConnection,
    credential: &str,
) -> Result<nodes::Model, ServiceError> {
    nodes::Entity::find()
        .filter(nodes::Column::CredentialHash.eq(hash(credential.trim())))
        .one(db)
        .await?
        .ok_or(ServiceError::Unauthorized)
}

/// The agent said hello, or heartbeats: it is online and runs `modules`.
pub async fn seen(
    db: &DatabaseConnection,
    node: &nodes::Model,
    modules: &Modules,
    agent_version: Option<&str>,
) -> Result<(), ServiceError> {
    let now = Utc::now();
    let mut update = nodes::Entity::update_many()
        .col_expr(nodes::Column::Status, ONLINE.into())
        .col_expr(nodes::Column::LastHeartbeatAt, Some(now).into())
        .col_expr(
            nodes::Column::Versions,
            serde_json::to_value(modules).unwrap_or_default().into(),
        )
        .filter(nodes::Column::Id.eq(node.id));
    if let Some(version) = agent_version {
        update = update.col_expr(
            nodes::Column::AgentVersion,
            Some(version.to_string()).into(),
        );
    }
    update.exec(db).await?;
    Ok(())
}

pub async fn record_sample(
    db: &DatabaseConnection,
    node: &nodes::Model,
    sample: ProbeSample,
) -> Result<(), ServiceError> {
    node_samples::ActiveModel {
        tenant_id: Set(node.tenant_id),
        node_id: Set(node.id),
        requests: Set(sample.requests.min(i64::MAX as u64) as i64),
        errors: Set(sample.errors.min(i64::MAX as u64) as i64),
        p95_ms: Set(if sample.p95_ms.is_finite() {
            sample.p95_ms.max(0.0)
        } else {
            0.0
        }),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn disconnected(db: &DatabaseConnection, node_id: i64) -> Result<(), ServiceError> {
    nodes::Entity::update_many()
        .col_expr(nodes::Column::Status, OFFLINE.into())
        .filter(nodes::Column::Id.eq(node_id))
        .filter(nodes::Column::Status.eq(ONLINE))
        .exec(db)
        .await?;
    Ok(())
}

/// Nodes that missed their heartbeats are offline, whichever replica they were on.
pub async fn mark_silent_offline(
    db: &DatabaseConnection,
    cutoff: DateTime<Utc>,
) -> Result<(), ServiceError> {
    nodes::Entity::update_many()
        .col_expr(nodes::Column::Status, OFFLINE.into())
        .filter(nodes::Column::Status.eq(ONLINE))
        .filter(nodes::Column::LastHeartbeatAt.lt(cutoff))
        .exec(db)
        .await?;
    // Samples only matter for a running canary phase; a day is plenty.
    node_samples::Entity::delete_many()
        .filter(node_samples::Column::CreatedAt.lt(Utc::now() - Duration::days(1)))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn list(db: &DatabaseConnection, tenant: &Tenant) -> Result<Vec<NodeInfo>, ServiceError> {
    let envs: HashMap<i64, String> = scoped::<environments::Entity>(tenant)
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e.name))
        .collect();
    Ok(scoped::<nodes::Entity>(tenant)
        .order_by_asc(nodes::Column::EnvironmentId)
        .order_by_asc(nodes::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|n| NodeInfo {
            id: n.id,
            environment: envs.get(&n.environment_id).cloned().unwrap_or_default(),
            name: n.name,
            pool: n.pool,
            status: n.status,
            labels: serde_json::from_value::<BTreeMap<String, String>>(n.labels)
                .unwrap_or_default(),
            versions: serde_json::from_value::<BTreeMap<String, String>>(n.versions)
                .unwrap_or_default(),
            agent_version: n.agent_version,
            last_heartbeat_at: n.last_heartbeat_at,
        })
        .collect())
}
