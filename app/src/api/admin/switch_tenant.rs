use leptos::prelude::*;

use crate::error::AppError;

/// Makes the session act in another tenant the viewer belongs to.
#[server(prefix = "/api/fn", endpoint = "switch_tenant")]
pub async fn switch_tenant(tenant: String) -> Result<(), AppError> {
    crate::services::services()?
        .admin
        .switch_tenant(tenant)
        .await
}
