//! Tenant isolation. Every tenant-owned table is read through [`scoped`], so a
//! query without a tenant filter has to be written on purpose.

use sea_orm::sea_query::{Query, SimpleExpr};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Select};

use crate::entities::{
    api_tokens, deployments, enrollment_tokens, environments, memberships, module_versions,
    modules, nodes, tenants, webhooks,
};
use crate::services::{sql, ServiceError};

/// The tenant a request acts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

/// The slug of the tenant that first run creates.
pub const DEFAULT_TENANT: &str = "default";

/// Tables whose rows belong to exactly one tenant.
pub trait TenantOwned: EntityTrait {
    fn tenant_column() -> Self::Column;
}

/// All rows of `E` that belong to `tenant`.
pub fn scoped<E: TenantOwned>(tenant: &Tenant) -> Select<E> {
    E::find().filter(E::tenant_column().eq(tenant.id))
}

/// The id of the tenant's environment called `name`, found in the statement
/// that uses it: nothing equals it when there is none.
pub fn environment_named(tenant: &Tenant, name: &str) -> SimpleExpr {
    sql::scalar(
        Query::select()
            .column(environments::Column::Id)
            .from(environments::Entity)
            .and_where(environments::Column::TenantId.eq(tenant.id))
            .and_where(environments::Column::Name.eq(name))
            .to_owned(),
    )
}

macro_rules! tenant_owned {
    ($($entity:ident),*) => {
        $(impl TenantOwned for $entity::Entity {
            fn tenant_column() -> Self::Column {
                $entity::Column::TenantId
            }
        })*
    };
}

tenant_owned!(
    api_tokens,
    deployments,
    enrollment_tokens,
    environments,
    memberships,
    module_versions,
    modules,
    nodes,
    webhooks
);

pub async fn find_by_slug(db: &DatabaseConnection, slug: &str) -> Result<Tenant, ServiceError> {
    tenants::Entity::find()
        .filter(tenants::Column::Slug.eq(slug))
        .one(db)
        .await?
        .map(|t| Tenant {
            id: t.id,
            slug: t.slug,
            name: t.name,
        })
        .ok_or(ServiceError::NotFound("tenant"))
}
