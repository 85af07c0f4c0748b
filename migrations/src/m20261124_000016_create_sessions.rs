use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Browser sessions, in the shape `tower-sessions-sqlx-store` reads and writes
/// (its SQLite store keeps expiry as unix seconds, its PostgreSQL store as
/// `timestamptz`), so sessions live in the application database on both engines.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                "CREATE TABLE IF NOT EXISTS sessions (\
                 id text PRIMARY KEY NOT NULL, data bytea NOT NULL, expiry_date timestamptz NOT NULL)"
            }
            _ => {
                "CREATE TABLE IF NOT EXISTS sessions (\
                 id text PRIMARY KEY NOT NULL, data blob NOT NULL, expiry_date integer NOT NULL)"
            }
        };
        let conn = manager.get_connection();
        conn.execute_unprepared(sql).await?;
        conn.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS ix_sessions_expiry ON sessions (expiry_date)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS sessions")
            .await?;
        Ok(())
    }
}
