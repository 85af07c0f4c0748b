//! The server side of the app's service traits, used by server functions.
//! Each call acts for the principal of the request's session.

use std::sync::Arc;

use app::error::AppError;
use app::model::admin::{
    AddedMember, AuditPage, AuditQuery, CreatedToken, DeliveryInfo, Member, NewMember, TokenInfo,
    WebhookInfo,
};
use app::model::dashboard::Dashboard;
use app::model::deployment::{
    ApprovalInbox, DeployPreview, DeployRequest, DeploymentFilter, DeploymentPage, DeploymentView,
    Requested,
};
use app::model::environment::{EnvironmentSummary, FreezeInfo, NewFreeze, PolicyChange};
use app::model::module::{
    CreatedEnrollment, ModuleInfo, NodeFilter, NodePage, RunningVersion, VersionInfo,
};
use app::model::role::{Action, Role};
use app::model::session::{TenantChoice, Viewer};
use async_trait::async_trait;
use axum::http::request::Parts;
use leptos::prelude::use_context;
use tokio::sync::OnceCell;
use tower_sessions::Session;

use crate::domain::token::parse_lifetime;
use crate::services::audit::AuditFilter;
use crate::services::tokens::NewToken;
use crate::services::users::MemberChange;

use crate::http::auth::extract::{from_session, ActorSlot};
use crate::http::auth::session_auth;
use crate::http::state::AppState;
use crate::services::principal::Principal;
use crate::services::{audit, modules, nodes, tenants, tokens, users, ServiceError};

/// Stateless: the application state and the request come from Leptos context.
pub struct UiService;

/// What a request has read so far, provided afresh for every page and
/// server-function request (`router.rs`, `fallback.rs`). A page's resources
/// call server functions at once while it renders: the first reads, the
/// others wait for it and share it. A server function that changes the
/// session must not read the viewer through it afterwards.
#[derive(Clone, Default)]
pub struct PageMemo(Arc<Reads>);

#[derive(Default)]
struct Reads {
    principal: OnceCell<Option<Principal>>,
    /// The layout and the page itself may both ask who is signed in.
    viewer: OnceCell<Option<Viewer>>,
    /// Several panels of a page list the environments.
    environments: OnceCell<Vec<EnvironmentSummary>>,
}

/// `read` once per request, shared by the server functions it calls.
async fn once_per_page<T, F, Fut>(
    memo: Option<PageMemo>,
    cell: fn(&Reads) -> &OnceCell<T>,
    read: F,
) -> Result<T, AppError>
where
    T: Clone,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    match memo {
        Some(memo) => Ok(cell(&memo.0).get_or_try_init(read).await?.clone()),
        None => read().await,
    }
}

/// The request's state and signed-in principal, if any.
async fn request_principal() -> Result<(AppState, Option<Principal>), AppError> {
    let state = use_context::<AppState>().ok_or(AppError::Internal)?;
    let parts = use_context::<Parts>().ok_or(AppError::Internal)?;
    let principal = once_per_page(
        use_context::<PageMemo>(),
        |r| &r.principal,
        || session_principal(&state, parts),
    )
    .await?;
    Ok((state, principal))
}

async fn session_principal(
    state: &AppState,
    mut parts: Parts,
) -> Result<Option<Principal>, AppError> {
    let principal = from_session(&mut parts, state).await.map_err(|err| {
        tracing::error!(error = %err, "reading the session failed");
        AppError::Internal
    })?;
    // Tell the audit trail who acted (the slot is shared with the request's).
    if let (Some(slot), Some(p)) = (parts.extensions.get::<ActorSlot>(), &principal) {
        let _ = slot.0.set(p.clone());
    }
    Ok(principal)
}

/// Who is signed in, for the layout: name, tenant, role, tenants to switch to.
async fn read_viewer() -> Result<Option<Viewer>, AppError> {
    let (state, principal) = request_principal().await?;
    let Some(p) = principal else {
        return Ok(None);
    };
    let (tenants, last_event_id) = tokio::try_join!(
        tenants::of_user(&state.db, p.user_id),
        crate::services::events::newest_id(&state.db, Some(p.tenant.id)),
    )?;
    let tenants = tenants
        .into_iter()
        .map(|m| TenantChoice {
            slug: m.slug,
            name: m.name,
            role: m.role,
        })
        .collect();
    Ok(Some(Viewer {
        last_event_id,
        must_change_password: p.must_change_password,
        username: p.username,
        tenant: p.tenant.slug,
        role: p.role,
        is_platform_admin: p.is_platform_admin,
        tenants,
    }))
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
    async fn single_sign_on(&self) -> Result<Option<String>, AppError> {
        let state = use_context::<AppState>().ok_or(AppError::Internal)?;
        Ok(state.oidc.as_ref().map(|o| o.config.display_name.clone()))
    }

    async fn viewer(&self) -> Result<Option<Viewer>, AppError> {
        once_per_page(use_context::<PageMemo>(), |r| &r.viewer, read_viewer).await
    }

    async fn dashboard(&self) -> Result<Dashboard, AppError> {
        let (state, p) = acting(Action::Read).await?;
        Ok(state.read.dashboard(&p.tenant).await?)
    }

    async fn environments(&self) -> Result<Vec<EnvironmentSummary>, AppError> {
        once_per_page(
            use_context::<PageMemo>(),
            |r| &r.environments,
            || async {
                let (state, p) = acting(Action::Read).await?;
                Ok(state.read.environments(&p.tenant).await?)
            },
        )
        .await
    }

    async fn deployments(&self, filter: DeploymentFilter) -> Result<DeploymentPage, AppError> {
        let (state, p) = acting(Action::Read).await?;
        Ok(state.read.deployments(&p.tenant, &filter).await?)
    }

    async fn deployment(&self, id: i64) -> Result<DeploymentView, AppError> {
        let (state, p) = acting(Action::Read).await?;
        let mut detail =
            crate::services::deployments::detail(&state.db, &state.read, &p.tenant, id).await?;
        let events =
            crate::services::events::of_deployment(&state.db, p.tenant.id, id, 0, 1000).await?;
        let (shown, hidden_nodes) = app::model::deployment::nodes_to_show(
            std::mem::take(&mut detail.nodes),
            app::model::deployment::NODES_SHOWN,
        );
        detail.nodes = shown;
        Ok(DeploymentView {
            detail,
            hidden_nodes,
            events,
            now: chrono::Utc::now(),
        })
    }

    async fn nodes(&self, filter: NodeFilter) -> Result<NodePage, AppError> {
        let (state, p) = acting(Action::Read).await?;
        Ok(nodes::list(&state.db, &p.tenant, &filter).await?)
    }

    async fn running_versions(&self) -> Result<Vec<RunningVersion>, AppError> {
        let (state, p) = acting(Action::Read).await?;
        Ok(state.read.running_versions(&p.tenant).await?)
    }

    async fn modules(&self) -> Result<Vec<ModuleInfo>, AppError> {
        let (state, p) = acting(Action::Read).await?;
        Ok(modules::list(&state.db, &p.tenant).await?)
    }

    async fn versions(&self, module: String) -> Result<Vec<VersionInfo>, AppError> {
        let (state, p) = acting(Action::Read).await?;
        Ok(modules::versions(&state.db, &p.tenant, &module).await?)
    }

    async fn approvals(&self) -> Result<ApprovalInbox, AppError> {
        let (state, p) = acting(Action::Read).await?;
        Ok(crate::services::approvals::inbox(&state.db, &state.read, &p).await?)
    }

    async fn pending_approvals(&self) -> Result<u64, AppError> {
        let (state, p) = acting(Action::Read).await?;
        Ok(crate::services::approvals::pending_count(&state.db, &p).await?)
    }
}

#[async_trait]
impl app::services::OperateService for UiService {
    async fn decide(&self, id: i64, decision: String, comment: String) -> Result<(), AppError> {
        use crate::services::approvals::{decide, Decision};
        let (state, p) = acting(Action::Read).await?;
        let decision = match decision.as_str() {
            "approve" => Decision::Approved,
            "reject" => Decision::Rejected,
            _ => {
                return Err(AppError::Invalid {
                    field: Some("decision".into()),
                    message: "approve or reject".into(),
                })
            }
        };
        decide(&state.db, &state.engine, &p, id, decision, Some(comment)).await?;
        Ok(())
    }

    async fn act(&self, id: i64, verb: String) -> Result<i64, AppError> {
        use crate::services::deployments::{act, Verb};
        let (state, p) = acting(Action::Read).await?;
        let verb = Verb::parse(&verb).ok_or_else(|| AppError::Invalid {
            field: Some("verb".into()),
            message: "pause, resume, promote, abort, rollback or cancel".into(),
        })?;
        Ok(act(&state.db, &state.engine, &p, id, verb).await?.id)
    }

    async fn preview(&self, request: DeployRequest) -> Result<DeployPreview, AppError> {
        let (state, p) = acting(Action::Read).await?;
        let new = new_deployment(request)?;
        Ok(crate::services::deployments::preview(&state.db, &p, new).await?)
    }

    async fn request(&self, request: DeployRequest) -> Result<Requested, AppError> {
        let (state, p) = acting(Action::Read).await?;
        let new = new_deployment(request)?;
        let created = crate::services::deployments::create(
            &state.db,
            &state.engine,
            &p,
            new,
            state.deploy_rate(),
        )
        .await?;
        Ok(Requested {
            id: created.id,
            status: created.status,
        })
    }
}

/// The wizard's request as the deployment service takes it; an empty
/// strategy means the environment's default.
fn new_deployment(
    request: DeployRequest,
) -> Result<crate::services::deployments::NewDeployment, AppError> {
    let strategy = if request.strategy.trim().is_empty() {
        None
    } else {
        Some(
            serde_json::from_str(&request.strategy).map_err(|e| AppError::Invalid {
                field: Some("strategy".into()),
                message: format!("not a strategy document: {e}"),
            })?,
        )
    };
    Ok(crate::services::deployments::NewDeployment {
        module: request.module,
        version: request.version,
        environment: request.environment,
        strategy,
        override_freeze: Some(request.override_freeze).filter(|r| !r.trim().is_empty()),
    })
}

#[async_trait]
impl app::services::AccountService for UiService {
    async fn change_password(&self, current: String, new: String) -> Result<(), AppError> {
        let (state, p) = acting(Action::Read).await?;
        Ok(users::change_password(&state.db, p.user_id, &current, &new).await?)
    }
}

#[async_trait]
impl app::services::AdminService for UiService {
    async fn members(&self) -> Result<Vec<Member>, AppError> {
        let (state, p) = acting(Action::ManageUsers).await?;
        Ok(users::list(&state.db, &p).await?)
    }

    async fn add_member(&self, new: NewMember) -> Result<AddedMember, AppError> {
        let (state, p) = acting(Action::ManageUsers).await?;
        Ok(users::add(&state.db, &p, new).await?)
    }

    async fn update_member(
        &self,
        id: i64,
        role: Option<Role>,
        disabled: Option<bool>,
    ) -> Result<Member, AppError> {
        let (state, p) = acting(Action::ManageUsers).await?;
        Ok(users::update(
            &state.db,
            &p,
            id,
            MemberChange {
                role,
                disabled,
                account_disabled: None,
            },
        )
        .await?)
    }

    async fn tokens(&self) -> Result<Vec<TokenInfo>, AppError> {
        let (state, p) = acting(Action::ManageTokens).await?;
        Ok(tokens::list(&state.db, &p).await?)
    }

    async fn create_token(
        &self,
        name: String,
        role: Option<Role>,
        expires: Option<String>,
    ) -> Result<CreatedToken, AppError> {
        let (state, p) = acting(Action::ManageTokens).await?;
        let lifetime = expires
            .as_deref()
            .map(|text| parse_lifetime(text, &app::model::duration::TOKEN_LIFETIME))
            .transpose()
            .map_err(|message| AppError::Invalid {
                field: Some("expires".into()),
                message,
            })?;
        Ok(tokens::create(
            &state.db,
            &p,
            NewToken {
                name,
                role,
                lifetime,
            },
        )
        .await?)
    }

    async fn revoke_token(&self, id: i64) -> Result<TokenInfo, AppError> {
        let (state, p) = acting(Action::ManageTokens).await?;
        Ok(tokens::revoke(&state.db, &p, id).await?)
    }

    async fn audit(&self, query: AuditQuery) -> Result<AuditPage, AppError> {
        let (state, p) = acting(Action::ReadAudit).await?;
        let filter = AuditFilter {
            actor: query.actor.filter(|a| !a.trim().is_empty()),
            action: query.action.filter(|a| !a.trim().is_empty()),
            outcome: query.outcome.filter(|o| !o.trim().is_empty()),
            since: None,
            cursor: query.cursor,
            limit: None,
        };
        Ok(audit::list(&state.db, &p.tenant, p.is_platform_admin, &filter).await?)
    }

    async fn create_tenant(&self, slug: String, name: String) -> Result<TenantChoice, AppError> {
        let (state, p) = acting(Action::Read).await?;
        Ok(tenants::create(&state.db, &p, &slug, &name).await?)
    }

    async fn switch_tenant(&self, slug: String) -> Result<(), AppError> {
        let (state, p) = acting(Action::Read).await?;
        let parts = use_context::<Parts>().ok_or(AppError::Internal)?;
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(AppError::Internal)?;
        let tenant_id = tenants::membership_tenant_id(&state.db, p.user_id, &slug)
            .await?
            .ok_or(AppError::NotFound)?;
        let auth = session_auth::read(&session)
            .await
            .ok()
            .flatten()
            .ok_or(AppError::Unauthorized)?;
        session_auth::switch_tenant(&session, auth, tenant_id)
            .await
            .map_err(|_| AppError::Unavailable)
    }

    async fn update_policy(&self, change: PolicyChange) -> Result<(), AppError> {
        let (state, p) = acting(Action::ManageEnvironments).await?;
        let required: i64 =
            change
                .required_approvals
                .trim()
                .parse()
                .map_err(|_| AppError::Invalid {
                    field: Some("required_approvals".into()),
                    message: "a whole number from 1 to 10".into(),
                })?;
        let mut patch = serde_json::Map::new();
        patch.insert("requires_approval".into(), change.requires_approval.into());
        patch.insert("required_approvals".into(), required.into());
        patch.insert(
            "allow_self_approval".into(),
            change.allow_self_approval.into(),
        );
        patch.insert(
            "approval_timeout".into(),
            change.approval_timeout.trim().to_string().into(),
        );
        Ok(crate::services::environments::update(
            &state.db,
            &p,
            &change.environment,
            patch,
            &state.engine.config().switch_commands,
            &state.engine.config().outbound,
        )
        .await?)
    }

    async fn webhooks(&self) -> Result<Vec<WebhookInfo>, AppError> {
        let (state, p) = acting(Action::ManageEnvironments).await?;
        Ok(crate::services::webhooks::list(&state.db, &p).await?)
    }

    async fn create_webhook(
        &self,
        url: String,
        format: String,
        events: Vec<String>,
    ) -> Result<WebhookInfo, AppError> {
        let (state, p) = acting(Action::ManageEnvironments).await?;
        let new = crate::services::webhooks::NewWebhook {
            url,
            events: (!events.is_empty()).then_some(events),
            format: Some(format).filter(|f| !f.is_empty()),
        };
        Ok(
            crate::services::webhooks::create(&state.db, &p, new, &state.engine.config().outbound)
                .await?,
        )
    }

    async fn delete_webhook(&self, id: i64) -> Result<(), AppError> {
        let (state, p) = acting(Action::ManageEnvironments).await?;
        Ok(crate::services::webhooks::delete(&state.db, &p, id).await?)
    }

    async fn deliveries(&self, id: i64) -> Result<Vec<DeliveryInfo>, AppError> {
        let (state, p) = acting(Action::ManageEnvironments).await?;
        Ok(crate::services::webhooks::deliveries(&state.db, &p, id).await?)
    }

    async fn freeze_windows(&self) -> Result<Vec<FreezeInfo>, AppError> {
        let (state, p) = acting(Action::Read).await?;
        Ok(crate::services::freeze::list_all(&state.db, &p).await?)
    }

    async fn add_freeze_window(&self, new: NewFreeze) -> Result<FreezeInfo, AppError> {
        let (state, p) = acting(Action::ManageEnvironments).await?;
        let mut body = serde_json::Map::new();
        body.insert("name".into(), new.name.into());
        if new.kind == "weekly" {
            body.insert(
                "weekly".into(),
                serde_json::json!({"day": new.day, "from": new.from, "to": new.to}),
            );
        } else {
            body.insert("starts_at".into(), new.starts_at.into());
            body.insert("ends_at".into(), new.ends_at.into());
        }
        Ok(crate::services::freeze::create(&state.db, &p, &new.environment, body).await?)
    }

    async fn remove_freeze_window(&self, environment: String, id: i64) -> Result<(), AppError> {
        let (state, p) = acting(Action::ManageEnvironments).await?;
        Ok(crate::services::freeze::delete(&state.db, &p, &environment, id).await?)
    }

    async fn create_enrollment_token(
        &self,
        environment: String,
        pool: Option<String>,
        expires: Option<String>,
    ) -> Result<CreatedEnrollment, AppError> {
        let (state, p) = acting(Action::ManageEnvironments).await?;
        Ok(nodes::create_enrollment_token(
            &state.db,
            &p,
            &environment,
            nodes::NewEnrollmentToken {
                pool,
                expires,
                uses: None,
            },
        )
        .await?)
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
            ServiceError::TooManyAttempts { retry_after_secs } => {
                AppError::TooManyRequests { retry_after_secs }
            }
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
