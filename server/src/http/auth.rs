//! Authentication at the HTTP edge: who is calling (session cookie or bearer
//! token), CSRF protection for cookie-authenticated mutations, and the
//! session's contents.

pub mod csrf;
pub mod extract;
pub mod session_auth;
