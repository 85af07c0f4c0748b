//! Pure logic: no database, no HTTP. Unit-tested on its own.

pub mod analysis;
pub mod environment;
pub mod freeze;
pub mod oidc_roles;
pub mod password;
pub mod plan;
pub mod redirect;
pub mod rollout;
pub mod silence;
pub mod strategy;
pub mod switch;
pub mod throttle;
pub mod token;
pub mod webhook;
