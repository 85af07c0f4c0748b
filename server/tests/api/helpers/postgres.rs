//! A private PostgreSQL cluster that a test may stop and start.

use std::path::PathBuf;
use std::process::Command;

use tempfile::TempDir;

use super::*;

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
