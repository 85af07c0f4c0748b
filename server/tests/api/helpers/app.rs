//! A test server: its configuration, a fresh database for it, and starting it.

use hotswap::config::{Config, Overrides};
use hotswap::startup::Application;
use rand::distributions::{Alphanumeric, DistString};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use tempfile::TempDir;
use tokio::sync::oneshot;

use super::*;

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
