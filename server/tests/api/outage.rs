use std::time::Duration;

use serde_json::Value;

use crate::helpers::{spawn_app_on, TempPostgres};

/// While PostgreSQL is down the readiness probe and the API answer 503 with a
/// JSON reason; when it returns, so does the service, without a restart.
#[tokio::test]
async fn a_database_outage_is_a_503_and_recovers() {
    let postgres = tokio::task::spawn_blocking(TempPostgres::start)
        .await
        .expect("started");
    let data = tempfile::tempdir().expect("temp dir");
    let app = spawn_app_on(data, postgres.url("postgres")).await;
    assert_eq!(app.get("/health/database").await.status(), 200);

    let postgres = tokio::task::spawn_blocking(move || {
        postgres.stop();
        postgres
    })
    .await
    .expect("stopped");

    let response = app.get("/health/database").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["database"], "postgres");
    assert_eq!(body["error"]["code"], "unavailable");

    let response = app.get("/api/v1/deployments").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "unavailable");

    let postgres = tokio::task::spawn_blocking(move || {
        postgres.pg_ctl_start();
        postgres
    })
    .await
    .expect("restarted");

    let mut status = 0;
    for _ in 0..20 {
        status = app.get("/health/database").await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        status, 200,
        "the service recovers when the database returns"
    );
    assert_eq!(app.get("/api/v1/deployments").await.status(), 200);
    drop(postgres);
}
