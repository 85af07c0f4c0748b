use std::sync::Arc;
use std::time::{Duration, Instant};

use hotswap::entities::nodes as node_rows;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::fleet::{deploy, healthy_fleet, publish, tarball, wait_finished, Artifact};
use crate::helpers::{spawn_app_on, spawn_app_on_with, TempPostgres};

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

/// Serves `bytes` at `/app.tar.gz`, but only once `open` is notified.
async fn gated_artifact(bytes: Vec<u8>, open: Arc<Notify>) -> String {
    let app = axum::Router::new().route(
        "/app.tar.gz",
        axum::routing::get(move || {
            let (bytes, open) = (bytes.clone(), open.clone());
            async move {
                open.notified().await;
                bytes
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/app.tar.gz", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A database outage longer than the node timeout, while a swap is under
/// way: the connected nodes are not called offline once it ends (their
/// heartbeats need a moment to be written again), and the swap result the
/// agent sent during the outage is recorded as soon as the database is back,
/// not half a minute later when it would be re-sent.
#[tokio::test]
async fn an_outage_neither_calls_connected_nodes_offline_nor_loses_their_results() {
    let postgres = tokio::task::spawn_blocking(TempPostgres::start)
        .await
        .expect("started");
    let data = tempfile::tempdir().expect("temp dir");
    let app = spawn_app_on_with(data, postgres.url("postgres"), |config| {
        config.engine.node_timeout = chrono::Duration::seconds(3);
    })
    .await;
    let (client, address) = (&app.client, app.address.as_str());
    let (fleet, files) = healthy_fleet(client, address, "dev", 3, &["1.0.0"]).await;
    let next = tarball(files.path(), "1.1.0", "exit 0\n");
    let bytes = std::fs::read(next.url.trim_start_matches("file://")).expect("artifact");
    let open = Arc::new(Notify::new());
    let url = gated_artifact(bytes, open.clone()).await;
    let gated = Artifact {
        url,
        sha256: next.sha256,
    };
    publish(client, address, "app", "1.1.0", &gated).await;
    let id = deploy(
        client,
        address,
        json!({"module": "app", "version": "1.1.0", "environment": "dev", "strategy": {"kind": "direct"}}),
    )
    .await;
    // Every agent is downloading; now the database goes away.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let postgres = tokio::task::spawn_blocking(move || {
        postgres.stop();
        postgres
    })
    .await
    .expect("stopped");
    open.notify_waiters();
    // The agents swap and report while the database is down.
    let deadline = Instant::now() + Duration::from_secs(30);
    while fleet
        .currents("app")
        .iter()
        .any(|c| c.as_deref() != Some("1.1.0"))
    {
        assert!(Instant::now() < deadline, "the agents did not swap");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let postgres = tokio::task::spawn_blocking(move || {
        postgres.pg_ctl_start();
        postgres
    })
    .await
    .expect("restarted");
    let back = Instant::now();

    // The results sent during the outage are recorded once it ends, not
    // when the agents would re-send them half a minute later.
    loop {
        let detail: Value = match client
            .get(format!("{address}/api/v1/deployments/{id}"))
            .send()
            .await
        {
            Ok(response) if response.status() == 200 => response.json().await.expect("JSON"),
            _ => Value::Null,
        };
        let swapped = detail["nodes"]
            .as_array()
            .map(|nodes| nodes.iter().filter(|n| n["state"] == "swapped").count())
            .unwrap_or(0);
        if swapped == 3 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(15),
            "the results waited {:?} for a resend: {detail}",
            back.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let detail = wait_finished(client, address, id, Duration::from_secs(60)).await;
    assert_eq!(detail["status"], "succeeded", "{detail}");
    // Watch the nodes for longer than a node timeout after the outage.
    while back.elapsed() < Duration::from_secs(8) {
        let offline = node_rows::Entity::find()
            .filter(node_rows::Column::Status.ne("online"))
            .all(&app.db)
            .await
            .map(|rows| rows.into_iter().map(|n| n.name).collect::<Vec<_>>());
        if let Ok(offline) = offline {
            assert!(
                offline.is_empty(),
                "called offline after the outage: {offline:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(fleet);
    drop(postgres);
}
