//! Modules and their published versions.

use app::model::module::{ModuleInfo, VersionInfo};
use app::model::role::Action;
use app::model::validate;
use chrono::Utc;
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Deserialize;

use crate::entities::{module_versions, modules, users};
use crate::services::error::is_unique_violation;
use crate::services::principal::Principal;
use crate::services::sql::scalar;
use crate::services::tenancy::{scoped, Tenant};
use crate::services::ServiceError;
use hotswap_agent::artifact::{decode_key_material, verify_signature};

#[derive(Debug, Deserialize)]
pub struct NewModule {
    pub name: String,
    pub description: Option<String>,
    /// Hex or base64 Ed25519 public key; versions must then be signed with it.
    pub public_key: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NewVersion {
    pub version: String,
    pub artifact_url: String,
    pub sha256: String,
    pub signature: Option<String>,
}

pub async fn create(
    db: &DatabaseConnection,
    principal: &Principal,
    new: NewModule,
) -> Result<ModuleInfo, ServiceError> {
    principal.require(Action::Publish)?;
    let name = validate::module_name(&new.name)?;
    let description = new
        .description
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 500)
    {
        return Err(ServiceError::invalid(
            "description",
            "at most 500 characters",
        ));
    }
    let public_key = match new
        .public_key
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
    {
        None => None,
        Some(key) => {
            let bytes = decode_key_material::<32>(&key).ok_or_else(|| {
                ServiceError::invalid(
                    "public_key",
                    "an Ed25519 public key: 32 bytes in hex or base64",
                )
            })?;
            ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| {
                ServiceError::invalid("public_key", "not a valid Ed25519 public key")
            })?;
            Some(key)
        }
    };
    let row = modules::ActiveModel {
        tenant_id: Set(principal.tenant.id),
        name: Set(name.clone()),
        description: Set(description),
        require_signature: Set(public_key.is_some()),
        public_key: Set(public_key),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            ServiceError::Conflict(format!("a module named {name} already exists"))
        } else {
            e.into()
        }
    })?;
    Ok(module_info(row, None))
}

fn module_info(row: modules::Model, latest_version: Option<String>) -> ModuleInfo {
    ModuleInfo {
        name: row.name,
        description: row.description,
        require_signature: row.require_signature,
        latest_version,
        created_at: row.created_at,
    }
}

pub async fn list(
    db: &DatabaseConnection,
    tenant: &Tenant,
) -> Result<Vec<ModuleInfo>, ServiceError> {
    // Each module's newest version comes along in the same query, found as
    // `MAX(id)` so no limit is bound (see `sql::limited`).
    let newest = Alias::new("newest");
    let newest_id = Query::select()
        .expr(Expr::col((newest.clone(), module_versions::Column::Id)).max())
        .from_as(module_versions::Entity, newest.clone())
        .and_where(
            Expr::col((newest, module_versions::Column::ModuleId))
                .equals((modules::Entity, modules::Column::Id)),
        )
        .to_owned();
    let latest = Query::select()
        .column(module_versions::Column::Version)
        .from(module_versions::Entity)
        .and_where(
            Expr::col((module_versions::Entity, module_versions::Column::Id)).eq(scalar(newest_id)),
        )
        .to_owned();
    let rows = scoped::<modules::Entity>(tenant)
        .expr_as(scalar(latest), "latest_version")
        .order_by_asc(modules::Column::Name)
        .into_model::<WithLatest>()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| ModuleInfo {
            name: row.name,
            description: row.description,
            require_signature: row.require_signature,
            latest_version: row.latest_version,
            created_at: row.created_at,
        })
        .collect())
}

#[derive(Debug, FromQueryResult)]
struct WithLatest {
    name: String,
    description: Option<String>,
    require_signature: bool,
    latest_version: Option<String>,
    created_at: chrono::DateTime<Utc>,
}

pub async fn find(
    db: &DatabaseConnection,
    tenant: &Tenant,
    name: &str,
) -> Result<modules::Model, ServiceError> {
    scoped::<modules::Entity>(tenant)
        .filter(modules::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("module"))
}

pub async fn publish(
    db: &DatabaseConnection,
    principal: &Principal,
    module_name: &str,
    new: NewVersion,
) -> Result<VersionInfo, ServiceError> {
    principal.require(Action::Publish)?;
    let module = find(db, &principal.tenant, module_name).await?;
    let version = validate::version(&new.version)?;
    let artifact_url = validate::artifact_url(&new.artifact_url)?;
    let sha256 = validate::sha256(&new.sha256)?;
    let signature = new
        .signature
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if let Some(key) = module
        .public_key
        .as_deref()
        .filter(|_| module.require_signature)
    {
        let mut digest = [0u8; 32];
        hex::decode_to_slice(&sha256, &mut digest)
            .map_err(|_| ServiceError::invalid("sha256", "64 hexadecimal characters"))?;
        verify_signature(&digest, signature.as_deref(), key)
            .map_err(|e| ServiceError::invalid("signature", e.to_string()))?;
    } else if signature
        .as_ref()
        .is_some_and(|s| decode_key_material::<64>(s).is_none())
    {
        return Err(ServiceError::invalid(
            "signature",
            "64 bytes of hex or base64",
        ));
    }
    let row = module_versions::ActiveModel {
        tenant_id: Set(principal.tenant.id),
        module_id: Set(module.id),
        version: Set(version.clone()),
        artifact_url: Set(artifact_url),
        sha256: Set(sha256),
        signature: Set(signature),
        published_by: Set(Some(principal.user_id)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            ServiceError::Conflict(format!(
                "{module_name} {version} is already published; versions are immutable, publish a new one"
            ))
        } else {
            e.into()
        }
    })?;
    Ok(version_info(
        row,
        &module.name,
        Some(principal.username.clone()),
    ))
}

fn version_info(
    row: module_versions::Model,
    module: &str,
    publisher: Option<String>,
) -> VersionInfo {
    VersionInfo {
        module: module.to_string(),
        version: row.version,
        artifact_url: row.artifact_url,
        sha256: row.sha256,
        signed: row.signature.is_some(),
        published_by: publisher,
        created_at: row.created_at,
    }
}

/// Newest first.
pub async fn versions(
    db: &DatabaseConnection,
    tenant: &Tenant,
    module_name: &str,
) -> Result<Vec<VersionInfo>, ServiceError> {
    let module = find(db, tenant, module_name).await?;
    let rows = scoped::<module_versions::Entity>(tenant)
        .filter(module_versions::Column::ModuleId.eq(module.id))
        .order_by_desc(module_versions::Column::Id)
        .all(db)
        .await?;
    let publisher_ids: Vec<i64> = rows.iter().filter_map(|r| r.published_by).collect();
    let names: std::collections::HashMap<i64, String> = users::Entity::find()
        .filter(users::Column::Id.is_in(publisher_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let publisher = r.published_by.and_then(|id| names.get(&id).cloned());
            version_info(r, &module.name, publisher)
        })
        .collect())
}
