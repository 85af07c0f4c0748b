use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use crate::http::error::ApiResult;
use crate::http::extract::ApiJson;
use crate::http::state::AppState;
use crate::services::principal::Principal;
use crate::services::tenants::{self, Membership};

/// `GET /api/v1/tenants`: the tenants the caller belongs to.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<Membership>>> {
    Ok(Json(tenants::of_user(&state.db, principal.user_id).await?))
}

#[derive(Debug, Deserialize)]
pub struct CreateTenant {
    slug: String,
    name: String,
}

/// `POST /api/v1/tenants` (platform admin): the creator becomes its admin.
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateTenant>,
) -> ApiResult<(StatusCode, Json<Membership>)> {
    let created = tenants::create(&state.db, &principal, &body.slug, &body.name).await?;
    Ok((StatusCode::CREATED, Json(created)))
}
