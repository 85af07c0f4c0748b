use app::model::deployment::{
    DeploymentDetail, DeploymentFilter, DeploymentPage, DeploymentStatus, EventPage,
};
use app::model::role::Action;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use crate::http::extract::{id_cursor, whole_number, ApiJson, ApiQuery, Id};
use crate::services::deployments::{self, Acted, Created, NewDeployment, Verb};

use crate::http::error::{ApiError, ApiResult};
use crate::http::state::AppState;
use crate::services::principal::Principal;

/// Query parameters as sent; parsed here so each bad one is named.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    environment: Option<String>,
    module: Option<String>,
    requester: Option<String>,
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
        let cursor = non_empty(self.cursor).map(|c| id_cursor(&c)).transpose()?;
        let limit = non_empty(self.limit)
            .map(|l| whole_number("limit", &l))
            .transpose()?;
        Ok(DeploymentFilter {
            environment: non_empty(self.environment),
            module: non_empty(self.module),
            requester: non_empty(self.requester),
            status,
            cursor,
            limit,
        })
    }
}

/// `GET /api/v1/deployments?environment=&module=&requester=&status=&cursor=&limit=`: newest first.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<DeploymentPage>> {
    principal.require(Action::Read)?;
    let filter = query.parse()?;
    Ok(Json(
        state.read.deployments(&principal.tenant, &filter).await?,
    ))
}

/// `GET /api/v1/deployments/{id}`: status, plan, phase and every node's state.
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> ApiResult<Json<DeploymentDetail>> {
    principal.require(Action::Read)?;
    Ok(Json(
        deployments::detail(&state.db, &state.read, &principal.tenant, id).await?,
    ))
}

/// `POST /api/v1/deployments` `{module, version, environment, strategy?}` → 202 `{id, status}`.
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<NewDeployment>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let created = deployments::create(
        &state.db,
        &state.engine,
        &principal,
        body,
        state.deploy_rate(),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(created)))
}

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /api/v1/deployments/{id}/events?after=&limit=`: oldest first.
pub async fn events(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> ApiResult<Json<EventPage>> {
    principal.require(Action::Read)?;
    let after = match query.after.filter(|a| !a.is_empty()) {
        None => 0,
        Some(a) => a
            .parse::<i64>()
            .ok()
            .filter(|a| *a >= 0)
            .ok_or_else(|| ApiError::invalid("after", "an event id, 0 or more"))?,
    };
    let limit = match query.limit.filter(|l| !l.is_empty()) {
        None => 200,
        Some(l) => l
            .parse::<u64>()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| ApiError::invalid("limit", "limit must be between 1 and 1000"))?,
    };
    deployments::check_visible(&state.db, &principal.tenant, id).await?;
    let items =
        crate::services::events::of_deployment(&state.db, principal.tenant.id, id, after, limit)
            .await?;
    let last_id = items.last().map(|e| e.id).unwrap_or(after);
    Ok(Json(EventPage { items, last_id }))
}

async fn act(state: AppState, principal: Principal, id: i64, verb: Verb) -> ApiResult<Json<Acted>> {
    Ok(Json(
        deployments::act(&state.db, &state.engine, &principal, id, verb).await?,
    ))
}

macro_rules! action {
    ($name:ident, $verb:expr, $doc:literal) => {
        #[doc = $doc]
        pub async fn $name(
            State(state): State<AppState>,
            principal: Principal,
            Id(id): Id,
        ) -> ApiResult<Json<Acted>> {
            act(state, principal, id, $verb).await
        }
    };
}

action!(
    pause,
    Verb::Pause,
    "`POST /api/v1/deployments/{id}/pause`: stop before the next step."
);
action!(
    resume,
    Verb::Resume,
    "`POST /api/v1/deployments/{id}/resume`."
);
action!(
    abort,
    Verb::Abort,
    "`POST /api/v1/deployments/{id}/abort`: roll back what was swapped."
);
action!(
    promote,
    Verb::Promote,
    "`POST /api/v1/deployments/{id}/promote`: end the current wait now."
);
action!(rollback, Verb::Rollback, "`POST /api/v1/deployments/{id}/rollback`: abort a running one; for a finished one, deploy the version before it again.");
action!(
    cancel,
    Verb::Cancel,
    "`POST /api/v1/deployments/{id}/cancel`: withdraw one that has not started."
);
