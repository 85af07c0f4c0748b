use sea_orm_migration::prelude::*;

use crate::columns::{
    cascade, id, index, reference, reference_null, set_null, text, text_null, timestamp,
};
use crate::m20261124_000001_create_tenants::Tenants;
use crate::m20261124_000002_create_users::Users;
use crate::m20261124_000007_create_modules::Modules;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum ModuleVersions {
    Table,
    Id,
    TenantId,
    ModuleId,
    Version,
    ArtifactUrl,
    Sha256,
    Signature,
    PublishedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ModuleVersions::Table)
                    .if_not_exists()
                    .col(id(ModuleVersions::Id))
                    .col(reference(ModuleVersions::TenantId))
                    .col(reference(ModuleVersions::ModuleId))
                    .col(text(ModuleVersions::Version))
                    .col(text(ModuleVersions::ArtifactUrl))
                    .col(text(ModuleVersions::Sha256))
                    .col(text_null(ModuleVersions::Signature))
                    .col(reference_null(ModuleVersions::PublishedBy))
                    .col(timestamp(ModuleVersions::CreatedAt))
                    .foreign_key(&mut cascade(
                        ModuleVersions::Table,
                        ModuleVersions::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .foreign_key(&mut cascade(
                        ModuleVersions::Table,
                        ModuleVersions::ModuleId,
                        Modules::Table,
                        Modules::Id,
                    ))
                    .foreign_key(&mut set_null(
                        ModuleVersions::Table,
                        ModuleVersions::PublishedBy,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ux_module_versions_module_version",
            ModuleVersions::Table,
            &["module_id", "version"],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ModuleVersions::Table).to_owned())
            .await
    }
}
