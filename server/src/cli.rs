//! The command line. Every flag also has a `HOTSWAP_*` variable (see [`crate::config`]).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides};
use crate::startup::Application;

#[derive(Debug, Parser)]
#[command(
    name = "hotswap",
    version,
    about = "Self-hosted deployment orchestrator"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web UI, the REST API and the workers (the default).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Manage API tokens from the command line (bootstrap, automation).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Run on a node: enroll, keep a connection to the server, swap releases.
    Agent(AgentArgs),
    /// See it work: a server on a fresh temporary database, five local agents
    /// and a sample module; a rolling deployment, then a canary that rolls back.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on [default: 127.0.0.1:3000]
    #[arg(long)]
    pub addr: Option<String>,
}

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

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (it is shown only once).
    Create(TokenCreateArgs),
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// Tenant slug the token is bound to.
    #[arg(long, default_value = "default")]
    pub tenant: String,
    /// User the token acts as; it never has more than their role.
    #[arg(long)]
    pub user: String,
    /// A name to recognise the token by, e.g. "ci".
    #[arg(long)]
    pub name: String,
    /// viewer, deployer or admin [default: the user's role]
    #[arg(long)]
    pub role: Option<String>,
    /// Lifetime such as 30d or 12h [default: no expiry]
    #[arg(long)]
    pub expires: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on [env: HOTSWAP_ADDR] [default: 127.0.0.1:3000]
    #[arg(long)]
    pub addr: Option<String>,
    /// Orchestration workers in this process [env: HOTSWAP_WORKERS] [default: 2]
    #[arg(long)]
    pub workers: Option<usize>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Default, Args)]
pub struct DatabaseArgs {
    /// Directory for the embedded database [env: HOTSWAP_DATA_DIR] [default: ./hotswap-data]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => {
            let config = Config::from_env(Overrides {
                addr: args.addr,
                data_dir: args.database.data_dir,
                workers: args.workers,
            })?;
            crate::telemetry::init(&config.log);
            serve(config).await
        }
        Command::Migrate(args) => {
            let config = Config::from_env(Overrides {
                addr: None,
                data_dir: args.data_dir,
                workers: None,
            })?;
            crate::telemetry::init(&config.log);
            let db = crate::db::connect(&config.database).await?;
            crate::db::migrate(&db).await?;
            println!("hotswap: database is up to date");
            Ok(())
        }
        Command::Token(TokenCommand::Create(args)) => create_token(args).await,
        Command::Agent(args) => run_agent(args).await,
        Command::Demo(args) => crate::demo::run(args.addr).await,
    }
}

async fn run_agent(args: AgentArgs) -> anyhow::Result<()> {
    use crate::agent::probe::HealthCheck;

    crate::telemetry::init(&crate::config::LogConfig {
        filter: std::env::var("HOTSWAP_LOG").unwrap_or_else(|_| "info".into()),
        json: std::env::var("HOTSWAP_LOG_FORMAT").as_deref() == Ok("json"),
    });
    if !(args.server.starts_with("http://") || args.server.starts_with("https://")) {
        anyhow::bail!("--server: expected an http:// or https:// URL");
    }
    let labels =
        crate::agent::parse_labels(&args.labels).map_err(|m| anyhow::anyhow!("--labels: {m}"))?;
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
    crate::agent::run(crate::agent::AgentConfig {
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
        artifacts: crate::agent::artifact::ArtifactLimits {
            file_roots: args.artifact_dirs,
            max_bytes: args.max_artifact_size,
            max_duration: args.download_timeout,
        },
    })
    .await
}

async fn create_token(args: TokenCreateArgs) -> anyhow::Result<()> {
    use app::model::role::Role;

    let config = Config::from_env(Overrides {
        addr: None,
        data_dir: args.database.data_dir,
        workers: None,
    })?;
    let db = crate::db::connect(&config.database).await?;
    crate::db::migrate(&db).await?;
    let role = args
        .role
        .as_deref()
        .map(|r| {
            Role::parse(r)
                .with_context(|| format!("--role {r}: expected viewer, deployer or admin"))
        })
        .transpose()?;
    let lifetime = args
        .expires
        .as_deref()
        .map(|e| {
            crate::domain::token::parse_lifetime(e, &app::model::duration::TOKEN_LIFETIME)
                .map_err(|m| anyhow::anyhow!("--expires: {m}"))
        })
        .transpose()?;
    let created = crate::services::tokens::create_for_member(
        &db,
        &args.tenant,
        &args.user,
        &args.name,
        role,
        lifetime,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{}", created.token);
    eprintln!(
        "Created token {:?} ({}) for {} in {}. It is shown only this once.",
        created.info.name, created.info.role, args.user, args.tenant
    );
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    let url = format!("http://{}", app.local_addr());
    if let Some(admin) = app.first_run() {
        // Printed, not logged: it is shown once and must not end up in log storage.
        println!();
        println!(
            "  First run: created tenant `default` and user `{}`.",
            admin.username
        );
        match &admin.generated_password {
            Some(password) => println!("  One-time admin password: {password}"),
            None => println!("  Admin password: as given in HOTSWAP_ADMIN_PASSWORD"),
        }
        println!();
    }
    println!("Hotswap is running at {url}");
    app.run_until_stopped(crate::startup::shutdown_signal())
        .await
        .context("the server stopped with an error")
}
