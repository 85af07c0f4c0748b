use leptos::prelude::*;

use crate::error::AppError;
use crate::model::deployment::{DeployRequest, Requested};

#[server(prefix = "/api/fn", endpoint = "request_deployment")]
pub async fn request_deployment(request: DeployRequest) -> Result<Requested, AppError> {
    crate::services::services()?.operate.request(request).await
}
