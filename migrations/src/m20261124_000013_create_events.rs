use sea_orm_migration::prelude::*;

use crate::columns::{cascade, id, index, json, reference, reference_null, text, timestamp};
use crate::m20261124_000001_create_tenants::Tenants;
use crate::m20261124_000009_create_deployments::Deployments;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Append-only history. Ids grow monotonically, so live clients resume with
/// "everything after id N".
#[derive(DeriveIden)]
pub enum Events {
    Table,
    Id,
    TenantId,
    DeploymentId,
    Kind,
    Payload,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .if_not_exists()
                    .col(id(Events::Id))
                    .col(reference(Events::TenantId))
                    .col(reference_null(Events::DeploymentId))
                    .col(text(Events::Kind))
                    .col(json(Events::Payload))
                    .col(timestamp(Events::CreatedAt))
                    .foreign_key(&mut cascade(
                        Events::Table,
                        Events::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .foreign_key(&mut cascade(
                        Events::Table,
                        Events::DeploymentId,
                        Deployments::Table,
                        Deployments::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_events_tenant_id",
            Events::Table,
            &["tenant_id", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "ix_events_deployment_id",
            Events::Table,
            &["deployment_id", "id"],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Events::Table).to_owned())
            .await
    }
}
