use leptos::prelude::*;

use crate::error::AppError;
use crate::model::admin::WebhookInfo;

/// `events`: the event names to receive; none means all of them.
#[server(prefix = "/api/fn", endpoint = "create_webhook")]
pub async fn create_webhook(
    url: String,
    format: String,
    events: Vec<String>,
) -> Result<WebhookInfo, AppError> {
    crate::services::services()?
        .admin
        .create_webhook(url, format, events)
        .await
}
