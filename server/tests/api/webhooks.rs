//! Outgoing webhooks against a local receiver: signed JSON bodies for the
//! events subscribed, retried with backoff after a failure, a delivery log,
//! and Slack-compatible text.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::fleet::{healthy_fleet, wait_finished};
use crate::helpers::{post_json, spawn_app};

/// One request the receiver got: event header, signature header, body.
type Call = (String, String, Vec<u8>);

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Call>>>);

/// A receiver that fails its first request with 500, then accepts.
async fn receiver() -> (String, Received) {
    let received = Received::default();
    let calls = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let calls = calls.clone();
            async move {
                let mut list = calls.0.lock().expect("lock");
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                list.push((
                    header("x-hotswap-event"),
                    header("x-hotswap-signature"),
                    body.to_vec(),
                ));
                if list.len() == 1 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn subscribers_get_signed_events_retried_after_a_failure_and_logged() {
    let app = spawn_app().await;
    let (client, address) = (&app.client, app.address.as_str());
    let _fleet = healthy_fleet(client, address, "production", 1, &["1.0.0"]).await;
    let (url, received) = receiver().await;

    for (bad, field) in [
        (json!({"url": "ftp://x"}), "url"),
        (json!({"url": url, "events": ["deployed"]}), "events"),
        (json!({"url": url, "format": "xml"}), "format"),
    ] {
        let response = post_json(client, &app.url("/api/v1/webhooks"), bad.clone()).await;
        assert_eq!(response.status(), 422, "{bad}");
        assert_eq!(
            response.json::<Value>().await.expect("JSON")["error"]["field"],
            field
        );
    }
    let response = post_json(
        client,
        &app.url("/api/v1/webhooks"),
        json!({"url": url, "events": ["pending", "approved", "succeeded"]}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let hook: Value = response.json().await.expect("JSON");
    let secret = hook["secret"]
        .as_str()
        .expect("the secret, once")
        .to_string();
    let listed: Value = app
        .get("/api/v1/webhooks")
        .await
        .json()
        .await
        .expect("JSON");
    assert!(listed[0]["secret"].is_null(), "never shown again: {listed}");

    let response = post_json(
        client,
        &app.url("/api/v1/deployments"),
        json!({"module": "app", "version": "1.0.0", "environment": "production", "strategy": {"kind": "direct"}}),
    )
    .await;
    let id = response.json::<Value>().await.expect("JSON")["id"]
        .as_i64()
        .expect("id");
    app.add_member("alice", "admin").await;
    let alice = app.member_client("alice").await;
    let approved = post_json(
        &alice,
        &app.url(&format!("/api/v1/approvals/deployments/{id}/approve")),
        json!({}),
    )
    .await;
    assert_eq!(approved.status(), 200);
    let detail = wait_finished(client, address, id, Duration::from_secs(60)).await;
    assert_eq!(detail["status"], "succeeded");

    // pending (refused once, then retried), approved, succeeded.
    let deadline = Instant::now() + Duration::from_secs(30);
    let calls = loop {
        let calls = received.0.lock().expect("lock").clone();
        let delivered: Vec<&str> = calls.iter().skip(1).map(|c| c.0.as_str()).collect();
        if ["pending", "approved", "succeeded"]
            .iter()
            .all(|e| delivered.contains(e))
        {
            break calls;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries so far: {delivered:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(calls[0].0, "pending");
    for (event, signed, body) in &calls {
        assert_eq!(*signed, signature(&secret, body), "{event} is signed");
        let body: Value = serde_json::from_slice(body).expect("JSON body");
        assert_eq!(body["event"], event.as_str());
        assert_eq!(body["deployment"]["id"], id);
        assert_eq!(body["deployment"]["environment"], "production");
    }
    let log: Value = app
        .get(&format!("/api/v1/webhooks/{}/deliveries", hook["id"]))
        .await
        .json()
        .await
        .expect("JSON");
    let pending = log
        .as_array()
        .expect("log")
        .iter()
        .find(|d| d["event"] == "pending")
        .expect("the pending delivery");
    assert_eq!(pending["status"], "delivered", "{log}");
    assert_eq!(pending["attempts"], 2, "{log}");
    assert_eq!(pending["last_status"], 200);
}

#[tokio::test]
async fn slack_receivers_get_a_line_of_text() {
    let app = spawn_app().await;
    let (client, address) = (&app.client, app.address.as_str());
    let _fleet = healthy_fleet(client, address, "staging", 1, &["1.0.0"]).await;
    let (url, received) = receiver().await;
    let response = post_json(
        client,
        &app.url("/api/v1/webhooks"),
        json!({"url": url, "format": "slack", "events": ["rejected"]}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let response = post_json(
        client,
        &app.url("/api/v1/deployments"),
        json!({"module": "app", "version": "1.0.0", "environment": "staging", "strategy": {"kind": "direct"}}),
    )
    .await;
    let id = response.json::<Value>().await.expect("JSON")["id"]
        .as_i64()
        .expect("id");
    app.add_member("alice", "admin").await;
    let alice = app.member_client("alice").await;
    let rejected = post_json(
        &alice,
        &app.url(&format!("/api/v1/approvals/deployments/{id}/reject")),
        json!({"comment": "not on a Friday"}),
    )
    .await;
    assert_eq!(rejected.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let calls = received.0.lock().expect("lock").clone();
        if let Some((_, _, body)) = calls.get(1) {
            let body: Value = serde_json::from_slice(body).expect("JSON");
            let text = body["text"].as_str().unwrap_or_default();
            assert!(
                text.contains(&format!("#{id} app 1.0.0 → staging was rejected")),
                "{text}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no retried delivery: {}",
            calls.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A receiver that accepts connections and never answers.
fn succeeded() -> app::model::event::Event {
    app::model::event::Event::DeploymentSucceeded(app::model::event::Ended {
        outcome: "1 nodes swapped".into(),
    })
}

async fn tarpit() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}

/// One tenant's receiver that never answers, with a backlog of deliveries,
/// does not hold up another tenant's.
#[tokio::test]
async fn a_tarpit_receiver_delays_only_its_own_tenant() {
    use hotswap::entities::webhooks as hooks;
    use hotswap::services::events;
    use sea_orm::{ActiveModelTrait, Set};

    let app = spawn_app().await;
    let slow_tenant = app.default_tenant().await;
    let other_tenant = crate::helpers::create_tenant(&app.db, "other").await;
    let (url, received) = receiver().await;
    for (tenant_id, url) in [(slow_tenant, tarpit().await), (other_tenant, url)] {
        hooks::ActiveModel {
            tenant_id: Set(tenant_id),
            url: Set(url),
            secret: Set("secret".into()),
            events: Set(json!(["succeeded"])),
            format: Set("json".into()),
            enabled: Set(true),
            created_at: Set(chrono::Utc::now()),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .expect("webhook");
    }
    // More than the dispatcher reads in one look.
    for _ in 0..250 {
        events::append(&app.db, slow_tenant, None, succeeded())
            .await
            .expect("event");
    }
    // Let the dispatcher take up the tarpit's backlog first.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sent = Instant::now();
    events::append(&app.db, other_tenant, None, succeeded())
        .await
        .expect("event");
    // The receiver refuses its first call (500): wait for the retry after 1 s.
    while received.0.lock().expect("lock").len() < 2 {
        assert!(
            sent.elapsed() < Duration::from_secs(6),
            "the other tenant's delivery waits behind the tarpit"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
