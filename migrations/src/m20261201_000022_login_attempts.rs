use sea_orm_migration::prelude::*;

use crate::columns::{id, index, text, text_null, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every sign-in attempt is written before its password is checked, so
/// parallel guesses count against each other: the throttle reads the attempts
/// begun before this one, finished or not.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoginAttempts::Table)
                    .if_not_exists()
                    .col(id(LoginAttempts::Id))
                    .col(text(LoginAttempts::Username))
                    .col(text_null(LoginAttempts::SourceIp))
                    .col(timestamp(LoginAttempts::StartedAt))
                    // Empty while the password is being checked.
                    .col(text_null(LoginAttempts::Outcome))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_login_attempts_username_id",
            LoginAttempts::Table,
            &["username", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "ix_login_attempts_source_ip_id",
            LoginAttempts::Table,
            &["source_ip", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "ix_login_attempts_started_at",
            LoginAttempts::Table,
            &["started_at"],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginAttempts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum LoginAttempts {
    Table,
    Id,
    Username,
    SourceIp,
    StartedAt,
    Outcome,
}
