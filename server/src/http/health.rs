//! Liveness and readiness.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};

use crate::db;

/// The longest a readiness probe waits for the database.
const DATABASE_PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// `GET /health`: the process is up and serving.
pub async fn live() -> Json<Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

/// `GET /health/database`: 200 when a query round-trips, 503 with the reason otherwise.
pub async fn database(State(db): State<DatabaseConnection>) -> (StatusCode, Json<Value>) {
    let backend = db::backend_name(&db);
    let reason = match tokio::time::timeout(DATABASE_PROBE_TIMEOUT, db::ping(&db)).await {
        Ok(Ok(())) => {
            return (
                StatusCode::OK,
                Json(json!({ "status": "ok", "database": backend })),
            )
        }
        Ok(Err(err)) => err.to_string(),
        Err(_) => format!("no answer within {} s", DATABASE_PROBE_TIMEOUT.as_secs()),
    };
    tracing::warn!(%reason, "database health check failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({
            "status": "unavailable",
            "database": backend,
            "error": { "code": "unavailable", "message": format!("the database is unreachable: {reason}") }
        })),
    )
}
