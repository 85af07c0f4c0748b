use sea_orm_migration::prelude::*;

use crate::m20261124_000003_create_memberships::Memberships;
use crate::m20261124_000006_create_enrollment_tokens::EnrollmentTokens;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A tenant's Admin disables a membership, not an account (accounts are the
/// platform admin's). Enrollment tokens enroll as many nodes as they were
/// made for (one by default), and an Admin can revoke one before it is used up.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Memberships::Table)
                    .add_column(
                        ColumnDef::new(Added::DisabledAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(EnrollmentTokens::Table)
                    .add_column(
                        ColumnDef::new(Added::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(EnrollmentTokens::Table)
                    .add_column(
                        ColumnDef::new(Added::MaxUses)
                            .integer()
                            .not_null()
                            .default(1),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(EnrollmentTokens::Table)
                    .add_column(ColumnDef::new(Added::Uses).integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        // Tokens from before could be replayed for ever: they count as used up.
        manager
            .exec_stmt(
                Query::update()
                    .table(EnrollmentTokens::Table)
                    .value(Added::Uses, Expr::col(Added::MaxUses))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Added::Uses, Added::MaxUses] {
            manager
                .alter_table(
                    Table::alter()
                        .table(EnrollmentTokens::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(EnrollmentTokens::Table)
                    .drop_column(Added::RevokedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Memberships::Table)
                    .drop_column(Added::DisabledAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Added {
    DisabledAt,
    RevokedAt,
    MaxUses,
    Uses,
}
