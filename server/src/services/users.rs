//! Members of a tenant: list, invite or add, change role, disable.

use app::model::role::{Action, Role};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};

use app::model::admin::{AddedMember, Member, NewMember};
use app::model::validate;

use crate::domain::password;
use crate::entities::{memberships, users};
use crate::services::error::is_unique_violation;
use crate::services::principal::Principal;
use crate::services::tenancy::scoped;
use crate::services::{tokens, ServiceError};

pub async fn list(
    db: &DatabaseConnection,
    principal: &Principal,
) -> Result<Vec<Member>, ServiceError> {
    principal.require(Action::ManageUsers)?;
    let members = scoped::<memberships::Entity>(&principal.tenant)
        .order_by_asc(memberships::Column::Id)
        .all(db)
        .await?;
    let people: std::collections::HashMap<i64, users::Model> = users::Entity::find()
        .filter(users::Column::Id.is_in(members.iter().map(|m| m.user_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(members
        .into_iter()
        .filter_map(|m| Some(member(people.get(&m.user_id)?.clone(), &m)))
        .collect())
}

pub async fn add(
    db: &DatabaseConnection,
    principal: &Principal,
    new: NewMember,
) -> Result<AddedMember, ServiceError> {
    principal.require(Action::ManageUsers)?;
    let username = validate::username(&new.username)?;
    let email = new.email.as_deref().map(validate::email).transpose()?;
    if let Some(p) = &new.password {
        validate::password(p)?;
    }
    let now = Utc::now();
    let membership = |user_id: i64| memberships::ActiveModel {
        tenant_id: Set(principal.tenant.id),
        user_id: Set(user_id),
        role: Set(new.role.as_str().to_string()),
        created_at: Set(now),
        ..Default::default()
    };
    let already_member = || {
        ServiceError::Conflict(format!(
            "{username} is already a member of {}",
            principal.tenant.slug
        ))
    };
    // Reads happen before any transaction: on SQLite a transaction that reads
    // first cannot upgrade to writing once another connection has written.
    // The unique indexes settle races.
    let existing = users::Entity::find()
        .filter(users::Column::Username.eq(username.as_str()))
        .one(db)
        .await?;
    let (user, temporary_password, membership_row) = match existing {
        // An account of another tenant: only a platform admin may bring it
        // in, and nobody else learns anything about it but that the name is taken.
        Some(user) if !principal.is_platform_admin => {
            let here = scoped::<memberships::Entity>(&principal.tenant)
                .filter(memberships::Column::UserId.eq(user.id))
                .one(db)
                .await?;
            return Err(match here {
                Some(_) => already_member(),
                None => ServiceError::Conflict(format!(
                    "the username {username} is taken; choose another"
                )),
            });
        }
        Some(user) => {
            let inserted = membership(user.id).insert(db).await;
            match inserted {
                Ok(row) => (user, None, row),
                Err(err) if is_unique_violation(&err) => return Err(already_member()),
                Err(err) => return Err(err.into()),
            }
        }
        None => {
            // No password and an email: a pre-registered single sign-on user.
            // No password and no email: a generated temporary password.
            let temporary = (new.password.is_none() && email.is_none()).then(password::generate);
            let secret = new.password.clone().or(temporary.clone());
            let hash = match secret {
                Some(s) => Some(
                    tokio::task::spawn_blocking(move || password::hash(&s))
                        .await
                        .map_err(|e| anyhow::anyhow!("hashing panicked: {e}"))?
                        .map_err(anyhow::Error::new)?,
                ),
                None => None,
            };
            let txn = db.begin().await?;
            let inserted = users::ActiveModel {
                username: Set(username.clone()),
                email: Set(email.clone()),
                display_name: Set(None),
                must_change_password: Set(hash.is_some()),
                password_hash: Set(hash),
                oidc_issuer: Set(None),
                oidc_subject: Set(None),
                is_platform_admin: Set(false),
                disabled: Set(false),
                last_login_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await;
            let user = match inserted {
                Ok(user) => user,
                Err(err) if is_unique_violation(&err) => {
                    return Err(ServiceError::Conflict(format!(
                        "{username} was just created by someone else; try again"
                    )))
                }
                Err(err) => return Err(err.into()),
            };
            let row = membership(user.id).insert(&txn).await?;
            txn.commit().await?;
            (user, temporary, row)
        }
    };
    Ok(AddedMember {
        member: member(user, &membership_row),
        temporary_password,
    })
}

pub struct MemberChange {
    pub role: Option<Role>,
    /// This tenant's membership: a tenant Admin's to change.
    pub disabled: Option<bool>,
    /// The account, in every tenant: a platform admin's only.
    pub account_disabled: Option<bool>,
}

pub async fn update(
    db: &DatabaseConnection,
    principal: &Principal,
    user_id: i64,
    change: MemberChange,
) -> Result<Member, ServiceError> {
    principal.require(Action::ManageUsers)?;
    let membership = scoped::<memberships::Entity>(&principal.tenant)
        .filter(memberships::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("user"))?;
    if change.account_disabled.is_some() {
        principal.require_platform_admin()?;
    }
    if user_id == principal.user_id
        && (change.disabled == Some(true)
            || change.account_disabled == Some(true)
            || change.role.is_some_and(|r| r < Role::Admin))
    {
        return Err(ServiceError::Conflict(
            "you cannot disable or demote yourself; ask another admin".into(),
        ));
    }
    let mut user = users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("user"))?;
    // A tenant's Admin cannot lock a platform admin out of their tenant.
    if user.is_platform_admin
        && !principal.is_platform_admin
        && (change.disabled == Some(true) || change.role.is_some_and(|r| r < Role::Admin))
    {
        return Err(ServiceError::Forbidden(format!(
            "{} is a platform admin; only a platform admin may disable or demote them",
            user.username
        )));
    }
    let txn = db.begin().await?;
    let mut membership = membership;
    if change.role.is_some() || change.disabled.is_some() {
        let mut active = membership.clone().into_active_model();
        if let Some(role) = change.role {
            active.role = Set(role.as_str().to_string());
        }
        if let Some(disabled) = change.disabled {
            // Keeps the first time it was disabled.
            active.disabled_at = Set(if disabled {
                membership.disabled_at.or(Some(Utc::now()))
            } else {
                None
            });
        }
        membership = active.update(&txn).await?;
    }
    if let Some(disabled) = change.account_disabled {
        let mut active = user.into_active_model();
        active.disabled = Set(disabled);
        active.updated_at = Set(Utc::now());
        user = active.update(&txn).await?;
    }
    txn.commit().await?;
    // Sessions end at their next request (membership and account are re-read
    // on each); tokens end now: this tenant's, or everywhere for the account.
    if change.disabled == Some(true) {
        tokens::revoke_all_of_user_in(db, user_id, principal.tenant.id).await?;
    }
    if change.account_disabled == Some(true) {
        tokens::revoke_all_of_user(db, user_id).await?;
    }
    Ok(member(user, &membership))
}

fn member(user: users::Model, membership: &memberships::Model) -> Member {
    Member {
        sign_in: match (&user.password_hash, &user.oidc_subject) {
            (Some(_), Some(_)) => "password, single sign-on",
            (Some(_), None) => "password",
            (None, _) => "single sign-on",
        }
        .to_string(),
        id: user.id,
        username: user.username,
        email: user.email,
        role: Role::parse(&membership.role).unwrap_or(Role::Viewer),
        disabled: membership.disabled_at.is_some(),
        account_disabled: user.disabled,
        must_change_password: user.must_change_password,
        last_login_at: user.last_login_at,
    }
}

/// Changes one's own password, given the current one.
pub async fn change_password(
    db: &DatabaseConnection,
    user_id: i64,
    current: &str,
    new: &str,
) -> Result<(), ServiceError> {
    validate::password(new)?;
    let user = users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(ServiceError::Unauthorized)?;
    let stored = user.password_hash.clone().unwrap_or_default();
    let (current, new) = (current.to_string(), new.to_string());
    let (ok, hash) = tokio::task::spawn_blocking(move || {
        (password::verify(&current, &stored), password::hash(&new))
    })
    .await
    .map_err(|e| anyhow::anyhow!("hashing panicked: {e}"))?;
    if !ok {
        return Err(ServiceError::invalid(
            "current_password",
            "the current password is wrong",
        ));
    }
    let mut active = user.into_active_model();
    active.password_hash = Set(Some(hash.map_err(anyhow::Error::new)?));
    active.must_change_password = Set(false);
    active.updated_at = Set(Utc::now());
    active.update(db).await?;
    Ok(())
}
