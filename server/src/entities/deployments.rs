use app::model::lifecycle::{DeploymentStatus, Stage};
use sea_orm::entity::prelude::*;

use crate::domain::plan::StoredPlan;
use crate::domain::strategy::StoredStrategy;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "deployments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub module_id: i64,
    pub module_version_id: i64,
    pub environment_id: i64,
    pub strategy: StoredStrategy,
    /// Written when the deployment starts.
    pub plan: StoredPlan,
    pub status: DeploymentStatus,
    pub current_phase: i32,
    pub outcome: Option<String>,
    pub requested_by: Option<i64>,
    pub rollback_of: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    /// Where the engine is inside the current phase.
    pub stage: Stage,
    pub phase_started_at: Option<DateTimeUtc>,
    /// An operator asked to end the current wait early (promote).
    pub skip_wait: bool,
    pub analyzed_at: Option<DateTimeUtc>,
    /// When a pending approval request expires.
    pub approval_deadline: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
