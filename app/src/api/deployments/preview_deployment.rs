use leptos::prelude::*;

use crate::error::AppError;
use crate::model::deployment::{DeployPreview, DeployRequest};

/// What a deployment would do, validated exactly as a request would be.
#[server(prefix = "/api/fn", endpoint = "get_deploy_preview")]
pub async fn preview_deployment(request: DeployRequest) -> Result<DeployPreview, AppError> {
    crate::services::services()?.operate.preview(request).await
}
