//! Live events over WebSockets: what a client sees, what it catches up on
//! after a reconnect, who may listen, and (on PostgreSQL) events crossing
//! from one replica to a client of another.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::crash::{free_port, Server};
use crate::fleet::healthy_fleet;
use crate::helpers::{fresh_database_url, post_json, sign_in, spawn_app, TestApp, ADMIN_PASSWORD};

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn token(app: &TestApp) -> String {
    let response = post_json(
        &app.client,
        &app.url("/api/v1/tokens"),
        json!({"name": "live"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.expect("JSON")["token"]
        .as_str()
        .expect("token")
        .to_string()
}

async fn connect(app: &TestApp, path: &str, token: &str) -> Socket {
    connect_to(&app.address, path, token).await
}

async fn connect_to(address: &str, path: &str, token: &str) -> Socket {
    let url = format!("{}{path}", address.replacen("http", "ws", 1));
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connects");
    socket
}

/// The next event, or None after `wait` of silence.
async fn next(socket: &mut Socket, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return serde_json::from_str(&text).ok(),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

/// Reads events until one of `kind` for `deployment` arrives; returns all read.
async fn until(socket: &mut Socket, deployment: i64, kind: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let event = next(socket, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("no {kind} for {deployment}; saw {seen:?}"));
        let done = event["deployment_id"] == deployment && event["kind"] == kind;
        seen.push(event);
        if done {
            return seen;
        }
    }
}

async fn request(app: &TestApp) -> i64 {
    let body = json!({"module": "app", "version": "1.0.0", "environment": "production"});
    let response = post_json(&app.client, &app.url("/api/v1/deployments"), body).await;
    assert_eq!(response.status(), 202);
    response.json::<Value>().await.expect("JSON")["id"]
        .as_i64()
        .expect("id")
}

#[tokio::test]
async fn a_client_sees_events_live_and_catches_up_after_a_reconnect() {
    let app = spawn_app().await;
    let (_fleet, _files) =
        healthy_fleet(&app.client, &app.address, "production", 1, &["1.0.0"]).await;
    let token = token(&app).await;

    let mut tenant = connect(&app, "/api/v1/live", &token).await;
    let id = request(&app).await;
    let seen = until(&mut tenant, id, "approval_requested").await;
    assert!(
        seen.iter().any(|e| e["kind"] == "deployment_created"),
        "{seen:?}"
    );
    let last = seen.last().expect("an event")["id"].as_i64().expect("id");
    tenant.close(None).await.expect("closed");

    // While nobody listens, the request is cancelled.
    let response = post_json(
        &app.client,
        &app.url(&format!("/api/v1/deployments/{id}/cancel")),
        json!({}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let mut again = connect(&app, &format!("/api/v1/live?after={last}"), &token).await;
    let missed = next(&mut again, Duration::from_secs(5))
        .await
        .expect("the missed event");
    assert_eq!(missed["kind"], "deployment_cancelled", "{missed}");
    assert_eq!(missed["deployment_id"], id);

    // One deployment's stream from the start holds its events and no others.
    let other = request(&app).await;
    let mut one = connect(
        &app,
        &format!("/api/v1/deployments/{id}/live?after=0"),
        &token,
    )
    .await;
    let mut kinds = Vec::new();
    while let Some(event) = next(&mut one, Duration::from_millis(500)).await {
        assert_eq!(event["deployment_id"], id, "{event}");
        kinds.push(event["kind"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(
        kinds,
        [
            "deployment_created",
            "approval_requested",
            "deployment_cancelled"
        ]
    );
    let _ = other;

    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(metrics.contains("hotswap_websocket_clients "), "{metrics}");
}

#[tokio::test]
async fn only_members_listen_and_only_from_our_own_pages() {
    let app = spawn_app().await;
    // Without an upgrade it says what it is; anonymous callers are refused.
    let response = app.get("/api/v1/live").await;
    assert_eq!(response.status(), 426);
    assert_eq!(
        app.anonymous
            .get(app.url("/api/v1/live"))
            .send()
            .await
            .expect("sent")
            .status(),
        401
    );
    let response = app.get("/api/v1/live?after=minus-one").await;
    assert_eq!(response.status(), 422);
    let response = app.get("/api/v1/deployments/999/live").await;
    assert_eq!(response.status(), 404);

    // A session cookie sent by another site's page is refused.
    let login = app
        .anonymous
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": crate::helpers::ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login");
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let url = format!("{}/api/v1/live", app.address.replacen("http", "ws", 1));
    let mut request = url.clone().into_client_request().expect("request");
    request
        .headers_mut()
        .insert("cookie", cookie.parse().expect("cookie"));
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().expect("origin"));
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("a cross-site socket was accepted: {other:?}"),
    }
    let mut request = url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("cookie", cookie.parse().expect("cookie"));
    request
        .headers_mut()
        .insert("origin", app.address.parse().expect("origin"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("same-site socket");
    socket.send(Message::Close(None)).await.ok();
}

#[tokio::test]
async fn an_event_on_one_replica_reaches_a_client_of_another() {
    if !std::env::var("HOTSWAP_TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        eprintln!("skipped: needs PostgreSQL (HOTSWAP_TEST_DATABASE_URL)");
        return;
    }
    // Two `hotswap serve` processes on one database; only the first runs
    // workers, so every roll-out event is written there.
    let data = tempfile::tempdir().expect("temp dir");
    let url = fresh_database_url(data.path()).await;
    let first = Server::start(&url, free_port(), data.path(), 2).await;
    let second = Server::start(&url, free_port(), data.path(), 0).await;
    let client = sign_in(&first.address, "admin", ADMIN_PASSWORD).await;
    let _fleet = healthy_fleet(&client, &first.address, "dev", 1, &["1.0.0"]).await;
    let response = post_json(
        &client,
        &format!("{}/api/v1/tokens", first.address),
        json!({"name": "live"}),
    )
    .await;
    let token = response.json::<Value>().await.expect("JSON")["token"]
        .as_str()
        .expect("token")
        .to_string();

    let mut socket = connect_to(&second.address, "/api/v1/live", &token).await;
    let body = json!({"module": "app", "version": "1.0.0", "environment": "dev"});
    let response = post_json(
        &client,
        &format!("{}/api/v1/deployments", first.address),
        body,
    )
    .await;
    let id = response.json::<Value>().await.expect("JSON")["id"]
        .as_i64()
        .expect("id");
    let seen = until(&mut socket, id, "deployment_succeeded").await;
    assert!(seen.iter().any(|e| e["kind"] == "node_swapped"), "{seen:?}");
}

/// An open stream ends when its viewer loses access: a revoked token, or a
/// member whose membership is disabled, stops receiving events within seconds.
#[tokio::test]
async fn a_revoked_token_or_disabled_member_stops_streaming() {
    let app = spawn_app().await;
    let secret = token(&app).await;
    let tokens: Vec<Value> = app.get("/api/v1/tokens").await.json().await.expect("JSON");
    let id = tokens.iter().find(|t| t["name"] == "live").expect("listed")["id"].clone();
    let member = app.add_member("watcher", "admin").await;
    let watcher = app.member_client("watcher").await;
    let member_secret = post_json(
        &watcher,
        &app.url("/api/v1/tokens"),
        json!({"name": "watcher"}),
    )
    .await
    .json::<Value>()
    .await
    .expect("JSON")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let mut revoked = connect(&app, "/api/v1/live", &secret).await;
    let mut disabled = connect(&app, "/api/v1/live", &member_secret).await;
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/tokens/{id}")))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/users/{member}")))
        .json(&json!({"disabled": true}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    for (name, socket) in [
        ("revoked token", &mut revoked),
        ("disabled member", &mut disabled),
    ] {
        let closed = tokio::time::timeout(Duration::from_secs(15), async {
            loop {
                match socket.next().await {
                    Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                    None | Some(Err(_)) => return None,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert_eq!(closed.expect(name), Some(1008), "{name}");
    }
}

/// A replica that starts on a database with history sends only what happens
/// from then on as live, not every old event again.
#[tokio::test]
async fn a_replica_started_later_does_not_replay_history_as_live() {
    if !std::env::var("HOTSWAP_TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        eprintln!("skipped: needs PostgreSQL (HOTSWAP_TEST_DATABASE_URL)");
        return;
    }
    let data = tempfile::tempdir().expect("temp dir");
    let url = fresh_database_url(data.path()).await;
    let first = Server::start(&url, free_port(), data.path(), 2).await;
    let client = sign_in(&first.address, "admin", ADMIN_PASSWORD).await;
    let _fleet = healthy_fleet(&client, &first.address, "dev", 1, &["1.0.0"]).await;
    let _staging = crate::fleet::start_fleet(
        &client,
        &first.address,
        crate::fleet::FleetSpec::new("staging", 1),
    )
    .await;
    let deploy = |environment: &'static str| {
        let (client, url) = (
            client.clone(),
            format!("{}/api/v1/deployments", first.address),
        );
        async move {
            let body = json!({"module": "app", "version": "1.0.0", "environment": environment, "strategy": {"kind": "direct"}});
            let response = post_json(&client, &url, body).await;
            let status = response.status();
            let answer: Value = response.json().await.expect("JSON");
            assert_eq!(status, 202, "{answer}");
            answer["id"].as_i64().expect("id")
        }
    };
    let old = deploy("dev").await;
    crate::fleet::wait_finished(&client, &first.address, old, Duration::from_secs(60)).await;
    let response = post_json(
        &client,
        &format!("{}/api/v1/tokens", first.address),
        json!({"name": "live"}),
    )
    .await;
    let token = response.json::<Value>().await.expect("JSON")["token"]
        .as_str()
        .expect("token")
        .to_string();

    // Enough history that replaying it would take a while.
    let db = sea_orm::Database::connect(&url).await.expect("database");
    let tenant = crate::helpers::tenant_id(&db, "default").await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &db,
        &format!(
            "INSERT INTO events (tenant_id, deployment_id, kind, payload, created_at) \
             SELECT {tenant}, NULL, 'paused', '{{\"by\": \"history\"}}'::jsonb, now() \
             FROM generate_series(1, 20000)"
        ),
    )
    .await
    .expect("history");
    let second = Server::start(&url, free_port(), data.path(), 0).await;
    let mut socket = connect_to(&second.address, "/api/v1/live", &token).await;
    let new = deploy("staging").await;
    let first_seen = next(&mut socket, Duration::from_secs(10))
        .await
        .expect("the new event arrives");
    assert_eq!(
        first_seen["deployment_id"], new,
        "old events came first: {first_seen}"
    );
}

/// A newer replica may write a kind of event this build does not know (a
/// rolling upgrade): it is left out of lists and the live feed, and neither
/// stops.
#[tokio::test]
async fn an_event_of_an_unknown_kind_is_skipped_not_fatal() {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let app = spawn_app().await;
    let (_fleet, _files) =
        healthy_fleet(&app.client, &app.address, "production", 1, &["1.0.0"]).await;
    let token = token(&app).await;
    let mut live = connect(&app, "/api/v1/live", &token).await;
    let id = request(&app).await;
    until(&mut live, id, "approval_requested").await;

    let backend = app.db.get_database_backend();
    let sql = if backend == DatabaseBackend::Postgres {
        "INSERT INTO events (tenant_id, deployment_id, kind, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5)"
    } else {
        "INSERT INTO events (tenant_id, deployment_id, kind, payload, created_at) \
         VALUES (?, ?, ?, ?, ?)"
    };
    let tenant = app.default_tenant().await;
    app.db
        .execute(Statement::from_sql_and_values(
            backend,
            sql,
            [
                tenant.into(),
                id.into(),
                "from_a_newer_release".into(),
                json!({"new": true}).into(),
                chrono::Utc::now().into(),
            ],
        ))
        .await
        .expect("an event of an unknown kind");

    // The next event still arrives live; the unknown one never does.
    let response = post_json(
        &app.client,
        &app.url(&format!("/api/v1/deployments/{id}/cancel")),
        json!({}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let seen = until(&mut live, id, "deployment_cancelled").await;
    assert!(
        seen.iter().all(|e| e["kind"] != "from_a_newer_release"),
        "{seen:?}"
    );

    // The deployment's event list reads around it.
    let events: Value = app
        .get(&format!("/api/v1/deployments/{id}/events"))
        .await
        .json()
        .await
        .expect("JSON");
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "deployment_created",
            "approval_requested",
            "deployment_cancelled"
        ]
    );
    let page = app.get(&format!("/deployments/{id}")).await;
    assert_eq!(page.status(), 200);
}

/// The attack: a client streams one huge message to make the server hold
/// it (the WebSocket library would take up to 64 MiB). A live page sends
/// nothing but pings and closes, so its socket takes 16 KiB at most: the
/// sender is cut off, and others keep their stream.
#[tokio::test]
async fn a_viewer_sending_a_huge_message_is_cut_off_and_others_stream_on() {
    let app = spawn_app().await;
    let token = token(&app).await;
    let mut attacker = connect(&app, "/api/v1/live", &token).await;
    let mut viewer = connect(&app, "/api/v1/live", &token).await;
    let sent = attacker.send(Message::text("x".repeat(1024 * 1024))).await;
    // The server closes the attacker's socket (or resets it mid-send).
    if sent.is_ok() {
        let ended = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match attacker.next().await {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "the server kept reading a 1 MiB message");
    }
    viewer
        .send(Message::Ping(Vec::new().into()))
        .await
        .expect("still open");
    let answered = tokio::time::timeout(Duration::from_secs(5), viewer.next()).await;
    assert!(
        matches!(answered, Ok(Some(Ok(_)))),
        "the other viewer's stream ended: {answered:?}"
    );
}
