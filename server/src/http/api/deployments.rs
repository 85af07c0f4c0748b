use app::model::deployment::{
    DeploymentFilter, DeploymentPage, DeploymentStatus, DeploymentSummary,
};
use app::model::role::Action;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;

use crate::http::error::{ApiError, ApiResult};
use crate::services::principal::Principal;
use crate::services::read::MAX_PAGE;
use crate::state::AppState;

/// Query parameters as sent; parsed here so each bad one is named.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    environment: Option<String>,
    module: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

impl ListQuery {
    fn parse(self) -> ApiResult<DeploymentFilter> {
        let non_empty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let status = match non_empty(self.status) {
            None => None,
            Some(text) => Some(DeploymentStatus::parse(&text).ok_or_else(|| {
                let known: Vec<_> = DeploymentStatus::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::invalid(
                    "status",
                    format!("unknown status {text:?}; one of {}", known.join(", ")),
                )
            })?),
        };
        let cursor = match non_empty(self.cursor) {
            None => None,
            Some(text) => Some(text.parse::<i64>().ok().filter(|c| *c > 0).ok_or_else(|| {
                ApiError::invalid("cursor", "cursor must be a positive whole number")
            })?),
        };
        let limit = match non_empty(self.limit) {
            None => None,
            Some(text) => Some(
                text.parse::<u64>()
                    .ok()
                    .filter(|l| (1..=MAX_PAGE).contains(l))
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "limit",
                            format!("limit must be between 1 and {MAX_PAGE}"),
                        )
                    })?,
            ),
        };
        Ok(DeploymentFilter {
            environment: non_empty(self.environment),
            module: non_empty(self.module),
            status,
            cursor,
            limit,
        })
    }
}

/// `GET /api/v1/deployments?environment=&module=&status=&cursor=&limit=`: newest first.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<DeploymentPage>> {
    principal.require(Action::Read)?;
    let Query(query) = query?;
    let filter = query.parse()?;
    Ok(Json(
        state.read.deployments(&principal.tenant, &filter).await?,
    ))
}

/// `GET /api/v1/deployments/{id}`.
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    id: Result<Path<i64>, PathRejection>,
) -> ApiResult<Json<DeploymentSummary>> {
    principal.require(Action::Read)?;
    let Path(id) = id.map_err(|_| ApiError::invalid("id", "deployment ids are whole numbers"))?;
    Ok(Json(state.read.deployment(&principal.tenant, id).await?))
}
