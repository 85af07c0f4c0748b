use serde_json::{json, Value};

use crate::helpers::{bearer, create_tenant, spawn_app};

/// The admin invites a deployer and a viewer; each signs in with their role.
#[tokio::test]
async fn admins_add_members_with_roles() {
    let app = spawn_app().await;
    app.add_member("dora", "deployer").await;
    app.add_member("vic", "viewer").await;

    let list: Value = app.get("/api/v1/users").await.json().await.expect("JSON");
    let roles: Vec<_> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|u| {
            (
                u["username"].as_str().unwrap_or_default().to_string(),
                u["role"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("admin".into(), "admin".into()),
            ("dora".into(), "deployer".into()),
            ("vic".into(), "viewer".into())
        ]
    );
    let vic = app.member_client("vic").await;
    let me: Value = vic
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(me["role"], "viewer");
    assert_eq!(
        me["must_change_password"], true,
        "an admin-set password must be changed"
    );
}

/// A viewer can read but the API refuses them every change, with a reason.
#[tokio::test]
async fn viewers_are_read_only() {
    let app = spawn_app().await;
    app.add_member("vic", "viewer").await;
    let vic = app.member_client("vic").await;
    assert_eq!(
        vic.get(app.url("/api/v1/deployments"))
            .send()
            .await
            .expect("sent")
            .status(),
        200
    );
    let response = vic
        .post(app.url("/api/v1/users"))
        .json(
            &json!({ "username": "mallory", "role": "admin", "password": "long-enough-password" }),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.expect("JSON");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Admin"),
        "{body}"
    );
}

/// Disabling a member signs them out at their next request and revokes their tokens.
#[tokio::test]
async fn disabling_a_member_ends_their_access_at_once() {
    let app = spawn_app().await;
    let id = app.add_member("dora", "admin").await;
    let dora = app.member_client("dora").await;
    let token: Value = dora
        .post(app.url("/api/v1/tokens"))
        .json(&json!({ "name": "dora-ci" }))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    let dora_ci = bearer(token["token"].as_str().expect("secret"));
    assert_eq!(
        dora_ci
            .get(app.url("/api/v1/auth/me"))
            .send()
            .await
            .expect("sent")
            .status(),
        200
    );

    let response = app
        .client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .json(&json!({ "disabled": true }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.expect("JSON")["disabled"],
        true
    );

    assert_eq!(
        dora.get(app.url("/api/v1/auth/me"))
            .send()
            .await
            .expect("sent")
            .status(),
        401
    );
    assert_eq!(
        dora_ci
            .get(app.url("/api/v1/auth/me"))
            .send()
            .await
            .expect("sent")
            .status(),
        401
    );
    let again = app
        .anonymous
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "username": "dora", "password": crate::helpers::MEMBER_PASSWORD }))
        .send()
        .await
        .expect("sent");
    assert_eq!(again.status(), 403);
}

/// Admins cannot lock themselves out, and members of other tenants are not found.
#[tokio::test]
async fn member_changes_are_guarded() {
    let app = spawn_app().await;
    let me: Value = app.get("/api/v1/auth/me").await.json().await.expect("JSON");
    let users: Value = app.get("/api/v1/users").await.json().await.expect("JSON");
    let admin_id = users[0]["id"].as_i64().expect("id");
    assert_eq!(me["username"], "admin");
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/users/{admin_id}")))
        .json(&json!({ "role": "viewer" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 409);

    create_tenant(&app.db, "acme").await;
    let response = app
        .client
        .patch(app.url("/api/v1/users/999999"))
        .json(&json!({ "disabled": true }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 404);

    for (body, field) in [
        (json!({ "username": "a", "role": "viewer" }), "username"),
        (json!({ "username": "ann", "role": "boss" }), "role"),
        (
            json!({ "username": "ann", "role": "viewer", "password": "short" }),
            "password",
        ),
        (
            json!({ "username": "ann", "role": "viewer", "email": "not-an-email" }),
            "email",
        ),
    ] {
        let response = app
            .client
            .post(app.url("/api/v1/users"))
            .json(&body)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 422, "{body}");
        assert_eq!(
            response.json::<Value>().await.expect("JSON")["error"]["field"],
            field,
            "{body}"
        );
    }
}

/// A platform admin creates a tenant, becomes its admin and switches to it;
/// the new tenant sees none of the old one's data.
#[tokio::test]
async fn platform_admins_create_and_switch_tenants() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/v1/tenants"))
        .json(&json!({ "slug": "acme", "name": "Acme Corp" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 201);
    let me: Value = app
        .client
        .post(app.url("/api/v1/auth/tenant"))
        .json(&json!({ "tenant": "acme" }))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(me["tenant"], "acme");
    let users: Value = app.get("/api/v1/users").await.json().await.expect("JSON");
    assert_eq!(users.as_array().expect("array").len(), 1);
    let envs: Value = app
        .get("/api/v1/environments")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(envs.as_array().expect("array").len(), 4);

    app.add_member("dora", "deployer").await;
    let dora = app.member_client("dora").await;
    let response = dora
        .post(app.url("/api/v1/tenants"))
        .json(&json!({ "slug": "dora-co", "name": "Dora Co" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 403);
}
