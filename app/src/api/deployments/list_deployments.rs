use leptos::prelude::*;

use crate::error::AppError;
use crate::model::deployment::{DeploymentFilter, DeploymentPage};

#[server(prefix = "/api/fn", endpoint = "list_deployments")]
pub async fn list_deployments(filter: DeploymentFilter) -> Result<DeploymentPage, AppError> {
    crate::services::services()?.read.deployments(filter).await
}
