use sea_orm_migration::prelude::*;

use crate::columns::index;
use crate::m20261124_000014_create_audit_entries::AuditEntries;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Sign-in throttling counts recent failed attempts per account and per
/// address straight from the audit trail, so every replica sees the same count.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        index(
            manager,
            "ix_audit_entries_action_target_id",
            AuditEntries::Table,
            &["action", "target", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "ix_audit_entries_action_source_ip_id",
            AuditEntries::Table,
            &["action", "source_ip", "id"],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_audit_entries_action_target_id")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_audit_entries_action_source_ip_id")
                    .to_owned(),
            )
            .await
    }
}
