use sea_orm_migration::prelude::*;

use crate::columns::{cascade, flag, id, index, reference, text, text_null, timestamp};
use crate::m20261124_000001_create_tenants::Tenants;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A deployable artifact family. With `require_signature`, every version must
/// carry an ed25519 signature that verifies against `public_key`.
#[derive(DeriveIden)]
pub enum Modules {
    Table,
    Id,
    TenantId,
    Name,
    Description,
    RequireSignature,
    PublicKey,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Modules::Table)
                    .if_not_exists()
                    .col(id(Modules::Id))
                    .col(reference(Modules::TenantId))
                    .col(text(Modules::Name))
                    .col(text_null(Modules::Description))
                    .col(flag(Modules::RequireSignature, false))
                    .col(text_null(Modules::PublicKey))
                    .col(timestamp(Modules::CreatedAt))
                    .foreign_key(&mut cascade(
                        Modules::Table,
                        Modules::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ux_modules_tenant_name",
            Modules::Table,
            &["tenant_id", "name"],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Modules::Table).to_owned())
            .await
    }
}
