use leptos::prelude::*;

use crate::error::AppError;
use crate::model::deployment::ApprovalInbox;

#[server(prefix = "/api/fn", endpoint = "list_approvals")]
pub async fn list_approvals() -> Result<ApprovalInbox, AppError> {
    crate::services::services()?.read.approvals().await
}
