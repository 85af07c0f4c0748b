use leptos::prelude::*;

use crate::error::AppError;
use crate::model::admin::{AuditPage, AuditQuery};

#[server(prefix = "/api/fn", endpoint = "list_audit")]
pub async fn list_audit(query: AuditQuery) -> Result<AuditPage, AppError> {
    crate::services::services()?.admin.audit(query).await
}
