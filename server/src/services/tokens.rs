//! API tokens: created by a member for their tenant, never above their role.

use app::model::admin::{CreatedToken, TokenInfo};
use app::model::role::{Action, Role};
use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};

use crate::domain::token;
use crate::entities::{api_tokens, users};
use crate::services::principal::Principal;
use crate::services::tenancy::{scoped, Tenant};
use crate::services::ServiceError;

pub struct NewToken {
    pub name: String,
    pub role: Option<Role>,
    pub lifetime: Option<Duration>,
}

/// Creates a token acting as `owner_id` in `tenant` with at most `owner_role`.
pub async fn create_for(
    db: &DatabaseConnection,
    tenant: &Tenant,
    owner_id: i64,
    owner_name: &str,
    owner_role: Role,
    new: NewToken,
) -> Result<CreatedToken, ServiceError> {
    let name = app::model::validate::name("name", &new.name)?;
    let role = new.role.unwrap_or(owner_role);
    if role > owner_role {
        return Err(ServiceError::invalid(
            "role",
            format!("a token's role cannot be above its creator's ({owner_role})"),
        ));
    }
    let secret = token::generate();
    let now = Utc::now();
    let row = api_tokens::ActiveModel {
        tenant_id: Set(tenant.id),
        user_id: Set(owner_id),
        name: Set(name),
        token_hash: Set(token::hash(&secret)),
        role: Set(role.as_str().to_string()),
        expires_at: Set(new.lifetime.map(|l| now + l)),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(CreatedToken {
        info: info(row, owner_name.to_string()),
        token: secret,
    })
}

pub async fn create(
    db: &DatabaseConnection,
    principal: &Principal,
    new: NewToken,
) -> Result<CreatedToken, ServiceError> {
    principal.require(Action::ManageTokens)?;
    create_for(
        db,
        &principal.tenant,
        principal.user_id,
        &principal.username,
        principal.role,
        new,
    )
    .await
}

pub async fn list(
    db: &DatabaseConnection,
    principal: &Principal,
) -> Result<Vec<TokenInfo>, ServiceError> {
    principal.require(Action::ManageTokens)?;
    let rows = scoped::<api_tokens::Entity>(&principal.tenant)
        .order_by_desc(api_tokens::Column::Id)
        .all(db)
        .await?;
    let owners: std::collections::HashMap<i64, String> = users::Entity::find()
        .filter(users::Column::Id.is_in(rows.iter().map(|r| r.user_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let owner = owners.get(&r.user_id).cloned().unwrap_or_default();
            info(r, owner)
        })
        .collect())
}

pub async fn revoke(
    db: &DatabaseConnection,
    principal: &Principal,
    id: i64,
) -> Result<TokenInfo, ServiceError> {
    principal.require(Action::ManageTokens)?;
    let row = scoped::<api_tokens::Entity>(&principal.tenant)
        .filter(api_tokens::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("token"))?;
    let owner = users::Entity::find_by_id(row.user_id)
        .one(db)
        .await?
        .map(|u| u.username)
        .unwrap_or_default();
    if row.revoked_at.is_some() {
        return Ok(info(row, owner));
    }
    let mut active = row.into_active_model();
    active.revoked_at = Set(Some(Utc::now()));
    Ok(info(active.update(db).await?, owner))
}

/// Revokes a user's live tokens in one tenant, e.g. when their membership there is disabled.
pub async fn revoke_all_of_user_in(
    db: &DatabaseConnection,
    user_id: i64,
    tenant_id: i64,
) -> Result<u64, ServiceError> {
    let result = api_tokens::Entity::update_many()
        .col_expr(
            api_tokens::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(api_tokens::Column::UserId.eq(user_id))
        .filter(api_tokens::Column::TenantId.eq(tenant_id))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Revokes every live token of a user, e.g. when the account is disabled.
pub async fn revoke_all_of_user(
    db: &DatabaseConnection,
    user_id: i64,
) -> Result<u64, ServiceError> {
    let result = api_tokens::Entity::update_many()
        .col_expr(
            api_tokens::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(api_tokens::Column::UserId.eq(user_id))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

fn info(row: api_tokens::Model, owner: String) -> TokenInfo {
    TokenInfo {
        id: row.id,
        name: row.name,
        role: Role::parse(&row.role).unwrap_or(Role::Viewer),
        owner,
        created_at: row.created_at,
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    }
}

/// Creates a token for `username` in tenant `slug`, as the command line does.
pub async fn create_for_member(
    db: &DatabaseConnection,
    slug: &str,
    username: &str,
    name: &str,
    role: Option<Role>,
    lifetime: Option<Duration>,
) -> Result<CreatedToken, ServiceError> {
    let tenant = crate::services::tenancy::find_by_slug(db, slug).await?;
    let user = users::Entity::find()
        .filter(users::Column::Username.eq(username))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("user"))?;
    let member_role = scoped::<crate::entities::memberships::Entity>(&tenant)
        .filter(crate::entities::memberships::Column::UserId.eq(user.id))
        .filter(crate::entities::memberships::Column::DisabledAt.is_null())
        .one(db)
        .await?
        .and_then(|m| Role::parse(&m.role))
        .ok_or_else(|| ServiceError::Forbidden(format!("{username} is not a member of {slug}")))?;
    create_for(
        db,
        &tenant,
        user.id,
        &user.username,
        member_role,
        NewToken {
            name: name.to_string(),
            role,
            lifetime,
        },
    )
    .await
}
