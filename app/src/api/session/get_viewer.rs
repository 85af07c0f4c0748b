use leptos::prelude::*;

use crate::error::AppError;
use crate::model::session::Viewer;

/// Who is signed in, or `None` for a visitor.
#[server(prefix = "/api/fn", endpoint = "get_viewer")]
pub async fn get_viewer() -> Result<Option<Viewer>, AppError> {
    crate::services::services()?.read.viewer().await
}
