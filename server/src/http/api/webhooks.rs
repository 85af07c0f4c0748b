use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use crate::http::error::{ApiError, ApiResult};
use crate::services::principal::Principal;
use app::model::admin::{DeliveryInfo, WebhookInfo};

use crate::http::state::AppState;
use crate::services::webhooks::{self, NewWebhook};

fn webhook_id(id: Result<Path<i64>, PathRejection>) -> ApiResult<i64> {
    let Path(id) = id.map_err(|_| ApiError::invalid("id", "webhook ids are whole numbers"))?;
    Ok(id)
}

/// `GET /api/v1/webhooks` (Admin).
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<WebhookInfo>>> {
    Ok(Json(webhooks::list(&state.db, &principal).await?))
}

/// `POST /api/v1/webhooks` `{url, events?, format?: json|slack}` → 201 with the
/// signing secret, shown this once.
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<NewWebhook>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<WebhookInfo>)> {
    let Json(body) = body?;
    let created =
        webhooks::create(&state.db, &principal, body, &state.engine.config().outbound).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `DELETE /api/v1/webhooks/{id}` → 204.
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    id: Result<Path<i64>, PathRejection>,
) -> ApiResult<StatusCode> {
    webhooks::delete(&state.db, &principal, webhook_id(id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/webhooks/{id}/deliveries`: the delivery log, newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    principal: Principal,
    id: Result<Path<i64>, PathRejection>,
) -> ApiResult<Json<Vec<DeliveryInfo>>> {
    Ok(Json(
        webhooks::deliveries(&state.db, &principal, webhook_id(id)?).await?,
    ))
}
