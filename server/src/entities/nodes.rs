use app::model::lifecycle::NodeStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "nodes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub environment_id: i64,
    pub name: String,
    pub labels: Json,
    pub pool: Option<String>,
    pub status: NodeStatus,
    pub versions: Json,
    pub agent_version: Option<String>,
    pub credential_hash: Option<String>,
    pub last_heartbeat_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
