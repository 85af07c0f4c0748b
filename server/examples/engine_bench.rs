//! Orchestration overhead and queue throughput (see bench/engine.sh).
//!
//! Starts Hotswap in this process on a fresh database, connects N lightweight
//! agents that speak the real protocol over real WebSockets but answer every
//! swap at once (so what is timed is the engine, not downloads), and times a
//! Direct and a Rolling deployment across them. The agents run in a child
//! process (`engine_bench agents …`), as a fleet would: each side of 10,000
//! sockets then needs its own 10,000 open files, not one process 20,000.
//! With `--claims`, also counts claim-and-release cycles per second of the
//! job queue.
//!
//!   cargo run --release -p server --example engine_bench -- --nodes 100,1000 [--database-url postgres://…] [--claims]

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::lifecycle::DeploymentStatus;
use futures_util::{SinkExt, StreamExt};
use hotswap::config::{Config, Overrides};
use hotswap::entities::deployments;
use hotswap::startup::Application;
use hotswap_protocol::{AgentMessage, CommandResult, EnrollResponse, Modules, ServerMessage};
use sea_orm::{ConnectionTrait, Database, EntityTrait, QuerySelect};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

// The allocator the server ships with (server/src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    nodes: Vec<usize>,
    database_url: Option<String>,
    claims: bool,
}

/// `agents --base URL --enroll TOKEN --count N`: the fleet, in its own process.
struct Fleet {
    base: String,
    enroll: String,
    count: usize,
}

fn fleet_args(mut it: impl Iterator<Item = String>) -> Fleet {
    let mut fleet = Fleet {
        base: String::new(),
        enroll: String::new(),
        count: 0,
    };
    while let Some(arg) = it.next() {
        let value = it.next().unwrap_or_default();
        match arg.as_str() {
            "--base" => fleet.base = value,
            "--enroll" => fleet.enroll = value,
            "--count" => fleet.count = value.parse().expect("--count is a number"),
            other => panic!("unknown argument {other}"),
        }
    }
    fleet
}

/// Connects the fleet, says `ready` on stdout when every agent is online,
/// and answers commands until its parent closes stdin.
async fn run_fleet(fleet: Fleet) {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let ready = Arc::new(tokio::sync::Semaphore::new(0));
    for i in 0..fleet.count {
        let (base, enroll, ready) = (fleet.base.clone(), fleet.enroll.clone(), ready.clone());
        tokio::spawn(async move { fake_agent(base, enroll, format!("node-{i}"), ready).await });
    }
    let _all = ready
        .acquire_many(fleet.count as u32)
        .await
        .expect("agents ready");
    println!("ready");
    let mut stdin = tokio::io::stdin();
    let _ = tokio::io::AsyncReadExt::read(&mut stdin, &mut [0u8; 1]).await;
}

/// Starts the fleet's process and waits until all its agents are online.
async fn start_fleet(base: &str, enroll: &str, count: usize) -> tokio::process::Child {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(std::env::current_exe().expect("own path"))
        .args(["agents", "--base", base, "--enroll", enroll])
        .args(["--count", &count.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("fleet process");
    let stdout = child.stdout.take().expect("fleet stdout");
    let line = tokio::io::BufReader::new(stdout)
        .lines()
        .next_line()
        .await
        .expect("fleet output");
    assert_eq!(line.as_deref(), Some("ready"), "the fleet did not come up");
    child
}

fn args() -> Args {
    let mut args = Args {
        nodes: vec![100, 1000],
        database_url: None,
        claims: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--nodes" => {
                args.nodes = it
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(|n| n.trim().parse().ok())
                    .collect()
            }
            "--database-url" => args.database_url = it.next(),
            "--claims" => args.claims = true,
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

/// A fresh database: a new PostgreSQL database on the given server, or SQLite in `dir`.
async fn fresh_database(server: Option<&str>, dir: &std::path::Path, name: &str) -> String {
    match server {
        Some(url) => {
            let admin = Database::connect(url).await.expect("PostgreSQL reachable");
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                .await
                .expect("drop");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create");
            let base = url
                .rsplit_once('/')
                .map(|(b, _)| b.to_string())
                .expect("URL names a database");
            format!("{base}/{name}")
        }
        None => format!(
            "sqlite://{}?mode=rwc",
            dir.join(format!("{name}.db")).display()
        ),
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().nth(1).as_deref() == Some("agents") {
        return run_fleet(fleet_args(std::env::args().skip(2))).await;
    }
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let args = args();
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = if args.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    println!("| database | nodes | strategy | phases | time to finish | per node |");
    println!("|---|---|---|---|---|---|");
    for &n in &args.nodes {
        let url = fresh_database(
            args.database_url.as_deref(),
            dir.path(),
            &format!("bench_fleet_{n}"),
        )
        .await;
        let vars = [
            ("HOTSWAP_ADDR", "127.0.0.1:0".to_string()),
            ("HOTSWAP_DATABASE_URL", url),
            (
                "HOTSWAP_ADMIN_PASSWORD",
                "benchmark-admin-password".to_string(),
            ),
            (
                "HOTSWAP_LOG",
                std::env::var("BENCH_LOG").unwrap_or_else(|_| "error".into()),
            ),
            ("HOTSWAP_NODE_TIMEOUT", "120s".to_string()),
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
                workers: Some(4),
            },
        )
        .expect("config");
        if std::env::var("BENCH_LOG").is_ok() {
            hotswap::telemetry::init(&config.log);
        }
        let app = Application::build(config).await.expect("app");
        let base = format!("http://{}", app.local_addr());
        let db = app.database().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        let token = hotswap::services::tokens::create_for_member(
            &db, "default", "admin", "bench", None, None,
        )
        .await
        .expect("token")
        .token;
        let api = Api::new(&base, &token);
        let enroll = api
            .post("/environments/dev/enrollment-tokens", json!({"uses": n}))
            .await["token"]
            .as_str()
            .expect("enrollment token")
            .to_string();
        let connecting = Instant::now();
        let fleet = start_fleet(&base, &enroll, n).await;
        eprintln!(
            "{n} agents enrolled and connected in {:.1} s",
            connecting.elapsed().as_secs_f64()
        );
        api.post("/modules", json!({"name": "bench"})).await;
        for v in 1..=2 {
            api.post(
                "/modules/bench/versions",
                json!({"version": format!("{v}.0.0"), "artifact_url": "file:///bench.tar.gz", "sha256": "a".repeat(64)}),
            )
            .await;
        }
        for (version, strategy) in [
            ("1.0.0", json!({"kind": "direct"})),
            ("2.0.0", json!({"kind": "rolling", "batch_size": "10%"})),
        ] {
            let started = Instant::now();
            let id = api
                .post("/deployments", json!({"module": "bench", "version": version, "environment": "dev", "strategy": strategy}))
                .await["id"]
                .as_i64()
                .expect("deployment id");
            loop {
                // The status alone: the row's plan lists every node.
                let (status, outcome): (DeploymentStatus, Option<String>) =
                    deployments::Entity::find_by_id(id)
                        .select_only()
                        .column(deployments::Column::Status)
                        .column(deployments::Column::Outcome)
                        .into_tuple()
                        .one(&db)
                        .await
                        .expect("read")
                        .expect("row");
                if status == DeploymentStatus::Succeeded {
                    break;
                }
                assert!(
                    matches!(status, DeploymentStatus::Queued | DeploymentStatus::Running),
                    "deployment ended {status}: {outcome:?}"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let took = started.elapsed();
            let phases = if strategy["kind"] == "direct" { 1 } else { 10 };
            println!(
                "| {engine} | {n} | {} | {phases} | {:.2} s | {:.2} ms |",
                strategy["kind"].as_str().unwrap_or("?"),
                took.as_secs_f64(),
                took.as_secs_f64() * 1000.0 / n as f64
            );
        }
        drop(fleet);
        let _ = stop.send(());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if args.claims {
        let url = args
            .database_url
            .as_deref()
            .expect("--claims needs --database-url (PostgreSQL)");
        claims(url).await;
    }
}

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    fn new(base: &str, token: &str) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().expect("header"),
        );
        Self {
            client: reqwest::Client::builder()
                .default_headers(headers)
                .build()
                .expect("client"),
            base: format!("{base}/api/v1"),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("sent");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.expect("JSON")
    }
}

/// Enrolls, connects, and answers every command at once as succeeded;
/// retries and reconnects like the real agent.
async fn fake_agent(base: String, token: String, name: String, ready: Arc<tokio::sync::Semaphore>) {
    // The client (and its kept-alive connection) goes once enrolled.
    let client = reqwest::Client::new();
    let enrolled: EnrollResponse = loop {
        let attempt = client
            .post(format!("{base}/api/v1/agents/enroll"))
            .json(&json!({"token": token, "name": name, "labels": {}, "agent_version": "bench"}))
            .send()
            .await;
        if let Ok(response) = attempt {
            if response.status().is_success() {
                if let Ok(enrolled) = response.json().await {
                    break enrolled;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    drop(client);
    let mut modules = Modules::new();
    let mut ready = Some(ready);
    loop {
        let mut request = format!("{}/api/v1/agents/connect", base.replacen("http", "ws", 1))
            .into_client_request()
            .expect("request");
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {}", enrolled.credential)
                .parse()
                .expect("header"),
        );
        // Small buffers, as the server's: 10,000 sockets share this process.
        let config = WebSocketConfig::default()
            .read_buffer_size(8 * 1024)
            .write_buffer_size(0);
        let Ok((socket, _)) =
            tokio_tungstenite::connect_async_with_config(request, Some(config), true).await
        else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let (mut tx, mut rx) = socket.split();
        let send = |m: &AgentMessage| Message::text(serde_json::to_string(m).expect("JSON"));
        let hello = AgentMessage::Hello {
            protocol: 1,
            agent_version: "bench".into(),
            modules: modules.clone(),
        };
        if tx.send(send(&hello)).await.is_err() {
            continue;
        }
        if let Some(ready) = ready.take() {
            // Online once the server has read the hello.
            tokio::time::sleep(Duration::from_millis(200)).await;
            ready.add_permits(1);
        }
        let mut heartbeat = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                message = rx.next() => {
                    let text = match message {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(_)) => continue,
                        _ => break,
                    };
                    let (command_id, module, version) = match serde_json::from_str::<ServerMessage>(&text) {
                        Ok(ServerMessage::Swap(s)) => (s.command_id, s.module, Some(s.version)),
                        Ok(ServerMessage::Rollback { command_id, module, to_version }) => (command_id, module, to_version),
                        _ => continue,
                    };
                    let previous = modules.get(&module).cloned();
                    match &version {
                        Some(v) => { modules.insert(module.clone(), v.clone()); }
                        None => { modules.remove(&module); }
                    }
                    let result = CommandResult {
                        command_id,
                        ok: true,
                        error: None,
                        module,
                        current_version: version,
                        previous_version: previous,
                        modules: modules.clone(),
                    };
                    if tx.send(send(&AgentMessage::Result(result))).await.is_err() {
                        break;
                    }
                }
                _ = heartbeat.tick() => {
                    if tx.send(send(&AgentMessage::Heartbeat { modules: modules.clone(), sample: None })).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
}

/// Claim-and-release cycles per second of the real queue code, 8 workers for 10 s.
async fn claims(server: &str) {
    use hotswap::services::jobs as queue;
    let url = fresh_database(Some(server), std::path::Path::new("."), "bench_queue").await;
    let db = hotswap::db::connect(&hotswap::config::DatabaseConfig {
        url: url.clone(),
        max_connections: 16,
    })
    .await
    .expect("connect");
    hotswap::db::migrate(&db).await.expect("migrate");
    hotswap::services::bootstrap::ensure_initialised(&db, Some("benchmark-admin-password"))
        .await
        .expect("init");
    db.execute_unprepared(
        "INSERT INTO jobs (tenant_id, kind, payload, run_after, attempts, created_at) \
         SELECT 1, 'bench', '{}', now(), 0, now() FROM generate_series(1, 1000)",
    )
    .await
    .expect("jobs");
    let cycles = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(10);
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (db, cycles) = (db.clone(), cycles.clone());
            tokio::spawn(async move {
                let me = format!("bench-{w}");
                while Instant::now() < deadline {
                    if let Some(job) = queue::claim(&db, &me, chrono::Duration::seconds(30))
                        .await
                        .expect("claim")
                    {
                        queue::release(&db, &job, &me, chrono::Utc::now())
                            .await
                            .expect("release");
                        cycles.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("worker");
    }
    let n = cycles.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "\nqueue (hotswap engine code, 8 workers, 10 s): {:.0} claim+release cycles/s",
        n as f64 / 10.0
    );
    println!("QUEUE_URL={url}");
}
