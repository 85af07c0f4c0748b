//! Provisioning single sign-on users: link or create the user, grant the
//! roles the identity provider's claims map to.

use app::model::role::Role;
use chrono::Utc;
use rand::distributions::{Alphanumeric, DistString};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::domain::oidc_roles::RolePolicy;
use crate::entities::{memberships, tenants, users};
use crate::services::ServiceError;

/// What the verified ID token says about the person.
#[derive(Debug, Clone)]
pub struct OidcIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    /// The provider vouches for the email (`email_verified`); absent is no.
    pub email_verified: bool,
    pub preferred_username: Option<String>,
    pub groups: Vec<String>,
}

/// The user to sign in and the tenant to land in.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub user_id: i64,
    pub username: String,
    pub tenant_id: i64,
}

pub async fn provision(
    db: &DatabaseConnection,
    identity: &OidcIdentity,
    policy: &RolePolicy,
) -> Result<Provisioned, ServiceError> {
    let now = Utc::now();
    let linked = users::Entity::find()
        .filter(users::Column::OidcIssuer.eq(identity.issuer.as_str()))
        .filter(users::Column::OidcSubject.eq(identity.subject.as_str()))
        .one(db)
        .await?;
    let user = match linked {
        Some(user) => user,
        None => {
            // An admin may have pre-registered the person by email: linked
            // only when the provider verified that email, only to an account
            // made for single sign-on (no password of its own), and only when
            // exactly one such account has it.
            let invited = match &identity.email {
                Some(email) if identity.email_verified => {
                    let mut matches = users::Entity::find()
                        .filter(users::Column::Email.eq(email.to_lowercase()))
                        .filter(users::Column::OidcSubject.is_null())
                        .filter(users::Column::PasswordHash.is_null())
                        .limit(2)
                        .all(db)
                        .await?;
                    if matches.len() == 1 {
                        matches.pop()
                    } else {
                        None
                    }
                }
                _ => None,
            };
            match invited {
                Some(user) => {
                    let mut active = user.into_active_model();
                    active.oidc_issuer = Set(Some(identity.issuer.clone()));
                    active.oidc_subject = Set(Some(identity.subject.clone()));
                    active.updated_at = Set(now);
                    active.update(db).await?
                }
                None => {
                    users::ActiveModel {
                        username: Set(free_username(db, identity).await?),
                        email: Set(identity.email.as_ref().map(|e| e.to_lowercase())),
                        display_name: Set(None),
                        password_hash: Set(None),
                        must_change_password: Set(false),
                        oidc_issuer: Set(Some(identity.issuer.clone())),
                        oidc_subject: Set(Some(identity.subject.clone())),
                        is_platform_admin: Set(false),
                        disabled: Set(false),
                        last_login_at: Set(None),
                        created_at: Set(now),
                        updated_at: Set(now),
                        ..Default::default()
                    }
                    .insert(db)
                    .await?
                }
            }
        }
    };
    if user.disabled {
        return Err(ServiceError::Forbidden("this account is disabled".into()));
    }

    let mut landing = None;
    for grant in policy.grants(&identity.groups) {
        let Some(tenant) = tenants::Entity::find()
            .filter(tenants::Column::Slug.eq(grant.tenant.as_str()))
            .one(db)
            .await?
        else {
            tracing::warn!(tenant = %grant.tenant, "a single sign-on role names an unknown tenant");
            continue;
        };
        let existing = memberships::Entity::find()
            .filter(memberships::Column::UserId.eq(user.id))
            .filter(memberships::Column::TenantId.eq(tenant.id))
            .one(db)
            .await?;
        match existing {
            // A tenant Admin disabled it: single sign-on does not undo that.
            Some(m) if m.disabled_at.is_some() => continue,
            Some(m) if grant.authoritative && Role::parse(&m.role) != Some(grant.role) => {
                let mut active = m.into_active_model();
                active.role = Set(grant.role.as_str().to_string());
                active.update(db).await?;
            }
            Some(_) => {}
            None => {
                memberships::ActiveModel {
                    tenant_id: Set(tenant.id),
                    user_id: Set(user.id),
                    role: Set(grant.role.as_str().to_string()),
                    created_at: Set(now),
                    ..Default::default()
                }
                .insert(db)
                .await?;
            }
        }
        landing.get_or_insert(tenant.id);
    }
    let tenant_id = match landing {
        Some(id) => id,
        None => memberships::Entity::find()
            .filter(memberships::Column::UserId.eq(user.id))
            .filter(memberships::Column::DisabledAt.is_null())
            .order_by_asc(memberships::Column::Id)
            .one(db)
            .await?
            .map(|m| m.tenant_id)
            .ok_or_else(|| {
                ServiceError::Forbidden(
                    "your identity provider grants you no role in Hotswap".into(),
                )
            })?,
    };
    let mut active = user.clone().into_active_model();
    active.last_login_at = Set(Some(now));
    active.update(db).await?;
    Ok(Provisioned {
        user_id: user.id,
        username: user.username,
        tenant_id,
    })
}

/// The preferred username (or the email's local part) if free, else with a suffix.
async fn free_username(
    db: &DatabaseConnection,
    identity: &OidcIdentity,
) -> Result<String, ServiceError> {
    let wanted = identity
        .preferred_username
        .clone()
        .or_else(|| identity.email.clone())
        .unwrap_or_else(|| format!("sso-{}", identity.subject));
    let base: String = wanted
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        .take(48)
        .collect();
    let base = if base.len() < 2 {
        "sso-user".to_string()
    } else {
        base
    };
    let taken = users::Entity::find()
        .filter(users::Column::Username.eq(base.as_str()))
        .one(db)
        .await?
        .is_some();
    Ok(if taken {
        format!(
            "{base}-{}",
            Alphanumeric
                .sample_string(&mut rand::thread_rng(), 5)
                .to_lowercase()
        )
    } else {
        base
    })
}
