//! Live-event fan-out latency (see bench/live.sh).
//!
//! Starts Hotswap in this process on a fresh database, connects N WebSocket
//! clients to `/api/v1/live` with a bearer token, then writes events through
//! the one event writer at a steady rate. Each event carries the time it was
//! written; every client notes when it arrived. Reports p50, p99 and max of
//! the event-to-client latency over all deliveries. The clients run in a
//! child process (`live_bench clients …`), as browsers would: 10,000 sockets
//! on each side would not fit one process's open files.
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
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
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
    if std::env::args().nth(1).as_deref() == Some("clients") {
        return run_clients(std::env::args().skip(2)).await;
    }
    let _ = rlimit::increase_nofile_limit(u64::MAX);
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

    let clients = start_clients(&ws_base, &token, args.clients, args.events).await;

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
    let (delivered, p50, p99, max) = clients.results().await;
    let expected = args.clients * args.events;
    println!("| database | clients | events | rate | deliveries | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {database} | {} | {} | {}/s | {delivered}/{expected} | {p50:.1} ms | {p99:.1} ms | {max:.1} ms |",
        args.clients, args.events, args.rate,
    );
}

/// The clients' process, seen from the server's side.
struct Clients {
    child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl Clients {
    /// Waits for the clients to have read every event (or given up), and
    /// reads what they measured: deliveries, p50, p99, max.
    async fn results(mut self) -> (usize, f64, f64, f64) {
        let line = self.lines.next_line().await.expect("clients' output");
        let _ = self.child.wait().await;
        let mut fields = line.as_deref().unwrap_or_default().split(' ');
        let mut next = || {
            fields
                .next()
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        };
        (next() as usize, next(), next(), next())
    }
}

async fn start_clients(ws_base: &str, token: &str, count: usize, events: usize) -> Clients {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(std::env::current_exe().expect("own path"))
        .args([
            "clients",
            ws_base,
            token,
            &count.to_string(),
            &events.to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("clients' process");
    let stdout = child.stdout.take().expect("clients' stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let ready = lines.next_line().await.expect("clients' output");
    assert_eq!(
        ready.as_deref(),
        Some("ready"),
        "the clients did not connect"
    );
    Clients { child, lines }
}

/// `clients WS_BASE TOKEN COUNT EVENTS`: connects every client, says `ready`,
/// then prints `deliveries p50 p99 max` (milliseconds) once each has read
/// its events or heard nothing for 30 s.
async fn run_clients(mut args: impl Iterator<Item = String>) {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let mut next = || args.next().expect("clients WS_BASE TOKEN COUNT EVENTS");
    let (ws_base, token) = (next(), next());
    let count: usize = next().parse().expect("a number of clients");
    let expected: usize = next().parse().expect("a number of events");
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(count * expected)));
    let mut readers = Vec::new();
    for _ in 0..count {
        let mut request = format!("{ws_base}/api/v1/live")
            .into_client_request()
            .expect("request");
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        // Small buffers, as the server's: every socket shares this process.
        let config = WebSocketConfig::default()
            .read_buffer_size(8 * 1024)
            .write_buffer_size(0);
        let (mut socket, _) =
            tokio_tungstenite::connect_async_with_config(request, Some(config), true)
                .await
                .expect("a client connects");
        let latencies = latencies.clone();
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
    println!("ready");
    for reader in readers {
        let _ = reader.await;
    }
    let mut all = latencies.lock().await.clone();
    all.sort_unstable();
    println!(
        "{} {:.1} {:.1} {:.1}",
        all.len(),
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all.last().copied().unwrap_or(0) as f64 / 1000.0,
    );
}
