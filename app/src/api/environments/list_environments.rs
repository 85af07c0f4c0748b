use leptos::prelude::*;

use crate::error::AppError;
use crate::model::environment::EnvironmentSummary;

#[server(prefix = "/api/fn", endpoint = "list_environments")]
pub async fn list_environments() -> Result<Vec<EnvironmentSummary>, AppError> {
    crate::services::services()?.read.environments().await
}
