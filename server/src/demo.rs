//! `hotswap demo`: the server on a fresh embedded database, five local agents
//! on temp dirs each fronting a tiny service with a health endpoint, and a
//! sample module with a healthy and a faulty version — so a newcomer watches a
//! real rolling deployment and a canary that rolls itself back within a minute.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use app::model::lifecycle::{DeploymentStatus, NodeStatus};
use axum::routing::get;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::config::{Config, Overrides};
use crate::startup::Application;
use hotswap_agent::probe::HealthCheck;
use hotswap_agent::AgentConfig;

const DEMO_PASSWORD: &str = "hotswap-demo-admin";
const NODES: usize = 5;

pub async fn run(addr: Option<String>) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new().prefix("hotswap-demo-").tempdir()?;
    let data = dir.path().join("data");
    let mut config = Config::from_lookup(
        |key| match key {
            "HOTSWAP_ADMIN_PASSWORD" => Some(DEMO_PASSWORD.to_string()),
            "HOTSWAP_LOG" => Some(std::env::var("HOTSWAP_LOG").unwrap_or_else(|_| "warn".into())),
            other => std::env::var(other).ok(),
        },
        Overrides {
            addr,
            data_dir: Some(data),
            workers: None,
        },
    )?;
    config.database.url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("data/hotswap.db").display()
    );
    crate::telemetry::init(&config.log);
    let app = Application::build(config).await?;
    let url = format!("http://{}", app.local_addr());
    let db = app.database().clone();
    tokio::spawn(app.run_until_stopped(crate::startup::shutdown_signal()));

    println!("Hotswap demo running at {url}");
    println!("  sign in as admin / {DEMO_PASSWORD}");
    println!(
        "  (a fresh database in {}; gone when you stop the demo)\n",
        dir.path().display()
    );

    let token =
        crate::services::tokens::create_for_member(&db, "default", "admin", "demo", None, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .token;
    let api = Api::new(&url, &token)?;
    let script = Script {
        api,
        root: dir.path().to_path_buf(),
    };
    let outcome = script.play(&url).await;
    if let Err(error) = &outcome {
        eprintln!("the demo script stopped: {error:#}");
    }
    println!("\nThe server keeps running: explore {url}, roll out again with the API,");
    println!("or press Ctrl-C to stop.");
    crate::startup::shutdown_signal().await;
    drop(dir);
    Ok(())
}

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    fn new(url: &str, token: &str) -> anyhow::Result<Self> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse()?,
        );
        Ok(Self {
            client: reqwest::Client::builder()
                .default_headers(headers)
                .build()?,
            base: format!("{url}/api/v1"),
        })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            anyhow::bail!("{path}: {status} {value}");
        }
        Ok(value)
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }
}

struct Script {
    api: Api,
    root: PathBuf,
}

impl Script {
    async fn play(&self, url: &str) -> anyhow::Result<()> {
        let api = &self.api;
        api.send(
            reqwest::Method::PATCH,
            "/environments/production",
            // The demo shows roll-outs, not approvals: production lets them through.
            Some(json!({"requires_approval": false, "analysis": {"interval": "2s", "min_samples": 5}})),
        )
        .await?;
        let token = api
            .post(
                "/environments/production/enrollment-tokens",
                json!({"uses": NODES}),
            )
            .await?["token"]
            .as_str()
            .context("an enrollment token")?
            .to_string();
        for n in 1..=NODES {
            self.start_node(url, &token, n).await?;
        }
        self.wait_online().await?;
        println!(
            "1. Enrolled {NODES} agents in production, each fronting a tiny service on localhost."
        );

        api.post(
            "/modules",
            json!({"name": "storefront", "description": "the demo web service"}),
        )
        .await?;
        let artifacts = self.root.join("artifacts");
        std::fs::create_dir_all(&artifacts)?;
        for (version, health) in [("1.0.0", "healthy"), ("1.1.0", "flaky")] {
            let (path, sha256) = artifact(&artifacts, version, health)?;
            api.post(
                "/modules/storefront/versions",
                json!({"version": version, "artifact_url": format!("file://{}", path.display()), "sha256": sha256}),
            )
            .await?;
        }
        println!(
            "2. Published storefront 1.0.0 (healthy) and 1.1.0 (fails 40 % of its health checks)."
        );

        let id = self
            .deploy(
                json!({"module": "storefront", "version": "1.0.0", "environment": "production",
                "strategy": {"kind": "rolling", "batch_size": 2}}),
            )
            .await?;
        println!("3. Rolling out 1.0.0, two nodes at a time: {url}/deployments/{id}");
        let done = self.wait(id).await?;
        println!(
            "   → {} ({})",
            done["status"].as_str().unwrap_or("?"),
            done["outcome"].as_str().unwrap_or("")
        );

        let id = self
            .deploy(json!({"module": "storefront", "version": "1.1.0", "environment": "production",
                "strategy": {"kind": "canary", "phases": [
                    {"percent": 20, "duration": "20s", "max_error_rate": 0.05, "max_p95_ms": 250},
                    {"percent": 60, "duration": "20s", "max_error_rate": 0.05, "max_p95_ms": 250},
                    {"percent": 100, "duration": "10s", "max_error_rate": 0.05, "max_p95_ms": 250}]}}))
            .await?;
        println!(
            "4. Canary of 1.1.0 to 20 % of production, judged every 2 s: {url}/deployments/{id}"
        );
        let done = self.wait(id).await?;
        println!(
            "   → {}: {}",
            done["status"].as_str().unwrap_or("?"),
            done["outcome"].as_str().unwrap_or("")
        );
        let nodes = api.get("/nodes").await?;
        let versions: Vec<String> = nodes["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| {
                format!(
                    "{} {}",
                    n["name"].as_str().unwrap_or("?"),
                    n["versions"]["storefront"].as_str().unwrap_or("-")
                )
            })
            .collect();
        println!("   Every node runs 1.0.0 again: {}", versions.join(", "));
        Ok(())
    }

    async fn start_node(&self, url: &str, token: &str, n: usize) -> anyhow::Result<()> {
        let root = self.root.join(format!("node-{n}"));
        std::fs::create_dir_all(&root)?;
        let health_url = serve_health(root.clone()).await?;
        let config = AgentConfig {
            server: url.to_string(),
            token: Some(token.to_string()),
            root,
            name: format!("demo-node-{n}"),
            labels: [("demo".to_string(), "true".to_string())].into(),
            health: Some(HealthCheck::Url(health_url)),
            pre_swap: None,
            post_swap: None,
            hook_timeout: Duration::from_secs(30),
            health_grace: Duration::from_secs(5),
            probe_interval: Duration::from_millis(200),
            heartbeat: Duration::from_secs(1),
            artifacts: hotswap_agent::artifact::ArtifactLimits {
                file_roots: vec![self.root.join("artifacts")],
                ..Default::default()
            },
        };
        tokio::spawn(async move {
            if let Err(error) = hotswap_agent::run(config).await {
                eprintln!("demo agent stopped: {error:#}");
            }
        });
        Ok(())
    }

    async fn wait_online(&self) -> anyhow::Result<()> {
        for _ in 0..150 {
            let nodes = self.api.get("/nodes").await?;
            let online = nodes["items"]
                .as_array()
                .map(|n| {
                    n.iter()
                        .filter(|n| n["status"] == NodeStatus::Online.as_str())
                        .count()
                })
                .unwrap_or(0);
            if online >= NODES {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        anyhow::bail!("the demo agents did not come online")
    }

    async fn deploy(&self, body: Value) -> anyhow::Result<i64> {
        self.api.post("/deployments", body).await?["id"]
            .as_i64()
            .context("a deployment id")
    }

    async fn wait(&self, id: i64) -> anyhow::Result<Value> {
        loop {
            let detail = self.api.get(&format!("/deployments/{id}")).await?;
            let status = detail["status"].as_str().and_then(DeploymentStatus::parse);
            if !status.is_some_and(DeploymentStatus::is_active) {
                return Ok(detail);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// A `.tar.gz` release whose `health.txt` decides how its service answers.
fn artifact(dir: &Path, version: &str, health: &str) -> anyhow::Result<(PathBuf, String)> {
    let mut bytes = Vec::new();
    {
        let gz = flate2::write::GzEncoder::new(&mut bytes, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        let index = format!("<h1>storefront {version}</h1>\n");
        for (name, content) in [("health.txt", health), ("index.html", index.as_str())] {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, name, content.as_bytes())?;
        }
        tar.into_inner()?.finish()?;
    }
    let path = dir.join(format!("storefront-{version}.tar.gz"));
    std::fs::write(&path, &bytes)?;
    Ok((path, hex::encode(Sha256::digest(&bytes))))
}

/// The node's "service": answers `/health` from the release `current` points
/// at — 200 when healthy, 500 on about 40 % of requests when flaky.
async fn serve_health(root: PathBuf) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/health",
        get(move || {
            let root = root.clone();
            async move {
                let state = std::fs::read_to_string(root.join("storefront/current/health.txt"))
                    .unwrap_or_default();
                let fail = match state.trim() {
                    "healthy" => false,
                    "flaky" => rand::random::<u8>() < 102,
                    _ => true,
                };
                if fail {
                    (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "unhealthy")
                } else {
                    (axum::http::StatusCode::OK, "ok")
                }
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}/health"))
}
