//! The `hotswap-agent` binary as a node's operator meets it.

use std::process::Command;

const AGENT: &str = env!("CARGO_BIN_EXE_hotswap-agent");

#[test]
fn it_says_what_it_is_and_refuses_to_start_unenrolled_without_a_token() {
    let version = Command::new(AGENT).arg("--version").output().expect("runs");
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("hotswap-agent "));

    let root = tempfile::tempdir().expect("temp dir");
    let refused = Command::new(AGENT)
        .args([
            "--server",
            "http://127.0.0.1:9",
            "--name",
            "web-1",
            "--root",
        ])
        .arg(root.path())
        .env_remove("HOTSWAP_AGENT_TOKEN")
        .output()
        .expect("runs");
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("hotswap-agent: this node is not enrolled yet: pass --token"),
        "{said}"
    );

    let bad = Command::new(AGENT)
        .args(["--server", "ftp://x", "--name", "web-1", "--root"])
        .arg(root.path())
        .output()
        .expect("runs");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("--server: expected an http:// or https:// URL"));
}
