use sea_orm_migration::prelude::*;

use crate::columns::{flag, id, index, text, text_null, timestamp, timestamp_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Local users carry an argon2id `password_hash`; OIDC users an
/// (`oidc_issuer`, `oidc_subject`) pair. A user may have both.
#[derive(DeriveIden)]
pub enum Users {
    Table,
    Id,
    Username,
    Email,
    DisplayName,
    PasswordHash,
    MustChangePassword,
    OidcIssuer,
    OidcSubject,
    IsPlatformAdmin,
    Disabled,
    LastLoginAt,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(id(Users::Id))
                    .col(text(Users::Username).unique_key())
                    .col(text_null(Users::Email))
                    .col(text_null(Users::DisplayName))
                    .col(text_null(Users::PasswordHash))
                    .col(flag(Users::MustChangePassword, false))
                    .col(text_null(Users::OidcIssuer))
                    .col(text_null(Users::OidcSubject))
                    .col(flag(Users::IsPlatformAdmin, false))
                    .col(flag(Users::Disabled, false))
                    .col(timestamp_null(Users::LastLoginAt))
                    .col(timestamp(Users::CreatedAt))
                    .col(timestamp(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ux_users_oidc_identity",
            Users::Table,
            &["oidc_issuer", "oidc_subject"],
            true,
        )
        .await?;
        index(manager, "ix_users_email", Users::Table, &["email"], false).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}
