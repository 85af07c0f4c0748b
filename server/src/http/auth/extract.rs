use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::Utc;
use tower_sessions::Session;

use crate::http::auth::session_auth;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::services::auth::{principal_for_token, principal_for_user};
use crate::services::principal::{Credential, Principal};

/// Filled by the [`Principal`] extractor so the audit middleware knows who acted.
#[derive(Clone, Default)]
pub struct ActorSlot(pub Arc<OnceLock<Principal>>);

/// Resolves the caller: a bearer token wins; else the session cookie.
/// Anonymous callers get 401.
impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = match bearer_token(parts)? {
            Some(secret) => principal_for_token(&state.db, &secret)
                .await?
                .ok_or(ApiError::Unauthorized)?,
            None => from_session(parts, state)
                .await?
                .ok_or(ApiError::Unauthorized)?,
        };
        if let Some(slot) = parts.extensions.get::<ActorSlot>() {
            let _ = slot.0.set(principal.clone());
        }
        Ok(principal)
    }
}

fn bearer_token(parts: &Parts) -> Result<Option<String>, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| ApiError::Unauthorized)?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_string()))
        }
        _ => Err(ApiError::Unauthorized),
    }
}

/// The principal of the session, if it is signed in and still valid. A session
/// whose user was disabled or removed is ended on the spot.
pub async fn from_session(
    parts: &mut Parts,
    state: &AppState,
) -> Result<Option<Principal>, ApiError> {
    let session = Session::from_request_parts(parts, state)
        .await
        .map_err(|(_, message)| {
            ApiError::Internal(anyhow::anyhow!("session layer missing: {message}"))
        })?;
    let Some(auth) = session_auth::read(&session).await? else {
        return Ok(None);
    };
    if auth.expired(Utc::now()) {
        session_auth::sign_out(&session).await?;
        return Ok(None);
    }
    let principal = principal_for_user(
        &state.db,
        auth.user_id,
        auth.tenant_id,
        Credential::Session,
        None,
    )
    .await?;
    if principal.is_none() {
        session_auth::sign_out(&session).await?;
    }
    Ok(principal)
}

/// The caller's address, for the audit trail.
pub fn source_ip(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}
