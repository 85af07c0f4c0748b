use leptos::prelude::*;

use crate::error::AppError;
use crate::model::environment::PolicyChange;

#[server(prefix = "/api/fn", endpoint = "update_policy")]
pub async fn update_policy(change: PolicyChange) -> Result<(), AppError> {
    crate::services::services()?
        .admin
        .update_policy(change)
        .await
}
