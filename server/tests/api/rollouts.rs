//! Real roll-outs: a server, real agent processes on temp dirs, artifacts on
//! disk. Every assertion about a node reads its `current` symlink.

use std::time::Duration;

use serde_json::{json, Value};

use crate::fleet::{
    create_module, deploy, events, kinds, publish, roll_out, start_fleet, tarball, wait_finished,
    wait_for, write_artifact, BlueGreen, FleetSpec, Scenario, Started, HEALTHY,
};
use crate::helpers::{post_json, spawn_app, spawn_app_with};

const LIMIT: Duration = Duration::from_secs(60);

fn some(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[tokio::test]
async fn direct_swaps_every_node_and_a_finished_deployment_rolls_back() {
    let app = spawn_app().await;
    let (client, address) = (&app.client, app.address.as_str());
    let fleet = start_fleet(client, address, FleetSpec::new("dev", 4)).await;
    let files = tempfile::tempdir().expect("temp dir");
    create_module(client, address, "app").await;
    publish(
        client,
        address,
        "app",
        "1.0.0",
        &tarball(files.path(), "one", HEALTHY),
    )
    .await;
    publish(
        client,
        address,
        "app",
        "2.0.0",
        &tarball(files.path(), "two", HEALTHY),
    )
    .await;

    let first = deploy(
        client,
        address,
        json!({"module": "app", "version": "1.0.0", "environment": "dev"}),
    )
    .await;
    let detail = wait_finished(client, address, first, LIMIT).await;
    assert_eq!(detail["status"], "succeeded", "{detail}");
    assert_eq!(fleet.currents("app"), vec![some("1.0.0"); 4]);
    let payload = std::fs::read_to_string(fleet.agents[0].root.join("app/current/payload.txt"))
        .expect("payload");
    assert_eq!(payload, "one");

    let second = deploy(
        client,
        address,
        json!({"module": "app", "version": "2.0.0", "environment": "dev"}),
    )
    .await;
    let detail = wait_finished(client, address, second, LIMIT).await;
    assert_eq!(detail["status"], "succeeded", "{detail}");
    assert_eq!(fleet.currents("app"), vec![some("2.0.0"); 4]);
    // The node list shows what each node reports running, and its labels.
    for node in crate::fleet::nodes(client, address).await {
        assert_eq!(node["versions"], json!({"app": "2.0.0"}), "{node}");
        assert_eq!(
            node["labels"],
            json!({"tier": "web", "zone": "test"}),
            "{node}"
        );
    }
    assert!(
        detail["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .all(|n| n["state"] == "swapped" && n["version"] == "2.0.0"),
        "{detail}"
    );
    let seen = kinds(&events(client, address, second).await);
    for kind in [
        "deployment_created",
        "deployment_started",
        "phase_started",
        "node_swapped",
        "deployment_succeeded",
    ] {
        assert!(seen.iter().any(|k| k == kind), "{kind} in {seen:?}");
    }

    // The detail page reads without JavaScript: plan, nodes, events.
    let page = app.get(&format!("/deployments/{second}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("HTML");
    for text in [
        "app 2.0.0 → dev",
        "all nodes",
        "dev-0",
        "now runs 2.0.0",
        "succeeded",
    ] {
        assert!(html.contains(text), "{text} on the detail page");
    }
    // Rolling back a finished deployment deploys the version before it again.
    let response = post_json(
        client,
        &app.url(&format!("/api/v1/deployments/{second}/rollback")),
        json!({}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let back: Value = response.json().await.expect("JSON");
    let back_id = back["id"].as_i64().expect("id");
    assert_ne!(back_id, second);
    let detail = wait_finished(client, address, back_id, LIMIT).await;
    assert_eq!(detail["status"], "succeeded", "{detail}");
    assert_eq!(detail["rollback_of"], second);
    assert_eq!(detail["version"], "1.0.0");
    assert_eq!(fleet.currents("app"), vec![some("1.0.0"); 4]);
    // Operators see it in the metrics.
    let metrics = app
        .anonymous
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for line in [
        r#"hotswap_deployments_total{environment="dev",status="succeeded",strategy="direct"} 3"#,
        r#"hotswap_deployment_duration_seconds_count{environment="dev",status="succeeded",strategy="direct"} 3"#,
        r#"hotswap_nodes{status="online"} 4"#,
        "hotswap_active_deployments 0",
        "hotswap_job_queue_depth 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    // Release 1.0.0 was still on disk: nobody downloaded it twice.
    assert!(fleet
        .agents
        .iter()
        .all(|a| a.swaps("1.0.0") == 2 && a.swaps("2.0.0") == 1));
}

#[tokio::test]
async fn bad_artifacts_fail_clearly_and_switch_nothing() {
    let app = spawn_app().await;
    let (client, address) = (&app.client, app.address.as_str());
    let fleet = start_fleet(client, address, FleetSpec::new("dev", 2)).await;
    let files = tempfile::tempdir().expect("temp dir");
    create_module(client, address, "app").await;
    publish(
        client,
        address,
        "app",
        "1.0.0",
        &tarball(files.path(), "one", HEALTHY),
    )
    .await;
    let first = deploy(
        client,
        address,
        json!({"module": "app", "version": "1.0.0", "environment": "dev"}),
    )
    .await;
    assert_eq!(
        wait_finished(client, address, first, LIMIT).await["status"],
        "succeeded"
    );

    let good = tarball(files.path(), "two", HEALTHY);
    let corrupt = write_artifact(
        files.path(),
        "corrupt.tar.gz",
        vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 9, 9, 9],
    );
    let cases = [
        (
            "2.0.1",
            good.url.clone(),
            "0".repeat(64),
            "checksum mismatch",
        ),
        (
            "2.0.2",
            format!("file://{}/missing.tar.gz", files.path().display()),
            good.sha256.clone(),
            "download failed",
        ),
        (
            "2.0.3",
            "http://127.0.0.1:9/nothing.tar.gz".to_string(),
            good.sha256.clone(),
            "download failed",
        ),
        (
            "2.0.4",
            corrupt.url.clone(),
            corrupt.sha256.clone(),
            "could not unpack",
        ),
    ];
    for (version, url, sha256, expected) in cases {
        let response = post_json(
            client,
            &app.url("/api/v1/modules/app/versions"),
            json!({"version": version, "artifact_url": url, "sha256": sha256}),
        )
        .await;
        assert_eq!(response.status(), 201);
        let id = deploy(
            client,
            address,
            json!({"module": "app", "version": version, "environment": "dev"}),
        )
        .await;
        let detail = wait_finished(client, address, id, LIMIT).await;
        assert_eq!(detail["status"], "rolled_back", "{version}: {detail}");
        let outcome = detail["outcome"].as_str().unwrap_or_default();
        assert!(outcome.contains(expected), "{version}: {outcome}");
        let node_errors: Vec<_> = detail["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["error"].clone())
            .collect();
        assert!(
            node_errors
                .iter()
                .all(|e| e.as_str().is_some_and(|e| e.contains(expected))),
            "{node_errors:?}"
        );
        assert_eq!(
            fleet.currents("app"),
            vec![some("1.0.0"); 2],
            "{version} switched something"
        );
    }
}

#[tokio::test]
async fn signed_modules_refuse_unsigned_or_forged_versions() {
    use ed25519_dalek::{Signer, SigningKey};
    let app = spawn_app().await;
    let (client, address) = (&app.client, app.address.as_str());
    let key = SigningKey::from_bytes(&[9u8; 32]);
    let public = hex::encode(key.verifying_key().to_bytes());
    let response = post_json(
        client,
        &app.url("/api/v1/modules"),
        json!({"name": "signed", "public_key": public}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let files = tempfile::tempdir().expect("temp dir");
    let artifact = tarball(files.path(), "one", HEALTHY);
    let mut digest = [0u8; 32];
    hex::decode_to_slice(&artifact.sha256, &mut digest).expect("hex");
    let good = hex::encode(key.sign(&digest).to_bytes());
    let forged = hex::encode(SigningKey::from_bytes(&[1u8; 32]).sign(&digest).to_bytes());
    for (signature, status) in [(None, 422), (Some(forged), 422), (Some(good), 201)] {
        let response = post_json(
            client,
            &app.url("/api/v1/modules/signed/versions"),
            json!({"version": "1.0.0", "artifact_url": artifact.url, "sha256": artifact.sha256, "signature": signature}),
        )
        .await;
        assert_eq!(response.status(), status);
        if status == 422 {
            let body: Value = response.json().await.expect("JSON");
            assert_eq!(body["error"]["field"], "signature", "{body}");
        }
    }
    // The agent verifies again against the bytes it downloaded.
    let fleet = start_fleet(client, address, FleetSpec::new("dev", 1)).await;
    let id = deploy(
        client,
        address,
        json!({"module": "signed", "version": "1.0.0", "environment": "dev"}),
    )
    .await;
    assert_eq!(
        wait_finished(client, address, id, LIMIT).await["status"],
        "succeeded"
    );
    assert_eq!(fleet.currents("signed"), vec![some("1.0.0")]);
}

#[tokio::test]
async fn rolling_goes_batch_by_batch_and_rolls_back_when_a_batch_fails() {
    let app = spawn_app().await;
    let (client, address) = (&app.client, app.address.as_str());
    let Started { fleet, files } = Scenario::new(&app, "qa", 5)
        .health_checked()
        .release("1.0.0", HEALTHY)
        .release("2.0.0", HEALTHY)
        .start()
        .await;
    // 3.0.0 never becomes healthy on the third node (by id, so in batch 2):
    // the health command runs in the agent's root and sees the marker there.
    let nodes = crate::fleet::nodes(client, address).await;
    let mut by_id: Vec<(i64, String)> = nodes
        .iter()
        .map(|n| {
            (
                n["id"].as_i64().unwrap_or(0),
                n["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    by_id.sort();
    let sick = by_id[2].1.clone();
    let sick_agent = fleet.agents.iter().find(|a| a.name == sick).expect("agent");
    std::fs::write(sick_agent.root.join("SICK"), "").expect("marker");
    let picky = "test ! -e SICK || test \"$(cat app/current/payload.txt)\" != three\n";
    publish(
        client,
        address,
        "app",
        "3.0.0",
        &tarball(files.path(), "three", picky),
    )
    .await;
    let rolling = json!({"kind": "rolling", "batch_size": 2, "max_failed": 0});

    let id = deploy(
        client,
        address,
        json!({"module": "app", "version": "1.0.0", "environment": "qa", "strategy": rolling}),
    )
    .await;
    let detail = wait_finished(client, address, id, LIMIT).await;
    assert_eq!(detail["status"], "succeeded", "{detail}");
    let labels: Vec<_> = detail["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .map(|p| p["label"].clone())
        .collect();
    assert_eq!(labels, ["batch 1 of 3", "batch 2 of 3", "batch 3 of 3"]);
    assert_eq!(fleet.currents("app"), vec![some("1.0.0"); 5]);

    let id = deploy(
        client,
        address,
        json!({"module": "app", "version": "2.0.0", "environment": "qa", "strategy": rolling}),
    )
    .await;
    assert_eq!(
        wait_finished(client, address, id, LIMIT).await["status"],
        "succeeded"
    );
    // Batches ran in order: each phase's swaps all come before the next phase starts.
    let log = events(client, address, id).await;
    let phases: Vec<i64> = log
        .iter()
        .filter(|e| e["kind"] == "node_swapped")
        .map(|e| e["payload"]["phase"].as_i64().unwrap_or(-1))
        .collect();
    let mut sorted = phases.clone();
    sorted.sort();
    assert_eq!(phases, sorted);

    let id = deploy(
        client,
        address,
        json!({"module": "app", "version": "3.0.0", "environment": "qa", "strategy": rolling}),
    )
    .await;
    let detail = wait_finished(client, address, id, LIMIT).await;
    assert_eq!(detail["status"], "rolled_back", "{detail}");
    assert!(
        detail["outcome"]
            .as_str()
            .unwrap_or_default()
            .contains(&sick),
        "{detail}"
    );
    // Batch 1 was swapped and rolled back; the sick node reverted itself;
    // the last batch never started. Everyone is on 2.0.0 again.
    assert_eq!(fleet.currents("app"), vec![some("2.0.0"); 5]);
    let waiting: Vec<&str> = detail["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| n["state"] == "waiting")
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert_eq!(waiting.len(), 1, "{detail}");
    let untouched = fleet
        .agents
        .iter()
        .find(|a| a.name == waiting[0])
        .expect("agent");
    assert_eq!(untouched.swaps("3.0.0"), 0);
    assert!(kinds(&events(client, address, id).await).contains(&"node_rolled_back".to_string()));
}

#[tokio::test]
async fn a_canary_that_breaches_its_threshold_rolls_back_by_itself() {
    let app = spawn_app().await;
    let (client, address) = (&app.client, app.address.as_str());
    app.patch_environment(
        "production",
        json!({"requires_approval": false, "analysis": {"interval": "1s", "min_samples": 3}}),
    )
    .await;
    // 2.0.0 is healthy right after the swap, then fails about half of its probes.
    let flaky = "test \"$(od -An -N1 -tu1 /dev/urandom)\" -lt 128\n";
    let Started {
        fleet,
        files: _files,
    } = Scenario::new(&app, "production", 4)
        .health_checked()
        .release("1.0.0", HEALTHY)
        .release("2.0.0", flaky)
        .release("3.0.0", HEALTHY)
        .start()
        .await;
    let direct = json!({"kind": "direct"});
    assert_eq!(
        roll_out(client, address, "production", "1.0.0", direct).await["status"],
        "succeeded"
    );

    let canary = json!({"kind": "canary", "phases": [
        {"percent": 25, "duration": "6s", "max_error_rate": 0.05, "max_p95_ms": 2000},
        {"percent": 100, "duration": "2s", "max_error_rate": 0.05, "max_p95_ms": 2000}
    ]});
    let id = deploy(client, address, json!({"module": "app", "version": "2.0.0", "environment": "production", "strategy": canary})).await;
    let detail = wait_finished(client, address, id, LIMIT).await;
    assert_eq!(detail["status"], "rolled_back", "{detail}");
    let outcome = detail["outcome"].as_str().unwrap_or_default();
    assert!(
        outcome.contains("canary 25%") && outcome.contains("error rate"),
        "{outcome}"
    );
    let log = events(client, address, id).await;
    let failed = log
        .iter()
        .find(|e| e["kind"] == "analysis" && e["payload"]["verdict"] == "fail")
        .expect("a failing analysis event");
    assert!(
        failed["payload"]["error_rate"].as_f64().unwrap_or(0.0) > 0.05,
        "{failed}"
    );
    // One canary went to 2.0.0 and came back; the others never moved.
    assert_eq!(fleet.currents("app"), vec![some("1.0.0"); 4]);
    assert_eq!(
        fleet.agents.iter().map(|a| a.swaps("2.0.0")).sum::<usize>(),
        1
    );

    let id = deploy(client, address, json!({"module": "app", "version": "3.0.0", "environment": "production", "strategy": canary})).await;
    let detail = wait_finished(client, address, id, LIMIT).await;
    assert_eq!(detail["status"], "succeeded", "{detail}");
    assert_eq!(fleet.currents("app"), vec![some("3.0.0"); 4]);
    let passes = events(client, address, id)
        .await
        .iter()
        .filter(|e| e["kind"] == "analysis" && e["payload"]["verdict"] == "pass")
        .count();
    assert!(passes >= 2, "each phase was judged healthy");
}

#[tokio::test]
async fn operators_pause_resume_promote_and_abort() {
    let app = spawn_app().await;
    let (client, address) = (&app.client, app.address.as_str());
    app.patch_environment(
        "production",
        json!({"requires_approval": false, "analysis": {"interval": "1s", "min_samples": 1}}),
    )
    .await;
    let Started {
        fleet,
        files: _files,
    } = Scenario::new(&app, "production", 2)
        .health_checked()
        .release("1.0.0", HEALTHY)
        .release("2.0.0", HEALTHY)
        .start()
        .await;
    let direct = json!({"kind": "direct"});
    assert_eq!(
        roll_out(client, address, "production", "1.0.0", direct).await["status"],
        "succeeded"
    );

    let slow = json!({"kind": "canary", "phases": [{"percent": 50, "duration": "1h", "max_error_rate": 0.5, "max_p95_ms": 5000}]});
    let body =
        json!({"module": "app", "version": "2.0.0", "environment": "production", "strategy": slow});
    let id = deploy(client, address, body.clone()).await;
    // A second deployment of the same module to the same place waits its turn.
    let second = post_json(client, &app.url("/api/v1/deployments"), body.clone()).await;
    assert_eq!(second.status(), 409);

    let act = |verb: &'static str| {
        let url = app.url(&format!("/api/v1/deployments/{id}/{verb}"));
        async move { post_json(client, &url, json!({})).await }
    };
    wait_for(client, address, id, "the phase's wait", |d| {
        d["stage"] == "verify"
    })
    .await;
    assert_eq!(act("pause").await.status(), 200);
    assert_eq!(act("pause").await.status(), 409);
    assert_eq!(act("promote").await.status(), 409);
    assert_eq!(act("resume").await.status(), 200);
    assert_eq!(act("promote").await.status(), 200);
    // Promoted past the hour: the remaining node follows and it succeeds.
    let detail = wait_finished(client, address, id, LIMIT).await;
    assert_eq!(detail["status"], "succeeded", "{detail}");
    assert_eq!(fleet.currents("app"), vec![some("2.0.0"); 2]);
    let seen = kinds(&events(client, address, id).await);
    for kind in ["paused", "resumed", "promoted"] {
        assert!(seen.contains(&kind.to_string()), "{kind} in {seen:?}");
    }

    // Abort in the middle of a wait rolls the canary back.
    let back =
        json!({"module": "app", "version": "1.0.0", "environment": "production", "strategy": slow});
    let id = deploy(client, address, back).await;
    wait_for(client, address, id, "the phase's wait", |d| {
        d["stage"] == "verify"
    })
    .await;
    let url = app.url(&format!("/api/v1/deployments/{id}/abort"));
    assert_eq!(post_json(client, &url, json!({})).await.status(), 200);
    let detail = wait_finished(client, address, id, LIMIT).await;
    assert_eq!(detail["status"], "rolled_back", "{detail}");
    assert!(detail["outcome"]
        .as_str()
        .unwrap_or_default()
        .contains("aborted by admin"));
    assert_eq!(fleet.currents("app"), vec![some("2.0.0"); 2]);
}

#[tokio::test]
async fn blue_green_deploys_to_the_idle_pool_and_switches_traffic() {
    let files = tempfile::tempdir().expect("temp dir");
    let switched = files.path().join("active-pool");
    // Switch commands are the operator's: configured, then named by the environment.
    let record = format!("echo $HOTSWAP_ACTIVE_POOL > {}", switched.display());
    let app = spawn_app_with(|config| {
        let commands = &mut config.engine.switch_commands;
        commands.insert("record-pool".into(), record);
        commands.insert("fail".into(), "exit 7".into());
    })
    .await;
    let (client, address) = (&app.client, app.address.as_str());
    app.patch_environment(
        "staging",
        json!({"requires_approval": false, "switch_hook": {"command": "record-pool"}}),
    )
    .await;
    let BlueGreen {
        blue,
        green,
        files: _artifacts,
    } = Scenario::new(&app, "staging", 2)
        .release("1.0.0", HEALTHY)
        .release("2.0.0", HEALTHY)
        .start_blue_green()
        .await;

    let id = deploy(
        client,
        address,
        json!({"module": "app", "version": "1.0.0", "environment": "staging"}),
    )
    .await;
    let detail = wait_finished(client, address, id, LIMIT).await;
    assert_eq!(detail["status"], "succeeded", "{detail}");
    assert_eq!(green.currents("app"), vec![some("1.0.0"); 2]);
    assert_eq!(blue.currents("app"), vec![None, None]);
    assert_eq!(
        std::fs::read_to_string(&switched).expect("hook ran").trim(),
        "green"
    );

    let id = deploy(
        client,
        address,
        json!({"module": "app", "version": "2.0.0", "environment": "staging"}),
    )
    .await;
    assert_eq!(
        wait_finished(client, address, id, LIMIT).await["status"],
        "succeeded"
    );
    assert_eq!(blue.currents("app"), vec![some("2.0.0"); 2]);
    // The old pool keeps the old version for an instant rollback.
    assert_eq!(green.currents("app"), vec![some("1.0.0"); 2]);
    assert_eq!(
        std::fs::read_to_string(&switched).expect("hook ran").trim(),
        "blue"
    );

    // A failing switch hook rolls the idle pool back and leaves traffic where it was.
    app.patch_environment("staging", json!({"switch_hook": {"command": "fail"}}))
        .await;
    let id = deploy(
        client,
        address,
        json!({"module": "app", "version": "1.0.0", "environment": "staging"}),
    )
    .await;
    let detail = wait_finished(client, address, id, LIMIT).await;
    assert_eq!(detail["status"], "rolled_back", "{detail}");
    assert!(
        detail["outcome"]
            .as_str()
            .unwrap_or_default()
            .contains("switch"),
        "{detail}"
    );
    assert_eq!(blue.currents("app"), vec![some("2.0.0"); 2]);
    let envs: Vec<Value> = client
        .get(app.url("/api/v1/environments"))
        .send()
        .await
        .expect("envs")
        .json()
        .await
        .expect("JSON");
    let staging = envs
        .iter()
        .find(|e| e["name"] == "staging")
        .expect("staging");
    assert_eq!(staging["active_pool"], "blue", "{staging}");
}

#[tokio::test]
async fn an_offline_node_fails_its_step_within_what_the_strategy_allows() {
    let app = spawn_app().await;
    let (client, address) = (&app.client, app.address.as_str());
    let Started {
        mut fleet,
        files: _files,
    } = Scenario::new(&app, "qa", 3)
        .release("1.0.0", HEALTHY)
        .release("2.0.0", HEALTHY)
        .start()
        .await;
    fleet.agents[2].kill();
    let gone = fleet.agents[2].name.clone();

    // Direct allows no failure: the offline node fails the roll-out, the others go back.
    let id = deploy(client, address, json!({"module": "app", "version": "1.0.0", "environment": "qa", "strategy": {"kind": "direct"}})).await;
    let detail = wait_finished(client, address, id, LIMIT).await;
    assert_eq!(detail["status"], "rolled_back", "{detail}");
    assert!(
        detail["outcome"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("{gone} is offline")),
        "{detail}"
    );
    assert_eq!(fleet.currents("app"), vec![None, None, None]);

    // Rolling with max_failed 1 goes on without it.
    let rolling = json!({"kind": "rolling", "batch_size": 1, "max_failed": 1});
    let id = deploy(
        client,
        address,
        json!({"module": "app", "version": "2.0.0", "environment": "qa", "strategy": rolling}),
    )
    .await;
    let detail = wait_finished(client, address, id, LIMIT).await;
    assert_eq!(detail["status"], "succeeded", "{detail}");
    assert_eq!(
        fleet.currents("app"),
        vec![some("2.0.0"), some("2.0.0"), None]
    );
    let nodes = crate::fleet::nodes(client, address).await;
    let offline = nodes
        .iter()
        .find(|n| n["name"] == gone.as_str())
        .expect("node");
    assert_eq!(offline["status"], "offline");
}

#[tokio::test]
async fn a_blue_green_switch_can_call_a_webhook() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let (client, address) = (&app.client, app.address.as_str());
    // A load balancer's reload endpoint: records each call's body.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook = format!("http://{}/reload", listener.local_addr().expect("addr"));
    let (calls_tx, mut calls) = tokio::sync::mpsc::unbounded_channel::<Value>();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            while let Ok(n) = socket.read(&mut buffer).await {
                request.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&request);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        let _ = calls_tx
                            .send(serde_json::from_str(&body[..length]).unwrap_or(Value::Null));
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let _ = socket
                .write_all(
                    b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
        }
    });
    app.patch_environment(
        "staging",
        json!({"requires_approval": false, "switch_hook": {"webhook": hook}}),
    )
    .await;
    let BlueGreen {
        green,
        blue: _blue,
        files: _files,
    } = Scenario::new(&app, "staging", 1)
        .release("1.0.0", HEALTHY)
        .start_blue_green()
        .await;

    let id = deploy(
        client,
        address,
        json!({"module": "app", "version": "1.0.0", "environment": "staging"}),
    )
    .await;
    assert_eq!(
        wait_finished(client, address, id, LIMIT).await["status"],
        "succeeded"
    );
    assert_eq!(green.currents("app"), vec![some("1.0.0")]);
    let call = calls.recv().await.expect("the webhook was called");
    assert_eq!(
        call,
        json!({"environment": "staging", "active_pool": "green", "previous_pool": "blue"})
    );
}
