//! Server functions, one per file: read input, call a service, return.

pub mod admin;
pub mod approvals;
pub mod dashboard;
pub mod deployments;
pub mod environments;
pub mod modules;
pub mod nodes;
pub mod session;
pub mod webhooks;
