use leptos::prelude::*;

use crate::error::AppError;
use crate::model::dashboard::Dashboard;

#[server(prefix = "/api/fn", endpoint = "get_dashboard")]
pub async fn get_dashboard() -> Result<Dashboard, AppError> {
    crate::services::services()?.read.dashboard().await
}
