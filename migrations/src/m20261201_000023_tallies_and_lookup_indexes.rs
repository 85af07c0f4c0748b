use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

use crate::columns::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Tallies that `/metrics` reads instead of counting history at each scrape:
/// deployments by (environment, strategy kind, status) and approval decisions,
/// kept by triggers in the same statement as every insert, status change and
/// delete, so every replica reads the same figures whoever wrote the row.
/// Plus the indexes the list's requester filter, the dashboard's week and
/// its "what runs where" cells look up by.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = manager.get_database_backend() == DatabaseBackend::Postgres;
        if postgres {
            // Migrations run in one transaction there: no replica writes
            // between the count below and the triggers that take over from it.
            db.execute_unprepared("LOCK TABLE deployments, approvals IN SHARE ROW EXCLUSIVE MODE")
                .await?;
        }
        // On SQLite a strategy that is not valid JSON must not make writes of
        // its row fail: it is tallied as `unknown`.
        let (kind_old, kind_new) = if postgres {
            ("OLD.strategy->>'kind'", "NEW.strategy->>'kind'")
        } else {
            (
                "CASE WHEN json_valid(OLD.strategy) THEN json_extract(OLD.strategy, '$.kind') END",
                "CASE WHEN json_valid(NEW.strategy) THEN json_extract(NEW.strategy, '$.kind') END",
            )
        };
        for sql in [
            "CREATE TABLE IF NOT EXISTS deployment_tallies (\
               environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE, \
               strategy TEXT NOT NULL, \
               status TEXT NOT NULL, \
               total BIGINT NOT NULL, \
               PRIMARY KEY (environment_id, strategy, status))",
            "CREATE TABLE IF NOT EXISTS approval_tallies (\
               decision TEXT NOT NULL PRIMARY KEY, \
               total BIGINT NOT NULL)",
            "INSERT INTO deployment_tallies (environment_id, strategy, status, total) \
             SELECT environment_id, COALESCE(KIND, 'unknown'), status, COUNT(*) \
             FROM deployments GROUP BY environment_id, COALESCE(KIND, 'unknown'), status",
            "INSERT INTO approval_tallies (decision, total) \
             SELECT decision, COUNT(*) FROM approvals GROUP BY decision",
        ] {
            let kind = kind_new.replace("NEW.", "");
            db.execute_unprepared(&sql.replace("KIND", &kind)).await?;
        }
        let add = |row: &str| {
            let kind = if row == "NEW" { kind_new } else { kind_old };
            format!(
                "INSERT INTO deployment_tallies (environment_id, strategy, status, total) \
                 VALUES ({row}.environment_id, COALESCE({kind}, 'unknown'), {row}.status, 1) \
                 ON CONFLICT (environment_id, strategy, status) \
                 DO UPDATE SET total = deployment_tallies.total + 1"
            )
        };
        let remove = |row: &str| {
            let kind = if row == "NEW" { kind_new } else { kind_old };
            format!(
                "UPDATE deployment_tallies SET total = total - 1 \
                 WHERE environment_id = {row}.environment_id \
                 AND strategy = COALESCE({kind}, 'unknown') AND status = {row}.status"
            )
        };
        let approval_add =
            "INSERT INTO approval_tallies (decision, total) VALUES (NEW.decision, 1) \
             ON CONFLICT (decision) DO UPDATE SET total = approval_tallies.total + 1";
        let approval_remove =
            "UPDATE approval_tallies SET total = total - 1 WHERE decision = OLD.decision";
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                // A row's change locks its two tally rows in key order, so two
                // changes in opposite directions cannot deadlock each other.
                let function = format!(
                    "CREATE OR REPLACE FUNCTION deployment_tallies_track() RETURNS trigger \
                     LANGUAGE plpgsql AS $$ BEGIN \
                       IF TG_OP = 'INSERT' THEN {add_new}; \
                       ELSIF TG_OP = 'DELETE' THEN {remove_old}; \
                       ELSIF ROW(OLD.environment_id, COALESCE({kind_old}, 'unknown'), OLD.status) \
                           < ROW(NEW.environment_id, COALESCE({kind_new}, 'unknown'), NEW.status) \
                         THEN {remove_old}; {add_new}; \
                       ELSE {add_new}; {remove_old}; \
                       END IF; \
                       RETURN NULL; \
                     END $$",
                    add_new = add("NEW"),
                    remove_old = remove("OLD"),
                    kind_old = kind_old,
                    kind_new = kind_new,
                );
                let approvals = format!(
                    "CREATE OR REPLACE FUNCTION approval_tallies_track() RETURNS trigger \
                     LANGUAGE plpgsql AS $$ BEGIN \
                       IF TG_OP = 'INSERT' THEN {approval_add}; \
                       ELSE {approval_remove}; \
                       END IF; \
                       RETURN NULL; \
                     END $$"
                );
                for sql in [
                    function.as_str(),
                    approvals.as_str(),
                    "CREATE TRIGGER deployment_tallies_insert AFTER INSERT ON deployments \
                     FOR EACH ROW EXECUTE FUNCTION deployment_tallies_track()",
                    "CREATE TRIGGER deployment_tallies_delete AFTER DELETE ON deployments \
                     FOR EACH ROW EXECUTE FUNCTION deployment_tallies_track()",
                    "CREATE TRIGGER deployment_tallies_update \
                     AFTER UPDATE OF status, environment_id, strategy ON deployments \
                     FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status \
                       OR OLD.environment_id IS DISTINCT FROM NEW.environment_id \
                       OR OLD.strategy->>'kind' IS DISTINCT FROM NEW.strategy->>'kind') \
                     EXECUTE FUNCTION deployment_tallies_track()",
                    "CREATE TRIGGER approval_tallies_insert AFTER INSERT ON approvals \
                     FOR EACH ROW EXECUTE FUNCTION approval_tallies_track()",
                    "CREATE TRIGGER approval_tallies_delete AFTER DELETE ON approvals \
                     FOR EACH ROW EXECUTE FUNCTION approval_tallies_track()",
                ] {
                    db.execute_unprepared(sql).await?;
                }
            }
            _ => {
                for sql in [
                    format!(
                        "CREATE TRIGGER IF NOT EXISTS deployment_tallies_insert \
                         AFTER INSERT ON deployments BEGIN {}; END",
                        add("NEW")
                    ),
                    format!(
                        "CREATE TRIGGER IF NOT EXISTS deployment_tallies_delete \
                         AFTER DELETE ON deployments BEGIN {}; END",
                        remove("OLD")
                    ),
                    format!(
                        "CREATE TRIGGER IF NOT EXISTS deployment_tallies_update \
                         AFTER UPDATE OF status, environment_id, strategy ON deployments \
                         WHEN OLD.status IS NOT NEW.status \
                           OR OLD.environment_id IS NOT NEW.environment_id \
                           OR ({kind_old}) IS NOT ({kind_new}) \
                         BEGIN {}; {}; END",
                        remove("OLD"),
                        add("NEW")
                    ),
                    format!(
                        "CREATE TRIGGER IF NOT EXISTS approval_tallies_insert \
                         AFTER INSERT ON approvals BEGIN {approval_add}; END"
                    ),
                    format!(
                        "CREATE TRIGGER IF NOT EXISTS approval_tallies_delete \
                         AFTER DELETE ON approvals BEGIN {approval_remove}; END"
                    ),
                ] {
                    db.execute_unprepared(&sql).await?;
                }
            }
        }
        for (name, columns) in [
            (
                "ix_deployments_tenant_requester_id",
                &["tenant_id", "requested_by", "id"][..],
            ),
            (
                "ix_deployments_tenant_finished_at",
                &["tenant_id", "finished_at"][..],
            ),
            (
                "ix_deployments_environment_module_status_id",
                &["environment_id", "module_id", "status", "id"][..],
            ),
            // The approval sweep and recovery look across tenants by status.
            (
                "ix_deployments_status_approval_deadline",
                &["status", "approval_deadline"][..],
            ),
        ] {
            index(manager, name, Deployments::Table, columns, false).await?;
        }
        // Nodes counted by environment and status, without sorting them.
        index(
            manager,
            "ix_nodes_tenant_environment_status",
            Nodes::Table,
            &["tenant_id", "environment_id", "status"],
            false,
        )
        .await?;
        // A module's newest version, for the module list.
        index(
            manager,
            "ix_module_versions_module_id",
            ModuleVersions::Table,
            &["module_id", "id"],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let mut statements = vec![
            "DROP TRIGGER IF EXISTS deployment_tallies_insert ON deployments",
            "DROP TRIGGER IF EXISTS deployment_tallies_delete ON deployments",
            "DROP TRIGGER IF EXISTS deployment_tallies_update ON deployments",
            "DROP TRIGGER IF EXISTS approval_tallies_insert ON approvals",
            "DROP TRIGGER IF EXISTS approval_tallies_delete ON approvals",
            "DROP FUNCTION IF EXISTS deployment_tallies_track",
            "DROP FUNCTION IF EXISTS approval_tallies_track",
        ];
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            statements = vec![
                "DROP TRIGGER IF EXISTS deployment_tallies_insert",
                "DROP TRIGGER IF EXISTS deployment_tallies_delete",
                "DROP TRIGGER IF EXISTS deployment_tallies_update",
                "DROP TRIGGER IF EXISTS approval_tallies_insert",
                "DROP TRIGGER IF EXISTS approval_tallies_delete",
            ];
        }
        for sql in statements.into_iter().chain([
            "DROP TABLE IF EXISTS deployment_tallies",
            "DROP TABLE IF EXISTS approval_tallies",
        ]) {
            db.execute_unprepared(sql).await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("ix_nodes_tenant_environment_status")
                    .table(Nodes::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_module_versions_module_id")
                    .table(ModuleVersions::Table)
                    .to_owned(),
            )
            .await?;
        for name in [
            "ix_deployments_tenant_requester_id",
            "ix_deployments_tenant_finished_at",
            "ix_deployments_environment_module_status_id",
            "ix_deployments_status_approval_deadline",
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(Deployments::Table)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Deployments {
    Table,
}

#[derive(DeriveIden)]
enum Nodes {
    Table,
}

#[derive(DeriveIden)]
enum ModuleVersions {
    Table,
}
