//! Every mutation leaves an audit entry: who, in which tenant, what (method and
//! route template), on what (the path), from where, and how it ended.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

use crate::http::auth::extract::{source_ip, ActorSlot};
use crate::http::state::AppState;
use crate::services::audit::{self, AuditRecord};

/// Routes whose services write richer entries of their own.
const AUDITED_BY_SERVICE: &[&str] = &["/api/v1/auth/login"];

/// REST mutations, and server functions other than reads (which are POSTs too).
fn is_mutation_route(route: &str) -> bool {
    if AUDITED_BY_SERVICE.contains(&route) {
        return false;
    }
    match route.strip_prefix("/api/fn/") {
        Some(name) => !(name.starts_with("get_") || name.starts_with("list_")),
        None => route.starts_with("/api/v1/"),
    }
}

pub async fn record(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let Some(route) = route.filter(|r| is_mutation_route(r)) else {
        return next.run(request).await;
    };
    let slot = ActorSlot::default();
    request.extensions_mut().insert(slot.clone());
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let (parts, body) = request.into_parts();
    let ip = source_ip(&parts);
    let response = next.run(Request::from_parts(parts, body)).await;

    let status = response.status();
    let actor = slot.0.get();
    let outcome = match status.as_u16() {
        s if s < 400 => "success",
        401 | 403 => "denied",
        _ => "failure",
    };
    let entry = AuditRecord {
        tenant_id: actor.map(|p| p.tenant.id),
        actor_user_id: actor.map(|p| p.user_id),
        actor: actor.map_or_else(|| "anonymous".to_string(), |p| p.username.clone()),
        action: format!("{method} {route}"),
        target: Some(path),
        source_ip: ip,
        outcome,
        details: json!({ "status": status.as_u16() }),
    };
    if let Err(err) = audit::record(&state.db, entry).await {
        tracing::error!(error = %err, "could not write an audit entry");
    }
    response
}
