use app::model::module::{EnrollmentTokenInfo, NodeFilter, NodePage};
use app::model::role::Action;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;

use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiQuery, Id};
use crate::http::state::AppState;
use crate::services::nodes::{self, CreatedEnrollmentToken, NewEnrollmentToken};
use crate::services::principal::Principal;

/// `GET /api/v1/nodes?environment=&status=&limit=&cursor=`: a page of
/// enrolled nodes by name, with status, pool, labels and versions.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<NodeFilter>,
) -> ApiResult<Json<NodePage>> {
    principal.require(Action::Read)?;
    Ok(Json(
        nodes::list(&state.db, &principal.tenant, &filter).await?,
    ))
}

/// `POST /api/v1/environments/{name}/enrollment-tokens` `{pool?, expires?, uses?}`
/// → 201 `{id, token, …}`. An empty body means the defaults (no pool, one
/// node, 24 hours); anything else must be JSON.
pub async fn create_enrollment_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(environment): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<CreatedEnrollmentToken>)> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        NewEnrollmentToken {
            pool: None,
            expires: None,
            uses: None,
        }
    } else {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json {
            return Err(ApiError::UnsupportedMediaType(
                "send the settings as JSON (Content-Type: application/json)".into(),
            ));
        }
        serde_json::from_slice(&body).map_err(|e| ApiError::Invalid {
            field: None,
            message: format!("not valid enrollment settings: {e}"),
        })?
    };
    Ok((
        StatusCode::CREATED,
        Json(nodes::create_enrollment_token(&state.db, &principal, &environment, body).await?),
    ))
}

/// `GET /api/v1/environments/{name}/enrollment-tokens`: its tokens, without secrets.
pub async fn enrollment_tokens(
    State(state): State<AppState>,
    principal: Principal,
    Path(environment): Path<String>,
) -> ApiResult<Json<Vec<EnrollmentTokenInfo>>> {
    Ok(Json(
        nodes::enrollment_tokens(&state.db, &principal, &environment).await?,
    ))
}

/// `DELETE /api/v1/enrollment-tokens/{id}` → 204: no node enrolls with it any more.
pub async fn revoke_enrollment_token(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    nodes::revoke_enrollment_token(&state.db, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/nodes/{id}` → 204: the node is decommissioned, its
/// credential ends, and its name may enroll again.
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    nodes::remove(&state.db, &principal, id).await?;
    // Its connection, if on this replica, notices at once; elsewhere at the next sweep.
    state.engine.hub().recheck(&[id]);
    Ok(StatusCode::NO_CONTENT)
}
