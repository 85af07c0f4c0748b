use leptos::prelude::*;

use crate::error::AppError;

/// `decision` is `approve` or `reject`; a rejection needs a comment.
#[server(prefix = "/api/fn", endpoint = "decide_approval")]
pub async fn decide_approval(id: i64, decision: String, comment: String) -> Result<(), AppError> {
    crate::services::services()?
        .operate
        .decide(id, decision, comment)
        .await
}
