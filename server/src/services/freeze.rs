//! Freeze windows per environment: a deployment requested inside one is
//! refused, naming the window, unless an Admin breaks the glass with a reason.

use std::collections::HashMap;

use app::model::environment::FreezeInfo;
use app::model::role::Action;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, JoinType,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Map, Value};

use crate::domain::freeze::Schedule;
use crate::entities::{environments, freeze_windows};
use crate::services::principal::Principal;
use crate::services::tenancy::scoped;
use crate::services::ServiceError;

/// The window in force, with what a person reads about it.
#[derive(Debug, Clone)]
pub struct InForce {
    pub name: String,
    pub schedule: String,
}

impl InForce {
    pub fn refusal(&self, environment: &str) -> String {
        format!(
            "{environment} is frozen: “{}” ({}). An Admin may override it with a reason (break glass).",
            self.name, self.schedule
        )
    }
}

async fn environment(
    db: &DatabaseConnection,
    principal: &Principal,
    name: &str,
) -> Result<environments::Model, ServiceError> {
    scoped::<environments::Entity>(&principal.tenant)
        .filter(environments::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("environment"))
}

fn schedule_of(row: &freeze_windows::Model) -> Option<Schedule> {
    serde_json::from_value(row.schedule.clone()).ok()
}

fn info(row: &freeze_windows::Model, environment: &str, now: DateTime<Utc>) -> FreezeInfo {
    let schedule = schedule_of(row);
    FreezeInfo {
        id: row.id,
        environment: environment.to_string(),
        name: row.name.clone(),
        schedule: schedule
            .as_ref()
            .map_or_else(|| "unreadable".into(), Schedule::describe),
        active: schedule.is_some_and(|s| s.covers(now)),
    }
}

pub async fn list(
    db: &DatabaseConnection,
    principal: &Principal,
    environment_name: &str,
) -> Result<Vec<FreezeInfo>, ServiceError> {
    principal.require(Action::Read)?;
    let env = environment(db, principal, environment_name).await?;
    let now = Utc::now();
    Ok(freeze_windows::Entity::find()
        .filter(freeze_windows::Column::EnvironmentId.eq(env.id))
        .order_by_asc(freeze_windows::Column::Id)
        .all(db)
        .await?
        .iter()
        .map(|row| info(row, &env.name, now))
        .collect())
}

/// Every window of the tenant, environment by environment.
pub async fn list_all(
    db: &DatabaseConnection,
    principal: &Principal,
) -> Result<Vec<FreezeInfo>, ServiceError> {
    principal.require(Action::Read)?;
    /// A window and the name of its environment, read together.
    #[derive(FromQueryResult)]
    struct Row {
        #[sea_orm(nested)]
        window: freeze_windows::Model,
        environment_name: String,
    }
    let now = Utc::now();
    let rows = freeze_windows::Entity::find()
        .column_as(environments::Column::Name, "environment_name")
        .join(
            JoinType::InnerJoin,
            freeze_windows::Entity::belongs_to(environments::Entity)
                .from(freeze_windows::Column::EnvironmentId)
                .to(environments::Column::Id)
                .into(),
        )
        .filter(freeze_windows::Column::TenantId.eq(principal.tenant.id))
        .filter(environments::Column::TenantId.eq(principal.tenant.id))
        .order_by_asc(environments::Column::Position)
        .order_by_asc(freeze_windows::Column::Id)
        .into_model::<Row>()
        .all(db)
        .await?;
    Ok(rows
        .iter()
        .map(|row| info(&row.window, &row.environment_name, now))
        .collect())
}

/// `body`: `{name, starts_at, ends_at}` or `{name, weekly: {day, from, to}}`.
pub async fn create(
    db: &DatabaseConnection,
    principal: &Principal,
    environment_name: &str,
    body: Map<String, Value>,
) -> Result<FreezeInfo, ServiceError> {
    principal.require(Action::ManageEnvironments)?;
    let env = environment(db, principal, environment_name).await?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty() && n.chars().count() <= 100)
        .ok_or_else(|| {
            ServiceError::invalid("name", "say what the freeze is for, in 1 to 100 characters")
        })?
        .to_string();
    let schedule = Schedule::parse(&Value::Object(body))
        .map_err(|e| ServiceError::invalid(e.field, e.message))?;
    let now = Utc::now();
    if schedule.is_over(now) {
        return Err(ServiceError::invalid(
            "ends_at",
            "this window is already over",
        ));
    }
    let row = freeze_windows::ActiveModel {
        tenant_id: Set(env.tenant_id),
        environment_id: Set(env.id),
        name: Set(name),
        schedule: Set(serde_json::to_value(&schedule).map_err(anyhow::Error::new)?),
        created_by: Set(Some(principal.user_id)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(info(&row, &env.name, now))
}

pub async fn delete(
    db: &DatabaseConnection,
    principal: &Principal,
    environment_name: &str,
    id: i64,
) -> Result<(), ServiceError> {
    principal.require(Action::ManageEnvironments)?;
    let env = environment(db, principal, environment_name).await?;
    let removed = freeze_windows::Entity::delete_many()
        .filter(freeze_windows::Column::Id.eq(id))
        .filter(freeze_windows::Column::EnvironmentId.eq(env.id))
        .exec(db)
        .await?;
    if removed.rows_affected == 0 {
        return Err(ServiceError::NotFound("freeze window"));
    }
    Ok(())
}

/// The first window of the environment in force at `now`, if any.
pub async fn in_force(
    db: &DatabaseConnection,
    environment_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<InForce>, ServiceError> {
    let rows = freeze_windows::Entity::find()
        .filter(freeze_windows::Column::EnvironmentId.eq(environment_id))
        .order_by_asc(freeze_windows::Column::Id)
        .all(db)
        .await?;
    Ok(in_force_among(rows, now).remove(&environment_id))
}

/// For every environment of the tenant with a window in force at `now`, the
/// first such window: one query for a whole page of environments.
pub async fn in_force_by_environment(
    db: &DatabaseConnection,
    tenant_id: i64,
    now: DateTime<Utc>,
) -> Result<HashMap<i64, InForce>, ServiceError> {
    let rows = freeze_windows::Entity::find()
        .filter(freeze_windows::Column::TenantId.eq(tenant_id))
        .order_by_asc(freeze_windows::Column::Id)
        .all(db)
        .await?;
    Ok(in_force_among(rows, now))
}

fn in_force_among(rows: Vec<freeze_windows::Model>, now: DateTime<Utc>) -> HashMap<i64, InForce> {
    let mut found = HashMap::new();
    for row in rows {
        let Some(schedule) = schedule_of(&row) else {
            continue;
        };
        if schedule.covers(now) {
            found.entry(row.environment_id).or_insert(InForce {
                name: row.name,
                schedule: schedule.describe(),
            });
        }
    }
    found
}
