use leptos::prelude::*;

use crate::error::AppError;
use crate::model::environment::{FreezeInfo, NewFreeze};

#[server(prefix = "/api/fn", endpoint = "add_freeze_window")]
pub async fn add_freeze_window(new: NewFreeze) -> Result<FreezeInfo, AppError> {
    crate::services::services()?
        .admin
        .add_freeze_window(new)
        .await
}
