//! Read models for pages and the REST API.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use app::model::dashboard::{Dashboard, MatrixRow, Progress, WeekStats};
use app::model::deployment::{
    DeploymentFilter, DeploymentPage, DeploymentStatus, DeploymentSummary,
};
use app::model::environment::EnvironmentSummary;
use app::model::lifecycle::{NodeStatus, StepAction, StepStatus};
use app::model::module::RunningVersion;
use chrono::{Duration, Utc};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    FromQueryResult, JoinType, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Statement,
};

use crate::domain::strategy::{summarize, StoredStrategy};
use crate::entities::{
    deployment_steps, deployments, environments, module_versions, modules, nodes, users,
};
use crate::services::recent::Recent;
use crate::services::sql::{self, page, scalar, PageSize};
use crate::services::tenancy::{environment_named, scoped, Tenant};
use crate::services::ServiceError;

/// One page of the deployment list.
pub const DEPLOYMENT_PAGE: PageSize = PageSize {
    default: 25,
    max: 100,
};
const RECENT_ON_DASHBOARD: u64 = 10;
/// Active deployments are bounded by one per (module, environment) anyway.
const MAX_ACTIVE_ON_DASHBOARD: u64 = 500;

/// Nodes running each version, per (environment id, module).
pub type Reports = HashMap<(i64, String), BTreeMap<String, u64>>;

/// How long an aggregate that reads many rows is reused: what nodes report
/// (they report on swaps and heartbeats; the pages showing it update live)
/// and the week's figures (a window of seven days).
const AGGREGATE_FOR: StdDuration = StdDuration::from_secs(2);

#[derive(Clone)]
pub struct ReadModel {
    db: DatabaseConnection,
    reported: Arc<Recent<Reports>>,
    week: Arc<Recent<WeekStats>>,
}

impl ReadModel {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            reported: Arc::new(Recent::new(AGGREGATE_FOR)),
            week: Arc::new(Recent::new(AGGREGATE_FOR)),
        }
    }

    pub async fn environments(
        &self,
        tenant: &Tenant,
    ) -> Result<Vec<EnvironmentSummary>, ServiceError> {
        let envs = self.environment_rows(tenant).await?;
        self.summarize_environments(tenant, envs).await
    }

    async fn environment_rows(
        &self,
        tenant: &Tenant,
    ) -> Result<Vec<environments::Model>, ServiceError> {
        Ok(scoped::<environments::Entity>(tenant)
            .order_by_asc(environments::Column::Position)
            .order_by_asc(environments::Column::Id)
            .all(&self.db)
            .await?)
    }

    async fn summarize_environments(
        &self,
        tenant: &Tenant,
        envs: Vec<environments::Model>,
    ) -> Result<Vec<EnvironmentSummary>, ServiceError> {
        // Counted in the database: one row per (environment, status).
        let counts: Vec<(i64, NodeStatus, i64)> = scoped::<nodes::Entity>(tenant)
            .select_only()
            .column(nodes::Column::EnvironmentId)
            .column(nodes::Column::Status)
            .column_as(nodes::Column::Id.count(), "n")
            .group_by(nodes::Column::EnvironmentId)
            .group_by(nodes::Column::Status)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut frozen =
            crate::services::freeze::in_force_by_environment(&self.db, tenant.id, Utc::now())
                .await?;
        Ok(envs
            .into_iter()
            .map(|e| {
                let here = counts.iter().filter(|(env, _, _)| *env == e.id);
                EnvironmentSummary {
                    frozen: frozen
                        .remove(&e.id)
                        .map(|w| format!("frozen: “{}” ({})", w.name, w.schedule)),
                    nodes_total: here.clone().map(|(_, _, n)| *n as u64).sum(),
                    nodes_online: here
                        .filter(|(_, status, _)| *status == NodeStatus::Online)
                        .map(|(_, _, n)| *n as u64)
                        .sum(),
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

    /// One page of the list: one query, whatever the filter. A filter by
    /// name is a scalar subquery, so the database walks the matching
    /// `(tenant, column, id)` index downwards and stops after a page.
    pub fn list_query(
        tenant: &Tenant,
        filter: &DeploymentFilter,
    ) -> Result<Select<deployments::Entity>, ServiceError> {
        let limit = DEPLOYMENT_PAGE.limit(filter.limit)?;
        let mut query = summary_query(tenant);
        let column = |c: deployments::Column| Expr::col((deployments::Entity, c));
        if let Some(name) = &filter.environment {
            query = query.filter(
                column(deployments::Column::EnvironmentId).eq(environment_named(tenant, name)),
            );
        }
        if let Some(name) = &filter.module {
            let id = Query::select()
                .column(modules::Column::Id)
                .from(modules::Entity)
                .and_where(modules::Column::TenantId.eq(tenant.id))
                .and_where(modules::Column::Name.eq(name.as_str()))
                .to_owned();
            query = query.filter(column(deployments::Column::ModuleId).eq(scalar(id)));
        }
        if let Some(name) = &filter.requester {
            let id = Query::select()
                .column(users::Column::Id)
                .from(users::Entity)
                .and_where(users::Column::Username.eq(name.as_str()))
                .to_owned();
            query = query.filter(column(deployments::Column::RequestedBy).eq(scalar(id)));
        }
        if let Some(status) = filter.status {
            query = query.filter(deployments::Column::Status.eq(status));
        }
        if let Some(cursor) = filter.cursor {
            query = query.filter(deployments::Column::Id.lt(cursor));
        }
        Ok(query.limit(PageSize::fetch(limit)))
    }

    pub async fn deployments(
        &self,
        tenant: &Tenant,
        filter: &DeploymentFilter,
    ) -> Result<DeploymentPage, ServiceError> {
        let limit = DEPLOYMENT_PAGE.limit(filter.limit)?;
        let statement = sql::limited(
            self.db.get_database_backend(),
            Self::list_query(tenant, filter)?.into_query(),
            PageSize::fetch(limit),
        );
        let rows: Vec<DeploymentSummary> = SummaryRow::find_by_statement(statement)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        let (items, next_cursor) = page(rows, limit, |d| d.id);
        Ok(DeploymentPage {
            items,
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
        summary_query(tenant)
            .filter(deployments::Column::Id.eq(id))
            .into_model::<SummaryRow>()
            .one(&self.db)
            .await?
            .map(Into::into)
            .ok_or(ServiceError::NotFound("deployment"))
    }

    /// The summaries of these deployments of the tenant, in the order given.
    pub(crate) async fn summaries_of(
        &self,
        tenant: &Tenant,
        ids: &[i64],
    ) -> Result<Vec<DeploymentSummary>, ServiceError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut found: HashMap<i64, DeploymentSummary> = summary_query(tenant)
            .filter(deployments::Column::Id.is_in(ids.iter().copied()))
            .into_model::<SummaryRow>()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| (row.id, row.into()))
            .collect();
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    pub async fn dashboard(&self, tenant: &Tenant) -> Result<Dashboard, ServiceError> {
        let now = Utc::now();
        let env_rows = self.environment_rows(tenant).await?;
        let env_ids: Vec<i64> = env_rows.iter().map(|e| e.id).collect();
        let environments = self.summarize_environments(tenant, env_rows).await?;

        // Sorted here, not by the database: ordered by id, SQLite would walk
        // every deployment newest first looking for the few active ones,
        // rather than seek each active status in its index.
        let backend = self.db.get_database_backend();
        let active_query = scoped::<deployments::Entity>(tenant)
            .filter(deployments::Column::Status.is_in(DeploymentStatus::active()))
            .into_query();
        let mut active = deployments::Model::find_by_statement(sql::limited(
            backend,
            active_query,
            MAX_ACTIVE_ON_DASHBOARD,
        ))
        .all(&self.db)
        .await?;
        active.sort_by_key(|d| std::cmp::Reverse(d.id));
        let recent: Vec<DeploymentSummary> = SummaryRow::find_by_statement(sql::limited(
            backend,
            summary_query(tenant).into_query(),
            RECENT_ON_DASHBOARD,
        ))
        .all(&self.db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();

        // What runs where: the version of the newest successful deployment
        // of each (environment, module), one index look-up per cell.
        let cells = self.current_versions(tenant).await?;
        let active_modules: HashSet<i64> = active.iter().map(|d| d.module_id).collect();
        let mut modules: Vec<(i64, String)> = cells
            .iter()
            .filter(|c| c.version.is_some() || active_modules.contains(&c.module_id))
            .map(|c| (c.module_id, c.module.clone()))
            .collect();
        let current: HashMap<(i64, i64), String> = cells
            .into_iter()
            .filter_map(|c| Some(((c.environment_id, c.module_id), c.version?)))
            .collect();
        modules.sort_by(|a, b| a.1.cmp(&b.1));
        modules.dedup();
        let reported = self.reported_versions(tenant).await?;
        let matrix = environments
            .iter()
            .zip(&env_ids)
            .map(|(e, env_id)| MatrixRow {
                environment: e.name.clone(),
                cells: modules
                    .iter()
                    .map(|(module_id, _)| current.get(&(*env_id, *module_id)).cloned())
                    .collect(),
                reported: modules
                    .iter()
                    .map(|(_, module)| {
                        reported
                            .get(&(*env_id, module.clone()))
                            .map(|counts| counts.iter().map(|(v, n)| (v.clone(), *n)).collect())
                            .unwrap_or_default()
                    })
                    .collect(),
            })
            .collect();
        let progress = self.progress(&active).await?;
        let active_ids: Vec<i64> = active.iter().map(|d| d.id).collect();
        Ok(Dashboard {
            tenant: tenant.slug.clone(),
            environments,
            modules: modules.into_iter().map(|(_, name)| name).collect(),
            matrix,
            active: self.summaries_of(tenant, &active_ids).await?,
            progress,
            recent,
            week: self.week(tenant, now).await?,
            now,
        })
    }

    /// Every (environment, module) of the tenant and the version its newest
    /// successful deployment put there, if any.
    async fn current_versions(&self, tenant: &Tenant) -> Result<Vec<Cell>, ServiceError> {
        // The newest as `MAX(id)`, one seek of the (environment, module,
        // status, id) index on both databases; `ORDER BY … LIMIT 1` would
        // bind its limit and be planned afresh at every view on PostgreSQL.
        let last = Alias::new("last");
        let l = |c: deployments::Column| (last.clone(), c);
        let newest_id = Query::select()
            .expr(Expr::col(l(deployments::Column::Id)).max())
            .from_as(deployments::Entity, last.clone())
            .and_where(
                Expr::col(l(deployments::Column::EnvironmentId))
                    .equals((environments::Entity, environments::Column::Id)),
            )
            .and_where(
                Expr::col(l(deployments::Column::ModuleId))
                    .equals((modules::Entity, modules::Column::Id)),
            )
            .and_where(
                Expr::col(l(deployments::Column::Status)).eq(DeploymentStatus::Succeeded.as_str()),
            )
            .to_owned();
        let d = |c: deployments::Column| (deployments::Entity, c);
        let newest = Query::select()
            .column((module_versions::Entity, module_versions::Column::Version))
            .from(deployments::Entity)
            .inner_join(
                module_versions::Entity,
                Expr::col((module_versions::Entity, module_versions::Column::Id))
                    .equals(d(deployments::Column::ModuleVersionId)),
            )
            .and_where(Expr::col(d(deployments::Column::Id)).eq(scalar(newest_id)))
            .to_owned();
        let cells = Query::select()
            .expr_as(
                Expr::col((environments::Entity, environments::Column::Id)),
                Alias::new("environment_id"),
            )
            .expr_as(
                Expr::col((modules::Entity, modules::Column::Id)),
                Alias::new("module_id"),
            )
            .expr_as(
                Expr::col((modules::Entity, modules::Column::Name)),
                Alias::new("module"),
            )
            .expr_as(scalar(newest), Alias::new("version"))
            .from(environments::Entity)
            .inner_join(
                modules::Entity,
                Expr::col((modules::Entity, modules::Column::TenantId))
                    .equals((environments::Entity, environments::Column::TenantId)),
            )
            .and_where(
                Expr::col((environments::Entity, environments::Column::TenantId)).eq(tenant.id),
            )
            .to_owned();
        let statement = self.db.get_database_backend().build(&cells);
        Ok(Cell::find_by_statement(statement).all(&self.db).await?)
    }

    /// What the tenant's nodes report running: nodes per (environment,
    /// module, version), counted by the database. Counting reads every
    /// node's versions, so a count is reused for `AGGREGATE_FOR`.
    pub async fn reported_versions(&self, tenant: &Tenant) -> Result<Arc<Reports>, ServiceError> {
        self.reported
            .get_or_try(tenant.id, || self.count_reported_versions(tenant))
            .await
    }

    async fn count_reported_versions(&self, tenant: &Tenant) -> Result<Reports, ServiceError> {
        let backend = self.db.get_database_backend();
        let sql = match backend {
            DatabaseBackend::Postgres => {
                "SELECT n.environment_id, j.key AS module, j.value #>> '{}' AS version, \
                 COUNT(*) AS nodes FROM nodes n, jsonb_each(n.versions) j \
                 WHERE n.tenant_id = $1 AND jsonb_typeof(j.value) = 'string' \
                 GROUP BY n.environment_id, j.key, j.value #>> '{}'"
            }
            _ => {
                "SELECT n.environment_id, j.key AS module, j.value AS version, \
                 COUNT(*) AS nodes FROM nodes n, json_each(n.versions) j \
                 WHERE n.tenant_id = ? AND j.type = 'text' \
                 GROUP BY n.environment_id, j.key, j.value"
            }
        };
        let rows = Reported::find_by_statement(Statement::from_sql_and_values(
            backend,
            sql,
            [tenant.id.into()],
        ))
        .all(&self.db)
        .await?;
        let mut reported = Reports::new();
        for row in rows {
            reported
                .entry((row.environment_id, row.module))
                .or_default()
                .insert(row.version, row.nodes as u64);
        }
        Ok(reported)
    }

    /// What each environment's nodes report running, by module and version.
    pub async fn running_versions(
        &self,
        tenant: &Tenant,
    ) -> Result<Vec<RunningVersion>, ServiceError> {
        let names: HashMap<i64, String> = self
            .environment_rows(tenant)
            .await?
            .into_iter()
            .map(|e| (e.id, e.name))
            .collect();
        let reports = self.reported_versions(tenant).await?;
        let mut running: Vec<RunningVersion> = reports
            .iter()
            .flat_map(|((env, module), counts)| {
                let environment = names.get(env).cloned().unwrap_or_default();
                counts.iter().map(move |(version, nodes)| RunningVersion {
                    environment: environment.clone(),
                    module: module.clone(),
                    version: version.clone(),
                    nodes: *nodes,
                })
            })
            .collect();
        running.sort_by(|a, b| {
            (&a.environment, &a.module, &a.version).cmp(&(&b.environment, &b.module, &b.version))
        });
        Ok(running)
    }

    /// Deployments finished in the seven days before `now`; reused for
    /// `AGGREGATE_FOR`, since it reads every one of them.
    async fn week(
        &self,
        tenant: &Tenant,
        now: chrono::DateTime<Utc>,
    ) -> Result<WeekStats, ServiceError> {
        let week = self
            .week
            .get_or_try(tenant.id, || {
                self.count_week(tenant, now - Duration::days(7))
            })
            .await?;
        Ok((*week).clone())
    }

    async fn count_week(
        &self,
        tenant: &Tenant,
        since: chrono::DateTime<Utc>,
    ) -> Result<WeekStats, ServiceError> {
        let backend = self.db.get_database_backend();
        let sql = match backend {
            DatabaseBackend::Postgres => {
                "SELECT COUNT(*) AS finished, \
                 CAST(COALESCE(SUM(CASE WHEN status = $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS succeeded, \
                 CAST(AVG(EXTRACT(EPOCH FROM finished_at - COALESCE(started_at, created_at))) AS DOUBLE PRECISION) AS mean \
                 FROM deployments WHERE tenant_id = $2 AND finished_at >= $3"
            }
            _ => {
                "SELECT COUNT(*) AS finished, \
                 COALESCE(SUM(CASE WHEN status = ? THEN 1 ELSE 0 END), 0) AS succeeded, \
                 AVG((julianday(finished_at) - julianday(COALESCE(started_at, created_at))) * 86400.0) AS mean \
                 FROM deployments WHERE tenant_id = ? AND finished_at >= ?"
            }
        };
        let row = Week::find_by_statement(Statement::from_sql_and_values(
            backend,
            sql,
            [
                DeploymentStatus::Succeeded.as_str().into(),
                tenant.id.into(),
                since.into(),
            ],
        ))
        .one(&self.db)
        .await?
        .unwrap_or_default();
        Ok(WeekStats {
            finished: row.finished.max(0) as u64,
            succeeded: row.succeeded.max(0) as u64,
            mean_duration_secs: row.mean.filter(|_| row.finished > 0),
        })
    }

    /// Nodes swapped so far of the nodes each deployment plans.
    async fn progress(&self, deps: &[deployments::Model]) -> Result<Vec<Progress>, ServiceError> {
        let ids: Vec<i64> = deps.iter().map(|d| d.id).collect();
        let swapped: HashMap<i64, i64> = if ids.is_empty() {
            HashMap::new()
        } else {
            deployment_steps::Entity::find()
                .select_only()
                .column(deployment_steps::Column::DeploymentId)
                .column_as(
                    Expr::col(deployment_steps::Column::NodeId).count_distinct(),
                    "n",
                )
                .filter(deployment_steps::Column::DeploymentId.is_in(ids))
                .filter(deployment_steps::Column::Action.eq(StepAction::Swap))
                .filter(deployment_steps::Column::Status.eq(StepStatus::Done))
                .group_by(deployment_steps::Column::DeploymentId)
                .into_tuple::<(i64, i64)>()
                .all(&self.db)
                .await?
                .into_iter()
                .collect()
        };
        Ok(deps
            .iter()
            .map(|d| {
                let plan = d.plan.plan();
                let planned: HashSet<i64> = plan
                    .iter()
                    .flat_map(|p| p.phases.iter().flat_map(|ph| ph.nodes.iter().copied()))
                    .collect();
                Progress {
                    swapped: swapped.get(&d.id).copied().unwrap_or(0).max(0) as u64,
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
}

/// A deployment with the names a person reads, as one query returns it.
#[derive(Debug, FromQueryResult)]
struct SummaryRow {
    id: i64,
    module: String,
    version: String,
    environment: String,
    strategy: StoredStrategy,
    status: DeploymentStatus,
    requested_by: Option<String>,
    created_at: chrono::DateTime<Utc>,
    finished_at: Option<chrono::DateTime<Utc>>,
}

impl From<SummaryRow> for DeploymentSummary {
    fn from(row: SummaryRow) -> Self {
        DeploymentSummary {
            id: row.id,
            module: row.module,
            version: row.version,
            environment: row.environment,
            strategy: row.strategy.summary(),
            status: row.status,
            requested_by: row.requested_by,
            created_at: row.created_at,
            finished_at: row.finished_at,
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct Cell {
    environment_id: i64,
    module_id: i64,
    module: String,
    version: Option<String>,
}

#[derive(Debug, FromQueryResult)]
struct Reported {
    environment_id: i64,
    module: String,
    version: String,
    nodes: i64,
}

#[derive(Debug, Default, FromQueryResult)]
struct Week {
    finished: i64,
    succeeded: i64,
    mean: Option<f64>,
}

/// The tenant's deployments with their module, version, environment and
/// requester joined on, newest first.
fn summary_query(tenant: &Tenant) -> Select<deployments::Entity> {
    scoped::<deployments::Entity>(tenant)
        .select_only()
        .column(deployments::Column::Id)
        .column_as(modules::Column::Name, "module")
        .column_as(module_versions::Column::Version, "version")
        .column_as(environments::Column::Name, "environment")
        .column(deployments::Column::Strategy)
        .column(deployments::Column::Status)
        .column_as(users::Column::Username, "requested_by")
        .column(deployments::Column::CreatedAt)
        .column(deployments::Column::FinishedAt)
        .join(
            JoinType::InnerJoin,
            deployments::Entity::belongs_to(modules::Entity)
                .from(deployments::Column::ModuleId)
                .to(modules::Column::Id)
                .into(),
        )
        .join(
            JoinType::InnerJoin,
            deployments::Entity::belongs_to(module_versions::Entity)
                .from(deployments::Column::ModuleVersionId)
                .to(module_versions::Column::Id)
                .into(),
        )
        .join(
            JoinType::InnerJoin,
            deployments::Entity::belongs_to(environments::Entity)
                .from(deployments::Column::EnvironmentId)
                .to(environments::Column::Id)
                .into(),
        )
        .join(
            JoinType::LeftJoin,
            deployments::Entity::belongs_to(users::Entity)
                .from(deployments::Column::RequestedBy)
                .to(users::Column::Id)
                .into(),
        )
        .order_by_desc(deployments::Column::Id)
}
