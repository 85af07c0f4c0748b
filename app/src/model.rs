//! Types shared by the server and the browser: what server functions return.

pub mod admin;
pub mod dashboard;
pub mod deployment;
pub mod duration;
pub mod environment;
pub mod event;
pub mod lifecycle;
pub mod module;
pub mod role;
pub mod session;
pub mod time;
pub mod validate;
pub mod wizard;
