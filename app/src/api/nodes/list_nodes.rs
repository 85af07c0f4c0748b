use leptos::prelude::*;

use crate::error::AppError;
use crate::model::module::{NodeFilter, NodePage, RunningVersion};

#[server(prefix = "/api/fn", endpoint = "list_nodes")]
pub async fn list_nodes(filter: NodeFilter) -> Result<NodePage, AppError> {
    crate::services::services()?.read.nodes(filter).await
}

#[server(prefix = "/api/fn", endpoint = "running_versions")]
pub async fn running_versions() -> Result<Vec<RunningVersion>, AppError> {
    crate::services::services()?.read.running_versions().await
}
