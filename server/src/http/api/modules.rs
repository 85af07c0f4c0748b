use app::model::module::{ModuleInfo, VersionInfo};
use app::model::role::Action;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use crate::http::error::ApiResult;
use crate::http::extract::ApiJson;
use crate::http::state::AppState;
use crate::services::modules::{self, NewModule, NewVersion};
use crate::services::principal::Principal;

/// `GET /api/v1/modules`.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<ModuleInfo>>> {
    principal.require(Action::Read)?;
    Ok(Json(modules::list(&state.db, &principal.tenant).await?))
}

/// `POST /api/v1/modules` `{name, description?, public_key?}` → 201.
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<NewModule>,
) -> ApiResult<(StatusCode, Json<ModuleInfo>)> {
    Ok((
        StatusCode::CREATED,
        Json(modules::create(&state.db, &principal, body).await?),
    ))
}

/// `GET /api/v1/modules/{name}/versions`: newest first.
pub async fn versions(
    State(state): State<AppState>,
    principal: Principal,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<VersionInfo>>> {
    principal.require(Action::Read)?;
    Ok(Json(
        modules::versions(&state.db, &principal.tenant, &name).await?,
    ))
}

/// `POST /api/v1/modules/{name}/versions` `{version, artifact_url, sha256, signature?}` → 201.
pub async fn publish(
    State(state): State<AppState>,
    principal: Principal,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<NewVersion>,
) -> ApiResult<(StatusCode, Json<VersionInfo>)> {
    Ok((
        StatusCode::CREATED,
        Json(modules::publish(&state.db, &principal, &name, body).await?),
    ))
}
