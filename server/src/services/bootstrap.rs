//! First run: the `default` tenant, its environments and an admin.

use anyhow::Context;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};

use crate::domain::environment::{
    default_analysis, default_environments, DEFAULT_APPROVAL_TIMEOUT_SECS,
};
use crate::domain::password;
use crate::entities::{environments, memberships, tenants, users};
use crate::services::error::is_unique_violation;
use crate::services::tenancy::DEFAULT_TENANT;
use crate::services::ServiceError;

/// The admin account first run created, to be shown to whoever started Hotswap.
#[derive(Debug, Clone)]
pub struct FirstRunAdmin {
    pub username: String,
    /// Present when no password was configured and one was generated.
    pub generated_password: Option<String>,
}

/// Creates what a fresh database needs, once. Returns the new admin on the
/// run that created it and `None` ever after. Safe when several replicas start
/// at once: the loser of the race sees the unique slug and backs off.
pub async fn ensure_initialised(
    db: &DatabaseConnection,
    admin_password: Option<&str>,
) -> Result<Option<FirstRunAdmin>, ServiceError> {
    let exists = tenants::Entity::find()
        .filter(tenants::Column::Slug.eq(DEFAULT_TENANT))
        .one(db)
        .await?
        .is_some();
    if exists {
        return Ok(None);
    }

    let generated = admin_password.is_none().then(password::generate);
    let password = admin_password.or(generated.as_deref()).unwrap_or_default();
    let password_hash = password::hash(password).context("Failed to hash the admin password")?;
    let now = Utc::now();

    let txn = db.begin().await?;
    let tenant = tenants::ActiveModel {
        slug: Set(DEFAULT_TENANT.to_string()),
        name: Set("Default".to_string()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let tenant = match tenant {
        Ok(tenant) => tenant,
        // Another replica initialised the database first.
        Err(err) if is_unique_violation(&err) => return Ok(None),
        Err(err) => return Err(err.into()),
    };

    create_default_environments(&txn, tenant.id).await?;

    let admin = users::ActiveModel {
        username: Set("admin".to_string()),
        email: Set(None),
        display_name: Set(Some("Administrator".to_string())),
        password_hash: Set(Some(password_hash)),
        // A generated password is meant to be replaced at first sign-in.
        must_change_password: Set(generated.is_some()),
        oidc_issuer: Set(None),
        oidc_subject: Set(None),
        is_platform_admin: Set(true),
        disabled: Set(false),
        last_login_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;

    memberships::ActiveModel {
        tenant_id: Set(tenant.id),
        user_id: Set(admin.id),
        role: Set("admin".to_string()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;

    tracing::info!(tenant = DEFAULT_TENANT, "initialised a new database");
    Ok(Some(FirstRunAdmin {
        username: admin.username,
        generated_password: generated,
    }))
}

/// The standard environments of a new tenant: dev, qa, staging, production.
pub async fn create_default_environments(
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: i64,
) -> Result<(), ServiceError> {
    let now = Utc::now();
    for (position, template) in default_environments().into_iter().enumerate() {
        environments::ActiveModel {
            tenant_id: Set(tenant_id),
            name: Set(template.name.to_string()),
            position: Set(position as i32),
            requires_approval: Set(template.requires_approval),
            required_approvals: Set(1),
            allow_self_approval: Set(false),
            approval_timeout_secs: Set(DEFAULT_APPROVAL_TIMEOUT_SECS),
            default_strategy: Set(template.default_strategy),
            analysis: Set(default_analysis()),
            switch_hook: Set(None),
            freeze_windows: Set(serde_json::json!([])),
            active_pool: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}
