//! What every request handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

use crate::http::metrics::HttpMetrics;
use crate::services::read::ReadModel;
use crate::services::tenancy::{find_by_slug, Tenant, DEFAULT_TENANT};
use crate::services::ServiceError;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub metrics: Arc<HttpMetrics>,
    pub read: ReadModel,
    pub services: app::services::Services,
}

impl AppState {
    /// The tenant a request acts in. Until sign-in exists every request acts
    /// in the `default` tenant; credentials will name the tenant here.
    pub async fn tenant(&self) -> Result<Tenant, ServiceError> {
        find_by_slug(&self.db, DEFAULT_TENANT).await
    }
}
