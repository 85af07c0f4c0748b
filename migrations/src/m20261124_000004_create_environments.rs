use sea_orm_migration::prelude::*;

use crate::columns::{
    cascade, flag, id, index, json, json_null, reference, text, text_null, timestamp,
};
use crate::m20261124_000001_create_tenants::Tenants;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// An environment and its policy. `position` orders environments on pages
/// (dev before production); strategy, analysis, hook and freeze settings are
/// JSON documents validated by the domain layer.
#[derive(DeriveIden)]
pub enum Environments {
    Table,
    Id,
    TenantId,
    Name,
    Position,
    RequiresApproval,
    RequiredApprovals,
    AllowSelfApproval,
    ApprovalTimeoutSecs,
    DefaultStrategy,
    Analysis,
    SwitchHook,
    FreezeWindows,
    ActivePool,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Environments::Table)
                    .if_not_exists()
                    .col(id(Environments::Id))
                    .col(reference(Environments::TenantId))
                    .col(text(Environments::Name))
                    .col(
                        ColumnDef::new(Environments::Position)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(flag(Environments::RequiresApproval, false))
                    .col(
                        ColumnDef::new(Environments::RequiredApprovals)
                            .integer()
                            .not_null()
                            .default(1),
                    )
                    .col(flag(Environments::AllowSelfApproval, false))
                    .col(
                        ColumnDef::new(Environments::ApprovalTimeoutSecs)
                            .big_integer()
                            .not_null()
                            .default(86_400),
                    )
                    .col(json(Environments::DefaultStrategy))
                    .col(json(Environments::Analysis))
                    .col(json_null(Environments::SwitchHook))
                    .col(json(Environments::FreezeWindows))
                    .col(text_null(Environments::ActivePool))
                    .col(timestamp(Environments::CreatedAt))
                    .col(timestamp(Environments::UpdatedAt))
                    .foreign_key(&mut cascade(
                        Environments::Table,
                        Environments::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ux_environments_tenant_name",
            Environments::Table,
            &["tenant_id", "name"],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Environments::Table).to_owned())
            .await
    }
}
