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
    pub live: crate::engine::live::LiveHub,
}

impl AppState {
    /// How many deployments one person may request per minute.
    pub fn deploy_rate(&self) -> crate::services::deployments::RateLimit {
        crate::services::deployments::RateLimit(self.engine.config().deploy_rate_per_minute)
    }
}
