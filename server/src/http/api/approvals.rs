use app::model::deployment::ApprovalInbox;
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;

use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiQuery, Id};
use crate::http::state::AppState;
use crate::services::approvals::{self, Decided, Decision};
use crate::services::principal::Principal;

#[derive(Debug, Deserialize)]
pub struct InboxQuery {
    status: Option<String>,
}

/// `GET /api/v1/approvals?status=pending`: requests waiting for a decision,
/// the most urgent first.
pub async fn inbox(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<InboxQuery>,
) -> ApiResult<Json<ApprovalInbox>> {
    match query.status.as_deref().map(str::trim) {
        None | Some("") | Some("pending") => {}
        Some(other) => {
            return Err(ApiError::invalid(
                "status",
                format!(
                "{other:?}: only pending requests are listed here; decided ones are deployments"
            ),
            ))
        }
    }
    Ok(Json(
        approvals::inbox(&state.db, &state.read, &principal).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct DecisionBody {
    comment: Option<String>,
}

async fn decide(
    state: AppState,
    principal: Principal,
    id: i64,
    body: Bytes,
    decision: Decision,
) -> ApiResult<Json<Decided>> {
    // The body is optional for an approval: no body is no comment.
    let body: DecisionBody = if body.iter().all(u8::is_ascii_whitespace) {
        DecisionBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::invalid("body", format!("expected {{\"comment\": \"…\"}}: {e}"))
        })?
    };
    Ok(Json(
        approvals::decide(
            &state.db,
            &state.engine,
            &principal,
            id,
            decision,
            body.comment,
        )
        .await?,
    ))
}

/// `POST /api/v1/approvals/deployments/{id}/approve` `{comment?}`.
pub async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    body: Bytes,
) -> ApiResult<Json<Decided>> {
    decide(state, principal, id, body, Decision::Approved).await
}

/// `POST /api/v1/approvals/deployments/{id}/reject` `{comment}` (required).
pub async fn reject(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    body: Bytes,
) -> ApiResult<Json<Decided>> {
    decide(state, principal, id, body, Decision::Rejected).await
}
