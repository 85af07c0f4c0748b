use leptos::prelude::*;

use crate::error::AppError;
use crate::model::session::TenantChoice;

#[server(prefix = "/api/fn", endpoint = "create_tenant")]
pub async fn create_tenant(slug: String, name: String) -> Result<TenantChoice, AppError> {
    crate::services::services()?
        .admin
        .create_tenant(slug, name)
        .await
}
