//! Canary analysis against a real Prometheus (Debian's `prometheus` package,
//! installed by scripts/test.sh) scraping a test service whose metrics follow
//! what each node really runs.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fleet::{
    create_module, deploy, events, publish, start_fleet, tarball, wait_finished, FleetSpec,
};
use crate::helpers::spawn_app;

const LIMIT: Duration = Duration::from_secs(90);

struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start_prometheus(target: u16) -> Prometheus {
    let binary = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("prometheus is installed (scripts/test.sh installs Debian's package)");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: fleet\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
        ),
    )
    .expect("config");
    let port = free_port();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("log")).expect("log"))
        .spawn()
        .expect("prometheus starts");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{url}/-/ready"))
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "prometheus did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Prometheus {
        child,
        url,
        _dir: dir,
    }
}

/// Serves `/metrics` describing every node by the release its `current` points
/// at: version 2.0.0 fails 30 % of its requests.
async fn serve_fleet_metrics(nodes: Vec<(String, PathBuf)>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let nodes = nodes.clone();
            tokio::spawn(async move {
                let mut buffer = [0u8; 2048];
                let _ = socket.read(&mut buffer).await;
                let mut body = String::new();
                for (name, root) in &nodes {
                    let Some(version) = std::fs::read_link(root.join("app/current"))
                        .ok()
                        .and_then(|t| t.file_name().map(|f| f.to_string_lossy().into_owned()))
                    else {
                        continue;
                    };
                    let errors = if version == "2.0.0" { 0.3 } else { 0.0 };
                    let labels = format!("module=\"app\",version=\"{version}\",node=\"{name}\"");
                    body.push_str(&format!("app_requests_window{{{labels}}} 200\n"));
                    body.push_str(&format!("app_error_ratio{{{labels}}} {errors}\n"));
                    body.push_str(&format!("app_latency_p95_ms{{{labels}}} 25\n"));
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn prometheus_analysis_rolls_back_a_bad_canary_and_passes_a_good_one() {
    let app = spawn_app().await;
    let (client, address) = (&app.client, app.address.as_str());
    let fleet = start_fleet(client, address, FleetSpec::new("production", 4)).await;
    let targets = fleet
        .agents
        .iter()
        .map(|a| (a.name.clone(), a.root.clone()))
        .collect();
    let prometheus = start_prometheus(serve_fleet_metrics(targets).await).await;
    let selector = r#"{module="{{module}}",version="{{version}}",node=~"{{node}}"}"#;
    app.patch_environment(
        "production",
        json!({"requires_approval": false, "analysis": {
            "provider": "prometheus",
            "url": prometheus.url,
            "interval": "1s",
            "min_samples": 10,
            "requests_query": format!("sum(app_requests_window{selector})"),
            "error_rate_query": format!("max(app_error_ratio{selector})"),
            "p95_query": format!("max(app_latency_p95_ms{selector})"),
        }}),
    )
    .await;

    let files = tempfile::tempdir().expect("temp dir");
    create_module(client, address, "app").await;
    for (version, name) in [("1.0.0", "one"), ("2.0.0", "two"), ("3.0.0", "three")] {
        publish(
            client,
            address,
            "app",
            version,
            &tarball(files.path(), name, "exit 0\n"),
        )
        .await;
    }
    let id = deploy(client, address, json!({"module": "app", "version": "1.0.0", "environment": "production", "strategy": {"kind": "direct"}})).await;
    assert_eq!(
        wait_finished(client, address, id, LIMIT).await["status"],
        "succeeded"
    );

    let canary = json!({"kind": "canary", "phases": [
        {"percent": 25, "duration": "8s", "max_error_rate": 0.05, "max_p95_ms": 100},
        {"percent": 100, "duration": "3s", "max_error_rate": 0.05, "max_p95_ms": 100}
    ]});
    let id = deploy(client, address, json!({"module": "app", "version": "2.0.0", "environment": "production", "strategy": canary})).await;
    let detail = wait_finished(client, address, id, LIMIT).await;
    assert_eq!(detail["status"], "rolled_back", "{detail}");
    let outcome = detail["outcome"].as_str().unwrap_or_default();
    assert!(outcome.contains("error rate 30.00%"), "{outcome}");
    assert_eq!(fleet.currents("app"), vec![Some("1.0.0".to_string()); 4]);

    let id = deploy(client, address, json!({"module": "app", "version": "3.0.0", "environment": "production", "strategy": canary})).await;
    let detail = wait_finished(client, address, id, LIMIT).await;
    assert_eq!(
        detail["status"],
        "succeeded",
        "{detail}\n{:#?}",
        events(client, address, id).await
    );
    assert_eq!(fleet.currents("app"), vec![Some("3.0.0".to_string()); 4]);
}
