//! The `hotswap` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use hotswap::cli::{Cli, Command};

/// Many short-lived allocations on many threads (requests, SQLite workers):
/// mimalloc serves them faster than glibc's allocator and returns memory
/// instead of keeping an arena per thread. Built without transparent huge
/// pages (`no_thp`): each touched 2 MiB page would stay resident whole.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
