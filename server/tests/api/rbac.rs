//! Every `/api/v1` route × every kind of caller, against the matrix of SPEC §7.

use serde_json::{json, Value};

use crate::helpers::{post_json, seed_deployment, sign_in, spawn_app, MEMBER_PASSWORD};

/// (method, route template, path, body, expected statuses for
/// [anonymous, viewer, deployer, admin, admin of another tenant]).
/// `{n}` in a body becomes the caller's index, so creations do not collide.
type Case = (&'static str, &'static str, String, Option<Value>, [u16; 5]);

/// The routes the API's router serves, so that a new route without a row
/// here fails this test.
fn registered_routes() -> Vec<(String, String)> {
    crate::helpers::routes_of(hotswap::http::api::routes(), "/api/v1")
}

#[tokio::test]
async fn every_route_enforces_the_role_matrix() {
    let app = spawn_app().await;
    let tenant = app.default_tenant().await;
    let deployment = seed_deployment(&app.db, tenant, "billing", "1.0.0", "dev", "succeeded").await;
    app.add_member("vic", "viewer").await;
    let dora = app.add_member("dora", "deployer").await;
    let token = post_json(
        &app.client,
        &app.url("/api/v1/tokens"),
        json!({ "name": "fixture" }),
    )
    .await;
    let token_id = token.json::<Value>().await.expect("JSON")["id"]
        .as_i64()
        .expect("id");

    // Another tenant, acme, with its own admin, otto.
    let admin = sign_in(&app.address, "admin", crate::helpers::ADMIN_PASSWORD).await;
    for (path, body, status) in [
        (
            "/api/v1/tenants",
            json!({ "slug": "acme", "name": "Acme" }),
            201,
        ),
        ("/api/v1/auth/tenant", json!({ "tenant": "acme" }), 200),
        (
            "/api/v1/users",
            json!({ "username": "otto", "role": "admin", "password": MEMBER_PASSWORD }),
            201,
        ),
    ] {
        assert_eq!(
            post_json(&admin, &app.url(path), body).await.status(),
            status,
            "{path}"
        );
    }
    let other = "otto";

    let cases: Vec<Case> = vec![
        (
            "POST",
            "/api/v1/auth/login",
            "/api/v1/auth/login".into(),
            Some(json!({})),
            [400; 5],
        ),
        (
            "POST",
            "/api/v1/auth/logout",
            "/api/v1/auth/logout".into(),
            None,
            [204; 5],
        ),
        (
            "GET",
            "/api/v1/auth/me",
            "/api/v1/auth/me".into(),
            None,
            [401, 200, 200, 200, 200],
        ),
        (
            "POST",
            "/api/v1/auth/password",
            "/api/v1/auth/password".into(),
            Some(json!({ "current_password": "x", "new_password": "short" })),
            [401, 422, 422, 422, 422],
        ),
        (
            "POST",
            "/api/v1/auth/tenant",
            "/api/v1/auth/tenant".into(),
            Some(json!({ "tenant": "nowhere" })),
            [401, 404, 404, 404, 404],
        ),
        (
            "GET",
            "/api/v1/deployments",
            "/api/v1/deployments".into(),
            None,
            [401, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/deployments/{id}",
            format!("/api/v1/deployments/{deployment}"),
            None,
            [401, 200, 200, 200, 404],
        ),
        (
            "POST",
            "/api/v1/deployments",
            "/api/v1/deployments".into(),
            Some(json!({ "module": "nope", "version": "1", "environment": "dev" })),
            [401, 403, 422, 422, 422],
        ),
        (
            "GET",
            "/api/v1/deployments/{id}/events",
            format!("/api/v1/deployments/{deployment}/events"),
            None,
            [401, 200, 200, 200, 404],
        ),
        (
            "POST",
            "/api/v1/deployments/{id}/pause",
            format!("/api/v1/deployments/{deployment}/pause"),
            None,
            [401, 403, 409, 409, 404],
        ),
        (
            "POST",
            "/api/v1/deployments/{id}/resume",
            format!("/api/v1/deployments/{deployment}/resume"),
            None,
            [401, 403, 409, 409, 404],
        ),
        (
            "POST",
            "/api/v1/deployments/{id}/abort",
            format!("/api/v1/deployments/{deployment}/abort"),
            None,
            [401, 403, 409, 409, 404],
        ),
        (
            "POST",
            "/api/v1/deployments/{id}/promote",
            format!("/api/v1/deployments/{deployment}/promote"),
            None,
            [401, 403, 409, 409, 404],
        ),
        (
            "POST",
            "/api/v1/deployments/{id}/rollback",
            format!("/api/v1/deployments/{deployment}/rollback"),
            None,
            [401, 403, 409, 409, 404],
        ),
        (
            "POST",
            "/api/v1/deployments/{id}/cancel",
            format!("/api/v1/deployments/{deployment}/cancel"),
            None,
            [401, 403, 409, 409, 404],
        ),
        (
            "GET",
            "/api/v1/environments/{name}/freeze-windows",
            "/api/v1/environments/dev/freeze-windows".into(),
            None,
            [401, 200, 200, 200, 200],
        ),
        (
            "POST",
            "/api/v1/environments/{name}/freeze-windows",
            "/api/v1/environments/dev/freeze-windows".into(),
            Some(
                json!({ "name": "no", "starts_at": "2099-01-01T00:00:00Z", "ends_at": "2099-01-02T00:00:00Z" }),
            ),
            [401, 403, 403, 201, 201],
        ),
        (
            "DELETE",
            "/api/v1/environments/{name}/freeze-windows/{id}",
            "/api/v1/environments/dev/freeze-windows/999".into(),
            None,
            [401, 403, 403, 404, 404],
        ),
        (
            "GET",
            "/api/v1/webhooks",
            "/api/v1/webhooks".into(),
            None,
            [401, 403, 403, 200, 200],
        ),
        (
            "POST",
            "/api/v1/webhooks",
            "/api/v1/webhooks".into(),
            Some(json!({ "url": "http://127.0.0.1:9/hook" })),
            [401, 403, 403, 201, 201],
        ),
        (
            "DELETE",
            "/api/v1/webhooks/{id}",
            "/api/v1/webhooks/999".into(),
            None,
            [401, 403, 403, 404, 404],
        ),
        (
            "GET",
            "/api/v1/webhooks/{id}/deliveries",
            "/api/v1/webhooks/999/deliveries".into(),
            None,
            [401, 403, 403, 404, 404],
        ),
        (
            "GET",
            "/api/v1/live",
            "/api/v1/live".into(),
            None,
            [401, 426, 426, 426, 426],
        ),
        (
            "GET",
            "/api/v1/deployments/{id}/live",
            format!("/api/v1/deployments/{deployment}/live"),
            None,
            [401, 426, 426, 426, 404],
        ),
        (
            "GET",
            "/api/v1/approvals",
            "/api/v1/approvals?status=pending".into(),
            None,
            [401, 200, 200, 200, 200],
        ),
        (
            "POST",
            "/api/v1/approvals/deployments/{id}/approve",
            format!("/api/v1/approvals/deployments/{deployment}/approve"),
            None,
            [401, 403, 403, 409, 404],
        ),
        (
            "POST",
            "/api/v1/approvals/deployments/{id}/reject",
            format!("/api/v1/approvals/deployments/{deployment}/reject"),
            Some(json!({ "comment": "not now" })),
            [401, 403, 403, 409, 404],
        ),
        (
            "GET",
            "/api/v1/modules",
            "/api/v1/modules".into(),
            None,
            [401, 200, 200, 200, 200],
        ),
        (
            "POST",
            "/api/v1/modules",
            "/api/v1/modules".into(),
            Some(json!({ "name": "m{n}" })),
            [401, 403, 201, 201, 201],
        ),
        (
            "GET",
            "/api/v1/modules/{name}/versions",
            "/api/v1/modules/billing/versions".into(),
            None,
            [401, 200, 200, 200, 404],
        ),
        (
            "POST",
            "/api/v1/modules/{name}/versions",
            "/api/v1/modules/billing/versions".into(),
            Some(
                json!({ "version": "9.{n}", "artifact_url": "https://example.com/a.tar.gz", "sha256": "a".repeat(64) }),
            ),
            [401, 403, 201, 201, 404],
        ),
        (
            "PATCH",
            "/api/v1/environments/{name}",
            "/api/v1/environments/dev".into(),
            Some(json!({ "analysis": { "interval": "5s" } })),
            [401, 403, 403, 200, 200],
        ),
        (
            "POST",
            "/api/v1/environments/{name}/enrollment-tokens",
            "/api/v1/environments/dev/enrollment-tokens".into(),
            Some(json!({})),
            [401, 403, 403, 201, 201],
        ),
        (
            "GET",
            "/api/v1/environments/{name}/enrollment-tokens",
            "/api/v1/environments/dev/enrollment-tokens".into(),
            None,
            [401, 403, 403, 200, 200],
        ),
        (
            "DELETE",
            "/api/v1/enrollment-tokens/{id}",
            "/api/v1/enrollment-tokens/999".into(),
            None,
            [401, 403, 403, 404, 404],
        ),
        (
            "GET",
            "/api/v1/nodes",
            "/api/v1/nodes".into(),
            None,
            [401, 200, 200, 200, 200],
        ),
        (
            "DELETE",
            "/api/v1/nodes/{id}",
            "/api/v1/nodes/999".into(),
            None,
            [401, 403, 403, 404, 404],
        ),
        (
            "GET",
            "/api/v1/environments",
            "/api/v1/environments".into(),
            None,
            [401, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/tokens",
            "/api/v1/tokens".into(),
            None,
            [401, 403, 403, 200, 200],
        ),
        (
            "POST",
            "/api/v1/tokens",
            "/api/v1/tokens".into(),
            Some(json!({ "name": "t{n}" })),
            [401, 403, 403, 201, 201],
        ),
        (
            "DELETE",
            "/api/v1/tokens/{id}",
            format!("/api/v1/tokens/{token_id}"),
            None,
            [401, 403, 403, 200, 404],
        ),
        (
            "GET",
            "/api/v1/users",
            "/api/v1/users".into(),
            None,
            [401, 403, 403, 200, 200],
        ),
        (
            "POST",
            "/api/v1/users",
            "/api/v1/users".into(),
            Some(json!({ "username": "new{n}", "role": "viewer", "password": MEMBER_PASSWORD })),
            [401, 403, 403, 201, 201],
        ),
        (
            "PATCH",
            "/api/v1/users/{id}",
            format!("/api/v1/users/{dora}"),
            Some(json!({ "role": "deployer" })),
            [401, 403, 403, 200, 404],
        ),
        (
            "GET",
            "/api/v1/tenants",
            "/api/v1/tenants".into(),
            None,
            [401, 200, 200, 200, 200],
        ),
        (
            "POST",
            "/api/v1/tenants",
            "/api/v1/tenants".into(),
            Some(json!({ "slug": "t{n}-co", "name": "T" })),
            [401, 403, 403, 201, 403],
        ),
        (
            "GET",
            "/api/v1/audit",
            "/api/v1/audit".into(),
            None,
            [401, 403, 403, 200, 200],
        ),
    ];

    let mut missing = Vec::new();
    for (method, route) in registered_routes() {
        if !cases.iter().any(|c| c.0 == method && c.1 == route) {
            missing.push(format!("{method} {route}"));
        }
    }
    assert!(
        missing.is_empty(),
        "routes without an RBAC row: {missing:?}"
    );

    let callers = [None, Some("vic"), Some("dora"), Some("admin"), Some(other)];
    let mut failures = Vec::new();
    for (method, _, path, body, expected) in &cases {
        for (n, (caller, want)) in callers.iter().zip(expected).enumerate() {
            // A fresh session per request, so logging out in one row changes no other.
            let client = match caller {
                None => crate::helpers::browser(&app.address),
                Some("admin") => {
                    sign_in(&app.address, "admin", crate::helpers::ADMIN_PASSWORD).await
                }
                Some(name) => sign_in(&app.address, name, MEMBER_PASSWORD).await,
            };
            let mut request = client.request(method.parse().expect("method"), app.url(path));
            if let Some(body) = body {
                let text = body.to_string().replace("{n}", &n.to_string());
                request = request
                    .header("content-type", "application/json")
                    .body(text);
            }
            let status = request.send().await.expect("sent").status().as_u16();
            if status != *want {
                failures.push(format!(
                    "{method} {path} as {caller:?}: {status}, expected {want}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
