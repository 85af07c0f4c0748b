use serde_json::Value;

use crate::helpers::spawn_app;

async fn error_body(response: reqwest::Response) -> Value {
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let body: Value = response.json().await.expect("JSON");
    assert!(body["error"]["code"].is_string(), "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    body
}

/// A client calling an endpoint that does not exist gets a JSON 404.
#[tokio::test]
async fn unknown_api_routes_are_json_404s() {
    let app = spawn_app().await;
    for path in ["/api/v1/nothing-here", "/api/v2/deployments", "/api"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        let body = error_body(response).await;
        assert_eq!(body["error"]["code"], "not_found");
    }
}

/// Each bad query parameter is named in a 422.
#[tokio::test]
async fn bad_list_parameters_are_named() {
    let app = spawn_app().await;
    for (query, field) in [
        ("status=done", "status"),
        ("cursor=abc", "cursor"),
        ("cursor=-4", "cursor"),
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
    ] {
        let response = app.get(&format!("/api/v1/deployments?{query}")).await;
        assert_eq!(response.status(), 422, "{query}");
        let body = error_body(response).await;
        assert_eq!(body["error"]["code"], "invalid", "{query}");
        assert_eq!(body["error"]["field"], field, "{query}");
    }
    let response = app.get("/api/v1/deployments/not-a-number").await;
    assert_eq!(response.status(), 422);
    assert_eq!(error_body(response).await["error"]["field"], "id");
}

/// A wrong method on a real endpoint is a JSON 405, not a 404 or 500.
#[tokio::test]
async fn wrong_methods_are_json_405s() {
    let app = spawn_app().await;
    let response = app
        .client
        .delete(app.url("/api/v1/deployments"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 405);
    assert_eq!(
        error_body(response).await["error"]["code"],
        "method_not_allowed"
    );
}

/// A person following a dead link sees the styled 404 page, with status 404.
#[tokio::test]
async fn unknown_pages_render_the_not_found_page() {
    let app = spawn_app().await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    let html = response.text().await.expect("html");
    assert!(html.contains("Page not found"), "{html}");
    assert!(
        html.contains(r#"href="/pkg/hotswap.css""#),
        "the page is styled: {html}"
    );
}
