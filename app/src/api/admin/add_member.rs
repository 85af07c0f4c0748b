use leptos::prelude::*;

use crate::error::AppError;
use crate::model::admin::AddedMember;

/// Invites a member: with a temporary password, or by email for single sign-on.
#[server(prefix = "/api/fn", endpoint = "add_member")]
pub async fn add_member(
    username: String,
    email: String,
    role: String,
    password: String,
) -> Result<AddedMember, AppError> {
    let new = crate::model::admin::NewMember {
        username,
        email: super::given(email),
        role: super::role_field(&role)?,
        password: super::given(password),
    };
    crate::services::services()?.admin.add_member(new).await
}
