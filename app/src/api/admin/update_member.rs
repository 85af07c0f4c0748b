use leptos::prelude::*;

use crate::error::AppError;
use crate::model::admin::Member;
use crate::model::role::Role;

#[server(prefix = "/api/fn", endpoint = "update_member")]
pub async fn update_member(
    id: i64,
    role: Option<Role>,
    disabled: Option<bool>,
) -> Result<Member, AppError> {
    crate::services::services()?
        .admin
        .update_member(id, role, disabled)
        .await
}
