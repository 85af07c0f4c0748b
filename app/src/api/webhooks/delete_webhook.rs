use leptos::prelude::*;

use crate::error::AppError;

#[server(prefix = "/api/fn", endpoint = "delete_webhook")]
pub async fn delete_webhook(id: i64) -> Result<(), AppError> {
    crate::services::services()?.admin.delete_webhook(id).await
}
