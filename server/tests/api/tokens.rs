use serde_json::{json, Value};

use crate::helpers::{bearer, spawn_app};

async fn create_token(app: &crate::helpers::TestApp, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/tokens"))
        .json(&body)
        .send()
        .await
        .expect("sent")
}

/// An admin creates a token for CI; it authenticates, shows up in the list
/// with its last use, and stops working once revoked.
#[tokio::test]
async fn tokens_authenticate_until_revoked() {
    let app = spawn_app().await;
    let response = create_token(
        &app,
        json!({ "name": "ci", "role": "deployer", "expires": "30d" }),
    )
    .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("JSON");
    let secret = created["token"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("hst_"));
    assert_eq!(created["role"], "deployer");
    assert!(created["expires_at"].is_string());

    let ci = bearer(&secret);
    let me: Value = ci
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        me["role"], "deployer",
        "the token acts with its own, lower role"
    );
    assert_eq!(
        ci.get(app.url("/api/v1/users"))
            .send()
            .await
            .expect("sent")
            .status(),
        403,
        "a deployer token cannot manage users"
    );

    let list: Value = app.get("/api/v1/tokens").await.json().await.expect("JSON");
    let listed = &list.as_array().expect("array")[0];
    assert_eq!(listed["name"], "ci");
    assert!(listed["last_used_at"].is_string());
    assert!(
        listed.get("token").is_none(),
        "the secret is never shown again"
    );
    assert!(!list.to_string().contains(&secret));

    let id = created["id"].as_i64().expect("id");
    let revoked = app
        .client
        .delete(app.url(&format!("/api/v1/tokens/{id}")))
        .send()
        .await
        .expect("sent");
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        ci.get(app.url("/api/v1/auth/me"))
            .send()
            .await
            .expect("sent")
            .status(),
        401
    );
}

/// A token's role is never above its creator's, and bad fields are named.
#[tokio::test]
async fn token_requests_are_validated() {
    let app = spawn_app().await;
    app.add_member("dora", "deployer").await;
    let dora = app.member_client("dora").await;
    let response = dora
        .post(app.url("/api/v1/tokens"))
        .json(&json!({ "name": "mine", "role": "admin" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        response.status(),
        403,
        "deployers may not manage tokens at all"
    );

    for (body, field) in [
        (json!({ "name": "" }), "name"),
        (json!({ "name": "x", "role": "owner" }), "role"),
        (json!({ "name": "x", "expires": "someday" }), "expires"),
    ] {
        let response = create_token(&app, body.clone()).await;
        assert_eq!(response.status(), 422, "{body}");
        let error: Value = response.json().await.expect("JSON");
        assert_eq!(error["error"]["field"], field, "{body}");
    }
}

/// `hotswap token create` prints a working token for bootstrap and automation.
#[tokio::test]
async fn the_command_line_creates_a_working_token() {
    let app = spawn_app().await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hotswap"))
        .args([
            "token",
            "create",
            "--tenant",
            "default",
            "--user",
            "admin",
            "--name",
            "bootstrap",
            "--role",
            "viewer",
        ])
        .env("HOTSWAP_DATABASE_URL", &app.database_url)
        .output()
        .await
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    let secret = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let me: Value = bearer(&secret)
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(me["username"], "admin");
    assert_eq!(me["role"], "viewer");
}

/// A token row whose role cannot be read (a damaged or hand-edited row)
/// acts as nobody, not as its creator with no cap.
#[tokio::test]
async fn a_token_with_an_unreadable_role_is_refused() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    let response = create_token(&app, json!({ "name": "odd", "role": "viewer" })).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("JSON");
    let ci = bearer(created["token"].as_str().expect("secret"));
    let me = |client: reqwest::Client| {
        let url = app.url("/api/v1/auth/me");
        async move { client.get(url).send().await.expect("sent").status() }
    };
    assert_eq!(me(ci.clone()).await, 200);
    app.db
        .execute_unprepared("UPDATE api_tokens SET role = 'superuser'")
        .await
        .expect("update");
    assert_eq!(me(ci).await, 401);
}
