//! SeaORM entities: one module per table, mirroring `migrations/`.

pub mod api_tokens;
pub mod audit_entries;
pub mod deployments;
pub mod environments;
pub mod memberships;
pub mod module_versions;
pub mod modules;
pub mod nodes;
pub mod tenants;
pub mod users;
