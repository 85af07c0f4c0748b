use app::model::role::Action;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{id_cursor, whole_number, ApiQuery};
use app::model::admin::AuditPage;

use crate::http::state::AppState;
use crate::services::audit::{self, AuditFilter};
use crate::services::principal::Principal;

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
    since: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// `GET /api/v1/audit?actor=&action=&outcome=&since=&cursor=&limit=` (Admin).
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    principal.require(Action::ReadAudit)?;
    let some = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let outcome = some(q.outcome);
    if let Some(o) = &outcome {
        if !["success", "failure", "denied"].contains(&o.as_str()) {
            return Err(ApiError::invalid(
                "outcome",
                "one of success, failure, denied",
            ));
        }
    }
    let since = some(q.since)
        .map(|s| {
            DateTime::parse_from_rfc3339(&s)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::invalid("since", "an RFC 3339 time, e.g. 2026-11-24T10:00:00Z")
                })
        })
        .transpose()?;
    let cursor = some(q.cursor).map(|c| id_cursor(&c)).transpose()?;
    let limit = some(q.limit)
        .map(|l| whole_number("limit", &l))
        .transpose()?;
    let filter = AuditFilter {
        actor: some(q.actor),
        action: some(q.action),
        outcome,
        since,
        cursor,
        limit,
    };
    Ok(Json(
        audit::list(
            &state.db,
            &principal.tenant,
            principal.is_platform_admin,
            &filter,
        )
        .await?,
    ))
}
