//! Building and running the application, for `main` and for tests alike.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::engine::live::LiveHub;
use crate::engine::Engine;
use crate::http::metrics::HttpMetrics;
use crate::http::session::DbSessionStore;
use crate::http::state::AppState;
use crate::http::ui::UiService;
use crate::services::bootstrap::{ensure_initialised, FirstRunAdmin};
use crate::services::read::ReadModel;

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    db: DatabaseConnection,
    engine: Engine,
    live: LiveHub,
    public_url: String,
    first_run: Option<FirstRunAdmin>,
    sessions: DbSessionStore,
    purge_interval: std::time::Duration,
}

impl Application {
    /// Connects and migrates the database, initialises a fresh one, and binds
    /// the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        raise_open_files_limit();
        let db = crate::db::connect(&config.database).await?;
        crate::db::migrate(&db).await?;
        let first_run = ensure_initialised(&db, config.admin_password.as_deref())
            .await
            .context("Failed to initialise the database")?;

        let listener = TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("cannot listen on {} (HOTSWAP_ADDR)", config.addr))?;
        let addr = listener
            .local_addr()
            .context("Failed to read the bound address")?;

        if !config.site_root.join("pkg").is_dir() {
            tracing::warn!(
                site_root = %config.site_root.display(),
                "no built front end here (pkg/ is missing); pages render but will not hydrate. \
                 Build it with scripts/build.sh or set HOTSWAP_SITE_ROOT"
            );
        }
        let leptos_options = LeptosOptions::builder()
            .output_name("hotswap")
            .site_root(config.site_root.display().to_string())
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .build();

        let services = app::services::Services {
            read: Arc::new(UiService),
            account: Arc::new(UiService),
            admin: Arc::new(UiService),
            operate: Arc::new(UiService),
        };
        // One registry: every metric of the process is scraped from it.
        let registry = prometheus::Registry::new();
        let metrics = HttpMetrics::new(registry.clone()).context("Failed to register metrics")?;
        let engine = Engine::new(db.clone(), config.engine.clone(), &registry)
            .context("Failed to register engine metrics")?;
        let live =
            LiveHub::new(db.clone(), &registry).context("Failed to register live metrics")?;
        let state = AppState {
            leptos_options,
            db: db.clone(),
            metrics: Arc::new(metrics),
            read: ReadModel::new(db.clone()),
            services,
            oidc: config
                .oidc
                .clone()
                .map(|o| crate::http::oidc::OidcProvider::new(o, &config.public_url))
                .transpose()
                .context("Failed to set up single sign-on")?
                .map(Arc::new),
            engine: engine.clone(),
            live: live.clone(),
        };
        let sessions = DbSessionStore::new(&db)?;
        let secure_cookies = config.public_url.starts_with("https://");
        let router = crate::http::router::build(
            state,
            sessions.clone(),
            secure_cookies,
            config.max_body_bytes,
        );

        Ok(Self {
            listener,
            router,
            db,
            engine,
            live,
            public_url: config.public_url.clone(),
            first_run,
            sessions,
            purge_interval: config.purge_interval,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The admin account this start created, if the database was new.
    pub fn first_run(&self) -> Option<&FirstRunAdmin> {
        self.first_run.as_ref()
    }

    pub fn database(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let mut workers = self.engine.start();
        workers.extend(self.live.start());
        workers.push(housekeeping(
            self.sessions.clone(),
            self.db.clone(),
            self.purge_interval,
        ));
        workers.push(crate::services::webhooks::start(
            self.db.clone(),
            self.public_url.clone(),
            self.engine.config().outbound.clone(),
        ));
        let live = self.live.clone();
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Upgraded connections outlive the server's graceful wait;
            // tell live clients to reconnect (to another replica, or to us
            // once restarted).
            live.close_all();
        })
        .await;
        // Workers stop between steps (every step is recorded before and
        // after it runs); their leases go back for another replica to take.
        for worker in workers {
            worker.abort();
        }
        self.engine.hand_back().await;
        self.db.close().await.ok();
        served
    }
}

/// Resolves on Ctrl-C or SIGTERM.
/// Every agent and every live page holds a socket open, so a fleet of
/// 10,000 nodes needs more than the common soft limit of 1,024 open files:
/// take as many as the hard limit allows.
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < 4_096 => tracing::warn!(
            limit,
            "few open files allowed: each connected agent and live page takes one; \
             raise the hard limit (ulimit -Hn, LimitNOFILE=) for a large fleet"
        ),
        Ok(limit) => tracing::debug!(limit, "open files allowed"),
        Err(error) => tracing::warn!(%error, "could not raise the open files limit"),
    }
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Deletes what only piles up, at start and every `every`
/// (`HOTSWAP_PURGE_INTERVAL`): expired sessions (each visit that never signs
/// in, and each single sign-on attempt, keeps one) and day-old sign-in
/// attempts.
fn housekeeping(
    sessions: DbSessionStore,
    db: DatabaseConnection,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    use tower_sessions::ExpiredDeletion;

    tokio::spawn(async move {
        let mut every = tokio::time::interval(every);
        loop {
            every.tick().await;
            if let Err(error) = sessions.delete_expired().await {
                tracing::warn!(%error, "could not delete expired sessions; trying again later");
            }
            if let Err(error) = crate::services::login_attempts::purge_old(&db).await {
                tracing::warn!(%error, "could not delete old sign-in attempts; trying again later");
            }
        }
    })
}
