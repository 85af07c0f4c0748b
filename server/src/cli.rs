//! The command line. Every flag also has a `HOTSWAP_*` variable and a key in
//! the configuration file (see [`crate::config`]).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides, Sources};
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
    Migrate(ConfigArgs),
    /// Check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage API tokens from the command line (bootstrap, automation).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Run on a node: enroll, keep a connection to the server, swap releases.
    Agent(hotswap_agent::cli::AgentArgs),
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

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print each setting's effective value
    /// and where it comes from, secrets hidden; exits non-zero when invalid.
    Check(ConfigArgs),
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
    pub config: ConfigArgs,
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
    pub config: ConfigArgs,
}

#[derive(Debug, Default, Args)]
pub struct ConfigArgs {
    /// A TOML configuration file; environment variables override it [env: HOTSWAP_CONFIG]
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Directory for the embedded database [env: HOTSWAP_DATA_DIR] [default: ./hotswap-data]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => {
            let config = Config::from_env(
                args.config.config.as_deref(),
                Overrides {
                    addr: args.addr,
                    data_dir: args.config.data_dir,
                    workers: args.workers,
                },
            )?;
            crate::telemetry::init(&config.log);
            serve(config).await
        }
        Command::Config(ConfigCommand::Check(args)) => check_config(args),
        Command::Migrate(args) => {
            let config = Config::from_env(
                args.config.as_deref(),
                Overrides {
                    addr: None,
                    data_dir: args.data_dir,
                    workers: None,
                },
            )?;
            crate::telemetry::init(&config.log);
            let db = crate::db::connect(&config.database).await?;
            crate::db::migrate(&db).await?;
            println!("hotswap: database is up to date");
            Ok(())
        }
        Command::Token(TokenCommand::Create(args)) => create_token(args).await,
        Command::Agent(args) => hotswap_agent::cli::run(args).await,
        Command::Demo(args) => crate::demo::run(args.addr).await,
    }
}

async fn create_token(args: TokenCreateArgs) -> anyhow::Result<()> {
    use app::model::role::Role;

    let config = Config::from_env(
        args.config.config.as_deref(),
        Overrides {
            addr: None,
            data_dir: args.config.data_dir,
            workers: None,
        },
    )?;
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

/// `hotswap config check`: the settings as the server would read them.
fn check_config(args: ConfigArgs) -> anyhow::Result<()> {
    let sources = Sources::from_env(args.config.as_deref())?;
    sources.config(Overrides {
        addr: None,
        data_dir: args.data_dir,
        workers: None,
    })?;
    for line in sources.describe() {
        println!("{line}");
    }
    eprintln!("hotswap: the configuration is valid");
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
