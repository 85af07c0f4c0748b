use leptos::prelude::*;

use crate::error::AppError;
use crate::model::admin::DeliveryInfo;

#[server(prefix = "/api/fn", endpoint = "list_deliveries")]
pub async fn list_deliveries(id: i64) -> Result<Vec<DeliveryInfo>, AppError> {
    crate::services::services()?.admin.deliveries(id).await
}
