//! The `hotswap-agent` binary: what a node installs.

use std::process::ExitCode;

use clap::Parser;
use hotswap_agent::cli::AgentArgs;

#[derive(Debug, Parser)]
#[command(
    name = "hotswap-agent",
    version,
    about = "Runs on a node: enrolls, keeps a connection to the Hotswap server, swaps releases"
)]
struct Cli {
    #[command(flatten)]
    args: AgentArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    match hotswap_agent::cli::run(Cli::parse().args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hotswap-agent: {error:#}");
            ExitCode::FAILURE
        }
    }
}
