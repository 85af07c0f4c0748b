//! The `hotswap` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use hotswap::cli::{Cli, Command};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match hotswap::cli::run(cli.command.unwrap_or(Command::Serve(Default::default()))).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hotswap: {error:#}");
            ExitCode::FAILURE
        }
    }
}
