//! What every request handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

use crate::http::metrics::HttpMetrics;
use crate::services::read::ReadModel;
use crate::services::tenancy::{request_tenant, Tenant};
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
    pub async fn tenant(&self) -> Result<Tenant, ServiceError> {
        request_tenant(&self.db).await
    }
}
