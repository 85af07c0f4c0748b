use app::model::environment::EnvironmentSummary;
use axum::extract::State;
use axum::Json;

use crate::http::error::ApiResult;
use crate::state::AppState;

/// `GET /api/v1/environments`: in their order, with policies and node counts.
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<EnvironmentSummary>>> {
    let tenant = state.tenant().await?;
    Ok(Json(state.read.environments(&tenant).await?))
}
