//! What the admin pages and API show of members, tokens and the audit trail.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::event::{DeliveryStatus, WebhookTopic};
use crate::model::role::Role;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub role: Role,
    /// Their membership of this tenant is disabled.
    pub disabled: bool,
    /// Their whole account is disabled (by a platform admin), in every tenant.
    #[serde(default)]
    pub account_disabled: bool,
    pub must_change_password: bool,
    /// "password", "single sign-on", or both.
    pub sign_in: String,
    pub last_login_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddedMember {
    #[serde(flatten)]
    pub member: Member,
    /// A generated temporary password, shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary_password: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMember {
    pub username: String,
    pub email: Option<String>,
    pub role: Role,
    pub password: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub owner: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new token and its secret, which is shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub source_ip: Option<String>,
    pub outcome: String,
    pub details: Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<i64>,
    pub now: DateTime<Utc>,
}

/// Filters of the audit log, as typed into the page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub cursor: Option<i64>,
}

/// An outgoing webhook of the tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookInfo {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub format: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    /// Shown once, when the webhook is created: receivers verify with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// One delivery of one event to a webhook, with how its attempts went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryInfo {
    pub id: i64,
    pub event: WebhookTopic,
    pub event_id: i64,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}
