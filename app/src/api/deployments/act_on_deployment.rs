use leptos::prelude::*;

use crate::error::AppError;

/// An operator action on a deployment; answers the id of the deployment acted
/// on (rolling back a finished one starts a new deployment).
#[server(prefix = "/api/fn", endpoint = "act_on_deployment")]
pub async fn act_on_deployment(id: i64, verb: String) -> Result<i64, AppError> {
    crate::services::services()?.operate.act(id, verb).await
}
