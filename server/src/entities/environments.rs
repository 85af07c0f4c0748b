use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "environments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    pub position: i32,
    pub requires_approval: bool,
    pub required_approvals: i32,
    pub allow_self_approval: bool,
    pub approval_timeout_secs: i64,
    pub default_strategy: Json,
    pub analysis: Json,
    pub switch_hook: Option<Json>,
    pub freeze_windows: Json,
    pub active_pool: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
