use leptos::prelude::*;

use crate::error::AppError;
use crate::model::module::ModuleInfo;

#[server(prefix = "/api/fn", endpoint = "list_modules")]
pub async fn list_modules() -> Result<Vec<ModuleInfo>, AppError> {
    crate::services::services()?.read.modules().await
}
