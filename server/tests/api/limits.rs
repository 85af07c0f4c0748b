//! Deployment requests are limited per member: the eleventh in a minute is
//! refused with 429 and a `Retry-After`, and nothing is created.

use serde_json::{json, Value};

use crate::fleet::{create_module, publish, start_fleet, tarball, FleetSpec};
use crate::helpers::{post_json, spawn_app, TestApp};

/// Modules `{prefix}0` … each with a version 1.0.0 to deploy; the artifact
/// lives as long as the directory returned.
async fn publish_modules(app: &TestApp, prefix: &str, count: usize) -> tempfile::TempDir {
    let (client, address) = (&app.client, app.address.as_str());
    let files = tempfile::tempdir().expect("temp dir");
    let artifact = tarball(files.path(), "one", "exit 0\n");
    for i in 0..count {
        create_module(client, address, &format!("{prefix}{i}")).await;
        publish(client, address, &format!("{prefix}{i}"), "1.0.0", &artifact).await;
    }
    files
}

#[tokio::test]
async fn the_eleventh_deployment_in_a_minute_waits() {
    let app = spawn_app().await;
    let (client, address) = (&app.client, app.address.as_str());
    let _fleet = start_fleet(client, address, FleetSpec::new("dev", 1)).await;
    let _files = publish_modules(&app, "m", 11).await;
    for i in 0..10 {
        let body = json!({"module": format!("m{i}"), "version": "1.0.0", "environment": "dev"});
        let response = post_json(client, &app.url("/api/v1/deployments"), body).await;
        assert_eq!(response.status(), 202, "deployment {i}");
    }
    let body = json!({"module": "m10", "version": "1.0.0", "environment": "dev"});
    let response = post_json(client, &app.url("/api/v1/deployments"), body).await;
    assert_eq!(response.status(), 429);
    let retry: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry), "{retry}");
    let page: Value = app
        .get("/api/v1/deployments?module=m10")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(0));
}

/// Requests sent at once cannot all pass one count: exactly the limit is
/// let through, on either database.
#[tokio::test]
async fn concurrent_requests_cannot_slip_past_the_limit() {
    let app = spawn_app().await;
    let (client, address) = (&app.client, app.address.as_str());
    let _fleet = start_fleet(client, address, FleetSpec::new("dev", 1)).await;
    let _files = publish_modules(&app, "c", 16).await;
    let url = app.url("/api/v1/deployments");
    let sent = (0..16).map(|i| {
        let body = json!({"module": format!("c{i}"), "version": "1.0.0", "environment": "dev"});
        let url = url.clone();
        async move { post_json(client, &url, body).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(sent).await;
    let accepted = statuses.iter().filter(|s| **s == 202).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((accepted, refused), (10, 6), "{statuses:?}");
    let page: Value = app
        .get("/api/v1/deployments?limit=50")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(10), "{page}");
}
