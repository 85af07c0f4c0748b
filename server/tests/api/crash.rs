//! Crash safety with real processes: `kill -9` of the server in the middle of
//! a roll-out, of an agent in the middle of a swap, and two servers sharing
//! one PostgreSQL database.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::fleet::{
    create_module, deploy, publish, start_fleet, tarball, wait_finished, wait_for, FleetSpec, AGENT,
};
use crate::helpers::{fresh_database_url, sign_in, ADMIN_PASSWORD};

const LIMIT: Duration = Duration::from_secs(90);

/// A `hotswap serve` process; killed (-9) when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) address: String,
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Server {
    pub(crate) async fn start(
        database_url: &str,
        port: u16,
        data: &std::path::Path,
        workers: usize,
    ) -> Server {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.join(format!("server-{port}.log")))
            .expect("server log");
        let child = Command::new(AGENT)
            .args(["serve", "--workers", &workers.to_string()])
            .env("HOTSWAP_ADDR", format!("127.0.0.1:{port}"))
            .env("HOTSWAP_DATA_DIR", data)
            .env("HOTSWAP_DATABASE_URL", database_url)
            .env("HOTSWAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("HOTSWAP_SITE_ROOT", data.join("site"))
            .env("HOTSWAP_JOB_LEASE", "2s")
            .env("HOTSWAP_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("the server starts");
        let address = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while reqwest::get(format!("{address}/health"))
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
        {
            assert!(Instant::now() < deadline, "the server did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server { child, address }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn count_nodes(d: &Value, state: &str) -> usize {
    d["nodes"]
        .as_array()
        .map(|n| n.iter().filter(|n| n["state"] == state).count())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_killed_server_resumes_the_roll_out_after_restart_without_swapping_twice() {
    let data = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database_url(data.path()).await;
    let port = free_port();
    let mut server = Server::start(&database_url, port, data.path(), 2).await;
    let address = server.address.clone();
    let client = sign_in(&address, "admin", ADMIN_PASSWORD).await;
    let mut spec = FleetSpec::new("qa", 4);
    spec.extra = vec!["--pre-swap".into(), "sleep 0.5".into()];
    let fleet = start_fleet(&client, &address, spec).await;
    let files = tempfile::tempdir().expect("temp dir");
    create_module(&client, &address, "app").await;
    publish(
        &client,
        &address,
        "app",
        "1.0.0",
        &tarball(files.path(), "one", "exit 0\n"),
    )
    .await;

    let rolling = json!({"kind": "rolling", "batch_size": 1});
    let id = deploy(
        &client,
        &address,
        json!({"module": "app", "version": "1.0.0", "environment": "qa", "strategy": rolling}),
    )
    .await;
    wait_for(&client, &address, id, "a first swapped node", |d| {
        count_nodes(d, "swapped") >= 1
    })
    .await;
    server.kill();

    // The same database, a new process: the lease runs out and the roll-out goes on.
    let restarted = Server::start(&database_url, port, data.path(), 2).await;
    let client = sign_in(&restarted.address, "admin", ADMIN_PASSWORD).await;
    let finished = wait_finished(&client, &address, id, LIMIT).await;
    assert_eq!(finished["status"], "succeeded", "{finished}");
    assert_eq!(fleet.currents("app"), vec![Some("1.0.0".to_string()); 4]);
    for agent in &fleet.agents {
        assert_eq!(
            agent.swaps("1.0.0"),
            1,
            "{} swapped more than once:\n{}",
            agent.name,
            agent.log_text()
        );
    }
}

#[tokio::test]
async fn an_agent_killed_mid_swap_leaves_a_whole_release_and_finishes_after_restart() {
    let data = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database_url(data.path()).await;
    let server = Server::start(&database_url, free_port(), data.path(), 2).await;
    let address = server.address.clone();
    let client = sign_in(&address, "admin", ADMIN_PASSWORD).await;
    let mut spec = FleetSpec::new("dev", 2);
    spec.extra = vec!["--pre-swap".into(), "sleep 1".into()];
    let mut fleet = start_fleet(&client, &address, spec).await;
    let files = tempfile::tempdir().expect("temp dir");
    create_module(&client, &address, "app").await;
    publish(
        &client,
        &address,
        "app",
        "1.0.0",
        &tarball(files.path(), "one", "exit 0\n"),
    )
    .await;
    publish(
        &client,
        &address,
        "app",
        "2.0.0",
        &tarball(files.path(), "two", "exit 0\n"),
    )
    .await;
    let id = deploy(
        &client,
        &address,
        json!({"module": "app", "version": "1.0.0", "environment": "dev"}),
    )
    .await;
    assert_eq!(
        wait_finished(&client, &address, id, LIMIT).await["status"],
        "succeeded"
    );

    let id = deploy(
        &client,
        &address,
        json!({"module": "app", "version": "2.0.0", "environment": "dev"}),
    )
    .await;
    wait_for(&client, &address, id, "swaps under way", |d| {
        count_nodes(d, "swapping") == 2
    })
    .await;
    // Inside the pre-swap hook: the release is unpacked, `current` not yet switched.
    tokio::time::sleep(Duration::from_millis(300)).await;
    fleet.agents[0].kill();
    let root = &fleet.agents[0].root;
    let current = fleet.agents[0]
        .current("app")
        .expect("current still names a release");
    assert!(
        root.join("app/releases")
            .join(&current)
            .join("payload.txt")
            .is_file(),
        "current points at a whole release"
    );

    fleet.agents[0].restart();
    let finished = wait_finished(&client, &address, id, LIMIT).await;
    assert_eq!(finished["status"], "succeeded", "{finished}");
    assert_eq!(fleet.currents("app"), vec![Some("2.0.0".to_string()); 2]);
}

#[tokio::test]
async fn two_servers_on_one_postgres_never_run_a_step_twice() {
    if !std::env::var("HOTSWAP_TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        eprintln!("skipped: needs PostgreSQL (HOTSWAP_TEST_DATABASE_URL)");
        return;
    }
    let data = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database_url(data.path()).await;
    let first = Server::start(&database_url, free_port(), data.path(), 4).await;
    let second = Server::start(&database_url, free_port(), data.path(), 4).await;
    let client = sign_in(&first.address, "admin", ADMIN_PASSWORD).await;
    let other = sign_in(&second.address, "admin", ADMIN_PASSWORD).await;
    // Half the agents talk to each server.
    let mut left = FleetSpec::new("qa", 3);
    left.prefix = "left";
    let left = start_fleet(&client, &first.address, left).await;
    let mut right = FleetSpec::new("qa", 3);
    right.prefix = "right";
    let right = start_fleet(&other, &second.address, right).await;
    let files = tempfile::tempdir().expect("temp dir");
    create_module(&client, &first.address, "app").await;
    for (i, version) in ["1.0.0", "2.0.0", "3.0.0"].iter().enumerate() {
        publish(
            &client,
            &first.address,
            "app",
            version,
            &tarball(files.path(), &format!("v{i}"), "exit 0\n"),
        )
        .await;
    }
    for version in ["1.0.0", "2.0.0", "3.0.0"] {
        let rolling = json!({"kind": "rolling", "batch_size": 2});
        let id = deploy(
            &other,
            &second.address,
            json!({"module": "app", "version": version, "environment": "qa", "strategy": rolling}),
        )
        .await;
        let finished = wait_finished(&client, &first.address, id, LIMIT).await;
        assert_eq!(finished["status"], "succeeded", "{finished}");
    }
    for agent in left.agents.iter().chain(&right.agents) {
        for version in ["1.0.0", "2.0.0", "3.0.0"] {
            assert_eq!(
                agent.swaps(version),
                1,
                "{} swapped {version} more than once:\n{}",
                agent.name,
                agent.log_text()
            );
        }
        assert_eq!(agent.current("app").as_deref(), Some("3.0.0"));
    }
}
