use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, Id};
use crate::services::principal::Principal;
use app::model::admin::{DeliveryInfo, WebhookInfo};

use crate::http::state::AppState;
use crate::services::webhooks::{self, NewWebhook};

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
    ApiJson(body): ApiJson<NewWebhook>,
) -> ApiResult<(StatusCode, Json<WebhookInfo>)> {
    let created =
        webhooks::create(&state.db, &principal, body, &state.engine.config().outbound).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `DELETE /api/v1/webhooks/{id}` → 204.
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    webhooks::delete(&state.db, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/webhooks/{id}/deliveries`: the delivery log, newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> ApiResult<Json<Vec<DeliveryInfo>>> {
    Ok(Json(webhooks::deliveries(&state.db, &principal, id).await?))
}
