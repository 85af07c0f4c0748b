use leptos::prelude::*;

use crate::error::AppError;
use crate::model::admin::CreatedToken;

#[server(prefix = "/api/fn", endpoint = "create_token")]
pub async fn create_token(
    name: String,
    role: String,
    expires: String,
) -> Result<CreatedToken, AppError> {
    let role = super::given(role)
        .map(|r| super::role_field(&r))
        .transpose()?;
    crate::services::services()?
        .admin
        .create_token(name, role, super::given(expires))
        .await
}
