use sea_orm_migration::prelude::*;

use crate::columns::{cascade, id, index, reference, text, timestamp};
use crate::m20261124_000001_create_tenants::Tenants;
use crate::m20261124_000002_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One role (`viewer`, `deployer`, `admin`) per user and tenant.
#[derive(DeriveIden)]
pub enum Memberships {
    Table,
    Id,
    TenantId,
    UserId,
    Role,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .if_not_exists()
                    .col(id(Memberships::Id))
                    .col(reference(Memberships::TenantId))
                    .col(reference(Memberships::UserId))
                    .col(text(Memberships::Role))
                    .col(timestamp(Memberships::CreatedAt))
                    .foreign_key(&mut cascade(
                        Memberships::Table,
                        Memberships::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .foreign_key(&mut cascade(
                        Memberships::Table,
                        Memberships::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ux_memberships_tenant_user",
            Memberships::Table,
            &["tenant_id", "user_id"],
            true,
        )
        .await?;
        index(
            manager,
            "ix_memberships_user",
            Memberships::Table,
            &["user_id"],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Memberships::Table).to_owned())
            .await
    }
}
