use std::process::Command;

fn hotswap() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hotswap"));
    for (key, _) in std::env::vars() {
        if key.starts_with("HOTSWAP_") {
            command.env_remove(key);
        }
    }
    command
}

/// A mistyped setting stops the start with a message that names the variable.
#[test]
fn a_bad_setting_names_its_variable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = hotswap()
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .env("HOTSWAP_ADDR", "localhost-ish")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HOTSWAP_ADDR"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// An unreachable database is reported plainly, with the password hidden.
#[test]
fn an_unreachable_database_fails_clearly() {
    let port = crate::helpers::free_port();
    let out = hotswap()
        .arg("serve")
        .env("HOTSWAP_ADDR", "127.0.0.1:0")
        .env(
            "HOTSWAP_DATABASE_URL",
            format!("postgres://hotswap:s3cret@127.0.0.1:{port}/hotswap"),
        )
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `hotswap migrate` prepares an empty data directory and says so.
#[test]
fn migrate_prepares_a_fresh_data_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = hotswap()
        .args(["migrate", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    assert!(dir.path().join("hotswap.db").exists());
    assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));
}
