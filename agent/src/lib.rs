//! The Hotswap agent (`hotswap-agent`, or `hotswap agent`): runs on every
//! node. Enrolls once, then keeps a WebSocket to the server, heartbeats with
//! health samples, and carries out swap and rollback commands on the files
//! under its root (see [`executor`]). It depends on no database, web
//! framework or UI code: a node installs only this.

pub mod artifact;
pub mod cli;
pub mod executor;
pub mod hooks;
pub mod journal;
pub mod probe;
pub mod releases;

pub use hotswap_protocol as protocol;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use self::executor::Executor;
use self::journal::{Identity, Journal};
use self::probe::{HealthCheck, Prober, Stats};
use self::protocol::{AgentMessage, CommandResult, EnrollRequest, EnrollResponse, ServerMessage};
use self::releases::Releases;

pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub server: String,
    pub token: Option<String>,
    pub root: PathBuf,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub health: Option<HealthCheck>,
    pub pre_swap: Option<String>,
    pub post_swap: Option<String>,
    pub hook_timeout: Duration,
    pub health_grace: Duration,
    pub probe_interval: Duration,
    pub heartbeat: Duration,
    /// Where `file://` artifacts may come from, and how large artifacts may be.
    pub artifacts: artifact::ArtifactLimits,
}

/// Parses `k=v,k2=v2`.
pub fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not key=value"))?;
            if k.trim().is_empty() {
                return Err(format!("{pair:?} has an empty key"));
            }
            Ok((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// Runs the agent until the process is stopped.
pub async fn run(config: AgentConfig) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.root)
        .with_context(|| format!("cannot create the agent root {}", config.root.display()))?;
    let releases = Releases::new(&config.root);
    releases.clean_up_interrupted();
    let journal = Journal::open(&config.root).context("cannot open the agent's state directory")?;
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        // A stalled download fails instead of holding every later command.
        .read_timeout(Duration::from_secs(60))
        .build()
        .context("cannot build an HTTP client")?;
    let server = config.server.trim_end_matches('/').to_string();

    let identity = match journal.identity().filter(|i| i.server == server) {
        Some(identity) => identity,
        None => {
            let token = config
                .token
                .clone()
                .context("this node is not enrolled yet: pass --token with an enrollment token")?;
            let enrolled = enroll(&client, &server, &token, &config).await?;
            let identity = Identity {
                server: server.clone(),
                node_id: enrolled.node_id,
                credential: enrolled.credential,
            };
            journal.save_identity(&identity)?;
            tracing::info!(node_id = identity.node_id, environment = %enrolled.environment, pool = ?enrolled.pool, "enrolled");
            identity
        }
    };

    let stats = Arc::new(Mutex::new(Stats::default()));
    let prober = config
        .health
        .clone()
        .map(|check| Prober::new(check, client.clone(), config.root.clone()));
    if let Some(prober) = prober.clone() {
        tokio::spawn(probe::run(prober, stats.clone(), config.probe_interval));
    }
    // Downloads follow no redirects: the published URL is the one fetched.
    let downloads = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        // A stalled download fails instead of holding every later command.
        .read_timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot build an HTTP client")?;
    let executor = Executor {
        releases: releases.clone(),
        journal,
        client: downloads,
        limits: config.artifacts.clone(),
        prober,
        pre_swap: config.pre_swap.clone(),
        post_swap: config.post_swap.clone(),
        hook_timeout: config.hook_timeout,
        health_grace: config.health_grace,
        stats: stats.clone(),
    };

    // Commands run one at a time in their own task, so heartbeats go on during
    // a long download and a reconnect does not interrupt a swap.
    let (commands_tx, mut commands_rx) = mpsc::unbounded_channel::<ServerMessage>();
    let (results_tx, mut results_rx) = mpsc::unbounded_channel::<CommandResult>();
    tokio::spawn(async move {
        while let Some(command) = commands_rx.recv().await {
            if let Some(result) = executor.execute(&command).await {
                let _ = results_tx.send(result);
            }
        }
    });

    let mut backoff = Duration::from_millis(500);
    loop {
        match session(
            &server,
            &identity,
            &releases,
            &stats,
            &commands_tx,
            &mut results_rx,
            config.heartbeat,
        )
        .await
        {
            Ok(()) => backoff = Duration::from_millis(500),
            Err(error) => tracing::warn!(%error, "connection to the server lost"),
        }
        let jitter = Duration::from_millis(rand::random::<u64>() % 250);
        tokio::time::sleep(backoff + jitter).await;
        backoff = (backoff * 2).min(Duration::from_secs(15));
    }
}

async fn enroll(
    client: &reqwest::Client,
    server: &str,
    token: &str,
    config: &AgentConfig,
) -> anyhow::Result<EnrollResponse> {
    let request = EnrollRequest {
        token: token.to_string(),
        name: config.name.clone(),
        labels: config.labels.clone(),
        agent_version: AGENT_VERSION.to_string(),
    };
    let mut wait = Duration::from_millis(500);
    loop {
        let response = client
            .post(format!("{server}/api/v1/agents/enroll"))
            .json(&request)
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => return Ok(r.json().await?),
            Ok(r) if r.status().is_client_error() => {
                let body = r.text().await.unwrap_or_default();
                anyhow::bail!("enrollment refused: {body}");
            }
            Ok(r) => tracing::warn!(status = %r.status(), "enrollment failed; retrying"),
            Err(error) => tracing::warn!(%error, "server unreachable; retrying enrollment"),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(15));
    }
}

/// One connection: hello, then heartbeats, commands and results until it drops.
async fn session(
    server: &str,
    identity: &Identity,
    releases: &Releases,
    stats: &Arc<Mutex<Stats>>,
    commands: &mpsc::UnboundedSender<ServerMessage>,
    results: &mut mpsc::UnboundedReceiver<CommandResult>,
    heartbeat_every: Duration,
) -> anyhow::Result<()> {
    let ws_url = format!("{}/api/v1/agents/connect", server.replacen("http", "ws", 1));
    let mut request = ws_url.into_client_request()?;
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", identity.credential).parse()?,
    );
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .context("cannot connect")?;
    let (mut tx, mut rx) = socket.split();
    let send =
        |message: &AgentMessage| Message::text(serde_json::to_string(message).unwrap_or_default());
    tx.send(send(&AgentMessage::Hello {
        protocol: protocol::PROTOCOL_VERSION,
        agent_version: AGENT_VERSION.to_string(),
        modules: releases.installed(),
    }))
    .await?;
    tracing::info!(node_id = identity.node_id, "connected");

    let mut heartbeat = tokio::time::interval(heartbeat_every);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            incoming = rx.next() => {
                let Some(incoming) = incoming else { return Ok(()) };
                match incoming? {
                    Message::Text(text) => match serde_json::from_str::<ServerMessage>(&text) {
                        Ok(ServerMessage::Ping) => {}
                        Ok(command) => { let _ = commands.send(command); }
                        Err(error) => tracing::warn!(%error, "ignoring a message this agent does not understand"),
                    },
                    Message::Close(_) => return Ok(()),
                    _ => {}
                }
            }
            Some(result) = results.recv() => {
                tx.send(send(&AgentMessage::Result(result))).await?;
            }
            _ = heartbeat.tick() => {
                let sample = stats.lock().ok().and_then(|mut s| s.take());
                tx.send(send(&AgentMessage::Heartbeat { modules: releases.installed(), sample })).await?;
            }
        }
    }
}
