//! One routed page per file.

pub mod account;
pub mod admin;
pub mod approvals;
pub mod dashboard;
pub mod deploy;
pub mod deployment;
pub mod deployments;
pub mod login;
pub mod not_found;
