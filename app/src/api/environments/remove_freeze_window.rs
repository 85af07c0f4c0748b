use leptos::prelude::*;

use crate::error::AppError;

#[server(prefix = "/api/fn", endpoint = "remove_freeze_window")]
pub async fn remove_freeze_window(environment: String, id: i64) -> Result<(), AppError> {
    crate::services::services()?
        .admin
        .remove_freeze_window(environment, id)
        .await
}
