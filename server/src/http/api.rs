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

use crate::http::routes::Routes;

/// Every route of the API, relative to `/api/v1`.
pub fn routes() -> Routes {
    Routes::new()
        .post("/auth/login", auth::login)
        .post("/auth/logout", auth::logout)
        .get("/auth/me", auth::whoami)
        .post("/auth/password", auth::change_password)
        .post("/auth/tenant", auth::switch_tenant)
        .get("/deployments", deployments::list)
        .post("/deployments", deployments::create)
        .get("/deployments/{id}", deployments::show)
        .get("/deployments/{id}/events", deployments::events)
        .get("/deployments/{id}/live", super::live::deployment)
        .get("/live", super::live::tenant)
        .post("/deployments/{id}/pause", deployments::pause)
        .post("/deployments/{id}/resume", deployments::resume)
        .post("/deployments/{id}/abort", deployments::abort)
        .post("/deployments/{id}/promote", deployments::promote)
        .post("/deployments/{id}/rollback", deployments::rollback)
        .post("/deployments/{id}/cancel", deployments::cancel)
        .get("/approvals", approvals::inbox)
        .post("/approvals/deployments/{id}/approve", approvals::approve)
        .post("/approvals/deployments/{id}/reject", approvals::reject)
        .get("/modules", modules::list)
        .post("/modules", modules::create)
        .get("/modules/{name}/versions", modules::versions)
        .post("/modules/{name}/versions", modules::publish)
        .get("/environments", environments::list)
        .patch("/environments/{name}", environments::update)
        .get(
            "/environments/{name}/freeze-windows",
            environments::freeze_windows,
        )
        .post(
            "/environments/{name}/freeze-windows",
            environments::add_freeze_window,
        )
        .delete(
            "/environments/{name}/freeze-windows/{id}",
            environments::remove_freeze_window,
        )
        .get(
            "/environments/{name}/enrollment-tokens",
            nodes::enrollment_tokens,
        )
        .post(
            "/environments/{name}/enrollment-tokens",
            nodes::create_enrollment_token,
        )
        .delete("/enrollment-tokens/{id}", nodes::revoke_enrollment_token)
        .get("/nodes", nodes::list)
        .delete("/nodes/{id}", nodes::remove)
        .get("/tokens", tokens::list)
        .post("/tokens", tokens::create)
        .delete("/tokens/{id}", tokens::revoke)
        .get("/users", users::list)
        .post("/users", users::add)
        .patch("/users/{id}", users::update)
        .get("/tenants", tenants::list)
        .post("/tenants", tenants::create)
        .get("/audit", audit::list)
        .get("/webhooks", webhooks::list)
        .post("/webhooks", webhooks::create)
        .delete("/webhooks/{id}", webhooks::delete)
        .get("/webhooks/{id}/deliveries", webhooks::deliveries)
}
