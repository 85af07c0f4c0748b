use app::model::environment::EnvironmentSummary;
use app::model::role::Action;
use axum::extract::State;
use axum::Json;

use crate::http::error::ApiResult;
use crate::services::principal::Principal;
use crate::state::AppState;

/// `GET /api/v1/environments`: in their order, with policies and node counts.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<EnvironmentSummary>>> {
    principal.require(Action::Read)?;
    Ok(Json(state.read.environments(&principal.tenant).await?))
}
