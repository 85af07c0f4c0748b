//! The HTTP surface: pages, REST API, health, metrics.

pub mod agents;
pub mod api;
pub mod api_errors;
pub mod audit_trail;
pub mod auth;
pub mod error;
pub mod extract;
pub mod fallback;
pub mod health;
pub mod live;
pub mod metrics;
pub mod oidc;
pub mod router;
pub mod routes;
pub mod session;
pub mod sockets;
pub mod state;
pub mod ui;
