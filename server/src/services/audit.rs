//! The append-only audit trail. Nothing here updates or deletes.

use app::model::admin::{AuditEntry, AuditPage};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QueryTrait, Set,
};
use serde_json::Value;

use crate::entities::audit_entries;
use crate::services::sql::{self, page, PageSize};
use crate::services::tenancy::Tenant;
use crate::services::ServiceError;

/// One thing that happened, about to be recorded.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub tenant_id: Option<i64>,
    pub actor_user_id: Option<i64>,
    /// The username, or `anonymous` / `system`.
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub source_ip: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: &'static str,
    pub details: Value,
}

pub async fn record(db: &DatabaseConnection, entry: AuditRecord) -> Result<(), ServiceError> {
    audit_entries::ActiveModel {
        tenant_id: Set(entry.tenant_id),
        actor_user_id: Set(entry.actor_user_id),
        actor: Set(entry.actor),
        action: Set(entry.action),
        target: Set(entry.target),
        source_ip: Set(entry.source_ip),
        outcome: Set(entry.outcome.to_string()),
        details: Set(entry.details),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Which entries to list, newest first.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub cursor: Option<i64>,
    pub limit: Option<u64>,
}

/// One page of the audit log.
pub const AUDIT_PAGE: PageSize = PageSize {
    default: 50,
    max: 200,
};

/// The tenant's entries; `with_unattributed` adds those that belong to no
/// tenant (such as sign-in attempts by unknown users), for platform admins.
pub async fn list(
    db: &DatabaseConnection,
    tenant: &Tenant,
    with_unattributed: bool,
    filter: &AuditFilter,
) -> Result<AuditPage, ServiceError> {
    let scope = if with_unattributed {
        sea_orm::Condition::any()
            .add(audit_entries::Column::TenantId.eq(tenant.id))
            .add(audit_entries::Column::TenantId.is_null())
    } else {
        sea_orm::Condition::all().add(audit_entries::Column::TenantId.eq(tenant.id))
    };
    let mut query = audit_entries::Entity::find().filter(scope);
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_entries::Column::Actor.eq(actor.as_str()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_entries::Column::Action.contains(action.as_str()));
    }
    if let Some(outcome) = &filter.outcome {
        query = query.filter(audit_entries::Column::Outcome.eq(outcome.as_str()));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_entries::Column::CreatedAt.gte(since));
    }
    if let Some(cursor) = filter.cursor {
        query = query.filter(audit_entries::Column::Id.lt(cursor));
    }
    let limit = AUDIT_PAGE.limit(filter.limit)?;
    let statement = sql::limited(
        db.get_database_backend(),
        query.order_by_desc(audit_entries::Column::Id).into_query(),
        PageSize::fetch(limit),
    );
    let rows = audit_entries::Entity::find()
        .from_raw_sql(statement)
        .all(db)
        .await?;
    let (rows, next_cursor) = page(rows, limit, |r| r.id);
    Ok(AuditPage {
        items: rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                actor: r.actor,
                action: r.action,
                target: r.target,
                source_ip: r.source_ip,
                outcome: r.outcome,
                details: r.details,
                created_at: r.created_at,
            })
            .collect(),
        next_cursor,
        now: Utc::now(),
    })
}
