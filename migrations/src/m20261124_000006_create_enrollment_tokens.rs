use sea_orm_migration::prelude::*;

use crate::columns::{
    cascade, id, reference, reference_null, set_null, text, text_null, timestamp, timestamp_null,
};
use crate::m20261124_000001_create_tenants::Tenants;
use crate::m20261124_000002_create_users::Users;
use crate::m20261124_000004_create_environments::Environments;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A single-use secret an agent trades for a node credential. Only its hash is kept.
#[derive(DeriveIden)]
pub enum EnrollmentTokens {
    Table,
    Id,
    TenantId,
    EnvironmentId,
    Pool,
    TokenHash,
    CreatedBy,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EnrollmentTokens::Table)
                    .if_not_exists()
                    .col(id(EnrollmentTokens::Id))
                    .col(reference(EnrollmentTokens::TenantId))
                    .col(reference(EnrollmentTokens::EnvironmentId))
                    .col(text_null(EnrollmentTokens::Pool))
                    .col(text(EnrollmentTokens::TokenHash).unique_key())
                    .col(reference_null(EnrollmentTokens::CreatedBy))
                    .col(timestamp(EnrollmentTokens::ExpiresAt))
                    .col(timestamp_null(EnrollmentTokens::UsedAt))
                    .col(timestamp(EnrollmentTokens::CreatedAt))
                    .foreign_key(&mut cascade(
                        EnrollmentTokens::Table,
                        EnrollmentTokens::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .foreign_key(&mut cascade(
                        EnrollmentTokens::Table,
                        EnrollmentTokens::EnvironmentId,
                        Environments::Table,
                        Environments::Id,
                    ))
                    .foreign_key(&mut set_null(
                        EnrollmentTokens::Table,
                        EnrollmentTokens::CreatedBy,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EnrollmentTokens::Table).to_owned())
            .await
    }
}
