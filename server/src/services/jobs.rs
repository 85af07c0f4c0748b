//! The job queue: one row per running deployment in `jobs`. Workers claim a
//! runnable row with a lease; waiting is `run_after` in the future, so timers
//! survive restarts and idle deployments cost nothing.
//!
//! PostgreSQL claims with `FOR UPDATE SKIP LOCKED` so replicas never contend for
//! one row; SQLite serialises writers, so the same statement without it is safe.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement, Value};

use crate::services::ServiceError;

#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub deployment_id: i64,
    /// `run_after` as claimed: a wake-up during the run changes it, and release keeps that.
    pub run_after: DateTime<Utc>,
}

/// Writes `?` placeholders as `$1, $2…` for PostgreSQL.
fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DatabaseBackend::Postgres {
        let mut n = 0;
        sql.chars()
            .map(|c| {
                if c == '?' {
                    n += 1;
                    format!("${n}")
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        sql.to_string()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

pub async fn enqueue(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    deployment_id: i64,
) -> Result<(), ServiceError> {
    let now = Utc::now();
    let sql = "INSERT INTO jobs (tenant_id, kind, deployment_id, payload, run_after, attempts, created_at) \
               VALUES (?, 'deployment', ?, ?, ?, 0, ?)";
    db.execute(statement(
        db.get_database_backend(),
        sql,
        vec![
            tenant_id.into(),
            deployment_id.into(),
            serde_json::json!({}).into(),
            now.into(),
            now.into(),
        ],
    ))
    .await?;
    Ok(())
}

pub async fn claim(
    db: &DatabaseConnection,
    worker: &str,
    lease: Duration,
) -> Result<Option<Claimed>, ServiceError> {
    let now = Utc::now();
    let backend = db.get_database_backend();
    let lock = if backend == DatabaseBackend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE jobs SET locked_by = ?, lease_expires_at = ?, attempts = attempts + 1 \
         WHERE id = (SELECT id FROM jobs WHERE run_after <= ? \
                     AND (locked_by IS NULL OR lease_expires_at < ?) \
                     ORDER BY run_after LIMIT 1{lock}) \
         RETURNING id, deployment_id, run_after"
    );
    let row = db
        .query_one(statement(
            backend,
            &sql,
            vec![worker.into(), (now + lease).into(), now.into(), now.into()],
        ))
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Claimed {
        id: row.try_get("", "id")?,
        deployment_id: row
            .try_get::<Option<i64>>("", "deployment_id")?
            .unwrap_or(0),
        run_after: row.try_get("", "run_after")?,
    }))
}

/// Extends the lease; false when this worker no longer holds the job.
pub async fn renew(
    db: &DatabaseConnection,
    job: &Claimed,
    worker: &str,
    lease: Duration,
) -> Result<bool, ServiceError> {
    let result = db
        .execute(statement(
            db.get_database_backend(),
            "UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND locked_by = ?",
            vec![(Utc::now() + lease).into(), job.id.into(), worker.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Hands the job back to run at `next`, or sooner if it was woken meanwhile.
pub async fn release(
    db: &DatabaseConnection,
    job: &Claimed,
    worker: &str,
    next: DateTime<Utc>,
) -> Result<(), ServiceError> {
    db.execute(statement(
        db.get_database_backend(),
        "UPDATE jobs SET locked_by = NULL, lease_expires_at = NULL, \
         run_after = CASE WHEN run_after <> ? AND run_after < ? THEN run_after ELSE ? END \
         WHERE id = ? AND locked_by = ?",
        vec![
            job.run_after.into(),
            next.into(),
            next.into(),
            job.id.into(),
            worker.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The deployment is finished: its job goes.
pub async fn finish(
    db: &DatabaseConnection,
    job: &Claimed,
    worker: &str,
) -> Result<(), ServiceError> {
    db.execute(statement(
        db.get_database_backend(),
        "DELETE FROM jobs WHERE id = ? AND locked_by = ?",
        vec![job.id.into(), worker.into()],
    ))
    .await?;
    Ok(())
}

/// Makes a deployment's job runnable now (a result arrived, an operator acted).
pub async fn wake(db: &impl ConnectionTrait, deployment_id: i64) -> Result<(), ServiceError> {
    db.execute(statement(
        db.get_database_backend(),
        "UPDATE jobs SET run_after = ? WHERE deployment_id = ?",
        vec![Utc::now().into(), deployment_id.into()],
    ))
    .await?;
    Ok(())
}

/// Jobs waiting to run or running: `hotswap_job_queue_depth`.
pub async fn depth(db: &DatabaseConnection) -> Result<i64, ServiceError> {
    let row = db
        .query_one(statement(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM jobs",
            vec![],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}
