use sea_orm_migration::prelude::*;

use crate::columns::{
    cascade, id, index, json, reference, text, text_null, timestamp, timestamp_null,
};
use crate::m20261124_000001_create_tenants::Tenants;
use crate::m20261124_000004_create_environments::Environments;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// An enrolled agent. `versions` maps module name to the version the agent
/// last reported as really on disk; `credential_hash` authenticates it.
#[derive(DeriveIden)]
pub enum Nodes {
    Table,
    Id,
    TenantId,
    EnvironmentId,
    Name,
    Labels,
    Pool,
    Status,
    Versions,
    AgentVersion,
    CredentialHash,
    LastHeartbeatAt,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Nodes::Table)
                    .if_not_exists()
                    .col(id(Nodes::Id))
                    .col(reference(Nodes::TenantId))
                    .col(reference(Nodes::EnvironmentId))
                    .col(text(Nodes::Name))
                    .col(json(Nodes::Labels))
                    .col(text_null(Nodes::Pool))
                    .col(text(Nodes::Status))
                    .col(json(Nodes::Versions))
                    .col(text_null(Nodes::AgentVersion))
                    .col(text_null(Nodes::CredentialHash).unique_key())
                    .col(timestamp_null(Nodes::LastHeartbeatAt))
                    .col(timestamp(Nodes::CreatedAt))
                    .col(timestamp(Nodes::UpdatedAt))
                    .foreign_key(&mut cascade(
                        Nodes::Table,
                        Nodes::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .foreign_key(&mut cascade(
                        Nodes::Table,
                        Nodes::EnvironmentId,
                        Environments::Table,
                        Environments::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ux_nodes_tenant_name",
            Nodes::Table,
            &["tenant_id", "name"],
            true,
        )
        .await?;
        index(
            manager,
            "ix_nodes_environment",
            Nodes::Table,
            &["environment_id", "pool"],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Nodes::Table).to_owned())
            .await
    }
}
