//! Outgoing webhooks. A delivery row is written in the same transaction as
//! the event it announces (an outbox), so nothing is lost in a crash; the
//! dispatcher sends due rows, signs each body with the webhook's secret, and
//! retries failures with backoff. Every attempt is kept as the delivery log.

use std::sync::LazyLock;

use app::model::admin::{DeliveryInfo, WebhookInfo};
use app::model::role::Action;
use chrono::Utc;
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::domain::webhook::WebhookTopic;
use crate::entities::webhook_deliveries::{self, DeliveryStatus};
use crate::entities::webhooks;
use crate::outbound::OutboundPolicy;
use crate::services::principal::Principal;
use crate::services::tenancy::scoped;
use crate::services::ServiceError;
use app::model::event::Event;

mod dispatch;

pub use dispatch::start;

/// Woken when a delivery is written in this process.
static DUE: LazyLock<Notify> = LazyLock::new(Notify::new);

fn info(row: webhooks::Model, secret: Option<String>) -> WebhookInfo {
    WebhookInfo {
        id: row.id,
        url: row.url,
        events: serde_json::from_value(row.events).unwrap_or_default(),
        format: row.format,
        enabled: row.enabled,
        created_at: row.created_at,
        secret,
    }
}

#[derive(Debug, Deserialize)]
pub struct NewWebhook {
    pub url: String,
    pub events: Option<Vec<String>>,
    pub format: Option<String>,
}

pub async fn create(
    db: &DatabaseConnection,
    principal: &Principal,
    new: NewWebhook,
    policy: &OutboundPolicy,
) -> Result<WebhookInfo, ServiceError> {
    principal.require(Action::ManageEnvironments)?;
    let url = policy
        .check_url(new.url.trim())
        .map_err(|e| ServiceError::invalid("url", e))?
        .to_string();
    let events = new
        .events
        .unwrap_or_else(|| WebhookTopic::ALL.iter().map(|e| e.to_string()).collect());
    if events.is_empty() {
        return Err(ServiceError::invalid("events", "at least one event"));
    }
    if let Some(unknown) = events.iter().find(|e| WebhookTopic::parse(e).is_none()) {
        let known: Vec<&str> = WebhookTopic::ALL.iter().map(|t| t.as_str()).collect();
        return Err(ServiceError::invalid(
            "events",
            format!("unknown event {unknown:?}; one of {}", known.join(", ")),
        ));
    }
    let format = new.format.unwrap_or_else(|| "json".into());
    if !matches!(format.as_str(), "json" | "slack") {
        return Err(ServiceError::invalid("format", "json or slack"));
    }
    let mut key = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut key);
    let secret = format!("whsec_{}", hex::encode(key));
    let row = webhooks::ActiveModel {
        tenant_id: Set(principal.tenant.id),
        url: Set(url),
        secret: Set(secret.clone()),
        events: Set(json!(events)),
        format: Set(format),
        enabled: Set(true),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(info(row, Some(secret)))
}

pub async fn list(
    db: &DatabaseConnection,
    principal: &Principal,
) -> Result<Vec<WebhookInfo>, ServiceError> {
    principal.require(Action::ManageEnvironments)?;
    Ok(scoped::<webhooks::Entity>(&principal.tenant)
        .order_by_asc(webhooks::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|w| info(w, None))
        .collect())
}

async fn find(
    db: &DatabaseConnection,
    principal: &Principal,
    id: i64,
) -> Result<webhooks::Model, ServiceError> {
    principal.require(Action::ManageEnvironments)?;
    scoped::<webhooks::Entity>(&principal.tenant)
        .filter(webhooks::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("webhook"))
}

pub async fn delete(
    db: &DatabaseConnection,
    principal: &Principal,
    id: i64,
) -> Result<(), ServiceError> {
    let hook = find(db, principal, id).await?;
    webhooks::Entity::delete_by_id(hook.id).exec(db).await?;
    Ok(())
}

/// The newest deliveries of a webhook first.
pub async fn deliveries(
    db: &DatabaseConnection,
    principal: &Principal,
    id: i64,
) -> Result<Vec<DeliveryInfo>, ServiceError> {
    let hook = find(db, principal, id).await?;
    Ok(webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::WebhookId.eq(hook.id))
        .order_by_desc(webhook_deliveries::Column::Id)
        .limit(200)
        .all(db)
        .await?
        .into_iter()
        .map(|d| DeliveryInfo {
            id: d.id,
            event: d.kind,
            event_id: d.event_id,
            status: d.status,
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        })
        .collect())
}

/// Called for every event written: queues a delivery to each subscribed
/// webhook, in the writer's transaction.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    event_id: i64,
    deployment_id: Option<i64>,
    event: &Event,
    payload: &Value,
) -> Result<(), ServiceError> {
    let Some(topic) = event.webhook_topic() else {
        return Ok(());
    };
    let hooks = webhooks::Entity::find()
        .filter(webhooks::Column::TenantId.eq(tenant_id))
        .filter(webhooks::Column::Enabled.eq(true))
        .all(db)
        .await?;
    let now = Utc::now();
    let mut queued = false;
    for hook in hooks {
        let subscribed: Vec<String> = serde_json::from_value(hook.events).unwrap_or_default();
        if !subscribed.iter().any(|e| e == topic.as_str()) {
            continue;
        }
        webhook_deliveries::ActiveModel {
            tenant_id: Set(tenant_id),
            webhook_id: Set(hook.id),
            event_id: Set(event_id),
            kind: Set(topic),
            payload: Set(json!({ "deployment_id": deployment_id, "detail": payload })),
            status: Set(DeliveryStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(now),
            last_status: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            delivered_at: Set(None),
            ..Default::default()
        }
        .insert(db)
        .await?;
        queued = true;
    }
    if queued {
        DUE.notify_waiters();
    }
    Ok(())
}
