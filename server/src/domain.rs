//! Pure logic: no database, no HTTP. Unit-tested on its own.

pub mod environment;
pub mod oidc_roles;
pub mod password;
pub mod strategy;
pub mod throttle;
pub mod token;
