//! SeaORM entities: one module per table, mirroring `migrations/`.

pub mod api_tokens;
pub mod approvals;
pub mod audit_entries;
mod columns;
pub mod deployment_steps;
pub mod deployments;
pub mod enrollment_tokens;
pub mod environments;
pub mod events;
pub mod freeze_windows;
pub mod jobs;
pub mod login_attempts;
pub mod memberships;
pub mod module_versions;
pub mod modules;
pub mod node_samples;
pub mod nodes;
pub mod tenants;
pub mod users;
pub mod webhook_deliveries;
pub mod webhooks;
