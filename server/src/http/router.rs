//! All routes, and the layers around them.

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::{middleware, Router};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower::ServiceBuilder;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::http::auth::csrf;
use crate::http::routes::Routes;
use crate::http::session::{self, DbSessionStore};
use crate::http::state::AppState;
use crate::http::{agents, api, api_errors, audit_trail, fallback, health, metrics, oidc, ui};

/// Every REST route under `/api/v1`: the API and the agents' endpoints.
pub fn api_routes() -> Routes {
    api::routes().merge(agents::routes())
}

pub fn build(
    state: AppState,
    sessions: DbSessionStore,
    secure_cookies: bool,
    max_body_bytes: usize,
) -> Router {
    let options = state.leptos_options.clone();
    let services = state.services.clone();
    let pkg_dir = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);

    // Built assets keep their names across releases, so browsers revalidate them.
    let assets = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(axum::middleware::from_fn(refuse_impossible_asset_names))
        .service(ServeDir::new(pkg_dir).precompressed_gzip());

    Router::new()
        .route("/health", get(health::live))
        .route("/health/database", get(health::database))
        .route("/metrics", get(metrics::endpoint))
        .nest("/api/v1", api_routes().into_router())
        .route("/auth/oidc/login", get(oidc::begin))
        .route("/auth/oidc/callback", get(oidc::callback))
        .nest_service("/pkg", assets)
        .leptos_routes_with_context(
            &state,
            generate_route_list(app::App),
            move || {
                provide_context(services.clone());
                provide_context(ui::PageMemo::default());
            },
            move || app::shell(options.clone()),
        )
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::method_not_allowed)
        // Innermost first: every /api error becomes JSON with its real
        // status before anything records it; audit sees the matched route and the principal;
        // CSRF refuses before anything runs; metrics time everything.
        // Every extractor (JSON, forms, server functions) reads at most this.
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn_with_state(
            api_errors::BodyLimit(max_body_bytes),
            api_errors::json_errors,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            audit_trail::record,
        ))
        .layer(middleware::from_fn(csrf::protect))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .layer(session::layer(sessions, secure_cookies))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Names no file system holds (a segment over 255 bytes, a path over 1 KiB)
/// are simply not found, rather than an error from opening them.
async fn refuse_impossible_asset_names(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = request.uri().path();
    if path.len() > 1024 || path.split('/').any(|segment| segment.len() > 255) {
        return (axum::http::StatusCode::NOT_FOUND, "no such file").into_response();
    }
    next.run(request).await
}
