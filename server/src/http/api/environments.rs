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

/// `PATCH /api/v1/environments/{name}` `{default_strategy?, analysis?, switch_hook?}`.
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    axum::extract::Path(name): axum::extract::Path<String>,
    body: Result<
        Json<serde_json::Map<String, serde_json::Value>>,
        axum::extract::rejection::JsonRejection,
    >,
) -> ApiResult<Json<EnvironmentSummary>> {
    let Json(patch) = body?;
    crate::services::environments::update(&state.db, &principal, &name, patch).await?;
    let envs = state.read.environments(&principal.tenant).await?;
    envs.into_iter()
        .find(|e| e.name == name)
        .map(Json)
        .ok_or_else(|| crate::http::error::ApiError::NotFound("environment not found".into()))
}
