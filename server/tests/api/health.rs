use serde_json::Value;

use crate::helpers::spawn_app;

/// An operator's liveness probe gets 200 and JSON.
#[tokio::test]
async fn health_answers_ok_as_json() {
    let app = spawn_app().await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["status"], "ok");
}

/// The readiness probe says which database it reached.
#[tokio::test]
async fn database_health_reports_the_reachable_backend() {
    let app = spawn_app().await;
    let response = app.get("/health/database").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["status"], "ok");
    let expected = if app.database_url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(body["database"], expected);
}

/// Prometheus sees requests by route template, never by a raw path with ids.
#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = spawn_app().await;
    for id in [123_456, 654_321] {
        assert_eq!(
            app.get(&format!("/api/v1/deployments/{id}")).await.status(),
            404
        );
    }
    app.get("/health").await;
    app.get("/no/such/page").await;

    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain")));
    let text = response.text().await.expect("text");
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/v1/deployments/{id}",status="404"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/health",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(!text.contains("123456"), "ids never become labels: {text}");
}
