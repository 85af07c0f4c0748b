use leptos::prelude::*;

use crate::error::AppError;
use crate::model::admin::TokenInfo;

#[server(prefix = "/api/fn", endpoint = "revoke_token")]
pub async fn revoke_token(id: i64) -> Result<TokenInfo, AppError> {
    crate::services::services()?.admin.revoke_token(id).await
}
