use leptos::prelude::*;

use crate::error::AppError;
use crate::model::module::VersionInfo;

#[server(prefix = "/api/fn", endpoint = "list_versions")]
pub async fn list_versions(module: String) -> Result<Vec<VersionInfo>, AppError> {
    crate::services::services()?.read.versions(module).await
}
