use leptos::prelude::*;

use crate::error::AppError;
use crate::model::admin::Member;

#[server(prefix = "/api/fn", endpoint = "list_members")]
pub async fn list_members() -> Result<Vec<Member>, AppError> {
    crate::services::services()?.admin.members().await
}
