use sea_orm_migration::prelude::*;

use crate::columns::{
    cascade, id, index, json_null, reference, reference_null, set_null, text, timestamp,
};
use crate::m20261124_000001_create_tenants::Tenants;
use crate::m20261124_000005_create_nodes::Nodes;
use crate::m20261124_000009_create_deployments::Deployments;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One action of a deployment on one node in one phase:
/// `pending → sent → done | failed`. `command_id` makes re-sending safe.
#[derive(DeriveIden)]
pub enum DeploymentSteps {
    Table,
    Id,
    TenantId,
    DeploymentId,
    Phase,
    NodeId,
    Action,
    CommandId,
    Status,
    Attempts,
    Result,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DeploymentSteps::Table)
                    .if_not_exists()
                    .col(id(DeploymentSteps::Id))
                    .col(reference(DeploymentSteps::TenantId))
                    .col(reference(DeploymentSteps::DeploymentId))
                    .col(ColumnDef::new(DeploymentSteps::Phase).integer().not_null())
                    .col(reference_null(DeploymentSteps::NodeId))
                    .col(text(DeploymentSteps::Action))
                    .col(text(DeploymentSteps::CommandId).unique_key())
                    .col(text(DeploymentSteps::Status))
                    .col(
                        ColumnDef::new(DeploymentSteps::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(json_null(DeploymentSteps::Result))
                    .col(timestamp(DeploymentSteps::CreatedAt))
                    .col(timestamp(DeploymentSteps::UpdatedAt))
                    .foreign_key(&mut cascade(
                        DeploymentSteps::Table,
                        DeploymentSteps::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .foreign_key(&mut cascade(
                        DeploymentSteps::Table,
                        DeploymentSteps::DeploymentId,
                        Deployments::Table,
                        Deployments::Id,
                    ))
                    .foreign_key(&mut set_null(
                        DeploymentSteps::Table,
                        DeploymentSteps::NodeId,
                        Nodes::Table,
                        Nodes::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_deployment_steps_deployment_phase",
            DeploymentSteps::Table,
            &["deployment_id", "phase"],
            false,
        )
        .await?;
        index(
            manager,
            "ix_deployment_steps_node_status",
            DeploymentSteps::Table,
            &["node_id", "status"],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DeploymentSteps::Table).to_owned())
            .await
    }
}
