//! Live-event fan-out latency (see bench/live.sh).
//!
//! Starts Hotswap in this process on a fresh database, connects N WebSocket
//! clients to `/api/v1/live` with a bearer token, then writes events through
//! the one event writer at a steady rate. Each event carries the time it was
//! written; every client notes when it arrived. Reports p50, p99 and max of
//! the event-to-client latency over all deliveries.
//!
//!   cargo run --release -p server --example live_bench -- [--clients 1000] [--events 200] [--rate 20] [--database-url postgres://…/db]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use hotswap::config::{Config, Overrides};
use hotswap::startup::Application;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

struct Args {
    clients: usize,
    events: usize,
    rate: u64,
    database_url: Option<String>,
}

fn args() -> Args {
    let mut args = Args {
        clients: 1000,
        events: 200,
        rate: 20,
        database_url: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut next = || it.next().unwrap_or_default();
        match arg.as_str() {
            "--clients" => args.clients = next().parse().expect("a number of clients"),
            "--events" => args.events = next().parse().expect("a number of events"),
            "--rate" => args.rate = next().parse().expect("events per second"),
            "--database-url" => args.database_url = Some(next()),
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let args = args();
    let dir = tempfile::tempdir().expect("temp dir");
    let (database, url) = match &args.database_url {
        Some(url) => ("postgres", url.clone()),
        None => (
            "sqlite",
            format!("sqlite://{}?mode=rwc", dir.path().join("live.db").display()),
        ),
    };
    let vars = [
        ("HOTSWAP_ADDR", "127.0.0.1:0".to_string()),
        ("HOTSWAP_DATABASE_URL", url),
        (
            "HOTSWAP_ADMIN_PASSWORD",
            "benchmark-admin-password".to_string(),
        ),
        ("HOTSWAP_DB_MAX_CONNECTIONS", "20".to_string()),
        ("HOTSWAP_LOG", "error".to_string()),
    ];
    let config = Config::from_lookup(
        |k| {
            vars.iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.clone())
        },
        Overrides {
            addr: None,
            data_dir: Some(dir.path().to_path_buf()),
            workers: Some(1),
        },
    )
    .expect("config");
    let app = Application::build(config).await.expect("app");
    let ws_base = format!("ws://{}", app.local_addr());
    let db = app.database().clone();
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let token =
        hotswap::services::tokens::create_for_member(&db, "default", "admin", "bench", None, None)
            .await
            .expect("token")
            .token;
    let tenant = hotswap::services::tenancy::find_by_slug(&db, "default")
        .await
        .expect("tenant");

    // Connect every client before the first event.
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(args.clients * args.events)));
    let mut readers = Vec::new();
    for _ in 0..args.clients {
        let mut request = format!("{ws_base}/api/v1/live")
            .into_client_request()
            .expect("request");
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("a client connects");
        let latencies = latencies.clone();
        let expected = args.events;
        readers.push(tokio::spawn(async move {
            let mut mine = Vec::with_capacity(expected);
            while mine.len() < expected {
                match tokio::time::timeout(Duration::from_secs(30), socket.next()).await {
                    Ok(Some(Ok(Message::Text(text)))) => {
                        let arrived = now_us();
                        if let Ok(event) = serde_json::from_str::<Value>(&text) {
                            if let Some(sent) = event["payload"]["reason"]
                                .as_str()
                                .and_then(|r| r.split(' ').next()?.parse::<u64>().ok())
                            {
                                mine.push(arrived.saturating_sub(sent));
                            }
                        }
                    }
                    Ok(Some(Ok(_))) => {}
                    _ => break,
                }
            }
            latencies.lock().await.extend(mine);
        }));
    }

    let every = Duration::from_micros(1_000_000 / args.rate.max(1));
    let mut tick = tokio::time::interval(every);
    for i in 0..args.events {
        tick.tick().await;
        hotswap::services::events::append(
            &db,
            tenant.id,
            None,
            // Any kind does; its text carries the time it was sent.
            app::model::event::Event::RollbackStarted(app::model::event::Reason {
                reason: format!("{} {i}", now_us()),
            }),
        )
        .await
        .expect("event written");
    }
    for reader in readers {
        let _ = reader.await;
    }
    let mut all = latencies.lock().await.clone();
    all.sort_unstable();
    let expected = args.clients * args.events;
    println!("| database | clients | events | rate | deliveries | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {database} | {} | {} | {}/s | {}/{} | {:.1} ms | {:.1} ms | {:.1} ms |",
        args.clients,
        args.events,
        args.rate,
        all.len(),
        expected,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all.last().copied().unwrap_or(0) as f64 / 1000.0,
    );
}
