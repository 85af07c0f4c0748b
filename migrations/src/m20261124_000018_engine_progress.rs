use sea_orm_migration::prelude::*;

use crate::columns::{cascade, id, index, reference, timestamp};
use crate::m20261124_000001_create_tenants::Tenants;
use crate::m20261124_000005_create_nodes::Nodes;
use crate::m20261124_000009_create_deployments::Deployments;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Where the engine is inside the current phase (so any worker can resume it),
/// and the health samples agents report for canary analysis.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        let columns = [
            ColumnDef::new(Progress::Stage)
                .string()
                .not_null()
                .default("swap")
                .take(),
            ColumnDef::new(Progress::PhaseStartedAt)
                .timestamp_with_time_zone()
                .null()
                .take(),
            ColumnDef::new(Progress::SkipWait)
                .boolean()
                .not_null()
                .default(false)
                .take(),
            ColumnDef::new(Progress::AnalyzedAt)
                .timestamp_with_time_zone()
                .null()
                .take(),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Deployments::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }

        // A rollback step's destination (the release the node ran before).
        manager
            .alter_table(
                Table::alter()
                    .table(Steps::Table)
                    .add_column(ColumnDef::new(Steps::TargetVersion).string().null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(NodeSamples::Table)
                    .if_not_exists()
                    .col(id(NodeSamples::Id))
                    .col(reference(NodeSamples::TenantId))
                    .col(reference(NodeSamples::NodeId))
                    .col(
                        ColumnDef::new(NodeSamples::Requests)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(NodeSamples::Errors).big_integer().not_null())
                    .col(ColumnDef::new(NodeSamples::P95Ms).double().not_null())
                    .col(timestamp(NodeSamples::CreatedAt))
                    .foreign_key(&mut cascade(
                        NodeSamples::Table,
                        NodeSamples::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .foreign_key(&mut cascade(
                        NodeSamples::Table,
                        NodeSamples::NodeId,
                        Nodes::Table,
                        Nodes::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_node_samples_node_created",
            NodeSamples::Table,
            &["node_id", "created_at"],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(NodeSamples::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Steps::Table)
                    .drop_column(Steps::TargetVersion)
                    .to_owned(),
            )
            .await?;
        for column in [
            Progress::Stage,
            Progress::PhaseStartedAt,
            Progress::SkipWait,
            Progress::AnalyzedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Deployments::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Progress {
    Stage,
    PhaseStartedAt,
    SkipWait,
    AnalyzedAt,
}

#[derive(DeriveIden)]
enum Steps {
    #[sea_orm(iden = "deployment_steps")]
    Table,
    TargetVersion,
}

#[derive(DeriveIden)]
pub enum NodeSamples {
    Table,
    Id,
    TenantId,
    NodeId,
    Requests,
    Errors,
    P95Ms,
    CreatedAt,
}
