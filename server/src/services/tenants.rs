//! Tenants: created by platform admins; listed per member.

use app::model::role::Role;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};

use crate::entities::{memberships, tenants};
use crate::services::bootstrap::create_default_environments;
use crate::services::principal::Principal;
use crate::services::ServiceError;

/// A tenant one belongs to, and one's role there.
pub type Membership = app::model::session::TenantChoice;

/// The tenants a user belongs to, with their role in each.
pub async fn of_user(
    db: &DatabaseConnection,
    user_id: i64,
) -> Result<Vec<Membership>, ServiceError> {
    let rows = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .filter(memberships::Column::DisabledAt.is_null())
        .order_by_asc(memberships::Column::Id)
        .find_also_related(tenants::Entity)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(m, t)| {
            let t = t?;
            Some(Membership {
                slug: t.slug,
                name: t.name,
                role: Role::parse(&m.role)?,
            })
        })
        .collect())
}

/// Creates a tenant with the standard environments; its creator becomes its admin.
pub async fn create(
    db: &DatabaseConnection,
    principal: &Principal,
    slug: &str,
    name: &str,
) -> Result<Membership, ServiceError> {
    principal.require_platform_admin()?;
    let slug = app::model::validate::slug(slug)?;
    let name = app::model::validate::name("name", name)?;
    let name = name.as_str();
    let exists = tenants::Entity::find()
        .filter(tenants::Column::Slug.eq(slug.as_str()))
        .one(db)
        .await?
        .is_some();
    if exists {
        return Err(ServiceError::Conflict(format!(
            "a tenant named {slug} exists already"
        )));
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    let tenant = tenants::ActiveModel {
        slug: Set(slug.clone()),
        name: Set(name.to_string()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    create_default_environments(&txn, tenant.id).await?;
    memberships::ActiveModel {
        tenant_id: Set(tenant.id),
        user_id: Set(principal.user_id),
        role: Set(Role::Admin.as_str().to_string()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(Membership {
        slug,
        name: name.to_string(),
        role: Role::Admin,
    })
}

/// The id of tenant `slug` if `user_id` is a member of it.
pub async fn membership_tenant_id(
    db: &DatabaseConnection,
    user_id: i64,
    slug: &str,
) -> Result<Option<i64>, ServiceError> {
    let Some(tenant) = tenants::Entity::find()
        .filter(tenants::Column::Slug.eq(slug))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let member = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .filter(memberships::Column::TenantId.eq(tenant.id))
        .filter(memberships::Column::DisabledAt.is_null())
        .one(db)
        .await?;
    Ok(member.map(|_| tenant.id))
}
