use sea_orm_migration::prelude::*;

use crate::columns::{cascade, id, index, reference, text, text_null, timestamp};
use crate::m20261124_000001_create_tenants::Tenants;
use crate::m20261124_000002_create_users::Users;
use crate::m20261124_000009_create_deployments::Deployments;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A decision (`approved` or `rejected`) on a deployment. One per approver, so
/// the same person twice counts once.
#[derive(DeriveIden)]
pub enum Approvals {
    Table,
    Id,
    TenantId,
    DeploymentId,
    ApproverId,
    Decision,
    Comment,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Approvals::Table)
                    .if_not_exists()
                    .col(id(Approvals::Id))
                    .col(reference(Approvals::TenantId))
                    .col(reference(Approvals::DeploymentId))
                    .col(reference(Approvals::ApproverId))
                    .col(text(Approvals::Decision))
                    .col(text_null(Approvals::Comment))
                    .col(timestamp(Approvals::CreatedAt))
                    .foreign_key(&mut cascade(
                        Approvals::Table,
                        Approvals::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .foreign_key(&mut cascade(
                        Approvals::Table,
                        Approvals::DeploymentId,
                        Deployments::Table,
                        Deployments::Id,
                    ))
                    .foreign_key(&mut cascade(
                        Approvals::Table,
                        Approvals::ApproverId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ux_approvals_deployment_approver",
            Approvals::Table,
            &["deployment_id", "approver_id"],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Approvals::Table).to_owned())
            .await
    }
}
