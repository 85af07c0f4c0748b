use std::process::Command;
use std::time::Duration;

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

/// `hotswap demo` shows a rolling deployment and a canary rolling itself back.
#[test]
fn the_demo_rolls_out_and_rolls_a_bad_canary_back() {
    use std::io::{BufRead, BufReader};
    if std::env::var("HOTSWAP_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        return; // The demo always runs on its own SQLite database; once is enough.
    }
    let mut child = hotswap()
        .args(["demo", "--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("runs");
    let stdout = child.stdout.take().expect("stdout");
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !seen.iter().any(|l: &String| l.contains("runs 1.0.0 again")) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines_rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = seen.join("\n");
    assert!(text.contains("→ succeeded"), "{text}");
    assert!(
        text.contains("→ rolled_back: canary 20%: error rate"),
        "{text}"
    );
    assert!(text.contains("demo-node-5 1.0.0"), "{text}");
}

/// An agent without an enrollment token, or with a wrong one, says what to do.
#[test]
fn an_agent_explains_what_it_is_missing() {
    let root = tempfile::tempdir().expect("temp dir");
    let out = hotswap()
        .args([
            "agent",
            "--server",
            "http://127.0.0.1:9",
            "--name",
            "n1",
            "--root",
        ])
        .arg(root.path())
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pass --token"), "{stderr}");

    let out = hotswap()
        .args([
            "agent",
            "--server",
            "http://127.0.0.1:9",
            "--name",
            "n1",
            "--labels",
            "oops",
            "--root",
        ])
        .arg(root.path())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--labels") && stderr.contains("key=value"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_agent_with_a_wrong_enrollment_token_is_refused() {
    let app = crate::helpers::spawn_app().await;
    let root = tempfile::tempdir().expect("temp dir");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hotswap"))
        .args([
            "agent",
            "--server",
            &app.address,
            "--token",
            "hse_wrong",
            "--name",
            "n1",
            "--root",
        ])
        .arg(root.path())
        .output()
        .await
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("enrollment refused")
            && stderr.contains("unknown, used up, revoked or expired"),
        "{stderr}"
    );
}

/// The command's output; a command still running after `limit` (a server
/// that started although it should have refused) is killed and fails the test.
fn output_within(mut command: Command, limit: Duration) -> std::process::Output {
    use std::process::Stdio;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().expect("waits").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running after {limit:?}: {command:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

/// `hotswap config check` validates the example file and shows what applies,
/// the environment over the file, secrets hidden.
#[test]
fn config_check_shows_the_effective_settings() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../hotswap.example.toml");
    let out = hotswap()
        .args(["config", "check", "--config", example])
        .env("HOTSWAP_WORKERS", "3")
        .env("HOTSWAP_ADMIN_PASSWORD", "a-long-enough-secret")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("engine.workers = \"3\"  # environment HOTSWAP_WORKERS"),
        "{stdout}"
    );
    assert!(stdout.contains("log.format = \"text\"  # "), "{stdout}");
    assert!(
        stdout.contains("admin_password = \"(set, hidden)\""),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    for said in [&stdout, &stderr] {
        assert!(!said.contains("a-long-enough-secret"), "{said}");
    }
}

/// A configuration file with a typo or a bad value stops the start, naming
/// the file, the line and the key; nothing panics.
#[test]
fn a_bad_config_file_is_refused_with_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("hotswap.toml");
    for (text, expected) in [
        (
            "addr = \"127.0.0.1:0\"\n[engine]\nworkres = 2\n",
            ":3: unknown key `engine.workres` (did you mean `engine.workers`?)",
        ),
        (
            "addr = \"127.0.0.1:0\"\n[engine]\nstep_timeout = \"soon\"\n",
            ":3: engine.step_timeout = \"soon\" is not valid",
        ),
    ] {
        std::fs::write(&file, text).expect("written");
        for args in [&["serve"][..], &["config", "check"]] {
            let mut command = hotswap();
            command
                .args(args)
                .arg("--config")
                .arg(&file)
                .args(["--data-dir"])
                .arg(dir.path());
            let out = output_within(command, Duration::from_secs(30));
            assert!(!out.status.success(), "{args:?} {text}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains(&format!("{}{expected}", file.display())),
                "{args:?}: {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
}

/// The file named by `HOTSWAP_CONFIG` is the one a command reads: here it
/// says where `hotswap migrate` puts the embedded database.
#[test]
fn hotswap_config_points_a_command_at_its_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("from-the-file");
    let file = dir.path().join("hotswap.toml");
    std::fs::write(
        &file,
        format!("data_dir = {:?}\n", data.display().to_string()),
    )
    .expect("written");
    let out = hotswap()
        .arg("migrate")
        .env("HOTSWAP_CONFIG", &file)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    assert!(data.join("hotswap.db").exists());
}
