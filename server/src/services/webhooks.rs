//! Outgoing webhooks. A delivery row is written in the same transaction as
//! the event it announces (an outbox), so nothing is lost in a crash; the
//! dispatcher sends due rows, signs each body with the webhook's secret, and
//! retries failures with backoff. Every attempt is kept as the delivery log.

use crate::outbound::{Outbound, OutboundError, OutboundPolicy};
use std::sync::LazyLock;
use std::time::Duration;

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
use tokio::task::JoinHandle;

use crate::domain::webhook::{self, Subject, EVENTS, MAX_ATTEMPTS};
use crate::entities::{
    deployments, environments, module_versions, modules, webhook_deliveries, webhooks,
};
use crate::services::principal::Principal;
use crate::services::tenancy::scoped;
use crate::services::ServiceError;

/// Woken when a delivery is written in this process.
static DUE: LazyLock<Notify> = LazyLock::new(Notify::new);
/// How often the dispatcher looks for due deliveries without a wake (other
/// replicas' writes, retries coming due).
const POLL: Duration = Duration::from_millis(500);
/// A claimed delivery is someone else's to retry after this long.
const CLAIM_SECS: i64 = 30;
const TIMEOUT: Duration = Duration::from_secs(10);

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
        .unwrap_or_else(|| EVENTS.iter().map(|e| e.to_string()).collect());
    if events.is_empty() {
        return Err(ServiceError::invalid("events", "at least one event"));
    }
    if let Some(unknown) = events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
        return Err(ServiceError::invalid(
            "events",
            format!("unknown event {unknown:?}; one of {}", EVENTS.join(", ")),
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
    kind: &str,
    payload: &Value,
) -> Result<(), ServiceError> {
    let Some(event) = webhook::event_for(kind, payload) else {
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
        if !subscribed.iter().any(|e| e == event) {
            continue;
        }
        webhook_deliveries::ActiveModel {
            tenant_id: Set(tenant_id),
            webhook_id: Set(hook.id),
            event_id: Set(event_id),
            kind: Set(event.to_string()),
            payload: Set(json!({ "deployment_id": deployment_id, "detail": payload })),
            status: Set("pending".into()),
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

/// Sends due deliveries until the process stops.
pub fn start(db: DatabaseConnection, public_url: String, policy: OutboundPolicy) -> JoinHandle<()> {
    tokio::spawn(async move {
        let client = Outbound::new(policy, TIMEOUT);
        loop {
            let _ = tokio::time::timeout(POLL, DUE.notified()).await;
            if let Err(error) = send_due(&db, &client, &public_url).await {
                tracing::warn!(%error, "webhook deliveries could not be sent; retrying");
            }
        }
    })
}

async fn send_due(
    db: &DatabaseConnection,
    client: &Outbound,
    public_url: &str,
) -> Result<(), ServiceError> {
    let now = Utc::now();
    let due = webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::Status.eq("pending"))
        .filter(webhook_deliveries::Column::NextAttemptAt.lte(now))
        .order_by_asc(webhook_deliveries::Column::Id)
        .limit(50)
        .all(db)
        .await?;
    for delivery in due {
        // Claim it: another replica's dispatcher may have seen it too.
        let claimed = webhook_deliveries::Entity::update_many()
            .col_expr(
                webhook_deliveries::Column::NextAttemptAt,
                (now + chrono::Duration::seconds(CLAIM_SECS)).into(),
            )
            .filter(webhook_deliveries::Column::Id.eq(delivery.id))
            .filter(webhook_deliveries::Column::Status.eq("pending"))
            .filter(webhook_deliveries::Column::NextAttemptAt.eq(delivery.next_attempt_at))
            .exec(db)
            .await?
            .rows_affected
            == 1;
        if claimed {
            attempt(db, client, public_url, delivery).await?;
        }
    }
    Ok(())
}

async fn subject(
    db: &DatabaseConnection,
    deployment_id: Option<i64>,
    public_url: &str,
) -> Result<Option<Subject>, ServiceError> {
    let Some(id) = deployment_id else {
        return Ok(None);
    };
    let Some(dep) = deployments::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let module = modules::Entity::find_by_id(dep.module_id).one(db).await?;
    let version = module_versions::Entity::find_by_id(dep.module_version_id)
        .one(db)
        .await?;
    let env = environments::Entity::find_by_id(dep.environment_id)
        .one(db)
        .await?;
    Ok(Some(Subject {
        id,
        module: module.map(|m| m.name).unwrap_or_default(),
        version: version.map(|v| v.version).unwrap_or_default(),
        environment: env.map(|e| e.name).unwrap_or_default(),
        url: format!("{}/deployments/{id}", public_url.trim_end_matches('/')),
    }))
}

async fn attempt(
    db: &DatabaseConnection,
    client: &Outbound,
    public_url: &str,
    delivery: webhook_deliveries::Model,
) -> Result<(), ServiceError> {
    let Some(hook) = webhooks::Entity::find_by_id(delivery.webhook_id)
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let deployment_id = delivery.payload["deployment_id"].as_i64();
    let subject = subject(db, deployment_id, public_url)
        .await?
        .unwrap_or(Subject {
            id: 0,
            module: String::new(),
            version: String::new(),
            environment: String::new(),
            url: public_url.to_string(),
        });
    let body = webhook::body(
        &hook.format,
        &delivery.kind,
        &subject,
        &delivery.payload["detail"],
        delivery.event_id,
    );
    let bytes = serde_json::to_vec(&body).map_err(anyhow::Error::new)?;
    // Checked again at every attempt: the operator's policy may have changed.
    let request = client.request(reqwest::Method::POST, &hook.url);
    let sent = match request {
        Err(refused) => Err(refused),
        Ok(request) => request
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Hotswap-Event", &delivery.kind)
            .header("X-Hotswap-Delivery", delivery.id.to_string())
            .header("X-Hotswap-Signature", webhook::sign(&hook.secret, &bytes))
            .body(bytes)
            .send()
            .await
            .map_err(OutboundError::from),
    };
    // The receiver's status is shown, never what it answered with.
    let (status, error) = match sent {
        Ok(r) if r.status().is_success() => (Some(r.status().as_u16() as i32), None),
        Ok(r) => (
            Some(r.status().as_u16() as i32),
            Some(format!("the receiver answered {}", r.status().as_u16())),
        ),
        Err(e) => (None, Some(format!("could not deliver: {e}"))),
    };
    let attempts = delivery.attempts + 1;
    let now = Utc::now();
    let mut row: webhook_deliveries::ActiveModel = delivery.into();
    row.attempts = Set(attempts);
    row.last_status = Set(status);
    match error {
        None => {
            row.status = Set("delivered".into());
            row.delivered_at = Set(Some(now));
            row.last_error = Set(None);
        }
        Some(error) => {
            row.last_error = Set(Some(error));
            if attempts >= MAX_ATTEMPTS {
                row.status = Set("failed".into());
            } else {
                let wait = chrono::Duration::from_std(webhook::backoff(attempts - 1))
                    .unwrap_or(chrono::Duration::seconds(1));
                row.next_attempt_at = Set(now + wait);
            }
        }
    }
    row.update(db).await?;
    Ok(())
}
