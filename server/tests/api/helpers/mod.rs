//! What the integration tests share, by concern.

mod app;
mod clients;
mod postgres;
mod seed;

pub use app::*;
pub use clients::*;
pub use postgres::*;
pub use seed::*;
