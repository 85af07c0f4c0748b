use sea_orm_migration::prelude::*;

use crate::columns::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Open steps, found without walking history: whether a deployment still
/// has commands out is asked at every agent's answer (one seek here, where
/// the `(deployment, phase)` index made it a walk over every step, so a
/// roll-out cost the square of its nodes), and each replica's sweep asks
/// which nodes have commands due (a range over the few open steps). And a
/// member's requests of the last minute, which the deployment rate limit
/// counts, as a range of `(tenant, requester, created_at)`.
/// (table, index, columns).
const INDEXES: [(&str, &str, &[&str]); 3] = [
    (
        "deployment_steps",
        "ix_deployment_steps_deployment_status",
        &["deployment_id", "status"],
    ),
    (
        "deployment_steps",
        "ix_deployment_steps_status_node",
        &["status", "node_id"],
    ),
    (
        "deployments",
        "ix_deployments_tenant_requester_created",
        &["tenant_id", "requested_by", "created_at"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, columns) in INDEXES {
            index(manager, name, Alias::new(table), columns, false).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, _) in INDEXES {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
