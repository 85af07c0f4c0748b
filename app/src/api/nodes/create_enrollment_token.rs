use leptos::prelude::*;

use crate::error::AppError;
use crate::model::module::CreatedEnrollment;

#[server(prefix = "/api/fn", endpoint = "create_enrollment_token")]
pub async fn create_enrollment_token(
    environment: String,
    pool: String,
    expires: String,
) -> Result<CreatedEnrollment, AppError> {
    crate::services::services()?
        .admin
        .create_enrollment_token(
            environment,
            crate::api::admin::given(pool),
            crate::api::admin::given(expires),
        )
        .await
}
