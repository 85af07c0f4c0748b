use serde::{Deserialize, Serialize};

use crate::model::role::Role;

/// The signed-in person as pages see them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Viewer {
    pub username: String,
    pub tenant: String,
    pub role: Role,
    pub is_platform_admin: bool,
    pub must_change_password: bool,
    pub tenants: Vec<TenantChoice>,
    /// The tenant's newest event when the page was rendered: where its live
    /// connection resumes, so nothing between render and connect is lost.
    pub last_event_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantChoice {
    pub slug: String,
    pub name: String,
    pub role: Role,
}
