//! The dispatcher: claims due deliveries and sends them side by side, so one
//! slow receiver holds up only its own tenant's share of the senders.
//!
//! A claim pushes the delivery's `next_attempt_at` past the longest an
//! attempt can take; only the holder of that claim records the outcome, so a
//! claim that does run out (a stalled process) is sent again at most, never
//! recorded twice. Receivers deduplicate on `X-Hotswap-Delivery`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::DUE;
use crate::domain::webhook::{self, Subject, MAX_ATTEMPTS};
use crate::entities::webhook_deliveries::{self, DeliveryStatus};
use crate::entities::webhooks;
use crate::entities::{deployments, environments, module_versions, modules};
use crate::outbound::{Outbound, OutboundError, OutboundPolicy};
use crate::services::ServiceError;

/// How often the dispatcher looks for due deliveries without a wake (other
/// replicas' writes, retries coming due).
const POLL: Duration = Duration::from_millis(500);
/// The whole of one attempt: connecting, sending, the receiver's answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// A claim outlasts the longest attempt several times over.
const CLAIM: chrono::Duration = chrono::Duration::seconds(60);
/// Deliveries in flight per process…
const SENDERS: usize = 32;
/// …and per tenant, so one tenant's tarpits cannot take them all.
const SENDERS_PER_TENANT: usize = 4;
/// Due deliveries read per look.
const BATCH: u64 = 200;

/// Sends due deliveries until the process stops.
pub fn start(db: DatabaseConnection, public_url: String, policy: OutboundPolicy) -> JoinHandle<()> {
    tokio::spawn(async move {
        let dispatcher = Dispatcher {
            db,
            public_url,
            client: Arc::new(Outbound::new(policy, TIMEOUT)),
            senders: Arc::new(Semaphore::new(SENDERS)),
            in_flight: Arc::default(),
        };
        loop {
            let _ = tokio::time::timeout(POLL, DUE.notified()).await;
            if let Err(error) = dispatcher.send_due().await {
                tracing::warn!(%error, "webhook deliveries could not be sent; retrying");
            }
        }
    })
}

struct Dispatcher {
    db: DatabaseConnection,
    public_url: String,
    client: Arc<Outbound>,
    senders: Arc<Semaphore>,
    in_flight: Arc<Mutex<InFlight>>,
}

/// What this process is sending now.
#[derive(Default)]
struct InFlight {
    per_tenant: HashMap<i64, usize>,
    /// One delivery at a time per webhook, so a receiver gets its events in
    /// order (a retry waits for its backoff, and may be overtaken).
    webhooks: HashSet<i64>,
}

/// A delivery's place among the senders, given back however its attempt ends.
struct Slot {
    tenant_id: i64,
    webhook_id: i64,
    in_flight: Arc<Mutex<InFlight>>,
    _sender: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        in_flight.webhooks.remove(&self.webhook_id);
        if let Some(count) = in_flight.per_tenant.get_mut(&self.tenant_id) {
            *count -= 1;
            if *count == 0 {
                in_flight.per_tenant.remove(&self.tenant_id);
            }
        }
    }
}

impl Dispatcher {
    /// A free sender for the delivery, if the process, its tenant and its
    /// webhook have one.
    fn slot(&self, delivery: &webhook_deliveries::Model) -> Option<Slot> {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let busy = in_flight.webhooks.contains(&delivery.webhook_id)
            || in_flight
                .per_tenant
                .get(&delivery.tenant_id)
                .is_some_and(|count| *count >= SENDERS_PER_TENANT);
        if busy {
            return None;
        }
        let sender = self.senders.clone().try_acquire_owned().ok()?;
        *in_flight.per_tenant.entry(delivery.tenant_id).or_default() += 1;
        in_flight.webhooks.insert(delivery.webhook_id);
        Some(Slot {
            tenant_id: delivery.tenant_id,
            webhook_id: delivery.webhook_id,
            in_flight: self.in_flight.clone(),
            _sender: sender,
        })
    }

    async fn send_due(&self) -> Result<(), ServiceError> {
        if self.senders.available_permits() == 0 {
            return Ok(());
        }
        // Busy tenants and webhooks are left out of the look, so however
        // many deliveries one has waiting, the others' are read.
        let (saturated, busy): (Vec<i64>, Vec<i64>) = {
            let in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            (
                in_flight
                    .per_tenant
                    .iter()
                    .filter(|(_, count)| **count >= SENDERS_PER_TENANT)
                    .map(|(tenant, _)| *tenant)
                    .collect(),
                in_flight.webhooks.iter().copied().collect(),
            )
        };
        let due = webhook_deliveries::Entity::find()
            .filter(webhook_deliveries::Column::TenantId.is_not_in(saturated))
            .filter(webhook_deliveries::Column::WebhookId.is_not_in(busy))
            .filter(webhook_deliveries::Column::Status.eq(DeliveryStatus::Pending))
            .filter(webhook_deliveries::Column::NextAttemptAt.lte(Utc::now()))
            .order_by_asc(webhook_deliveries::Column::Id)
            .limit(BATCH)
            .all(&self.db)
            .await?;
        for delivery in due {
            // Claimed as often as allowed without an outcome recorded (its
            // process stalled or lost the database each time): given up.
            if delivery.attempts >= MAX_ATTEMPTS {
                give_up(&self.db, &delivery, "no attempt could record its outcome").await?;
                continue;
            }
            let Some(slot) = self.slot(&delivery) else {
                continue;
            };
            let Some(claim) = claim(&self.db, &delivery).await? else {
                continue;
            };
            let (db, client, public_url) = (
                self.db.clone(),
                self.client.clone(),
                self.public_url.clone(),
            );
            tokio::spawn(async move {
                let id = delivery.id;
                if let Err(error) = attempt(&db, &client, &public_url, delivery, claim).await {
                    tracing::warn!(%error, delivery = id, "a webhook delivery was not recorded");
                }
                drop(slot);
            });
        }
        Ok(())
    }
}

/// Marks a delivery failed for good, unless someone else settled it.
async fn give_up(
    db: &DatabaseConnection,
    delivery: &webhook_deliveries::Model,
    why: &str,
) -> Result<(), ServiceError> {
    webhook_deliveries::Entity::update_many()
        .col_expr(
            webhook_deliveries::Column::Status,
            Expr::value(DeliveryStatus::Failed),
        )
        .col_expr(
            webhook_deliveries::Column::LastError,
            Some(why.to_string()).into(),
        )
        .filter(webhook_deliveries::Column::Id.eq(delivery.id))
        .filter(webhook_deliveries::Column::Status.eq(DeliveryStatus::Pending))
        .exec(db)
        .await?;
    Ok(())
}

/// Takes the delivery for one attempt, unless another dispatcher (of this
/// replica or another) already did; returns the claim's expiry. The attempt
/// is counted as it is claimed, so one that never records an outcome still
/// brings the delivery closer to being given up.
async fn claim(
    db: &DatabaseConnection,
    delivery: &webhook_deliveries::Model,
) -> Result<Option<DateTime<Utc>>, ServiceError> {
    // Whole milliseconds, so the value reads back equal on both databases.
    let until = (Utc::now() + CLAIM).trunc_subsecs(3);
    let claimed = webhook_deliveries::Entity::update_many()
        .col_expr(webhook_deliveries::Column::NextAttemptAt, until.into())
        .col_expr(
            webhook_deliveries::Column::Attempts,
            Expr::col(webhook_deliveries::Column::Attempts).add(1),
        )
        .filter(webhook_deliveries::Column::Id.eq(delivery.id))
        .filter(webhook_deliveries::Column::Status.eq(DeliveryStatus::Pending))
        .filter(webhook_deliveries::Column::NextAttemptAt.eq(delivery.next_attempt_at))
        .exec(db)
        .await?
        .rows_affected
        == 1;
    Ok(claimed.then_some(until))
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
    claim: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let hook = webhooks::Entity::find_by_id(delivery.webhook_id)
        .one(db)
        .await?
        .filter(|hook| hook.tenant_id == delivery.tenant_id);
    let Some(hook) = hook else {
        return give_up(db, &delivery, "the webhook was removed").await;
    };
    if !hook.enabled {
        return give_up(db, &delivery, "the webhook is disabled").await;
    }
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
        delivery.kind,
        &subject,
        &delivery.payload["detail"],
        delivery.event_id,
    );
    let bytes = serde_json::to_vec(&body).map_err(anyhow::Error::new)?;
    // Checked again at every attempt: the operator's policy may have changed.
    let sent = match client.request(reqwest::Method::POST, &hook.url) {
        Err(refused) => Err(refused),
        Ok(request) => request
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Hotswap-Event", delivery.kind.as_str())
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
    let mut update = webhook_deliveries::Entity::update_many()
        .col_expr(webhook_deliveries::Column::Attempts, attempts.into())
        .col_expr(webhook_deliveries::Column::LastStatus, status.into());
    update = match error {
        None => update
            .col_expr(
                webhook_deliveries::Column::Status,
                Expr::value(DeliveryStatus::Delivered),
            )
            .col_expr(webhook_deliveries::Column::DeliveredAt, Some(now).into())
            .col_expr(
                webhook_deliveries::Column::LastError,
                Expr::value(Option::<String>::None),
            ),
        Some(error) if attempts >= MAX_ATTEMPTS => update
            .col_expr(
                webhook_deliveries::Column::Status,
                Expr::value(DeliveryStatus::Failed),
            )
            .col_expr(webhook_deliveries::Column::LastError, Some(error).into()),
        Some(error) => {
            let wait = chrono::Duration::from_std(webhook::backoff(attempts - 1))
                .unwrap_or(chrono::Duration::seconds(1));
            update
                .col_expr(
                    webhook_deliveries::Column::NextAttemptAt,
                    (now + wait).into(),
                )
                .col_expr(webhook_deliveries::Column::LastError, Some(error).into())
        }
    };
    let recorded = update
        .filter(webhook_deliveries::Column::Id.eq(delivery.id))
        .filter(webhook_deliveries::Column::Status.eq(DeliveryStatus::Pending))
        .filter(webhook_deliveries::Column::NextAttemptAt.eq(claim))
        .exec(db)
        .await?
        .rows_affected;
    if recorded == 0 {
        tracing::warn!(
            delivery = delivery.id,
            "a webhook delivery outlived its claim; another attempt records its outcome"
        );
    }
    Ok(())
}
