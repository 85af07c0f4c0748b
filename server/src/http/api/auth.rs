//! Sign-in, sign-out, who am I, password change and tenant switch.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use tower_sessions::Session;

use crate::domain::redirect::local_path;
use crate::http::auth::session_auth::{self, SessionAuth};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::ApiJson;
use crate::http::state::AppState;
use crate::services::principal::Principal;
use crate::services::tenants::{self, Membership};
use crate::services::{auth, users, ServiceError};

#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    username: String,
    password: String,
    /// Where a browser form goes after signing in.
    next: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Me {
    username: String,
    tenant: String,
    role: app::model::role::Role,
    is_platform_admin: bool,
    must_change_password: bool,
    tenants: Vec<Membership>,
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// `POST /api/v1/auth/login`: JSON `{username, password}` for clients, or the
/// login page's form (answered with redirects, so it works without JavaScript).
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = is_form(&headers);
    let request: Result<LoginRequest, ApiError> = if form {
        serde_urlencoded::from_bytes(&body).map_err(|e| ApiError::BadRequest {
            message: format!("invalid form: {e}"),
        })
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest {
            message: format!("expected JSON {{\"username\", \"password\"}}: {e}"),
        })
    };
    let request = match request {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let next = local_path(request.next.as_deref()).to_string();
    let outcome = auth::sign_in(
        &state.db,
        &request.username,
        &request.password,
        Some(peer.ip()),
    )
    .await;
    let signed_in = match outcome {
        Ok(signed_in) => signed_in,
        Err(err) if form => {
            let code = match &err {
                ServiceError::TooManyAttempts { .. } => "locked",
                ServiceError::Forbidden(_) => "disabled",
                _ => "invalid",
            };
            let query = serde_urlencoded::to_string([
                ("error", code),
                ("username", request.username.as_str()),
                ("next", next.as_str()),
            ])
            .unwrap_or_default();
            return Redirect::to(&format!("/login?{query}")).into_response();
        }
        Err(ServiceError::Unauthorized) => {
            return ApiError::Invalid {
                field: Some("password".into()),
                message: "wrong username or password".into(),
            }
            .with_status(StatusCode::UNAUTHORIZED)
        }
        Err(err) => return ApiError::from(err).into_response(),
    };
    let auth = SessionAuth {
        user_id: signed_in.user_id,
        tenant_id: signed_in.tenant_id,
        signed_in_at: Utc::now(),
    };
    if let Err(err) = session_auth::sign_in(&session, auth).await {
        return err.into_response();
    }
    if form {
        let target = if signed_in.must_change_password {
            "/account"
        } else {
            next.as_str()
        };
        return Redirect::to(target).into_response();
    }
    match me_of(&state, signed_in.user_id, signed_in.tenant_id).await {
        Ok(me) => Json(me).into_response(),
        Err(err) => err.into_response(),
    }
}

async fn me_of(state: &AppState, user_id: i64, tenant_id: i64) -> ApiResult<Me> {
    let principal = auth::principal_for_user(
        &state.db,
        user_id,
        tenant_id,
        crate::services::principal::Credential::Session,
        None,
    )
    .await?
    .ok_or(ApiError::Unauthorized)?;
    me(state, &principal).await
}

async fn me(state: &AppState, principal: &Principal) -> ApiResult<Me> {
    Ok(Me {
        username: principal.username.clone(),
        tenant: principal.tenant.slug.clone(),
        role: principal.role,
        is_platform_admin: principal.is_platform_admin,
        must_change_password: principal.must_change_password,
        tenants: tenants::of_user(&state.db, principal.user_id).await?,
    })
}

/// `GET /api/v1/auth/me`.
pub async fn whoami(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Me>> {
    Ok(Json(me(&state, &principal).await?))
}

/// `POST /api/v1/auth/logout`: ends the session (a form is sent back to the login page).
pub async fn logout(session: Session, headers: HeaderMap) -> ApiResult<Response> {
    session_auth::sign_out(&session).await?;
    Ok(if is_form(&headers) {
        Redirect::to("/login?signed_out=1").into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    })
}

#[derive(Debug, Deserialize)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// `POST /api/v1/auth/password`.
pub async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(change): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    users::change_password(
        &state.db,
        principal.user_id,
        &change.current_password,
        &change.new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct TenantSwitch {
    tenant: String,
}

/// `POST /api/v1/auth/tenant`: act in another tenant one is a member of.
pub async fn switch_tenant(
    State(state): State<AppState>,
    session: Session,
    principal: Principal,
    ApiJson(switch): ApiJson<TenantSwitch>,
) -> ApiResult<Json<Me>> {
    let auth = session_auth::read(&session)
        .await?
        .ok_or_else(|| ApiError::BadRequest {
            message: "API tokens are bound to one tenant; sign in to switch".into(),
        })?;
    let tenant_id = tenants::membership_tenant_id(&state.db, principal.user_id, &switch.tenant)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("you are not a member of {}", switch.tenant)))?;
    session_auth::switch_tenant(&session, auth, tenant_id).await?;
    Ok(Json(me_of(&state, principal.user_id, tenant_id).await?))
}
