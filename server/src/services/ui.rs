//! The server side of the app's service traits, used by server functions.
//! Each call acts for the principal of the request's session.

use app::error::AppError;
use app::model::dashboard::Dashboard;
use app::model::deployment::{DeploymentFilter, DeploymentPage};
use app::model::environment::EnvironmentSummary;
use app::model::role::Action;
use app::model::session::{TenantChoice, Viewer};
use async_trait::async_trait;
use axum::http::request::Parts;
use leptos::prelude::use_context;

use crate::http::auth::extract::from_session;
use crate::services::principal::Principal;
use crate::services::{tenants, users, ServiceError};
use crate::state::AppState;

/// Stateless: the application state and the request come from Leptos context.
pub struct UiService;

/// The request's state and signed-in principal, if any.
async fn request_principal() -> Result<(AppState, Option<Principal>), AppError> {
    let state = use_context::<AppState>().ok_or(AppError::Internal)?;
    let mut parts = use_context::<Parts>().ok_or(AppError::Internal)?;
    let principal = from_session(&mut parts, &state).await.map_err(|err| {
        tracing::error!(error = %err, "reading the session failed");
        AppError::Internal
    })?;
    Ok((state, principal))
}

/// The principal, who must be allowed `action`.
async fn acting(action: Action) -> Result<(AppState, Principal), AppError> {
    let (state, principal) = request_principal().await?;
    let principal = principal.ok_or(AppError::Unauthorized)?;
    principal.require(action)?;
    Ok((state, principal))
}

#[async_trait]
impl app::services::ReadService for UiService {
    async fn viewer(&self) -> Result<Option<Viewer>, AppError> {
        let (state, principal) = request_principal().await?;
        let Some(p) = principal else {
            return Ok(None);
        };
        let tenants = tenants::of_user(&state.db, p.user_id)
            .await?
            .into_iter()
            .map(|m| TenantChoice {
                slug: m.slug,
                name: m.name,
                role: m.role,
            })
            .collect();
        Ok(Some(Viewer {
            must_change_password: users::must_change_password(&state.db, p.user_id).await?,
            username: p.username,
            tenant: p.tenant.slug,
            role: p.role,
            is_platform_admin: p.is_platform_admin,
            tenants,
        }))
    }

    async fn dashboard(&self) -> Result<Dashboard, AppError> {
        let (state, p) = acting(Action::Read).await?;
        Ok(state.read.dashboard(&p.tenant).await?)
    }

    async fn environments(&self) -> Result<Vec<EnvironmentSummary>, AppError> {
        let (state, p) = acting(Action::Read).await?;
        Ok(state.read.environments(&p.tenant).await?)
    }

    async fn deployments(&self, filter: DeploymentFilter) -> Result<DeploymentPage, AppError> {
        let (state, p) = acting(Action::Read).await?;
        Ok(state.read.deployments(&p.tenant, &filter).await?)
    }
}

#[async_trait]
impl app::services::AccountService for UiService {
    async fn change_password(&self, current: String, new: String) -> Result<(), AppError> {
        let (state, p) = acting(Action::Read).await?;
        Ok(users::change_password(&state.db, p.user_id, &current, &new).await?)
    }
}

impl From<ServiceError> for AppError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound(_) => AppError::NotFound,
            ServiceError::Invalid { field, message } => AppError::Invalid {
                field: Some(field.to_string()),
                message,
            },
            ServiceError::Conflict(message) => AppError::Conflict(message),
            ServiceError::Unauthorized => AppError::Unauthorized,
            ServiceError::Forbidden(message) => AppError::Forbidden(message),
            ServiceError::TooManyAttempts { retry_after_secs } => AppError::Conflict(format!(
                "too many attempts; try again in {retry_after_secs} s"
            )),
            ServiceError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                AppError::Unavailable
            }
            ServiceError::Unexpected(cause) => {
                tracing::error!(error = ?cause, "server function failed");
                AppError::Internal
            }
        }
    }
}
