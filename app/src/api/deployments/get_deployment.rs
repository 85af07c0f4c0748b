use leptos::prelude::*;

use crate::error::AppError;
use crate::model::deployment::DeploymentView;

#[server(prefix = "/api/fn", endpoint = "get_deployment")]
pub async fn get_deployment(id: i64) -> Result<DeploymentView, AppError> {
    crate::services::services()?.read.deployment(id).await
}
