use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use chrono::Utc;
use hotswap::config::{Config, Overrides};
use hotswap::entities::{deployments, environments, module_versions, modules, tenants};
use hotswap::startup::Application;
use rand::distributions::{Alphanumeric, DistString};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
    QueryFilter, Set,
};
use serde_json::json;
use tempfile::TempDir;
use tokio::sync::oneshot;

pub const ADMIN_PASSWORD: &str = "correct-horse-battery-staple";

/// A running Hotswap and a client for it, signed in as the first-run admin.
/// Stops the server when dropped.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// A client without any credentials.
    pub anonymous: reqwest::Client,
    pub db: DatabaseConnection,
    pub database_url: String,
    _data: TempDir,
    _stop: oneshot::Sender<()>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request is sent")
    }

    /// The `default` tenant's id.
    pub async fn default_tenant(&self) -> i64 {
        tenant_id(&self.db, "default").await
    }
}

/// A fresh database URL: a new PostgreSQL database when
/// `HOTSWAP_TEST_DATABASE_URL` is set, else a SQLite file in `dir`.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    match std::env::var("HOTSWAP_TEST_DATABASE_URL") {
        Ok(server) if !server.is_empty() => {
            let name = format!(
                "hotswap_test_{}",
                Alphanumeric
                    .sample_string(&mut rand::thread_rng(), 12)
                    .to_lowercase()
            );
            let admin = Database::connect(&server)
                .await
                .expect("the test PostgreSQL server is reachable");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("a test database is created");
            admin.close().await.ok();
            let base = server
                .rsplit_once('/')
                .map(|(base, _)| base.to_string())
                .expect("the URL names a database");
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}?mode=rwc", dir.join("hotswap.db").display()),
    }
}

/// Configuration for a test server on a free port.
pub fn test_config(data_dir: &std::path::Path, database_url: &str) -> Config {
    let vars = [
        ("HOTSWAP_ADDR", "127.0.0.1:0".to_string()),
        ("HOTSWAP_DATABASE_URL", database_url.to_string()),
        ("HOTSWAP_ADMIN_PASSWORD", ADMIN_PASSWORD.to_string()),
        (
            "HOTSWAP_SITE_ROOT",
            data_dir.join("site").display().to_string(),
        ),
        ("HOTSWAP_DB_MAX_CONNECTIONS", "5".to_string()),
        ("HOTSWAP_LOG", "warn".to_string()),
        // Test agents heartbeat every 300 ms.
        ("HOTSWAP_NODE_TIMEOUT", "2s".to_string()),
        ("HOTSWAP_APPROVAL_SWEEP_INTERVAL", "1s".to_string()),
        // Receivers, switch webhooks and Prometheus run on loopback in tests;
        // the attack tests turn this off again.
        ("HOTSWAP_ALLOW_PRIVATE_TARGETS", "true".to_string()),
    ];
    Config::from_lookup(
        |key| vars.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()),
        Overrides {
            addr: None,
            data_dir: Some(data_dir.to_path_buf()),
            workers: None,
        },
    )
    .expect("the test configuration is valid")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app with the test configuration changed by `tweak` (as an
/// operator would set it).
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let data = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database_url(data.path()).await;
    let mut config = test_config(data.path(), &database_url);
    tweak(&mut config);
    start(data, database_url, config).await
}

/// Starts the app on an existing data directory and database.
pub async fn spawn_app_on(data: TempDir, database_url: String) -> TestApp {
    spawn_app_on_with(data, database_url, |_| {}).await
}

/// [`spawn_app_on`] with changes to the configuration.
pub async fn spawn_app_on_with(
    data: TempDir,
    database_url: String,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = test_config(data.path(), &database_url);
    tweak(&mut config);
    start(data, database_url, config).await
}

async fn start(data: TempDir, database_url: String, config: Config) -> TestApp {
    let app = Application::build(config)
        .await
        .expect("the application starts");
    let address = format!("http://{}", app.local_addr());
    let db = app.database().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = sign_in(&address, "admin", ADMIN_PASSWORD).await;
    TestApp {
        anonymous: browser(&address),
        address,
        client,
        db,
        database_url,
        _data: data,
        _stop: stop,
    }
}

/// A client that keeps cookies and sends this site's Origin, like a browser.
pub fn browser(address: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ORIGIN,
        reqwest::header::HeaderValue::from_str(address).expect("origin header"),
    );
    reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// A browser-like client signed in as `username`.
pub async fn sign_in(address: &str, username: &str, password: &str) -> reqwest::Client {
    let client = browser(address);
    let response = client
        .post(format!("{address}/api/v1/auth/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("sign-in request");
    assert_eq!(response.status(), 200, "{username} signs in");
    client
}

/// POSTs `body` as JSON with `client`.
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    client
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("request is sent")
}

/// A client carrying a bearer token.
pub fn bearer(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

impl TestApp {
    /// Adds a member with a password to the default tenant; returns their user id.
    pub async fn add_member(&self, username: &str, role: &str) -> i64 {
        let response = self
            .client
            .post(self.url("/api/v1/users"))
            .json(&json!({ "username": username, "role": role, "password": MEMBER_PASSWORD }))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 201, "{username} is added");
        let body: serde_json::Value = response.json().await.expect("JSON");
        body["id"].as_i64().expect("id")
    }

    /// Changes an environment's settings as the admin; the change must succeed.
    pub async fn patch_environment(&self, name: &str, body: serde_json::Value) {
        let response = self
            .client
            .patch(self.url(&format!("/api/v1/environments/{name}")))
            .json(&body)
            .send()
            .await
            .expect("patch");
        assert_eq!(
            response.status(),
            200,
            "{}",
            response.text().await.unwrap_or_default()
        );
    }

    /// A signed-in client for a member added with [`TestApp::add_member`].
    pub async fn member_client(&self, username: &str) -> reqwest::Client {
        sign_in(&self.address, username, MEMBER_PASSWORD).await
    }
}

pub const MEMBER_PASSWORD: &str = "members-password-123";

pub async fn tenant_id(db: &DatabaseConnection, slug: &str) -> i64 {
    tenants::Entity::find()
        .filter(tenants::Column::Slug.eq(slug))
        .one(db)
        .await
        .expect("query")
        .expect("tenant exists")
        .id
}

pub async fn create_tenant(db: &DatabaseConnection, slug: &str) -> i64 {
    tenants::ActiveModel {
        slug: Set(slug.to_string()),
        name: Set(slug.to_string()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("tenant is created")
    .id
}

/// Writes a deployment straight into the database, creating the module,
/// version and environment rows it needs. Returns its id.
pub async fn seed_deployment(
    db: &DatabaseConnection,
    tenant_id: i64,
    module: &str,
    version: &str,
    environment: &str,
    status: &str,
) -> i64 {
    let now = Utc::now();
    let module_id = match modules::Entity::find()
        .filter(modules::Column::TenantId.eq(tenant_id))
        .filter(modules::Column::Name.eq(module))
        .one(db)
        .await
        .expect("query")
    {
        Some(m) => m.id,
        None => {
            modules::ActiveModel {
                tenant_id: Set(tenant_id),
                name: Set(module.to_string()),
                description: Set(None),
                require_signature: Set(false),
                public_key: Set(None),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await
            .expect("module")
            .id
        }
    };
    let version_id = match module_versions::Entity::find()
        .filter(module_versions::Column::ModuleId.eq(module_id))
        .filter(module_versions::Column::Version.eq(version))
        .one(db)
        .await
        .expect("query")
    {
        Some(v) => v.id,
        None => {
            module_versions::ActiveModel {
                tenant_id: Set(tenant_id),
                module_id: Set(module_id),
                version: Set(version.to_string()),
                artifact_url: Set(format!("file:///artifacts/{module}-{version}.tar.gz")),
                sha256: Set("0".repeat(64)),
                signature: Set(None),
                published_by: Set(None),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await
            .expect("version")
            .id
        }
    };
    let environment_id = match environments::Entity::find()
        .filter(environments::Column::TenantId.eq(tenant_id))
        .filter(environments::Column::Name.eq(environment))
        .one(db)
        .await
        .expect("query")
    {
        Some(e) => e.id,
        None => {
            environments::ActiveModel {
                tenant_id: Set(tenant_id),
                name: Set(environment.to_string()),
                position: Set(0),
                requires_approval: Set(false),
                required_approvals: Set(1),
                allow_self_approval: Set(false),
                approval_timeout_secs: Set(86_400),
                default_strategy: Set(json!({"kind": "direct"})),
                analysis: Set(json!({})),
                switch_hook: Set(None),
                freeze_windows: Set(json!([])),
                active_pool: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await
            .expect("environment")
            .id
        }
    };
    let status = app::model::lifecycle::DeploymentStatus::parse(status).expect("a known status");
    let finished = status.is_finished();
    deployments::ActiveModel {
        tenant_id: Set(tenant_id),
        module_id: Set(module_id),
        module_version_id: Set(version_id),
        environment_id: Set(environment_id),
        strategy: Set(json!({"kind": "rolling", "batch_size": 2, "max_failed": 0})),
        plan: Set(json!([])),
        status: Set(status),
        current_phase: Set(0),
        outcome: Set(None),
        requested_by: Set(None),
        rollback_of: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        started_at: Set(Some(now - chrono::Duration::seconds(90))),
        finished_at: Set(finished.then_some(now)),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("deployment")
    .id
}

/// A private PostgreSQL cluster that a test may stop and start at will.
pub struct TempPostgres {
    pub dir: TempDir,
    pub port: u16,
    bin: PathBuf,
}

impl TempPostgres {
    /// Initialises and starts a cluster on a free port, or explains what is missing.
    pub fn start() -> TempPostgres {
        let bin = postgres_bin_dir().expect(
            "PostgreSQL server binaries (initdb, pg_ctl) are needed: run scripts/test.sh, which installs them",
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        as_postgres_owner(dir.path());
        let status = postgres_command(&bin, "initdb")
            .args(["-D", &dir.path().join("data").display().to_string()])
            .args(["-A", "trust", "-U", "postgres", "--no-sync"])
            .output()
            .expect("initdb runs");
        assert!(status.status.success(), "initdb failed: {status:?}");
        let cluster = TempPostgres { dir, port, bin };
        cluster.pg_ctl_start();
        cluster
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn stop(&self) {
        let out = postgres_command(&self.bin, "pg_ctl")
            .args(["-D", &self.data_dir(), "-m", "fast", "-w", "stop"])
            .output()
            .expect("pg_ctl runs");
        assert!(out.status.success(), "pg_ctl stop failed: {out:?}");
    }

    pub fn pg_ctl_start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let out = postgres_command(&self.bin, "pg_ctl")
            .args(["-D", &self.data_dir(), "-o", &options, "-l"])
            .arg(self.dir.path().join("log").display().to_string())
            .args(["-w", "start"])
            .output()
            .expect("pg_ctl runs");
        assert!(out.status.success(), "pg_ctl start failed: {out:?}");
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let _ = postgres_command(&self.bin, "pg_ctl")
            .args(["-D", &self.data_dir(), "-m", "immediate", "stop"])
            .output();
    }
}

fn postgres_bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("HOTSWAP_TEST_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// PostgreSQL refuses to run as root: as root, hand the directory to `postgres`.
fn as_postgres_owner(dir: &std::path::Path) {
    if is_root() {
        let ok = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "cannot hand {} to the postgres user", dir.display());
    }
}

fn postgres_command(bin: &std::path::Path, tool: &str) -> Command {
    let program = bin.join(tool);
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The (method, path) of every route the router serves under `prefix`.
pub fn routes_of(routes: hotswap::http::routes::Routes, prefix: &str) -> Vec<(String, String)> {
    routes
        .table()
        .iter()
        .map(|(method, path)| (method.to_string(), format!("{prefix}{path}")))
        .collect()
}
