//! The REST API under `/api/v1`. Every route is listed here, with the least
//! role it needs enforced in its service (see `tests/api/rbac.rs`).

mod approvals;
mod audit;
mod auth;
mod deployments;
mod environments;
mod modules;
mod nodes;
mod tenants;
mod tokens;
mod users;
mod webhooks;

use axum::routing::{delete, get, patch, post};
use axum::Router;

use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::whoami))
        .route("/auth/password", post(auth::change_password))
        .route("/auth/tenant", post(auth::switch_tenant))
        .route(
            "/deployments",
            get(deployments::list).post(deployments::create),
        )
        .route("/deployments/{id}", get(deployments::show))
        .route("/deployments/{id}/events", get(deployments::events))
        .route("/deployments/{id}/live", get(super::live::deployment))
        .route("/live", get(super::live::tenant))
        .route("/deployments/{id}/pause", post(deployments::pause))
        .route("/deployments/{id}/resume", post(deployments::resume))
        .route("/deployments/{id}/abort", post(deployments::abort))
        .route("/deployments/{id}/promote", post(deployments::promote))
        .route("/deployments/{id}/rollback", post(deployments::rollback))
        .route("/deployments/{id}/cancel", post(deployments::cancel))
        .route("/approvals", get(approvals::inbox))
        .route(
            "/approvals/deployments/{id}/approve",
            post(approvals::approve),
        )
        .route(
            "/approvals/deployments/{id}/reject",
            post(approvals::reject),
        )
        .route("/modules", get(modules::list).post(modules::create))
        .route(
            "/modules/{name}/versions",
            get(modules::versions).post(modules::publish),
        )
        .route("/environments", get(environments::list))
        .route("/environments/{name}", patch(environments::update))
        .route(
            "/environments/{name}/freeze-windows",
            get(environments::freeze_windows).post(environments::add_freeze_window),
        )
        .route(
            "/environments/{name}/freeze-windows/{id}",
            delete(environments::remove_freeze_window),
        )
        .route(
            "/environments/{name}/enrollment-tokens",
            get(nodes::enrollment_tokens).post(nodes::create_enrollment_token),
        )
        .route(
            "/enrollment-tokens/{id}",
            delete(nodes::revoke_enrollment_token),
        )
        .route("/nodes", get(nodes::list))
        .route("/nodes/{id}", delete(nodes::remove))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", delete(tokens::revoke))
        .route("/users", get(users::list).post(users::add))
        .route("/users/{id}", patch(users::update))
        .route("/tenants", get(tenants::list).post(tenants::create))
        .route("/audit", get(audit::list))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/webhooks/{id}", delete(webhooks::delete))
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
}
