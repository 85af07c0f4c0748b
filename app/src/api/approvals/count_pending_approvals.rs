use leptos::prelude::*;

use crate::error::AppError;

#[server(prefix = "/api/fn", endpoint = "get_pending_approvals")]
pub async fn count_pending_approvals() -> Result<u64, AppError> {
    crate::services::services()?.read.pending_approvals().await
}
