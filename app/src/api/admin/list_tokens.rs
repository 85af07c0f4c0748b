use leptos::prelude::*;

use crate::error::AppError;
use crate::model::admin::TokenInfo;

#[server(prefix = "/api/fn", endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<TokenInfo>, AppError> {
    crate::services::services()?.admin.tokens().await
}
