use leptos::prelude::*;

use crate::error::AppError;
use crate::model::environment::FreezeInfo;

#[server(prefix = "/api/fn", endpoint = "list_freeze_windows")]
pub async fn list_freeze_windows() -> Result<Vec<FreezeInfo>, AppError> {
    crate::services::services()?.admin.freeze_windows().await
}
