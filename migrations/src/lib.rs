//! The database schema of Hotswap, as SeaORM migrations that apply to SQLite and
//! PostgreSQL alike. A migration is never edited once released: add a new one.

pub use sea_orm_migration::prelude::*;

mod columns;
mod m20261124_000001_create_tenants;
mod m20261124_000002_create_users;
mod m20261124_000003_create_memberships;
mod m20261124_000004_create_environments;
mod m20261124_000005_create_nodes;
mod m20261124_000006_create_enrollment_tokens;
mod m20261124_000007_create_modules;
mod m20261124_000008_create_module_versions;
mod m20261124_000009_create_deployments;
mod m20261124_000010_create_deployment_steps;
mod m20261124_000011_create_approvals;
mod m20261124_000012_create_jobs;
mod m20261124_000013_create_events;
mod m20261124_000014_create_audit_entries;
mod m20261124_000015_create_api_tokens;
mod m20261124_000016_create_sessions;
mod m20261124_000017_index_audit_lookups;
mod m20261124_000018_engine_progress;
mod m20261124_000019_approval_deadline;
mod m20261124_000020_freeze_windows_and_webhooks;
mod m20261201_000021_disabled_memberships_and_revocable_enrollment;
mod m20261201_000022_login_attempts;
mod m20261201_000023_tallies_and_lookup_indexes;
mod m20261201_000024_open_steps_index;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_create_tenants::Migration),
            Box::new(m20261124_000002_create_users::Migration),
            Box::new(m20261124_000003_create_memberships::Migration),
            Box::new(m20261124_000004_create_environments::Migration),
            Box::new(m20261124_000005_create_nodes::Migration),
            Box::new(m20261124_000006_create_enrollment_tokens::Migration),
            Box::new(m20261124_000007_create_modules::Migration),
            Box::new(m20261124_000008_create_module_versions::Migration),
            Box::new(m20261124_000009_create_deployments::Migration),
            Box::new(m20261124_000010_create_deployment_steps::Migration),
            Box::new(m20261124_000011_create_approvals::Migration),
            Box::new(m20261124_000012_create_jobs::Migration),
            Box::new(m20261124_000013_create_events::Migration),
            Box::new(m20261124_000014_create_audit_entries::Migration),
            Box::new(m20261124_000015_create_api_tokens::Migration),
            Box::new(m20261124_000016_create_sessions::Migration),
            Box::new(m20261124_000017_index_audit_lookups::Migration),
            Box::new(m20261124_000018_engine_progress::Migration),
            Box::new(m20261124_000019_approval_deadline::Migration),
            Box::new(m20261124_000020_freeze_windows_and_webhooks::Migration),
            Box::new(m20261201_000021_disabled_memberships_and_revocable_enrollment::Migration),
            Box::new(m20261201_000022_login_attempts::Migration),
            Box::new(m20261201_000023_tallies_and_lookup_indexes::Migration),
            Box::new(m20261201_000024_open_steps_index::Migration),
        ]
    }
}
