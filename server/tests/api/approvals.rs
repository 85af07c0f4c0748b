//! Approval of gated roll-outs (SPEC §3): another Admin decides, N distinct
//! approvers, a rejection says why, an undecided request expires, and an
//! approved deployment really runs on the agents.

use std::time::Duration;

use serde_json::{json, Value};

use crate::fleet::{deploy, events, healthy_fleet, kinds, wait_finished, wait_for};
use crate::helpers::{post_json, spawn_app, TestApp};

const LIMIT: Duration = Duration::from_secs(60);

fn release(version: &str) -> Value {
    json!({"module": "app", "version": version, "environment": "production",
           "strategy": {"kind": "direct"}})
}

async fn decide(
    client: &reqwest::Client,
    app: &TestApp,
    id: i64,
    verb: &str,
    body: Value,
) -> (u16, Value) {
    let response = post_json(
        client,
        &app.url(&format!("/api/v1/approvals/deployments/{id}/{verb}")),
        body,
    )
    .await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn metric(app: &TestApp, line_start: &str) -> String {
    let text = app.get("/metrics").await.text().await.expect("metrics");
    text.lines()
        .find(|l| l.starts_with(line_start))
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_production_roll_out_waits_for_another_admin_and_then_runs() {
    let app = spawn_app().await;
    let (fleet, _files) = healthy_fleet(
        &app.client,
        &app.address,
        "production",
        2,
        &["1.0.0", "2.0.0"],
    )
    .await;
    let (client, address) = (&app.client, app.address.as_str());

    let response = post_json(client, &app.url("/api/v1/deployments"), release("1.0.0")).await;
    assert_eq!(response.status(), 202);
    let created: Value = response.json().await.expect("JSON");
    assert_eq!(created["status"], "pending_approval", "{created}");
    let id = created["id"].as_i64().expect("id");

    // An approver sees what it would do: the plan if it started now.
    let waiting = crate::fleet::detail(client, address, id).await;
    assert_eq!(
        waiting["phases"].as_array().map(Vec::len),
        Some(1),
        "{waiting}"
    );
    assert_eq!(waiting["phases"][0]["nodes"], 2, "{waiting}");

    // The slot is held while it waits; other environments are not blocked.
    let second = post_json(client, &app.url("/api/v1/deployments"), release("2.0.0")).await;
    assert_eq!(second.status(), 409);

    let inbox: Value = app
        .get("/api/v1/approvals?status=pending")
        .await
        .json()
        .await
        .expect("JSON");
    let item = &inbox["items"][0];
    assert_eq!(item["deployment"]["id"], id, "{inbox}");
    assert_eq!(item["deployment"]["requested_by"], "admin");
    assert_eq!(item["approval"]["required"], 1);
    assert!(item["approval"]["deadline"].is_string(), "{item}");

    // The requester cannot approve their own, and says so.
    let (status, body) = decide(client, &app, id, "approve", json!({})).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("your own"),
        "{body}"
    );
    // Deployers and viewers cannot decide at all.
    app.add_member("dora", "deployer").await;
    let dora = app.member_client("dora").await;
    assert_eq!(decide(&dora, &app, id, "approve", json!({})).await.0, 403);

    app.add_member("alice", "admin").await;
    let alice = app.member_client("alice").await;
    let (status, body) = decide(&alice, &app, id, "approve", json!({"comment": "ship it"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "queued", "{body}");

    let detail = wait_finished(client, address, id, LIMIT).await;
    assert_eq!(detail["status"], "succeeded", "{detail}");
    assert_eq!(
        detail["approval"]["decisions"][0]["approver"], "alice",
        "{detail}"
    );
    assert_eq!(detail["approval"]["decisions"][0]["comment"], "ship it");
    assert_eq!(fleet.currents("app"), vec![Some("1.0.0".to_string()); 2]);
    let seen = kinds(&events(client, address, id).await);
    for kind in [
        "approval_requested",
        "approved",
        "deployment_started",
        "deployment_succeeded",
    ] {
        assert!(seen.contains(&kind.to_string()), "{kind} in {seen:?}");
    }

    // The history filters by requester.
    let mine: Value = app
        .get("/api/v1/deployments?requester=admin")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(mine["items"][0]["id"], id, "{mine}");
    let theirs: Value = app
        .get("/api/v1/deployments?requester=alice")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        theirs["items"].as_array().map(Vec::len),
        Some(0),
        "{theirs}"
    );

    // Deciding again on a decided deployment is a conflict.
    let (status, _) = decide(&alice, &app, id, "approve", json!({})).await;
    assert_eq!(status, 409);

    let audit: Value = app
        .get("/api/v1/audit?action=approve")
        .await
        .json()
        .await
        .expect("JSON");
    let actors: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| {
            e["action"]
                .as_str()
                .unwrap_or_default()
                .contains("/approve")
        })
        .map(|e| e["actor"].as_str().unwrap_or_default())
        .collect();
    assert!(actors.contains(&"alice"), "{audit}");
    assert_eq!(
        metric(&app, "hotswap_approvals_total{decision=\"approved\"}").await,
        "hotswap_approvals_total{decision=\"approved\"} 1"
    );
    assert!(metric(&app, "hotswap_approval_wait_seconds_count")
        .await
        .ends_with(" 1"));
}

#[tokio::test]
async fn two_approvals_need_two_people_and_a_rejection_says_why() {
    let app = spawn_app().await;
    let (_fleet, _files) = healthy_fleet(
        &app.client,
        &app.address,
        "production",
        1,
        &["1.0.0", "2.0.0"],
    )
    .await;
    app.patch_environment("production", json!({"required_approvals": 2}))
        .await;
    app.add_member("alice", "admin").await;
    app.add_member("bob", "admin").await;
    let alice = app.member_client("alice").await;
    let bob = app.member_client("bob").await;

    let id = deploy(&app.client, &app.address, release("1.0.0")).await;
    let (status, body) = decide(&alice, &app, id, "approve", json!({})).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("pending_approval")),
        "{body}"
    );
    assert_eq!(body["approvals"], 1);
    // The same person twice counts once.
    let (status, body) = decide(&alice, &app, id, "approve", json!({})).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = decide(&bob, &app, id, "approve", json!({})).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("queued")),
        "{body}"
    );
    let detail = wait_finished(&app.client, &app.address, id, LIMIT).await;
    assert_eq!(detail["status"], "succeeded", "{detail}");

    // A rejection needs a comment, ends the request and frees the slot.
    let id = deploy(&app.client, &app.address, release("2.0.0")).await;
    let (status, body) = decide(&bob, &app, id, "reject", json!({"comment": "  "})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "comment");
    let (status, body) = decide(
        &bob,
        &app,
        id,
        "reject",
        json!({"comment": "not during the sale"}),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("rejected")),
        "{body}"
    );
    let detail = crate::fleet::detail(&app.client, &app.address, id).await;
    assert_eq!(detail["status"], "rejected");
    assert!(
        detail["outcome"]
            .as_str()
            .unwrap_or_default()
            .contains("not during the sale"),
        "{detail}"
    );
    deploy(&app.client, &app.address, release("2.0.0")).await;
    assert_eq!(
        metric(&app, "hotswap_approvals_total{decision=\"rejected\"}").await,
        "hotswap_approvals_total{decision=\"rejected\"} 1"
    );
}

#[tokio::test]
async fn an_undecided_request_expires_and_self_approval_is_a_policy() {
    let app = spawn_app().await;
    let (_fleet, _files) = healthy_fleet(
        &app.client,
        &app.address,
        "production",
        1,
        &["1.0.0", "2.0.0"],
    )
    .await;
    app.patch_environment("production", json!({"approval_timeout": "1s"}))
        .await;
    let id = deploy(&app.client, &app.address, release("1.0.0")).await;
    wait_for(&app.client, &app.address, id, "expiry", |d| {
        d["status"] == "expired"
    })
    .await;
    let seen = kinds(&events(&app.client, &app.address, id).await);
    assert!(seen.contains(&"deployment_expired".to_string()), "{seen:?}");
    let audit: Value = app
        .get("/api/v1/audit?actor=system")
        .await
        .json()
        .await
        .expect("JSON");
    assert!(
        audit["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|e| e["action"] == "expire approval request"),
        "{audit}"
    );
    assert_eq!(
        metric(&app, "hotswap_approvals_total{decision=\"expired\"}").await,
        "hotswap_approvals_total{decision=\"expired\"} 1"
    );

    app.patch_environment(
        "production",
        json!({"approval_timeout": "1h", "allow_self_approval": true}),
    )
    .await;
    let id = deploy(&app.client, &app.address, release("1.0.0")).await;
    let (status, body) = decide(&app.client, &app, id, "approve", json!({})).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("queued")),
        "{body}"
    );

    // Policy values are validated.
    for bad in [
        json!({"required_approvals": 0}),
        json!({"approval_timeout": "soon"}),
        json!({"requires_approval": "yes"}),
    ] {
        let response = app
            .client
            .patch(app.url("/api/v1/environments/production"))
            .json(&bad)
            .send()
            .await
            .expect("patch");
        assert_eq!(response.status(), 422, "{bad}");
    }
}
