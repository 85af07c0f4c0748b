use sea_orm_migration::prelude::*;

use crate::columns::{
    cascade, id, index, json, reference, reference_null, text, text_null, timestamp, timestamp_null,
};
use crate::m20261124_000001_create_tenants::Tenants;
use crate::m20261124_000009_create_deployments::Deployments;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The work queue. A job is runnable once `run_after` has passed and it is
/// unlocked or its lease has expired; waiting is a future `run_after`, never a
/// sleeping task, so a restart loses no timer.
#[derive(DeriveIden)]
pub enum Jobs {
    Table,
    Id,
    TenantId,
    Kind,
    DeploymentId,
    Payload,
    RunAfter,
    LockedBy,
    LeaseExpiresAt,
    Attempts,
    LastError,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .if_not_exists()
                    .col(id(Jobs::Id))
                    .col(reference(Jobs::TenantId))
                    .col(text(Jobs::Kind))
                    .col(reference_null(Jobs::DeploymentId))
                    .col(json(Jobs::Payload))
                    .col(timestamp(Jobs::RunAfter))
                    .col(text_null(Jobs::LockedBy))
                    .col(timestamp_null(Jobs::LeaseExpiresAt))
                    .col(
                        ColumnDef::new(Jobs::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(text_null(Jobs::LastError))
                    .col(timestamp(Jobs::CreatedAt))
                    .foreign_key(&mut cascade(
                        Jobs::Table,
                        Jobs::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .foreign_key(&mut cascade(
                        Jobs::Table,
                        Jobs::DeploymentId,
                        Deployments::Table,
                        Deployments::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        // The claim query orders runnable jobs by `run_after`.
        index(
            manager,
            "ix_jobs_run_after",
            Jobs::Table,
            &["run_after"],
            false,
        )
        .await?;
        index(
            manager,
            "ix_jobs_lease",
            Jobs::Table,
            &["locked_by", "lease_expires_at"],
            false,
        )
        .await?;
        // One live job per deployment: the engine re-uses it rather than racing a copy.
        index(
            manager,
            "ux_jobs_deployment_kind",
            Jobs::Table,
            &["deployment_id", "kind"],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Jobs::Table).to_owned())
            .await
    }
}
