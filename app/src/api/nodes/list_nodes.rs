use leptos::prelude::*;

use crate::error::AppError;
use crate::model::module::NodeInfo;

#[server(prefix = "/api/fn", endpoint = "list_nodes")]
pub async fn list_nodes() -> Result<Vec<NodeInfo>, AppError> {
    crate::services::services()?.read.nodes().await
}
