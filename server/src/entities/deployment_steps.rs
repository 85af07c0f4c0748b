use app::model::lifecycle::{StepAction, StepStatus};
use sea_orm::entity::prelude::*;

/// One action on one node (or on the environment, for a pool switch) in one phase.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "deployment_steps")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub deployment_id: i64,
    pub phase: i32,
    pub node_id: Option<i64>,
    pub action: StepAction,
    pub command_id: String,
    pub status: StepStatus,
    pub attempts: i32,
    pub result: Option<Json>,
    pub target_version: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
