//! Nodes: enrollment with a token an Admin created, the node credential that
//! replaces it, and what agents report about themselves.

use app::model::lifecycle::{DeploymentStatus, NodeStatus, StepStatus};
use app::model::module::{NodeFilter, NodeInfo, NodePage};
use app::model::role::Action;
use chrono::{DateTime, Duration, Utc};
use rand::distributions::{Alphanumeric, DistString};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, JoinType, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};
use serde::Deserialize;

use crate::domain::token::hash;
use crate::entities::{enrollment_tokens, environments, node_samples, nodes};
use crate::services::principal::Principal;
use crate::services::sql::{self, page, PageSize};
use crate::services::tenancy::{environment_named, scoped, Tenant};
use crate::services::ServiceError;

/// An enrolled node, as its agent's connection holds it.
pub type Node = nodes::Model;
use hotswap_protocol::{EnrollRequest, EnrollResponse, Modules, ProbeSample};

/// How often agents are told to heartbeat.
pub const HEARTBEAT_SECS: u64 = 2;

#[derive(Debug, Deserialize)]
pub struct NewEnrollmentToken {
    pub pool: Option<String>,
    /// Lifetime such as `1h` or `7d` (default 24 h, at most 30 days).
    pub expires: Option<String>,
    /// How many nodes it may enroll (default 1, at most 10,000: a whole fleet).
    pub uses: Option<u32>,
}

/// Most nodes one enrollment token may enroll.
pub const MAX_ENROLLMENT_USES: u32 = 10_000;

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
        Some(text) => {
            crate::domain::token::parse_lifetime(text, &app::model::duration::ENROLLMENT_LIFETIME)
                .map_err(|m| ServiceError::invalid("expires", m))?
        }
    };
    let max_uses = match new.uses {
        None => 1,
        Some(n @ 1..=MAX_ENROLLMENT_USES) => n as i32,
        Some(_) => {
            return Err(ServiceError::invalid(
                "uses",
                format!("from 1 to {MAX_ENROLLMENT_USES} nodes"),
            ))
        }
    };
    let token = secret("hse_");
    let now = Utc::now();
    let row = enrollment_tokens::ActiveModel {
        max_uses: Set(max_uses),
        uses: Set(0),
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
        id: row.id,
        token,
        environment: env.name,
        pool,
        expires_at: row.expires_at,
        max_uses,
    })
}

/// The tenant's enrollment tokens for `environment`, newest first (never their secrets).
pub async fn enrollment_tokens(
    db: &DatabaseConnection,
    principal: &Principal,
    environment: &str,
) -> Result<Vec<app::model::module::EnrollmentTokenInfo>, ServiceError> {
    principal.require(Action::ManageEnvironments)?;
    let env = scoped::<environments::Entity>(&principal.tenant)
        .filter(environments::Column::Name.eq(environment))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("environment"))?;
    let rows = scoped::<enrollment_tokens::Entity>(&principal.tenant)
        .filter(enrollment_tokens::Column::EnvironmentId.eq(env.id))
        .order_by_desc(enrollment_tokens::Column::Id)
        .limit(200)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|t| app::model::module::EnrollmentTokenInfo {
            id: t.id,
            environment: env.name.clone(),
            pool: t.pool,
            expires_at: t.expires_at,
            uses: t.uses,
            max_uses: t.max_uses,
            revoked: t.revoked_at.is_some(),
            created_at: t.created_at,
        })
        .collect())
}

/// Revokes an enrollment token: no node enrolls with it any more.
pub async fn revoke_enrollment_token(
    db: &DatabaseConnection,
    principal: &Principal,
    id: i64,
) -> Result<(), ServiceError> {
    principal.require(Action::ManageEnvironments)?;
    let revoked = enrollment_tokens::Entity::update_many()
        .col_expr(
            enrollment_tokens::Column::RevokedAt,
            Some(Utc::now()).into(),
        )
        .filter(enrollment_tokens::Column::Id.eq(id))
        .filter(enrollment_tokens::Column::TenantId.eq(principal.tenant.id))
        .filter(enrollment_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    if revoked == 1 {
        return Ok(());
    }
    // Already revoked is fine; another tenant's or unknown is not found.
    scoped::<enrollment_tokens::Entity>(&principal.tenant)
        .filter(enrollment_tokens::Column::Id.eq(id))
        .one(db)
        .await?
        .map(|_| ())
        .ok_or(ServiceError::NotFound("enrollment token"))
}

/// Removes (decommissions) a node: its credential stops working at once and
/// its name is free to enroll again. Refused while a deployment in its
/// environment is active (its plan may name the node in a later phase).
pub async fn remove(
    db: &DatabaseConnection,
    principal: &Principal,
    id: i64,
) -> Result<(), ServiceError> {
    use crate::entities::{deployment_steps, deployments};
    principal.require(Action::ManageEnvironments)?;
    let node = scoped::<nodes::Entity>(&principal.tenant)
        .filter(nodes::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("node"))?;
    let deploying = deployments::Entity::find()
        .filter(deployments::Column::EnvironmentId.eq(node.environment_id))
        .filter(deployments::Column::Status.is_in(DeploymentStatus::active()))
        .one(db)
        .await?;
    let busy = deployment_steps::Entity::find()
        .filter(deployment_steps::Column::NodeId.eq(node.id))
        .filter(deployment_steps::Column::Status.is_in([StepStatus::Pending, StepStatus::Sent]))
        .one(db)
        .await?;
    if deploying.is_some() || busy.is_some() {
        return Err(ServiceError::Conflict(format!(
            "{} is part of a deployment in progress; wait for it to end, or abort it",
            node.name
        )));
    }
    nodes::Entity::delete_by_id(node.id).exec(db).await?;
    Ok(())
}

/// Enrolls a new node with a token that has uses left. A name already
/// enrolled in the tenant is refused: taking over a node needs an Admin to
/// remove it first, never just a token.
pub async fn enroll(
    db: &DatabaseConnection,
    request: EnrollRequest,
) -> Result<EnrollResponse, ServiceError> {
    let now = Utc::now();
    let token = enrollment_tokens::Entity::find()
        .filter(enrollment_tokens::Column::TokenHash.eq(hash(request.token.trim())))
        .one(db)
        .await?
        .filter(|t| t.expires_at > now && t.revoked_at.is_none() && t.uses < t.max_uses)
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
    if existing.is_some() {
        return Err(ServiceError::Conflict(format!(
            "a node named {name} is already enrolled; choose another --name, or have an Admin remove the old node first"
        )));
    }
    // One use of the token, taken atomically: racing agents cannot share the last one.
    let claimed = enrollment_tokens::Entity::update_many()
        .col_expr(
            enrollment_tokens::Column::Uses,
            sea_orm::sea_query::Expr::col(enrollment_tokens::Column::Uses).add(1),
        )
        .col_expr(enrollment_tokens::Column::UsedAt, Some(now).into())
        .filter(enrollment_tokens::Column::Id.eq(token.id))
        .filter(enrollment_tokens::Column::RevokedAt.is_null())
        .filter(
            sea_orm::sea_query::Expr::col(enrollment_tokens::Column::Uses).lt(
                sea_orm::sea_query::Expr::col(enrollment_tokens::Column::MaxUses),
            ),
        )
        .exec(db)
        .await?
        .rows_affected;
    if claimed != 1 {
        return Err(ServiceError::Unauthorized);
    }
    let node = nodes::ActiveModel {
        tenant_id: Set(token.tenant_id),
        environment_id: Set(env.id),
        name: Set(name.clone()),
        labels: Set(labels),
        pool: Set(token.pool.clone()),
        status: Set(NodeStatus::Offline),
        versions: Set(serde_json::json!({})),
        agent_version: Set(Some(request.agent_version.clone())),
        credential_hash: Set(Some(hash(&credential))),
        last_heartbeat_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| {
        if crate::services::error::is_unique_violation(&e) {
            ServiceError::Conflict(format!("a node named {name} was just enrolled"))
        } else {
            e.into()
        }
    })?;
    Ok(EnrollResponse {
        node_id: node.id,
        credential,
        environment: env.name,
        pool: node.pool,
        heartbeat_secs: HEARTBEAT_SECS,
    })
}

/// Whether `node` still exists with the credential it connected with.
pub async fn still_enrolled(
    db: &DatabaseConnection,
    node: &nodes::Model,
) -> Result<bool, ServiceError> {
    Ok(nodes::Entity::find_by_id(node.id)
        .one(db)
        .await?
        .is_some_and(|now| now.credential_hash == node.credential_hash))
}

/// Which of `ids` are still enrolled (an Admin may have removed one while
/// its agent stays connected), read 500 at a time.
pub async fn enrolled_among(
    db: &DatabaseConnection,
    ids: &[i64],
) -> Result<std::collections::HashSet<i64>, ServiceError> {
    let mut enrolled = std::collections::HashSet::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let found: Vec<i64> = nodes::Entity::find()
            .select_only()
            .column(nodes::Column::Id)
            .filter(nodes::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        enrolled.extend(found);
    }
    Ok(enrolled)
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
        .col_expr(nodes::Column::Status, Expr::value(NodeStatus::Online))
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

/// A connection ended: its node is offline, unless a newer connection
/// (on any replica) has reported since `last_beat`, this one's last write.
pub async fn disconnected(
    db: &DatabaseConnection,
    node_id: i64,
    last_beat: DateTime<Utc>,
) -> Result<(), ServiceError> {
    nodes::Entity::update_many()
        .col_expr(nodes::Column::Status, Expr::value(NodeStatus::Offline))
        .filter(nodes::Column::Id.eq(node_id))
        .filter(nodes::Column::Status.eq(NodeStatus::Online))
        .filter(
            sea_orm::Condition::any()
                .add(nodes::Column::LastHeartbeatAt.is_null())
                .add(nodes::Column::LastHeartbeatAt.lte(last_beat)),
        )
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
        .col_expr(nodes::Column::Status, Expr::value(NodeStatus::Offline))
        .filter(nodes::Column::Status.eq(NodeStatus::Online))
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

/// One page of the node list.
pub const NODE_PAGE: PageSize = PageSize {
    default: 100,
    max: 500,
};

/// One page of the tenant's nodes by name, optionally of one environment
/// or status.
pub async fn list(
    db: &DatabaseConnection,
    tenant: &Tenant,
    filter: &NodeFilter,
) -> Result<NodePage, ServiceError> {
    let limit = NODE_PAGE.limit(filter.limit)?;
    let mut query = scoped::<nodes::Entity>(tenant);
    if let Some(name) = &filter.environment {
        query = query.filter(
            Expr::col((nodes::Entity, nodes::Column::EnvironmentId))
                .eq(environment_named(tenant, name)),
        );
    }
    if let Some(status) = filter.status {
        query = query.filter(nodes::Column::Status.eq(status));
    }
    if let Some(cursor) = &filter.cursor {
        // A cursor is a node's name, which enrollment bounds the same way.
        if cursor.len() > 255 {
            return Err(ServiceError::invalid(
                "cursor",
                "a node name from the last page",
            ));
        }
        query = query.filter(nodes::Column::Name.gt(cursor.as_str()));
    }
    /// What a node line shows; its documents as text, parsed once.
    #[derive(FromQueryResult)]
    struct Line {
        id: i64,
        environment: String,
        name: String,
        pool: Option<String>,
        status: NodeStatus,
        labels: String,
        versions: String,
        agent_version: Option<String>,
        last_heartbeat_at: Option<DateTime<Utc>>,
    }
    use nodes::Column as C;
    let query = query
        .select_only()
        .columns([C::Id, C::Name, C::Pool, C::Status])
        .column_as(environments::Column::Name, "environment")
        .join(
            JoinType::InnerJoin,
            nodes::Entity::belongs_to(environments::Entity)
                .from(C::EnvironmentId)
                .to(environments::Column::Id)
                .into(),
        )
        .filter(environments::Column::TenantId.eq(tenant.id))
        .column_as(sql::json_document(C::Labels), "labels")
        .column_as(sql::json_document(C::Versions), "versions")
        .columns([C::AgentVersion, C::LastHeartbeatAt])
        .order_by_asc(C::Name);
    let statement = sql::limited(
        db.get_database_backend(),
        query.into_query(),
        PageSize::fetch(limit),
    );
    let rows = Line::find_by_statement(statement).all(db).await?;
    let (rows, next_cursor) = page(rows, limit, |n| n.name.clone());
    let items = rows
        .into_iter()
        .map(|n| NodeInfo {
            id: n.id,
            environment: n.environment,
            name: n.name,
            pool: n.pool,
            status: n.status,
            labels: sql::string_map(&n.labels),
            versions: sql::string_map(&n.versions),
            agent_version: n.agent_version,
            last_heartbeat_at: n.last_heartbeat_at,
        })
        .collect();
    Ok(NodePage { items, next_cursor })
}
