use leptos::prelude::*;

use crate::error::AppError;

/// The single sign-on provider's display name, if one is configured.
#[server(prefix = "/api/fn", endpoint = "get_single_sign_on")]
pub async fn get_single_sign_on() -> Result<Option<String>, AppError> {
    crate::services::services()?.read.single_sign_on().await
}
