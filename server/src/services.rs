//! Use cases over the database. Handlers and server functions call these; they
//! never build queries themselves.

pub mod approvals;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod deployments;
pub mod environments;
pub mod error;
pub mod events;
pub mod freeze;
pub mod jobs;
pub mod lifecycle;
pub mod login_attempts;
pub mod modules;
pub mod nodes;
pub mod oidc;
pub mod principal;
pub mod read;
pub mod recent;
pub mod sql;
pub mod stats;
pub mod tenancy;
pub mod tenants;
pub mod tokens;
pub mod users;
pub mod webhooks;

pub use error::ServiceError;
