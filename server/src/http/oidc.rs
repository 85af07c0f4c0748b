//! Single sign-on with an OpenID provider: authorization code flow with PKCE,
//! state and nonce, as plain routes (begin → provider → callback).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use chrono::Utc;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tower_sessions::Session;

use crate::config::OidcConfig;
use crate::http::auth::session_auth::{self, SessionAuth};
use crate::http::state::AppState;
use crate::services::audit::{self, AuditRecord};
use crate::services::oidc::{provision, OidcIdentity};

const PENDING_KEY: &str = "oidc_pending";
const ACTION: &str = "auth.oidc";

/// The configured provider; its discovery document is fetched on first use
/// (and again after a failure), so Hotswap starts even while it is down.
pub struct OidcProvider {
    pub config: OidcConfig,
    redirect_url: String,
    http: openidconnect::reqwest::Client,
    metadata: tokio::sync::OnceCell<CoreProviderMetadata>,
}

impl OidcProvider {
    pub fn new(config: OidcConfig, public_url: &str) -> anyhow::Result<Self> {
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects would open the door to SSRF.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Self {
            redirect_url: format!("{public_url}/auth/oidc/callback"),
            config,
            http,
            metadata: tokio::sync::OnceCell::new(),
        })
    }

    async fn metadata(&self) -> Result<&CoreProviderMetadata, String> {
        self.metadata
            .get_or_try_init(|| async {
                let issuer =
                    IssuerUrl::new(self.config.issuer.clone()).map_err(|e| e.to_string())?;
                CoreProviderMetadata::discover_async(issuer, &self.http)
                    .await
                    .map_err(|e| format!("the identity provider could not be reached: {e}"))
            })
            .await
    }
}

/// What the session remembers between sending someone to the provider and their return.
#[derive(Debug, Serialize, Deserialize)]
struct PendingLogin {
    state: String,
    nonce: String,
    verifier: String,
    next: String,
}

#[derive(Debug, Deserialize)]
pub struct BeginQuery {
    next: Option<String>,
}

/// `GET /auth/oidc/login`: off to the provider.
pub async fn begin(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<BeginQuery>,
) -> Response {
    let Some(provider) = state.oidc.clone() else {
        return failure_page(
            StatusCode::NOT_FOUND,
            "Single sign-on is not configured here.",
        );
    };
    let metadata = match provider.metadata().await {
        Ok(m) => m.clone(),
        Err(reason) => return failure_page(StatusCode::SERVICE_UNAVAILABLE, &reason),
    };
    let Ok(redirect) = RedirectUrl::new(provider.redirect_url.clone()) else {
        return failure_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "HOTSWAP_PUBLIC_URL does not form a valid callback URL.",
        );
    };
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.config.client_id.clone()),
        provider.config.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let next = crate::domain::redirect::local_path(query.next.as_deref()).to_string();
    let pending = PendingLogin {
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        next,
    };
    if session.insert(PENDING_KEY, pending).await.is_err() {
        return failure_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The session store is unavailable; try again shortly.",
        );
    }
    Redirect::to(url.as_str()).into_response()
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/oidc/callback`: check everything, provision, sign in.
pub async fn callback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let ip = peer.ip().to_string();
    match complete(&state, &session, query).await {
        Ok((user_id, username, tenant_id, next)) => {
            audit_attempt(
                &state,
                Some(username),
                Some(tenant_id),
                &ip,
                "success",
                "signed in",
            )
            .await;
            let auth = SessionAuth {
                user_id,
                tenant_id,
                signed_in_at: Utc::now(),
            };
            match session_auth::sign_in(&session, auth).await {
                Ok(()) => Redirect::to(&next).into_response(),
                Err(_) => failure_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The session store is unavailable.",
                ),
            }
        }
        Err((status, reason)) => {
            audit_attempt(&state, None, None, &ip, "failure", &reason).await;
            failure_page(status, &reason)
        }
    }
}

type Failure = (StatusCode, String);

async fn complete(
    state: &AppState,
    session: &Session,
    query: CallbackQuery,
) -> Result<(i64, String, i64, String), Failure> {
    let refuse = |reason: &str| (StatusCode::BAD_REQUEST, reason.to_string());
    let provider = state.oidc.clone().ok_or_else(|| {
        (
            StatusCode::NOT_FOUND,
            "Single sign-on is not configured here.".to_string(),
        )
    })?;
    // Single use: whatever happens next, this login attempt is over.
    let pending: Option<PendingLogin> = session.remove(PENDING_KEY).await.map_err(|_| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "The session store is unavailable.".to_string(),
        )
    })?;
    if let Some(error) = query.error {
        let detail = query.error_description.unwrap_or_default();
        return Err((
            StatusCode::FORBIDDEN,
            format!("The identity provider refused: {error} {detail}"),
        ));
    }
    let pending = pending.ok_or_else(|| {
        refuse("This sign-in was not started here, or was already used. Start again.")
    })?;
    if query.state.as_deref() != Some(pending.state.as_str()) {
        return Err(refuse(
            "The sign-in state does not match; the response may have been tampered with.",
        ));
    }
    if let Some(iss) = &query.iss {
        if iss != &provider.config.issuer {
            return Err(refuse("The response comes from an unknown issuer."));
        }
    }
    let code = query
        .code
        .ok_or_else(|| refuse("The identity provider sent no authorization code."))?;

    let metadata = provider
        .metadata()
        .await
        .map_err(|reason| (StatusCode::SERVICE_UNAVAILABLE, reason))?
        .clone();
    let redirect = RedirectUrl::new(provider.redirect_url.clone()).map_err(|_| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "invalid callback URL".to_string(),
        )
    })?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.config.client_id.clone()),
        provider.config.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(redirect);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| refuse(&format!("The provider has no token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
        .request_async(&provider.http)
        .await
        .map_err(|_| refuse("The authorization code was refused by the identity provider (expired, or already used)."))?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| refuse("The identity provider sent no ID token."))?;
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(pending.nonce))
        .map_err(|e| refuse(&format!("The ID token did not verify: {e}")))?;

    let raw = raw_claims(&id_token.to_string());
    let groups = raw
        .get(&provider.config.roles_claim)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|g| g.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let identity = OidcIdentity {
        issuer: claims.issuer().to_string(),
        subject: claims.subject().to_string(),
        email: claims.email().map(|e| e.to_string()),
        email_verified: claims.email_verified().unwrap_or(false),
        preferred_username: claims.preferred_username().map(|u| u.to_string()),
        groups,
    };
    let provisioned = provision(&state.db, &identity, &provider.config.roles)
        .await
        .map_err(|e| (StatusCode::FORBIDDEN, e.to_string()))?;
    Ok((
        provisioned.user_id,
        provisioned.username,
        provisioned.tenant_id,
        pending.next,
    ))
}

/// The payload of a JWT whose signature the verifier has already checked.
fn raw_claims(jwt: &str) -> Value {
    jwt.split('.')
        .nth(1)
        .and_then(|payload| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null)
}

async fn audit_attempt(
    state: &AppState,
    username: Option<String>,
    tenant_id: Option<i64>,
    ip: &str,
    outcome: &'static str,
    reason: &str,
) {
    let entry = AuditRecord {
        tenant_id,
        actor_user_id: None,
        actor: username.unwrap_or_else(|| "anonymous".into()),
        action: ACTION.to_string(),
        target: None,
        source_ip: Some(ip.to_string()),
        outcome,
        details: json!({ "method": "oidc", "reason": reason }),
    };
    if let Err(err) = audit::record(&state.db, entry).await {
        tracing::error!(error = %err, "could not audit a single sign-on attempt");
    }
}

/// A plain, styled page that says why sign-in failed and how to go on.
fn failure_page(status: StatusCode, reason: &str) -> Response {
    let reason = reason
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let body = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign-in failed · Hotswap</title>
<link rel="stylesheet" href="/pkg/hotswap.css"></head><body><main class="content"><div class="login">
<h1>Sign-in failed</h1><p class="form-error" role="alert">{reason}</p>
<p><a class="button" href="/login">Back to sign in</a></p></div></main></body></html>"#
    );
    (status, Html(body)).into_response()
}
