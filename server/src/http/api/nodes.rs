use app::model::module::NodeInfo;
use app::model::role::Action;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use crate::http::error::ApiResult;
use crate::services::nodes::{self, CreatedEnrollmentToken, NewEnrollmentToken};
use crate::services::principal::Principal;
use crate::state::AppState;

/// `GET /api/v1/nodes`: every enrolled node with status, pool, labels and versions.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<NodeInfo>>> {
    principal.require(Action::Read)?;
    Ok(Json(nodes::list(&state.db, &principal.tenant).await?))
}

/// `POST /api/v1/environments/{name}/enrollment-tokens` `{pool?, expires?}` → 201 `{token}`.
pub async fn create_enrollment_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(environment): Path<String>,
    body: Result<Json<NewEnrollmentToken>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<CreatedEnrollmentToken>)> {
    // No body at all means the defaults: no pool, 24 hours.
    let body = match body {
        Ok(Json(body)) => body,
        Err(JsonRejection::MissingJsonContentType(_)) => NewEnrollmentToken {
            pool: None,
            expires: None,
        },
        Err(other) => return Err(other.into()),
    };
    Ok((
        StatusCode::CREATED,
        Json(nodes::create_enrollment_token(&state.db, &principal, &environment, body).await?),
    ))
}
