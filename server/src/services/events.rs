//! The append-only event log: every state change of a deployment, read by the
//! detail page, the history and live views. [`append`] is the only writer, and
//! announces each event to the live fan-out (`crate::live`).

use app::model::event::{Event, EventInfo};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::entities::events;
use crate::services::ServiceError;

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
    crate::live::announce(db, row.id).await?;
    Ok(row.id)
}

/// A deployment's events after `after`, oldest first.
pub async fn of_deployment(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    deployment_id: i64,
    after: i64,
    limit: u64,
) -> Result<Vec<EventInfo>, ServiceError> {
    Ok(events::Entity::find()
        .filter(events::Column::TenantId.eq(tenant_id))
        .filter(events::Column::DeploymentId.eq(deployment_id))
        .filter(events::Column::Id.gt(after))
        .order_by_asc(events::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|e| EventInfo {
            id: e.id,
            deployment_id: e.deployment_id,
            kind: e.kind,
            payload: e.payload,
            created_at: e.created_at,
        })
        .collect())
}
