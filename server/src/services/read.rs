//! Read models for pages and the REST API.

use std::collections::{BTreeMap, HashMap, HashSet};

use app::model::dashboard::{Dashboard, MatrixRow, Progress, WeekStats};
use app::model::deployment::{
    DeploymentFilter, DeploymentPage, DeploymentStatus, DeploymentSummary,
};
use app::model::environment::EnvironmentSummary;
use app::model::lifecycle::{NodeStatus, StepAction, StepStatus};
use chrono::{Duration, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::domain::strategy::summarize;
use crate::entities::{
    deployment_steps, deployments, environments, module_versions, modules, nodes, users,
};
use crate::services::tenancy::{scoped, Tenant};
use crate::services::ServiceError;

/// The most deployments one page lists.
pub const MAX_PAGE: u64 = 100;
const DEFAULT_PAGE: u64 = 25;
const RECENT_ON_DASHBOARD: u64 = 10;

#[derive(Clone)]
pub struct ReadModel {
    db: DatabaseConnection,
}

impl ReadModel {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn environments(
        &self,
        tenant: &Tenant,
    ) -> Result<Vec<EnvironmentSummary>, ServiceError> {
        let envs = scoped::<environments::Entity>(tenant)
            .order_by_asc(environments::Column::Position)
            .order_by_asc(environments::Column::Id)
            .all(&self.db)
            .await?;
        let nodes = scoped::<nodes::Entity>(tenant)
            .select_only()
            .column(nodes::Column::EnvironmentId)
            .column(nodes::Column::Status)
            .into_tuple::<(i64, NodeStatus)>()
            .all(&self.db)
            .await?;
        let mut frozen =
            crate::services::freeze::in_force_by_environment(&self.db, tenant.id, Utc::now())
                .await?;
        Ok(envs
            .into_iter()
            .map(|e| {
                let here = nodes.iter().filter(|(env, _)| *env == e.id);
                EnvironmentSummary {
                    frozen: frozen
                        .remove(&e.id)
                        .map(|w| format!("frozen: “{}” ({})", w.name, w.schedule)),
                    nodes_total: here.clone().count() as u64,
                    nodes_online: here
                        .filter(|(_, status)| *status == NodeStatus::Online)
                        .count() as u64,
                    default_strategy: summarize(&e.default_strategy),
                    active_pool: e.active_pool,
                    name: e.name,
                    requires_approval: e.requires_approval,
                    required_approvals: e.required_approvals,
                    allow_self_approval: e.allow_self_approval,
                    approval_timeout_secs: e.approval_timeout_secs,
                }
            })
            .collect())
    }

    pub async fn deployments(
        &self,
        tenant: &Tenant,
        filter: &DeploymentFilter,
    ) -> Result<DeploymentPage, ServiceError> {
        let limit = filter.limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(ServiceError::invalid(
                "limit",
                format!("limit must be between 1 and {MAX_PAGE}"),
            ));
        }
        let mut query = scoped::<deployments::Entity>(tenant);
        if let Some(name) = &filter.environment {
            match self.environment_id(tenant, name).await? {
                Some(id) => query = query.filter(deployments::Column::EnvironmentId.eq(id)),
                None => return Ok(empty_page()),
            }
        }
        if let Some(name) = &filter.module {
            let module = scoped::<modules::Entity>(tenant)
                .filter(modules::Column::Name.eq(name.as_str()))
                .one(&self.db)
                .await?;
            match module {
                Some(m) => query = query.filter(deployments::Column::ModuleId.eq(m.id)),
                None => return Ok(empty_page()),
            }
        }
        if let Some(name) = &filter.requester {
            let user = users::Entity::find()
                .filter(users::Column::Username.eq(name.as_str()))
                .one(&self.db)
                .await?;
            match user {
                Some(u) => query = query.filter(deployments::Column::RequestedBy.eq(u.id)),
                None => return Ok(empty_page()),
            }
        }
        if let Some(status) = filter.status {
            query = query.filter(deployments::Column::Status.eq(status.as_str()));
        }
        if let Some(cursor) = filter.cursor {
            query = query.filter(deployments::Column::Id.lt(cursor));
        }
        let mut rows = query
            .order_by_desc(deployments::Column::Id)
            .limit(limit + 1)
            .all(&self.db)
            .await?;
        let next_cursor = if rows.len() as u64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|d| d.id)
        } else {
            None
        };
        Ok(DeploymentPage {
            items: self.summaries(rows).await?,
            next_cursor,
            now: Utc::now(),
        })
    }

    /// One deployment; another tenant's is "not found", never "forbidden".
    pub async fn deployment(
        &self,
        tenant: &Tenant,
        id: i64,
    ) -> Result<DeploymentSummary, ServiceError> {
        let row = scoped::<deployments::Entity>(tenant)
            .filter(deployments::Column::Id.eq(id))
            .one(&self.db)
            .await?
            .ok_or(ServiceError::NotFound("deployment"))?;
        self.summaries(vec![row])
            .await?
            .pop()
            .ok_or(ServiceError::NotFound("deployment"))
    }

    pub async fn dashboard(&self, tenant: &Tenant) -> Result<Dashboard, ServiceError> {
        let now = Utc::now();
        let environments = self.environments(tenant).await?;
        let env_rows = scoped::<environments::Entity>(tenant).all(&self.db).await?;
        let env_names: HashMap<i64, String> =
            env_rows.into_iter().map(|e| (e.id, e.name)).collect();

        let active = scoped::<deployments::Entity>(tenant)
            .filter(deployments::Column::Status.is_in(DeploymentStatus::active()))
            .order_by_desc(deployments::Column::Id)
            .all(&self.db)
            .await?;
        let recent = scoped::<deployments::Entity>(tenant)
            .order_by_desc(deployments::Column::Id)
            .limit(RECENT_ON_DASHBOARD)
            .all(&self.db)
            .await?;

        // What runs where: the newest successful deployment per (environment, module).
        let succeeded = scoped::<deployments::Entity>(tenant)
            .filter(deployments::Column::Status.eq(DeploymentStatus::Succeeded.as_str()))
            .order_by_desc(deployments::Column::Id)
            .all(&self.db)
            .await?;
        let module_names: BTreeMap<i64, String> = scoped::<modules::Entity>(tenant)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (m.id, m.name))
            .collect();
        let mut deployed_modules: Vec<(i64, String)> = module_names
            .iter()
            .filter(|(id, _)| succeeded.iter().chain(&active).any(|d| d.module_id == **id))
            .map(|(id, name)| (*id, name.clone()))
            .collect();
        deployed_modules.sort_by(|a, b| a.1.cmp(&b.1));
        let mut current: HashMap<(i64, i64), i64> = HashMap::new();
        for d in &succeeded {
            current
                .entry((d.environment_id, d.module_id))
                .or_insert(d.module_version_id);
        }
        let version_ids: Vec<i64> = current.values().copied().collect();
        let versions = self.version_names(&version_ids).await?;
        let env_ids: HashMap<&str, i64> =
            env_names.iter().map(|(id, n)| (n.as_str(), *id)).collect();
        // What the nodes themselves report, per (environment, module).
        let mut reported: HashMap<(i64, String), BTreeMap<String, u64>> = HashMap::new();
        for node in scoped::<nodes::Entity>(tenant).all(&self.db).await? {
            if let Some(map) = node.versions.as_object() {
                for (module, version) in map {
                    if let Some(version) = version.as_str() {
                        *reported
                            .entry((node.environment_id, module.clone()))
                            .or_default()
                            .entry(version.to_string())
                            .or_default() += 1;
                    }
                }
            }
        }
        let matrix = environments
            .iter()
            .map(|e| {
                let env_id = env_ids.get(e.name.as_str()).copied();
                MatrixRow {
                    environment: e.name.clone(),
                    cells: deployed_modules
                        .iter()
                        .map(|(module_id, _)| {
                            current
                                .get(&(env_id?, *module_id))
                                .and_then(|v| versions.get(v).cloned())
                        })
                        .collect(),
                    reported: deployed_modules
                        .iter()
                        .map(|(_, module)| {
                            env_id
                                .and_then(|id| reported.get(&(id, module.clone())))
                                .map(|counts| counts.iter().map(|(v, n)| (v.clone(), *n)).collect())
                                .unwrap_or_default()
                        })
                        .collect(),
                }
            })
            .collect();
        let progress = self.progress(&active).await?;

        let week_ago = now - Duration::days(7);
        let finished: Vec<_> = scoped::<deployments::Entity>(tenant)
            .filter(deployments::Column::FinishedAt.gte(week_ago))
            .all(&self.db)
            .await?;
        let durations: Vec<f64> = finished
            .iter()
            .filter_map(|d| {
                let end = d.finished_at?;
                let start = d.started_at.unwrap_or(d.created_at);
                Some((end - start).num_milliseconds() as f64 / 1000.0)
            })
            .collect();
        let week = WeekStats {
            finished: finished.len() as u64,
            succeeded: finished
                .iter()
                .filter(|d| d.status == DeploymentStatus::Succeeded)
                .count() as u64,
            mean_duration_secs: (!durations.is_empty())
                .then(|| durations.iter().sum::<f64>() / durations.len() as f64),
        };

        Ok(Dashboard {
            tenant: tenant.slug.clone(),
            environments,
            modules: deployed_modules.into_iter().map(|(_, name)| name).collect(),
            matrix,
            active: self.summaries(active).await?,
            progress,
            recent: self.summaries(recent).await?,
            week,
            now,
        })
    }

    /// Nodes swapped so far of the nodes each deployment plans.
    async fn progress(&self, deps: &[deployments::Model]) -> Result<Vec<Progress>, ServiceError> {
        let ids: Vec<i64> = deps.iter().map(|d| d.id).collect();
        let done = deployment_steps::Entity::find()
            .filter(deployment_steps::Column::DeploymentId.is_in(ids))
            .filter(deployment_steps::Column::Action.eq(StepAction::Swap))
            .filter(deployment_steps::Column::Status.eq(StepStatus::Done))
            .all(&self.db)
            .await?;
        Ok(deps
            .iter()
            .map(|d| {
                let plan = d.plan.plan();
                let planned: HashSet<i64> = plan
                    .iter()
                    .flat_map(|p| p.phases.iter().flat_map(|ph| ph.nodes.iter().copied()))
                    .collect();
                let swapped: HashSet<i64> = done
                    .iter()
                    .filter(|s| s.deployment_id == d.id)
                    .filter_map(|s| s.node_id)
                    .collect();
                Progress {
                    swapped: swapped.len() as u64,
                    planned: planned.len() as u64,
                    phase: plan.and_then(|p| {
                        usize::try_from(d.current_phase)
                            .ok()
                            .and_then(|i| p.phases.get(i).map(|ph| ph.label.clone()))
                    }),
                }
            })
            .collect())
    }

    async fn environment_id(
        &self,
        tenant: &Tenant,
        name: &str,
    ) -> Result<Option<i64>, ServiceError> {
        Ok(scoped::<environments::Entity>(tenant)
            .filter(environments::Column::Name.eq(name))
            .one(&self.db)
            .await?
            .map(|e| e.id))
    }

    async fn version_names(&self, ids: &[i64]) -> Result<HashMap<i64, String>, ServiceError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(module_versions::Entity::find()
            .filter(module_versions::Column::Id.is_in(ids.iter().copied()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|v| (v.id, v.version))
            .collect())
    }

    /// Joins the names a person reads onto deployment rows, with one query per table.
    pub(crate) async fn summaries(
        &self,
        rows: Vec<deployments::Model>,
    ) -> Result<Vec<DeploymentSummary>, ServiceError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids = |f: fn(&deployments::Model) -> Option<i64>| -> Vec<i64> {
            rows.iter()
                .filter_map(f)
                .collect::<HashSet<_>>()
                .into_iter()
                .collect()
        };
        let module_ids = ids(|d| Some(d.module_id));
        let env_ids = ids(|d| Some(d.environment_id));
        let user_ids = ids(|d| d.requested_by);
        let versions = self
            .version_names(&ids(|d| Some(d.module_version_id)))
            .await?;
        let modules: HashMap<i64, String> = modules::Entity::find()
            .filter(modules::Column::Id.is_in(module_ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (m.id, m.name))
            .collect();
        let envs: HashMap<i64, String> = environments::Entity::find()
            .filter(environments::Column::Id.is_in(env_ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|e| (e.id, e.name))
            .collect();
        let users: HashMap<i64, String> = if user_ids.is_empty() {
            HashMap::new()
        } else {
            users::Entity::find()
                .filter(users::Column::Id.is_in(user_ids))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|u| (u.id, u.username))
                .collect()
        };
        rows.into_iter()
            .map(|d| {
                let status = d.status;
                Ok(DeploymentSummary {
                    id: d.id,
                    module: modules.get(&d.module_id).cloned().unwrap_or_default(),
                    version: versions
                        .get(&d.module_version_id)
                        .cloned()
                        .unwrap_or_default(),
                    environment: envs.get(&d.environment_id).cloned().unwrap_or_default(),
                    strategy: d.strategy.summary(),
                    status,
                    requested_by: d.requested_by.and_then(|u| users.get(&u).cloned()),
                    created_at: d.created_at,
                    finished_at: d.finished_at,
                })
            })
            .collect()
    }
}

fn empty_page() -> DeploymentPage {
    DeploymentPage {
        items: Vec::new(),
        next_cursor: None,
        now: Utc::now(),
    }
}
