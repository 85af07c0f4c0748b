//! Rows written straight into the database, for tests that need history.

use chrono::Utc;
use hotswap::domain::plan::StoredPlan;
use hotswap::domain::strategy::{BatchSize, Strategy};
use hotswap::entities::{deployments, environments, module_versions, modules, nodes, tenants};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde_json::json;

pub async fn tenant_id(db: &DatabaseConnection, slug: &str) -> i64 {
    tenants::Entity::find()
        .filter(tenants::Column::Slug.eq(slug))
        .one(db)
        .await
        .expect("query")
        .expect("tenant exists")
        .id
}

pub async fn create_tenant(db: &DatabaseConnection, slug: &str) -> i64 {
    tenants::ActiveModel {
        slug: Set(slug.to_string()),
        name: Set(slug.to_string()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("tenant is created")
    .id
}

/// Writes a deployment straight into the database, creating the module,
/// version and environment rows it needs. Returns its id.
pub async fn seed_deployment(
    db: &DatabaseConnection,
    tenant_id: i64,
    module: &str,
    version: &str,
    environment: &str,
    status: &str,
) -> i64 {
    let now = Utc::now();
    let module_id = match modules::Entity::find()
        .filter(modules::Column::TenantId.eq(tenant_id))
        .filter(modules::Column::Name.eq(module))
        .one(db)
        .await
        .expect("query")
    {
        Some(m) => m.id,
        None => {
            modules::ActiveModel {
                tenant_id: Set(tenant_id),
                name: Set(module.to_string()),
                description: Set(None),
                require_signature: Set(false),
                public_key: Set(None),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await
            .expect("module")
            .id
        }
    };
    let version_id = match module_versions::Entity::find()
        .filter(module_versions::Column::ModuleId.eq(module_id))
        .filter(module_versions::Column::Version.eq(version))
        .one(db)
        .await
        .expect("query")
    {
        Some(v) => v.id,
        None => {
            module_versions::ActiveModel {
                tenant_id: Set(tenant_id),
                module_id: Set(module_id),
                version: Set(version.to_string()),
                artifact_url: Set(format!("file:///artifacts/{module}-{version}.tar.gz")),
                sha256: Set("0".repeat(64)),
                signature: Set(None),
                published_by: Set(None),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await
            .expect("version")
            .id
        }
    };
    let environment_id = match environments::Entity::find()
        .filter(environments::Column::TenantId.eq(tenant_id))
        .filter(environments::Column::Name.eq(environment))
        .one(db)
        .await
        .expect("query")
    {
        Some(e) => e.id,
        None => {
            environments::ActiveModel {
                tenant_id: Set(tenant_id),
                name: Set(environment.to_string()),
                position: Set(0),
                requires_approval: Set(false),
                required_approvals: Set(1),
                allow_self_approval: Set(false),
                approval_timeout_secs: Set(86_400),
                default_strategy: Set(json!({"kind": "direct"})),
                analysis: Set(json!({})),
                switch_hook: Set(None),
                freeze_windows: Set(json!([])),
                active_pool: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await
            .expect("environment")
            .id
        }
    };
    let status = ::app::model::lifecycle::DeploymentStatus::parse(status).expect("a known status");
    let finished = status.is_finished();
    deployments::ActiveModel {
        tenant_id: Set(tenant_id),
        module_id: Set(module_id),
        module_version_id: Set(version_id),
        environment_id: Set(environment_id),
        strategy: Set((&Strategy::Rolling {
            batch: BatchSize::Count(2),
            max_failed: 0,
        })
            .into()),
        plan: Set(StoredPlan::NotStarted),
        status: Set(status),
        current_phase: Set(0),
        outcome: Set(None),
        requested_by: Set(None),
        rollback_of: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        started_at: Set(Some(now - chrono::Duration::seconds(90))),
        finished_at: Set(finished.then_some(now)),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("deployment")
    .id
}

/// An enrolled node's row, never connected: no credential, labels or versions.
pub fn node_row(
    tenant_id: i64,
    environment_id: i64,
    name: String,
    status: ::app::model::lifecycle::NodeStatus,
) -> nodes::ActiveModel {
    let now = Utc::now();
    nodes::ActiveModel {
        tenant_id: Set(tenant_id),
        environment_id: Set(environment_id),
        name: Set(name),
        labels: Set(json!({})),
        pool: Set(None),
        status: Set(status),
        versions: Set(json!({})),
        agent_version: Set(None),
        credential_hash: Set(None),
        last_heartbeat_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}
