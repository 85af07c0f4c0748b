//! The seams between server functions and the server crate. The app declares
//! what it needs; `server` implements it and provides [`Services`] as context.

use std::sync::Arc;

use async_trait::async_trait;
use leptos::prelude::use_context;

use crate::error::AppError;
use crate::model::admin::{
    AddedMember, AuditPage, AuditQuery, CreatedToken, DeliveryInfo, Member, NewMember, TokenInfo,
    WebhookInfo,
};
use crate::model::dashboard::Dashboard;
use crate::model::deployment::{
    ApprovalInbox, DeployPreview, DeploymentFilter, DeploymentPage, DeploymentView, Requested,
};
use crate::model::environment::{EnvironmentSummary, FreezeInfo, NewFreeze, PolicyChange};
use crate::model::module::{
    CreatedEnrollment, ModuleInfo, NodeFilter, NodePage, RunningVersion, VersionInfo,
};
use crate::model::role::Role;
use crate::model::session::TenantChoice;
use crate::model::session::Viewer;

/// Read models for the pages, for the signed-in viewer of the request.
#[async_trait]
pub trait ReadService: Send + Sync {
    async fn viewer(&self) -> Result<Option<Viewer>, AppError>;
    /// The name of the single sign-on provider, when one is configured.
    async fn single_sign_on(&self) -> Result<Option<String>, AppError>;
    async fn dashboard(&self) -> Result<Dashboard, AppError>;
    async fn environments(&self) -> Result<Vec<EnvironmentSummary>, AppError>;
    async fn deployments(&self, filter: DeploymentFilter) -> Result<DeploymentPage, AppError>;
    async fn deployment(&self, id: i64) -> Result<DeploymentView, AppError>;
    async fn nodes(&self, filter: NodeFilter) -> Result<NodePage, AppError>;
    /// What the nodes of each environment report running, per module.
    async fn running_versions(&self) -> Result<Vec<RunningVersion>, AppError>;
    async fn modules(&self) -> Result<Vec<ModuleInfo>, AppError>;
    async fn versions(&self, module: String) -> Result<Vec<VersionInfo>, AppError>;
    async fn approvals(&self) -> Result<ApprovalInbox, AppError>;
    /// How many approval requests are pending, for the navigation.
    async fn pending_approvals(&self) -> Result<u64, AppError>;
}

/// Acting on deployments: decisions and operator actions.
#[async_trait]
pub trait OperateService: Send + Sync {
    /// `approve` or `reject`, with a comment (required to reject).
    async fn decide(&self, id: i64, decision: String, comment: String) -> Result<(), AppError>;
    /// pause, resume, promote, abort, rollback, cancel; answers the id of the
    /// deployment acted on (a rollback of a finished one starts a new one).
    async fn act(&self, id: i64, verb: String) -> Result<i64, AppError>;
    /// What a deployment would do; `strategy` is the JSON strategy document.
    async fn preview(&self, request: DeployRequest) -> Result<DeployPreview, AppError>;
    async fn request(&self, request: DeployRequest) -> Result<Requested, AppError>;
}

pub use crate::model::deployment::DeployRequest;

/// The signed-in person's own account.
#[async_trait]
pub trait AccountService: Send + Sync {
    async fn change_password(&self, current: String, new: String) -> Result<(), AppError>;
}

/// Administration of the viewer's tenant (Admins), and of tenants (platform admins).
#[async_trait]
pub trait AdminService: Send + Sync {
    async fn members(&self) -> Result<Vec<Member>, AppError>;
    async fn add_member(&self, new: NewMember) -> Result<AddedMember, AppError>;
    async fn update_member(
        &self,
        id: i64,
        role: Option<Role>,
        disabled: Option<bool>,
    ) -> Result<Member, AppError>;
    async fn tokens(&self) -> Result<Vec<TokenInfo>, AppError>;
    async fn create_token(
        &self,
        name: String,
        role: Option<Role>,
        expires: Option<String>,
    ) -> Result<CreatedToken, AppError>;
    async fn revoke_token(&self, id: i64) -> Result<TokenInfo, AppError>;
    async fn audit(&self, query: AuditQuery) -> Result<AuditPage, AppError>;
    async fn create_tenant(&self, slug: String, name: String) -> Result<TenantChoice, AppError>;
    async fn switch_tenant(&self, slug: String) -> Result<(), AppError>;
    async fn update_policy(&self, change: PolicyChange) -> Result<(), AppError>;
    async fn webhooks(&self) -> Result<Vec<WebhookInfo>, AppError>;
    /// `events`: the subscribed event names (none: all of them).
    async fn create_webhook(
        &self,
        url: String,
        format: String,
        events: Vec<String>,
    ) -> Result<WebhookInfo, AppError>;
    async fn delete_webhook(&self, id: i64) -> Result<(), AppError>;
    async fn deliveries(&self, id: i64) -> Result<Vec<DeliveryInfo>, AppError>;
    /// Every freeze window of the tenant, environment by environment.
    async fn freeze_windows(&self) -> Result<Vec<FreezeInfo>, AppError>;
    async fn add_freeze_window(&self, new: NewFreeze) -> Result<FreezeInfo, AppError>;
    async fn remove_freeze_window(&self, environment: String, id: i64) -> Result<(), AppError>;
    async fn create_enrollment_token(
        &self,
        environment: String,
        pool: Option<String>,
        expires: Option<String>,
    ) -> Result<CreatedEnrollment, AppError>;
}

/// Everything server functions may call, provided as Leptos context.
#[derive(Clone)]
pub struct Services {
    pub read: Arc<dyn ReadService>,
    pub account: Arc<dyn AccountService>,
    pub admin: Arc<dyn AdminService>,
    pub operate: Arc<dyn OperateService>,
}

/// The services of the current request; an error if the server forgot to
/// provide them (a wiring bug, reported as an internal error).
pub fn services() -> Result<Services, AppError> {
    use_context::<Services>().ok_or(AppError::Internal)
}
