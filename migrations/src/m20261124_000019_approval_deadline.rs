use sea_orm_migration::prelude::*;

use crate::m20261124_000009_create_deployments::Deployments;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// When a pending approval request expires. Fixed when the request is made, so
/// a later change of the environment's timeout does not move it.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Deployments::Table)
                    .add_column(
                        ColumnDef::new(Deadline::ApprovalDeadline)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Deployments::Table)
                    .drop_column(Deadline::ApprovalDeadline)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Deadline {
    ApprovalDeadline,
}
