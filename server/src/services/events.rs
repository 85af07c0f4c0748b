//! The append-only event log: every state change of a deployment, read by the
//! detail page, the history and live views. [`append`] (and [`append_many`] for
//! a burst) is the only writer, and announces each event to the live fan-out
//! (`engine/live.rs`).

use app::model::event::{Event, EventInfo, EventKind};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select, Set,
};

use std::sync::LazyLock;

use sea_orm::{DatabaseBackend, DatabaseConnection, Statement};
use tokio::sync::Notify;

use crate::entities::events;
use crate::services::{sql, ServiceError};

pub async fn append(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    deployment_id: Option<i64>,
    event: Event,
) -> Result<i64, ServiceError> {
    let row = events::ActiveModel {
        tenant_id: Set(tenant_id),
        deployment_id: Set(deployment_id),
        kind: Set(event.kind()),
        payload: Set(event.payload()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    crate::services::webhooks::enqueue(db, tenant_id, row.id, deployment_id, &event, &row.payload)
        .await?;
    announce(db, row.id).await?;
    Ok(row.id)
}

/// [`append`] for many events at once, as part of a caller's transaction:
/// those no webhook wants are written in one statement (a roll-out's node
/// events come a thousand at a time). Call [`committed`] after the commit.
pub async fn append_many(
    db: &impl ConnectionTrait,
    many: Vec<(i64, Option<i64>, Event)>,
) -> Result<(), ServiceError> {
    let (hooked, plain): (Vec<_>, Vec<_>) = many
        .into_iter()
        .partition(|(_, _, event)| event.webhook_topic().is_some());
    for (tenant_id, deployment_id, event) in hooked {
        append(db, tenant_id, deployment_id, event).await?;
    }
    let now = Utc::now();
    // Well under both databases' limits on bound values per statement.
    for chunk in plain.chunks(500) {
        let rows = chunk
            .iter()
            .map(|(tenant_id, deployment_id, event)| events::ActiveModel {
                tenant_id: Set(*tenant_id),
                deployment_id: Set(*deployment_id),
                kind: Set(event.kind()),
                payload: Set(event.payload()),
                created_at: Set(now),
                ..Default::default()
            });
        let ids = events::Entity::insert_many(rows)
            .exec_with_returning_keys(db)
            .await?;
        announce_many(db, &ids).await?;
    }
    Ok(())
}

/// Tells this replica's live fan-out that a transaction holding appended
/// events committed (PostgreSQL delivers their notifications at the commit
/// by itself).
pub fn committed() {
    written().notify_waiters();
}

/// A deployment's events after `after`, oldest first.
pub async fn of_deployment(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    deployment_id: i64,
    after: i64,
    limit: u64,
) -> Result<Vec<EventInfo>, ServiceError> {
    let query = events::Entity::find()
        .filter(events::Column::TenantId.eq(tenant_id))
        .filter(events::Column::DeploymentId.eq(deployment_id))
        .filter(events::Column::Id.gt(after))
        .order_by_asc(events::Column::Id);
    Ok(read(query, Some(limit), db)
        .await?
        .iter()
        .filter_map(EventRow::info)
        .collect())
}

/// An event row with its kind as stored: one this build does not know (a
/// newer replica wrote it during a rolling upgrade) is left out of what is
/// read, instead of failing the read of every event around it.
#[derive(Debug, Clone, FromQueryResult)]
pub struct EventRow {
    pub id: i64,
    pub tenant_id: i64,
    pub deployment_id: Option<i64>,
    pub kind: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl EventRow {
    /// The event as the API carries it; `None` for a kind this build does not know.
    pub fn info(&self) -> Option<EventInfo> {
        let Some(kind) = EventKind::parse(&self.kind) else {
            tracing::debug!(id = self.id, kind = %self.kind, "skipping an event of an unknown kind");
            return None;
        };
        Some(EventInfo {
            id: self.id,
            deployment_id: self.deployment_id,
            kind,
            payload: self.payload.clone(),
            created_at: self.created_at,
        })
    }
}

/// Runs an event query for at most `limit` rows ([`sql::limited`]), reading
/// each row's kind as text.
pub async fn read(
    query: Select<events::Entity>,
    limit: Option<u64>,
    db: &impl ConnectionTrait,
) -> Result<Vec<EventRow>, ServiceError> {
    let backend = db.get_database_backend();
    let statement = match limit {
        Some(limit) => sql::limited(backend, query.into_query(), limit),
        None => backend.build(&query.into_query()),
    };
    Ok(EventRow::find_by_statement(statement).all(db).await?)
}

/// Woken by every event written in this process (SQLite's signal to the
/// fan-out; PostgreSQL's is `NOTIFY`).
pub fn written() -> &'static Notify {
    static WRITTEN: LazyLock<Notify> = LazyLock::new(Notify::new);
    &WRITTEN
}

/// Tells the fan-out that event `id` was written through `db`: PostgreSQL
/// delivers the notification when the writer's transaction commits.
pub async fn announce(db: &impl ConnectionTrait, id: i64) -> Result<(), ServiceError> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.execute(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_notify('hotswap_events', $1)",
            [id.to_string().into()],
        ))
        .await?;
    } else {
        written().notify_waiters();
    }
    Ok(())
}

/// [`announce`] for many ids, in one statement.
async fn announce_many(db: &impl ConnectionTrait, ids: &[i64]) -> Result<(), ServiceError> {
    if ids.is_empty() {
        return Ok(());
    }
    if db.get_database_backend() == DatabaseBackend::Postgres {
        // Ids the database just gave, written as numbers: nothing to escape.
        let values: Vec<String> = ids.iter().map(|id| format!("('{id}')")).collect();
        db.execute_unprepared(&format!(
            "SELECT pg_notify('hotswap_events', id) FROM (VALUES {}) AS ids(id)",
            values.join(",")
        ))
        .await?;
    } else {
        written().notify_waiters();
    }
    Ok(())
}

/// The events a client missed: the tenant's (or one deployment's) after `after`.
pub async fn missed(
    db: &DatabaseConnection,
    tenant_id: i64,
    deployment_id: Option<i64>,
    after: i64,
    limit: u64,
) -> Result<Vec<EventInfo>, ServiceError> {
    let mut query = events::Entity::find()
        .filter(events::Column::TenantId.eq(tenant_id))
        .filter(events::Column::Id.gt(after));
    if let Some(id) = deployment_id {
        query = query.filter(events::Column::DeploymentId.eq(id));
    }
    let query = query.order_by_asc(events::Column::Id);
    Ok(read(query, Some(limit), db)
        .await?
        .iter()
        .filter_map(EventRow::info)
        .collect())
}

/// The newest event id, of one tenant (where a page that was just rendered
/// resumes) or of all (where the fan-out starts).
pub async fn newest_id(
    db: &DatabaseConnection,
    tenant_id: Option<i64>,
) -> Result<i64, ServiceError> {
    let mut query = events::Entity::find();
    if let Some(tenant_id) = tenant_id {
        query = query.filter(events::Column::TenantId.eq(tenant_id));
    }
    let newest: Option<i64> = query
        .select_only()
        .column(events::Column::Id)
        .order_by_desc(events::Column::Id)
        .into_tuple()
        .one(db)
        .await?;
    Ok(newest.unwrap_or(0))
}
