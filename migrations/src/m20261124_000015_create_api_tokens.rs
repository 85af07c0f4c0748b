use sea_orm_migration::prelude::*;

use crate::columns::{cascade, id, index, reference, text, timestamp, timestamp_null};
use crate::m20261124_000001_create_tenants::Tenants;
use crate::m20261124_000002_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A bearer token bound to one tenant, acting for its creator with a role no
/// higher than theirs. Only the hash of the secret is stored.
#[derive(DeriveIden)]
pub enum ApiTokens {
    Table,
    Id,
    TenantId,
    UserId,
    Name,
    TokenHash,
    Role,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .if_not_exists()
                    .col(id(ApiTokens::Id))
                    .col(reference(ApiTokens::TenantId))
                    .col(reference(ApiTokens::UserId))
                    .col(text(ApiTokens::Name))
                    .col(text(ApiTokens::TokenHash).unique_key())
                    .col(text(ApiTokens::Role))
                    .col(timestamp_null(ApiTokens::ExpiresAt))
                    .col(timestamp_null(ApiTokens::LastUsedAt))
                    .col(timestamp_null(ApiTokens::RevokedAt))
                    .col(timestamp(ApiTokens::CreatedAt))
                    .foreign_key(&mut cascade(
                        ApiTokens::Table,
                        ApiTokens::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .foreign_key(&mut cascade(
                        ApiTokens::Table,
                        ApiTokens::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_api_tokens_tenant",
            ApiTokens::Table,
            &["tenant_id", "id"],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ApiTokens::Table).to_owned())
            .await
    }
}
