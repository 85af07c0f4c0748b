use app::model::environment::{EnvironmentSummary, FreezeInfo};
use app::model::role::Action;
use axum::extract::State;
use axum::Json;

use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::state::AppState;
use crate::services::principal::Principal;

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
    ApiJson(patch): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<Json<EnvironmentSummary>> {
    crate::services::environments::update(
        &state.db,
        &principal,
        &name,
        patch,
        &state.engine.config().switch_commands,
        &state.engine.config().outbound,
    )
    .await?;
    let envs = state.read.environments(&principal.tenant).await?;
    envs.into_iter()
        .find(|e| e.name == name)
        .map(Json)
        .ok_or_else(|| crate::http::error::ApiError::NotFound("environment not found".into()))
}

/// `GET /api/v1/environments/{name}/freeze-windows`.
pub async fn freeze_windows(
    State(state): State<AppState>,
    principal: Principal,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> ApiResult<Json<Vec<FreezeInfo>>> {
    Ok(Json(
        crate::services::freeze::list(&state.db, &principal, &name).await?,
    ))
}

/// `POST /api/v1/environments/{name}/freeze-windows`
/// `{name, starts_at, ends_at}` or `{name, weekly: {day, from, to}}` (UTC) → 201.
pub async fn add_freeze_window(
    State(state): State<AppState>,
    principal: Principal,
    axum::extract::Path(name): axum::extract::Path<String>,
    ApiJson(body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<(axum::http::StatusCode, Json<FreezeInfo>)> {
    let created = crate::services::freeze::create(&state.db, &principal, &name, body).await?;
    Ok((axum::http::StatusCode::CREATED, Json(created)))
}

/// `DELETE /api/v1/environments/{name}/freeze-windows/{id}` → 204.
pub async fn remove_freeze_window(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((name, id)): ApiPath<(String, i64)>,
) -> ApiResult<axum::http::StatusCode> {
    crate::services::freeze::delete(&state.db, &principal, &name, id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
