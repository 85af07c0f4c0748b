use app::model::role::Role;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use crate::domain::token::parse_lifetime;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, Id};
use crate::services::principal::Principal;
use app::model::admin::{CreatedToken, TokenInfo};

use crate::http::state::AppState;
use crate::services::tokens::{self, NewToken};

#[derive(Debug, Deserialize)]
pub struct CreateToken {
    name: String,
    role: Option<String>,
    /// e.g. "30d"; absent means no expiry.
    expires: Option<String>,
}

/// `POST /api/v1/tokens` → 201 with the secret, shown once.
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let role = body
        .role
        .as_deref()
        .map(|r| {
            Role::parse(r)
                .ok_or_else(|| ApiError::invalid("role", "one of viewer, deployer, admin"))
        })
        .transpose()?;
    let lifetime = body
        .expires
        .as_deref()
        .map(|e| {
            parse_lifetime(e, &app::model::duration::TOKEN_LIFETIME)
                .map_err(|m| ApiError::invalid("expires", m))
        })
        .transpose()?;
    let created = tokens::create(
        &state.db,
        &principal,
        NewToken {
            name: body.name,
            role,
            lifetime,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /api/v1/tokens`.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<TokenInfo>>> {
    Ok(Json(tokens::list(&state.db, &principal).await?))
}

/// `DELETE /api/v1/tokens/{id}`: revokes it at once.
pub async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> ApiResult<Json<TokenInfo>> {
    Ok(Json(tokens::revoke(&state.db, &principal, id).await?))
}
