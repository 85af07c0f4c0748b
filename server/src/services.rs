//! Use cases over the database. Handlers and server functions call these; they
//! never build queries themselves.

pub mod bootstrap;
pub mod error;
pub mod read;
pub mod tenancy;
pub mod ui;

pub use error::ServiceError;
