//! Signing in with a password, and turning a session or a token back into a
//! [`Principal`] on every request.

use app::model::role::Role;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    IntoActiveModel, JoinType, QueryFilter, QueryOrder, QuerySelect, Select, Set,
};
use serde_json::json;

use crate::domain::throttle::AttemptOutcome;
use crate::domain::{password, token};
use crate::entities::{api_tokens, memberships, tenants, users};
use crate::services::audit::{self, AuditRecord};
use crate::services::login_attempts;
use crate::services::principal::{Credential, Principal};
use crate::services::tenancy::Tenant;
use crate::services::ServiceError;

pub const LOGIN_ACTION: &str = "auth.login";

/// A successful sign-in: who, and the tenant they land in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user_id: i64,
    pub tenant_id: i64,
    pub must_change_password: bool,
}

/// Longest username and password looked at; longer ones are refused before
/// anything is written.
const MAX_USERNAME: usize = 256;
const MAX_PASSWORD: usize = 1024;

/// Checks a username and password, throttled per account and per address, and
/// audits the attempt whatever its outcome. The check runs to its end even
/// when the client goes away, so no attempt is left unfinished.
pub async fn sign_in(
    db: &DatabaseConnection,
    username: &str,
    password_text: &str,
    source_ip: Option<std::net::IpAddr>,
) -> Result<SignedIn, ServiceError> {
    let username = username.trim();
    if username.chars().count() > MAX_USERNAME {
        return Err(ServiceError::invalid(
            "username",
            format!("at most {MAX_USERNAME} characters"),
        ));
    }
    if password_text.chars().count() > MAX_PASSWORD {
        return Err(ServiceError::invalid(
            "password",
            format!("at most {MAX_PASSWORD} characters"),
        ));
    }
    let (db, username, password_text) =
        (db.clone(), username.to_string(), password_text.to_string());
    tokio::spawn(async move { check(&db, &username, &password_text, source_ip).await })
        .await
        .map_err(|e| anyhow::anyhow!("the sign-in check stopped: {e}"))?
}

async fn check(
    db: &DatabaseConnection,
    username: &str,
    password_text: &str,
    address: Option<std::net::IpAddr>,
) -> Result<SignedIn, ServiceError> {
    // The audit trail keeps the address; the throttle counts by its key.
    let source_ip = address.map(|a| a.to_string());
    let address_key = address.map(login_attempts::address_key);
    let attempt = |outcome: &'static str,
                   user: Option<&users::Model>,
                   tenant_id: Option<i64>,
                   reason: &str| AuditRecord {
        tenant_id,
        actor_user_id: user.map(|u| u.id),
        actor: username.to_string(),
        action: LOGIN_ACTION.to_string(),
        target: Some(username.to_string()),
        source_ip: source_ip.clone(),
        outcome,
        details: json!({ "method": "password", "reason": reason }),
    };

    let now = Utc::now();
    let ip = address_key.as_deref();
    let this = login_attempts::begin(db, username, ip, now).await?;
    if let Some(wait) = login_attempts::wait(db, this, username, ip, now).await? {
        login_attempts::finish(db, this, AttemptOutcome::Throttled).await?;
        audit::record(db, attempt("denied", None, None, "throttled")).await?;
        return Err(ServiceError::TooManyAttempts {
            retry_after_secs: wait.num_seconds().max(1) as u64,
        });
    }

    let user = users::Entity::find()
        .filter(users::Column::Username.eq(username))
        .one(db)
        .await?;
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let given = password_text.to_string();
    // Verify even for unknown users, so timing does not reveal which exist.
    let matches = tokio::task::spawn_blocking(move || match stored {
        Some(hash) => password::verify(&given, &hash),
        None => {
            let _ = password::verify(&given, DUMMY_HASH);
            false
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!("password check panicked: {e}"))?;

    let tenant_id = match &user {
        Some(u) => first_tenant(db, u.id).await?,
        None => None,
    };
    let outcome = if matches {
        AttemptOutcome::Success
    } else {
        AttemptOutcome::Failure
    };
    login_attempts::finish(db, this, outcome).await?;
    let Some(user) = user.filter(|_| matches) else {
        // Recorded in the account's tenant, so its admins see attacks on it.
        audit::record(
            db,
            attempt("failure", None, tenant_id, "wrong username or password"),
        )
        .await?;
        return Err(ServiceError::Unauthorized);
    };
    if user.disabled {
        audit::record(
            db,
            attempt("failure", Some(&user), tenant_id, "account disabled"),
        )
        .await?;
        return Err(ServiceError::Forbidden("this account is disabled".into()));
    }
    let Some(tenant_id) = tenant_id else {
        audit::record(
            db,
            attempt("failure", Some(&user), None, "no tenant membership"),
        )
        .await?;
        return Err(ServiceError::Forbidden(
            "this account belongs to no tenant yet".into(),
        ));
    };

    audit::record(db, attempt("success", Some(&user), Some(tenant_id), "")).await?;
    let must_change_password = user.must_change_password;
    let user_id = user.id;
    let mut active = user.into_active_model();
    active.last_login_at = Set(Some(now));
    active.update(db).await?;
    Ok(SignedIn {
        user_id,
        tenant_id,
        must_change_password,
    })
}

async fn first_tenant(db: &DatabaseConnection, user_id: i64) -> Result<Option<i64>, ServiceError> {
    Ok(memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .filter(memberships::Column::DisabledAt.is_null())
        .order_by_asc(memberships::Column::Id)
        .one(db)
        .await?
        .map(|m| m.tenant_id))
}

#[derive(Debug, FromQueryResult)]
struct Member {
    user_id: i64,
    tenant_id: i64,
    role: String,
    username: String,
    is_platform_admin: bool,
    must_change_password: bool,
    tenant_slug: String,
    tenant_name: String,
}

/// An enabled account's enabled membership, with the tenant: one query.
fn members() -> Select<memberships::Entity> {
    memberships::Entity::find()
        .select_only()
        .column(memberships::Column::UserId)
        .column(memberships::Column::TenantId)
        .column(memberships::Column::Role)
        .column_as(users::Column::Username, "username")
        .column_as(users::Column::IsPlatformAdmin, "is_platform_admin")
        .column_as(users::Column::MustChangePassword, "must_change_password")
        .column_as(tenants::Column::Slug, "tenant_slug")
        .column_as(tenants::Column::Name, "tenant_name")
        .join(
            JoinType::InnerJoin,
            memberships::Entity::belongs_to(users::Entity)
                .from(memberships::Column::UserId)
                .to(users::Column::Id)
                .into(),
        )
        .join(
            JoinType::InnerJoin,
            memberships::Entity::belongs_to(tenants::Entity)
                .from(memberships::Column::TenantId)
                .to(tenants::Column::Id)
                .into(),
        )
        .filter(memberships::Column::DisabledAt.is_null())
        .filter(users::Column::Disabled.eq(false))
}

impl Member {
    fn principal(self, credential: Credential, role_cap: Option<Role>) -> Option<Principal> {
        let role = Role::parse(&self.role)?;
        Some(Principal {
            user_id: self.user_id,
            username: self.username,
            tenant: Tenant {
                id: self.tenant_id,
                slug: self.tenant_slug,
                name: self.tenant_name,
            },
            // A token never acts above its creator's current role, and only a
            // token with the whole Admin role carries the platform-admin flag.
            role: role_cap.map_or(role, |cap| cap.min(role)),
            is_platform_admin: self.is_platform_admin
                && role_cap.is_none_or(|cap| cap == Role::Admin && role == Role::Admin),
            must_change_password: self.must_change_password,
            credential,
        })
    }
}

/// The principal behind a session, or `None` when the account or its
/// membership was disabled, or the membership removed, since signing in.
pub async fn principal_for_user(
    db: &DatabaseConnection,
    user_id: i64,
    tenant_id: i64,
    credential: Credential,
    role_cap: Option<Role>,
) -> Result<Option<Principal>, ServiceError> {
    Ok(members()
        .filter(memberships::Column::UserId.eq(user_id))
        .filter(memberships::Column::TenantId.eq(tenant_id))
        .into_model::<Member>()
        .one(db)
        .await?
        .and_then(|m| m.principal(credential, role_cap)))
}

/// A token and the membership it acts through.
#[derive(Debug, FromQueryResult)]
struct TokenRow {
    token_id: i64,
    token_role: String,
    revoked_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    #[sea_orm(nested)]
    member: Member,
}

/// The principal behind a bearer token, or `None` for an unknown, revoked or
/// expired one, or one whose creator may no longer act in its tenant. One
/// query with the membership; records when it was last used.
pub async fn principal_for_token(
    db: &DatabaseConnection,
    secret: &str,
) -> Result<Option<Principal>, ServiceError> {
    let Some(row) = members()
        .column_as(api_tokens::Column::Id, "token_id")
        .column_as(api_tokens::Column::Role, "token_role")
        .column(api_tokens::Column::RevokedAt)
        .column(api_tokens::Column::ExpiresAt)
        .column(api_tokens::Column::LastUsedAt)
        .join(
            JoinType::InnerJoin,
            memberships::Entity::belongs_to(api_tokens::Entity)
                .from((memberships::Column::UserId, memberships::Column::TenantId))
                .to((api_tokens::Column::UserId, api_tokens::Column::TenantId))
                .into(),
        )
        .filter(api_tokens::Column::TokenHash.eq(token::hash(secret)))
        .into_model::<TokenRow>()
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|at| at <= now) {
        return Ok(None);
    }
    let (id, last_used_at) = (row.token_id, row.last_used_at);
    // A token whose role cannot be read acts as nobody, not uncapped.
    let Some(cap) = Role::parse(&row.token_role) else {
        return Ok(None);
    };
    let Some(principal) = row.member.principal(Credential::Token { id }, Some(cap)) else {
        return Ok(None);
    };
    // One write a minute at most, not one per request.
    if last_used_at.is_none_or(|at| now - at > Duration::minutes(1)) {
        api_tokens::Entity::update_many()
            .col_expr(api_tokens::Column::LastUsedAt, Expr::value(now))
            .filter(api_tokens::Column::Id.eq(id))
            .exec(db)
            .await?;
    }
    Ok(Some(principal))
}

/// Whether `principal` may still act: the account and membership are enabled
/// and, for a token, it is neither revoked nor expired. Long-lived
/// connections (live streams) ask this again while they run.
pub async fn still_valid(
    db: &DatabaseConnection,
    principal: &Principal,
) -> Result<bool, ServiceError> {
    let role_cap = match principal.credential {
        Credential::Session => None,
        Credential::Token { id } => {
            let Some(row) = api_tokens::Entity::find_by_id(id).one(db).await? else {
                return Ok(false);
            };
            if row.revoked_at.is_some() || row.expires_at.is_some_and(|at| at <= Utc::now()) {
                return Ok(false);
            }
            let Some(cap) = Role::parse(&row.role) else {
                return Ok(false);
            };
            Some(cap)
        }
    };
    Ok(principal_for_user(
        db,
        principal.user_id,
        principal.tenant.id,
        principal.credential.clone(),
        role_cap,
    )
    .await?
    .is_some_and(|now| now.role.allows(app::model::role::Action::Read)))
}

/// An argon2id hash of a random string, verified against for unknown users.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Mr0jr7vGC2Z5rXh6ryWq0uF6kG4w0t6xv9Qyq3kD0QY";
