//! What every request handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

use crate::http::metrics::HttpMetrics;
use crate::services::read::ReadModel;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub metrics: Arc<HttpMetrics>,
    pub read: ReadModel,
    pub services: app::services::Services,
    pub oidc: Option<Arc<crate::http::oidc::OidcProvider>>,
    pub engine: crate::engine::Engine,
    pub live: crate::live::LiveHub,
}
