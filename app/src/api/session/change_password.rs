use leptos::prelude::*;

use crate::error::AppError;

/// Replaces the signed-in user's password, given the current one.
#[server(prefix = "/api/fn", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    crate::services::services()?
        .account
        .change_password(current_password, new_password)
        .await
}
