//! A fleet of real `hotswap agent` processes on temp dirs, and artifacts to
//! roll out to them, for the roll-out tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::helpers::post_json;

pub const AGENT: &str = env!("CARGO_BIN_EXE_hotswap");

/// One agent process; killed when dropped.
pub struct Agent {
    pub name: String,
    pub root: PathBuf,
    pub log: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
}

impl Agent {
    fn spawn(args: &[String], log: &Path) -> Child {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("agent log opens");
        Command::new(AGENT)
            .args(args)
            .env("HOTSWAP_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .expect("the agent starts")
    }

    /// The release `ROOT/<module>/current` points at, read from disk.
    pub fn current(&self, module: &str) -> Option<String> {
        let target = std::fs::read_link(self.root.join(module).join("current")).ok()?;
        Some(target.file_name()?.to_string_lossy().into_owned())
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many times this agent swapped `module` to `version`, from its log.
    pub fn swaps(&self, version: &str) -> usize {
        self.log_text()
            .lines()
            .filter(|l| l.contains("swapped") && l.contains(&format!("version={version}")))
            .count()
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.child = Some(Self::spawn(&self.args, &self.log));
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Fleet {
    pub agents: Vec<Agent>,
    _dir: TempDir,
}

#[derive(Clone)]
pub struct FleetSpec<'a> {
    pub environment: &'a str,
    pub count: usize,
    pub pool: Option<&'a str>,
    pub prefix: &'a str,
    /// Extra agent flags, e.g. a health command.
    pub extra: Vec<String>,
}

impl<'a> FleetSpec<'a> {
    pub fn new(environment: &'a str, count: usize) -> Self {
        Self {
            environment,
            count,
            pool: None,
            prefix: environment,
            extra: Vec::new(),
        }
    }
}

/// Creates an enrollment token through the API and starts `count` agents.
pub async fn start_fleet(client: &reqwest::Client, address: &str, spec: FleetSpec<'_>) -> Fleet {
    let response = post_json(
        client,
        &format!(
            "{address}/api/v1/environments/{}/enrollment-tokens",
            spec.environment
        ),
        json!({ "pool": spec.pool, "uses": spec.count }),
    )
    .await;
    assert_eq!(response.status(), 201, "enrollment token");
    let token = response.json::<Value>().await.expect("JSON")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let agents = (0..spec.count)
        .map(|i| {
            let name = format!("{}-{}{i}", spec.prefix, spec.pool.unwrap_or(""));
            let root = dir.path().join(&name);
            let log = dir.path().join(format!("{name}.log"));
            let mut args: Vec<String> = [
                "agent",
                "--server",
                address,
                "--token",
                &token,
                "--name",
                &name,
                "--heartbeat",
                "300ms",
                "--probe-interval",
                "100ms",
                "--labels",
                "zone=test,tier=web",
                "--health-grace",
                "3s",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            args.extend(["--root".to_string(), root.display().to_string()]);
            // Test artifacts are written under the system's temp directory.
            args.extend([
                "--artifact-dir".to_string(),
                std::env::temp_dir().display().to_string(),
            ]);
            args.extend(spec.extra.iter().cloned());
            let child = Agent::spawn(&args, &log);
            Agent {
                name,
                root,
                log,
                args,
                child: Some(child),
            }
        })
        .collect();
    let fleet = Fleet { agents, _dir: dir };
    fleet.wait_online(client, address).await;
    fleet
}

impl Fleet {
    pub async fn wait_online(&self, client: &reqwest::Client, address: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let nodes = nodes(client, address).await;
            let online = self
                .agents
                .iter()
                .filter(|a| {
                    nodes
                        .iter()
                        .any(|n| n["name"] == a.name.as_str() && n["status"] == "online")
                })
                .count();
            if online == self.agents.len() {
                return;
            }
            if Instant::now() > deadline {
                let logs: Vec<String> = self.agents.iter().map(|a| a.log_text()).collect();
                panic!(
                    "only {online} of {} agents came online; logs:\n{}",
                    self.agents.len(),
                    logs.join("\n---\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn currents(&self, module: &str) -> Vec<Option<String>> {
        self.agents.iter().map(|a| a.current(module)).collect()
    }
}

/// The tenant's nodes (a test enrolls fewer than a page holds).
pub async fn nodes(client: &reqwest::Client, address: &str) -> Vec<Value> {
    let page: Value = client
        .get(format!("{address}/api/v1/nodes?limit=500"))
        .send()
        .await
        .expect("nodes")
        .json()
        .await
        .expect("JSON");
    assert!(page["next_cursor"].is_null(), "more nodes than a page");
    page["items"].as_array().expect("items").clone()
}

/// A published artifact on disk.
pub struct Artifact {
    pub url: String,
    pub sha256: String,
}

/// A health script that always passes.
pub const HEALTHY: &str = "exit 0\n";

/// A fleet of agents and the releases of module `app` they are given, set
/// up in one expression:
/// `Scenario::new(&app, "qa", 5).health_checked().release("1.0.0", HEALTHY).start()`.
pub struct Scenario<'a> {
    client: &'a reqwest::Client,
    address: &'a str,
    spec: FleetSpec<'a>,
    releases: Vec<(&'a str, &'a str)>,
}

/// What a scenario started: keep both alive for the test (the agents stop
/// and the artifacts go when they are dropped).
pub struct Started {
    pub fleet: Fleet,
    pub files: TempDir,
}

impl<'a> Scenario<'a> {
    pub fn new(app: &'a crate::helpers::TestApp, environment: &'a str, count: usize) -> Self {
        Self {
            client: &app.client,
            address: &app.address,
            spec: FleetSpec::new(environment, count),
            releases: Vec::new(),
        }
    }

    /// The agents judge a swap by running the release's `health.sh`.
    pub fn health_checked(mut self) -> Self {
        self.spec.extra = vec!["--health-cmd".into(), "sh app/current/health.sh".into()];
        self
    }

    /// Publishes `version` of `app`, whose health check runs `health_script`.
    pub fn release(mut self, version: &'a str, health_script: &'a str) -> Self {
        self.releases.push((version, health_script));
        self
    }

    pub async fn start(self) -> Started {
        let fleet = start_fleet(self.client, self.address, self.spec.clone()).await;
        let files = self.publish().await;
        Started { fleet, files }
    }

    /// `count` agents in pool `blue` and as many in `green`.
    pub async fn start_blue_green(self) -> BlueGreen {
        let pool = |name| FleetSpec {
            pool: Some(name),
            ..self.spec.clone()
        };
        let blue = start_fleet(self.client, self.address, pool("blue")).await;
        let green = start_fleet(self.client, self.address, pool("green")).await;
        let files = self.publish().await;
        BlueGreen { blue, green, files }
    }

    async fn publish(&self) -> TempDir {
        let files = tempfile::tempdir().expect("temp dir");
        create_module(self.client, self.address, "app").await;
        for (version, health) in &self.releases {
            let artifact = tarball(files.path(), version, health);
            publish(self.client, self.address, "app", version, &artifact).await;
        }
        files
    }
}

/// What a blue-green scenario started, one fleet per pool.
pub struct BlueGreen {
    pub blue: Fleet,
    pub green: Fleet,
    pub files: TempDir,
}

/// Deploys `version` of `app` to `environment` and waits for the end; the
/// deployment's detail.
pub async fn roll_out(
    client: &reqwest::Client,
    address: &str,
    environment: &str,
    version: &str,
    strategy: Value,
) -> Value {
    let body = serde_json::json!({
        "module": "app", "version": version, "environment": environment, "strategy": strategy,
    });
    let id = deploy(client, address, body).await;
    wait_finished(client, address, id, Duration::from_secs(60)).await
}

/// `count` agents in `environment` and module `app` with each of `versions`
/// published as a healthy release: what most tests roll out. Keep both
/// alive for the test (the agents stop and the artifacts go when dropped).
pub async fn healthy_fleet(
    client: &reqwest::Client,
    address: &str,
    environment: &str,
    count: usize,
    versions: &[&str],
) -> (Fleet, TempDir) {
    let fleet = start_fleet(client, address, FleetSpec::new(environment, count)).await;
    let files = tempfile::tempdir().expect("temp dir");
    create_module(client, address, "app").await;
    for version in versions {
        let artifact = tarball(files.path(), version, HEALTHY);
        publish(client, address, "app", version, &artifact).await;
    }
    (fleet, files)
}

/// A `.tar.gz` holding `health.sh` (what the agents' health command runs) and a payload.
pub fn tarball(dir: &Path, name: &str, health_script: &str) -> Artifact {
    let mut bytes = Vec::new();
    {
        let encoder = flate2::write::GzEncoder::new(&mut bytes, flate2::Compression::fast());
        let mut tar = tar::Builder::new(encoder);
        for (path, content) in [("health.sh", health_script), ("payload.txt", name)] {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o755);
            header.set_cksum();
            tar.append_data(&mut header, path, content.as_bytes())
                .expect("tar entry");
        }
        tar.into_inner().expect("tar").finish().expect("gzip");
    }
    write_artifact(dir, &format!("{name}.tar.gz"), bytes)
}

pub fn write_artifact(dir: &Path, file: &str, bytes: Vec<u8>) -> Artifact {
    let path = dir.join(file);
    std::fs::write(&path, &bytes).expect("artifact written");
    Artifact {
        url: format!("file://{}", path.display()),
        sha256: hex::encode(Sha256::digest(&bytes)),
    }
}

pub async fn publish(
    client: &reqwest::Client,
    address: &str,
    module: &str,
    version: &str,
    artifact: &Artifact,
) {
    let response = post_json(
        client,
        &format!("{address}/api/v1/modules/{module}/versions"),
        json!({ "version": version, "artifact_url": artifact.url, "sha256": artifact.sha256 }),
    )
    .await;
    assert_eq!(
        response.status(),
        201,
        "publish {module} {version}: {}",
        response.text().await.unwrap_or_default()
    );
}

pub async fn create_module(client: &reqwest::Client, address: &str, module: &str) {
    let response = post_json(
        client,
        &format!("{address}/api/v1/modules"),
        json!({ "name": module }),
    )
    .await;
    assert_eq!(response.status(), 201, "module {module}");
}

/// Starts a deployment and returns its id.
pub async fn deploy(client: &reqwest::Client, address: &str, body: Value) -> i64 {
    let response = post_json(
        client,
        &format!("{address}/api/v1/deployments"),
        body.clone(),
    )
    .await;
    let status = response.status();
    let answer: Value = response.json().await.expect("JSON");
    assert_eq!(status, 202, "deploy {body}: {answer}");
    answer["id"].as_i64().expect("id")
}

/// Polls until the deployment is finished; returns its detail.
pub async fn wait_finished(
    client: &reqwest::Client,
    address: &str,
    id: i64,
    limit: Duration,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let detail: Value = client
            .get(format!("{address}/api/v1/deployments/{id}"))
            .send()
            .await
            .expect("detail")
            .json()
            .await
            .expect("JSON");
        let status = detail["status"].as_str().unwrap_or_default();
        if !matches!(status, "queued" | "running" | "paused" | "pending_approval") {
            return detail;
        }
        if Instant::now() > deadline {
            let events = events(client, address, id).await;
            panic!("deployment {id} still {status} after {limit:?}: {detail}\nevents: {events:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn events(client: &reqwest::Client, address: &str, id: i64) -> Vec<Value> {
    let page: Value = client
        .get(format!(
            "{address}/api/v1/deployments/{id}/events?limit=1000"
        ))
        .send()
        .await
        .expect("events")
        .json()
        .await
        .expect("JSON");
    page["items"].as_array().cloned().unwrap_or_default()
}

pub fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e["kind"].as_str().map(String::from))
        .collect()
}

pub async fn detail(client: &reqwest::Client, address: &str, id: i64) -> Value {
    client
        .get(format!("{address}/api/v1/deployments/{id}"))
        .send()
        .await
        .expect("detail")
        .json()
        .await
        .expect("JSON")
}

/// Waits until `check` holds for the deployment's detail.
pub async fn wait_for(
    client: &reqwest::Client,
    address: &str,
    id: i64,
    what: &str,
    check: impl Fn(&Value) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let d = detail(client, address, id).await;
        if check(&d) {
            return;
        }
        assert!(Instant::now() < deadline, "never saw {what}: {d}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
