use sea_orm_migration::prelude::*;

use crate::columns::{id, index, json, reference_null, text, text_null, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Append-only record of every mutation and sign-in attempt. No foreign keys on
/// purpose: the trail outlives the users, tenants and tokens it names.
#[derive(DeriveIden)]
pub enum AuditEntries {
    Table,
    Id,
    TenantId,
    ActorUserId,
    Actor,
    Action,
    Target,
    SourceIp,
    Outcome,
    Details,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEntries::Table)
                    .if_not_exists()
                    .col(id(AuditEntries::Id))
                    .col(reference_null(AuditEntries::TenantId))
                    .col(reference_null(AuditEntries::ActorUserId))
                    .col(text(AuditEntries::Actor))
                    .col(text(AuditEntries::Action))
                    .col(text_null(AuditEntries::Target))
                    .col(text_null(AuditEntries::SourceIp))
                    .col(text(AuditEntries::Outcome))
                    .col(json(AuditEntries::Details))
                    .col(timestamp(AuditEntries::CreatedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_audit_entries_tenant_id",
            AuditEntries::Table,
            &["tenant_id", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "ix_audit_entries_tenant_action_id",
            AuditEntries::Table,
            &["tenant_id", "action", "id"],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEntries::Table).to_owned())
            .await
    }
}
