//! The agent's command line, shared by `hotswap-agent` and `hotswap agent`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tracing_subscriber::{fmt, EnvFilter};

use crate::probe::HealthCheck;

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The Hotswap server, e.g. http://hotswap.internal:3000
    #[arg(long, env = "HOTSWAP_SERVER")]
    pub server: String,
    /// Enrollment token (only needed the first time; the node keeps its own credential)
    #[arg(long, env = "HOTSWAP_AGENT_TOKEN")]
    pub token: Option<String>,
    /// Directory holding <module>/releases/<version> and <module>/current
    #[arg(long, env = "HOTSWAP_AGENT_ROOT")]
    pub root: PathBuf,
    /// Node name [default: the host name]
    #[arg(long)]
    pub name: Option<String>,
    /// Probe this URL for health (2xx is healthy)
    #[arg(long, conflicts_with = "health_cmd")]
    pub health_url: Option<String>,
    /// Probe by running this command in the root (exit 0 is healthy)
    #[arg(long)]
    pub health_cmd: Option<String>,
    /// Labels such as region=eu,rack=4
    #[arg(long, default_value = "")]
    pub labels: String,
    /// Command run before `current` switches (non-zero exit aborts the swap)
    #[arg(long)]
    pub pre_swap: Option<String>,
    /// Command run after `current` switches, e.g. a reload
    #[arg(long)]
    pub post_swap: Option<String>,
    /// Time limit for each hook
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub hook_timeout: std::time::Duration,
    /// How long a new release has to become healthy after a swap
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub health_grace: std::time::Duration,
    /// How often the health probe runs
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub probe_interval: std::time::Duration,
    /// How often the agent reports to the server
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub heartbeat: std::time::Duration,
    /// A directory `file://` artifacts may be read from (repeat it for more);
    /// without one, only http(s) artifacts are fetched
    #[arg(
        long = "artifact-dir",
        env = "HOTSWAP_AGENT_ARTIFACT_DIRS",
        value_delimiter = ','
    )]
    pub artifact_dirs: Vec<PathBuf>,
    /// The largest artifact downloaded, in bytes or with K, M or G (unpacked: eight times that)
    #[arg(long, default_value = "2G", value_parser = parse_size)]
    pub max_artifact_size: u64,
    /// The longest a download may take, however slowly it arrives
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub download_timeout: std::time::Duration,
}

/// `1024`, `512K`, `100M` or `2G` (powers of 1024), at least 1 KiB.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, factor) = match text.char_indices().last() {
        Some((i, 'K' | 'k')) => (&text[..i], 1u64 << 10),
        Some((i, 'M' | 'm')) => (&text[..i], 1 << 20),
        Some((i, 'G' | 'g')) => (&text[..i], 1 << 30),
        _ => (text, 1),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .filter(|n| *n >= 1024)
        .ok_or_else(|| format!("{text:?} is not a size such as 500M or 2G (at least 1K)"))
}

/// Runs the agent with these flags until the process is stopped.
pub async fn run(args: AgentArgs) -> anyhow::Result<()> {
    init_logging();
    if !(args.server.starts_with("http://") || args.server.starts_with("https://")) {
        anyhow::bail!("--server: expected an http:// or https:// URL");
    }
    let labels = crate::parse_labels(&args.labels).map_err(|m| anyhow::anyhow!("--labels: {m}"))?;
    let name = match args.name {
        Some(name) => name,
        None => std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .context("--name is required: the host name could not be read")?,
    };
    let health = match (args.health_url, args.health_cmd) {
        (Some(url), _) => Some(HealthCheck::Url(url)),
        (None, Some(cmd)) => Some(HealthCheck::Command(cmd)),
        (None, None) => None,
    };
    let root = std::path::absolute(&args.root)
        .with_context(|| format!("--root {}", args.root.display()))?;
    crate::run(crate::AgentConfig {
        server: args.server,
        token: args.token,
        root,
        name,
        labels,
        health,
        pre_swap: args.pre_swap,
        post_swap: args.post_swap,
        hook_timeout: args.hook_timeout,
        health_grace: args.health_grace,
        probe_interval: args.probe_interval,
        heartbeat: args.heartbeat,
        artifacts: crate::artifact::ArtifactLimits {
            file_roots: args.artifact_dirs,
            max_bytes: args.max_artifact_size,
            max_duration: args.download_timeout,
        },
    })
    .await
}

/// Logs to stderr, filtered by `HOTSWAP_LOG` (default `info`), as JSON when
/// `HOTSWAP_LOG_FORMAT=json`; a second call is a no-op.
fn init_logging() {
    let filter = std::env::var("HOTSWAP_LOG").unwrap_or_else(|_| "info".into());
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_target(false);
    let _ = if std::env::var("HOTSWAP_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
