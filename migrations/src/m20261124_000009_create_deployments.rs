use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::columns::{
    cascade, id, index, json, reference, reference_null, restrict, set_null, text, text_null,
    timestamp, timestamp_null,
};
use crate::m20261124_000001_create_tenants::Tenants;
use crate::m20261124_000002_create_users::Users;
use crate::m20261124_000004_create_environments::Environments;
use crate::m20261124_000007_create_modules::Modules;
use crate::m20261124_000008_create_module_versions::ModuleVersions;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A roll-out of one module version to one environment. `strategy` holds the
/// strategy with its parameters; `plan` the phases computed once from it, so a
/// resumed worker follows the same plan.
#[derive(DeriveIden)]
pub enum Deployments {
    Table,
    Id,
    TenantId,
    ModuleId,
    ModuleVersionId,
    EnvironmentId,
    Strategy,
    Plan,
    Status,
    CurrentPhase,
    Outcome,
    RequestedBy,
    RollbackOf,
    CreatedAt,
    UpdatedAt,
    StartedAt,
    FinishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Deployments::Table)
                    .if_not_exists()
                    .col(id(Deployments::Id))
                    .col(reference(Deployments::TenantId))
                    .col(reference(Deployments::ModuleId))
                    .col(reference(Deployments::ModuleVersionId))
                    .col(reference(Deployments::EnvironmentId))
                    .col(json(Deployments::Strategy))
                    .col(json(Deployments::Plan))
                    .col(text(Deployments::Status))
                    .col(
                        ColumnDef::new(Deployments::CurrentPhase)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(text_null(Deployments::Outcome))
                    .col(reference_null(Deployments::RequestedBy))
                    .col(reference_null(Deployments::RollbackOf))
                    .col(timestamp(Deployments::CreatedAt))
                    .col(timestamp(Deployments::UpdatedAt))
                    .col(timestamp_null(Deployments::StartedAt))
                    .col(timestamp_null(Deployments::FinishedAt))
                    .foreign_key(&mut cascade(
                        Deployments::Table,
                        Deployments::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .foreign_key(&mut restrict(
                        Deployments::Table,
                        Deployments::ModuleId,
                        Modules::Table,
                        Modules::Id,
                    ))
                    .foreign_key(&mut restrict(
                        Deployments::Table,
                        Deployments::ModuleVersionId,
                        ModuleVersions::Table,
                        ModuleVersions::Id,
                    ))
                    .foreign_key(&mut restrict(
                        Deployments::Table,
                        Deployments::EnvironmentId,
                        Environments::Table,
                        Environments::Id,
                    ))
                    .foreign_key(&mut set_null(
                        Deployments::Table,
                        Deployments::RequestedBy,
                        Users::Table,
                        Users::Id,
                    ))
                    .foreign_key(&mut set_null(
                        Deployments::Table,
                        Deployments::RollbackOf,
                        Deployments::Table,
                        Deployments::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        // Cursor pagination walks ids downwards within a tenant, optionally
        // filtered by environment, module or status.
        index(
            manager,
            "ix_deployments_tenant_id",
            Deployments::Table,
            &["tenant_id", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "ix_deployments_tenant_environment_id",
            Deployments::Table,
            &["tenant_id", "environment_id", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "ix_deployments_tenant_module_id",
            Deployments::Table,
            &["tenant_id", "module_id", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "ix_deployments_tenant_status_id",
            Deployments::Table,
            &["tenant_id", "status", "id"],
            false,
        )
        .await?;
        // At most one active deployment per (module, environment), enforced by
        // the database so two replicas cannot both start one. Partial indexes
        // read the same on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS ux_deployments_active_slot \
                 ON deployments (module_id, environment_id) \
                 WHERE status IN ('pending_approval', 'queued', 'running', 'paused')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Deployments::Table).to_owned())
            .await
    }
}
