use leptos::prelude::*;

use crate::error::AppError;
use crate::model::admin::WebhookInfo;

#[server(prefix = "/api/fn", endpoint = "list_webhooks")]
pub async fn list_webhooks() -> Result<Vec<WebhookInfo>, AppError> {
    crate::services::services()?.admin.webhooks().await
}
