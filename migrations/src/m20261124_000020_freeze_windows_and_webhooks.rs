use sea_orm_migration::prelude::*;

use crate::columns::{
    cascade, flag, id, index, json, reference, reference_null, text, text_null, timestamp,
    timestamp_null,
};
use crate::m20261124_000001_create_tenants::Tenants;
use crate::m20261124_000004_create_environments::Environments;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Times an environment takes no new roll-outs; the schedule is a JSON
/// document validated by the domain layer (one-off range or weekly).
#[derive(DeriveIden)]
enum FreezeWindows {
    Table,
    Id,
    TenantId,
    EnvironmentId,
    Name,
    Schedule,
    CreatedBy,
    CreatedAt,
}

/// Outgoing webhooks of a tenant, and every delivery of every event to them
/// (an outbox: rows are written with the event, sent and retried after).
#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    TenantId,
    Url,
    Secret,
    Events,
    Format,
    Enabled,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    TenantId,
    WebhookId,
    EventId,
    Kind,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LastStatus,
    LastError,
    CreatedAt,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FreezeWindows::Table)
                    .if_not_exists()
                    .col(id(FreezeWindows::Id))
                    .col(reference(FreezeWindows::TenantId))
                    .col(reference(FreezeWindows::EnvironmentId))
                    .col(text(FreezeWindows::Name))
                    .col(json(FreezeWindows::Schedule))
                    .col(reference_null(FreezeWindows::CreatedBy))
                    .col(timestamp(FreezeWindows::CreatedAt))
                    .foreign_key(&mut cascade(
                        FreezeWindows::Table,
                        FreezeWindows::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .foreign_key(&mut cascade(
                        FreezeWindows::Table,
                        FreezeWindows::EnvironmentId,
                        Environments::Table,
                        Environments::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_freeze_windows_environment",
            FreezeWindows::Table,
            &["environment_id"],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .if_not_exists()
                    .col(id(Webhooks::Id))
                    .col(reference(Webhooks::TenantId))
                    .col(text(Webhooks::Url))
                    .col(text(Webhooks::Secret))
                    .col(json(Webhooks::Events))
                    .col(text(Webhooks::Format))
                    .col(flag(Webhooks::Enabled, true))
                    .col(timestamp(Webhooks::CreatedAt))
                    .foreign_key(&mut cascade(
                        Webhooks::Table,
                        Webhooks::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .if_not_exists()
                    .col(id(WebhookDeliveries::Id))
                    .col(reference(WebhookDeliveries::TenantId))
                    .col(reference(WebhookDeliveries::WebhookId))
                    .col(reference(WebhookDeliveries::EventId))
                    .col(text(WebhookDeliveries::Kind))
                    .col(json(WebhookDeliveries::Payload))
                    .col(text(WebhookDeliveries::Status))
                    .col(
                        ColumnDef::new(WebhookDeliveries::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(timestamp(WebhookDeliveries::NextAttemptAt))
                    .col(
                        ColumnDef::new(WebhookDeliveries::LastStatus)
                            .integer()
                            .null(),
                    )
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(timestamp(WebhookDeliveries::CreatedAt))
                    .col(timestamp_null(WebhookDeliveries::DeliveredAt))
                    .foreign_key(&mut cascade(
                        WebhookDeliveries::Table,
                        WebhookDeliveries::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .foreign_key(&mut cascade(
                        WebhookDeliveries::Table,
                        WebhookDeliveries::WebhookId,
                        Webhooks::Table,
                        Webhooks::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_webhook_deliveries_due",
            WebhookDeliveries::Table,
            &["status", "next_attempt_at"],
            false,
        )
        .await?;
        index(
            manager,
            "ix_webhook_deliveries_webhook",
            WebhookDeliveries::Table,
            &["webhook_id", "id"],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookDeliveries::Table.into_iden(),
            Webhooks::Table.into_iden(),
            FreezeWindows::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
