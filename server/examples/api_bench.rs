//! The pieces of bench/api.sh: seeding a database at scale, a bare axum
//! handler to measure against, and a closed-loop HTTP load generator.
//!
//!   api_bench seed --database-url URL --deployments 100000 --nodes 1000
//!       (on a database `hotswap serve` has initialised; prints an API token)
//!   api_bench bare --addr 127.0.0.1:PORT
//!   api_bench load --url URL [--header 'K: V']… [--concurrency 64] [--seconds 8]
//!       (prints `requests req/s p50 p95 p99 errors`, milliseconds)
//!   api_bench post --base URL --token T [--requests 100]
//!       (that many deployment requests one after another, each of its own
//!       module so none waits for another; prints them as `load` does)

use std::time::{Duration, Instant};

use app::model::deployment::{DeploymentPage, DeploymentStatus, DeploymentSummary};
use app::model::event::{self as ev, Event};
use app::model::lifecycle::{Decision, NodeStatus};
use chrono::Utc;
use hotswap::domain::plan::StoredPlan;
use hotswap::domain::strategy::{BatchSize, Strategy};
use hotswap::entities::{
    approvals, deployments, environments, events, module_versions, modules, nodes, users,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, Database, DatabaseBackend, EntityTrait,
    QueryFilter,
};
use serde_json::{json, Map, Value};

const MODULES: usize = 20;
const VERSIONS: usize = 50;
/// Rows per INSERT: well under SQLite's and PostgreSQL's bind limits.
const CHUNK: usize = 500;

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn flags(args: &[String], name: &str) -> Vec<String> {
    args.windows(2)
        .filter(|w| w[0] == name)
        .map(|w| w[1].clone())
        .collect()
}

fn number(args: &[String], name: &str, default: usize) -> usize {
    flag(args, name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} takes a number, not {v:?}"))
    })
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("seed") => seed(&args).await,
        Some("bare") => bare(&flag(&args, "--addr").expect("--addr")).await,
        Some("load") => load(&args).await,
        Some("post") => post(&args).await,
        _ => {
            eprintln!("usage: api_bench seed|bare|load … (see the file's header)");
            std::process::exit(2);
        }
    }
}

/// A year of history: modules with versions, nodes spread over the three
/// environments, deployments one after another (most succeeded), each with
/// its creation and end events, and an approval for every production one.
async fn seed(args: &[String]) {
    let url = flag(args, "--database-url").expect("--database-url");
    let count = number(args, "--deployments", 100_000);
    let node_count = number(args, "--nodes", 1000);
    let db = Database::connect(&url).await.expect("database reachable");
    let admin = users::Entity::find()
        .filter(users::Column::Username.eq("admin"))
        .one(&db)
        .await
        .expect("read")
        .expect("an initialised database: start `hotswap serve` on it once");
    let envs = environments::Entity::find().all(&db).await.expect("read");
    assert!(!envs.is_empty(), "the first run creates environments");
    let tenant = envs[0].tenant_id;
    let now = Utc::now();

    let module_rows = (0..MODULES).map(|m| modules::ActiveModel {
        tenant_id: Set(tenant),
        name: Set(format!("svc-{m:02}")),
        description: Set(None),
        require_signature: Set(false),
        public_key: Set(None),
        created_at: Set(now),
        ..Default::default()
    });
    modules::Entity::insert_many(module_rows)
        .exec(&db)
        .await
        .expect("modules");
    let module_ids: Vec<i64> = modules::Entity::find()
        .all(&db)
        .await
        .expect("read")
        .into_iter()
        .map(|m| m.id)
        .collect();
    let version_rows: Vec<_> = module_ids
        .iter()
        .flat_map(|&module| {
            (0..VERSIONS).map(move |v| module_versions::ActiveModel {
                tenant_id: Set(tenant),
                module_id: Set(module),
                version: Set(format!("1.0.{v}")),
                artifact_url: Set(format!("https://artifacts.example.com/{module}/{v}.tar.gz")),
                sha256: Set("a".repeat(64)),
                signature: Set(None),
                published_by: Set(Some(admin.id)),
                created_at: Set(now),
                ..Default::default()
            })
        })
        .collect();
    for chunk in version_rows.chunks(CHUNK) {
        module_versions::Entity::insert_many(chunk.to_vec())
            .exec(&db)
            .await
            .expect("versions");
    }
    // (module id, version id) for every version.
    let versions: Vec<(i64, i64)> = module_versions::Entity::find()
        .all(&db)
        .await
        .expect("read")
        .into_iter()
        .map(|v| (v.module_id, v.id))
        .collect();

    let reported: Map<String, Value> = (0..MODULES)
        .map(|m| {
            (
                format!("svc-{m:02}"),
                json!(format!("1.0.{}", VERSIONS - 1)),
            )
        })
        .collect();
    let node_rows: Vec<_> = (0..node_count)
        .map(|i| nodes::ActiveModel {
            tenant_id: Set(tenant),
            environment_id: Set(envs[i % envs.len()].id),
            name: Set(format!("node-{i:05}")),
            labels: Set(json!({})),
            pool: Set(None),
            status: Set(NodeStatus::Offline),
            versions: Set(Value::Object(reported.clone())),
            agent_version: Set(Some("bench".into())),
            credential_hash: Set(None),
            last_heartbeat_at: Set(Some(now)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    for chunk in node_rows.chunks(CHUNK) {
        nodes::Entity::insert_many(chunk.to_vec())
            .exec(&db)
            .await
            .expect("nodes");
    }

    let strategy = Strategy::Rolling {
        batch: BatchSize::Percent(25),
        max_failed: 0,
    };
    let year = chrono::Duration::days(365);
    let production = envs.iter().find(|e| e.name == "production").map(|e| e.id);
    let started = Instant::now();
    let mut done = 0;
    while done < count {
        let batch: Vec<usize> = (done..count.min(done + CHUNK)).collect();
        let rows = batch.iter().map(|&i| {
            let (module_id, version_id) = versions[(i * 7919) % versions.len()];
            let created = now - year + year * (i as i32) / (count as i32);
            let status = status_of(i);
            deployments::ActiveModel {
                tenant_id: Set(tenant),
                module_id: Set(module_id),
                module_version_id: Set(version_id),
                environment_id: Set(envs[i % envs.len()].id),
                strategy: Set((&strategy).into()),
                plan: Set(StoredPlan::NotStarted),
                status: Set(status),
                current_phase: Set(0),
                outcome: Set(Some(format!("{status}"))),
                requested_by: Set(Some(admin.id)),
                rollback_of: Set(None),
                created_at: Set(created),
                updated_at: Set(created),
                started_at: Set(Some(created + chrono::Duration::seconds(1))),
                finished_at: Set(Some(
                    created + chrono::Duration::seconds(30 + (i % 270) as i64),
                )),
                stage: Set(app::model::lifecycle::Stage::Swap),
                phase_started_at: Set(None),
                skip_wait: Set(false),
                analyzed_at: Set(None),
                approval_deadline: Set(None),
                ..Default::default()
            }
        });
        let first = deployments::Entity::insert_many(rows)
            .exec(&db)
            .await
            .expect("deployments")
            .last_insert_id;
        // Ids of one multi-row insert are consecutive on both databases.
        let ids = (first + 1 - batch.len() as i64)..=first;
        let mut event_rows = Vec::with_capacity(batch.len() * 2);
        let mut approval_rows = Vec::new();
        for (id, &i) in ids.zip(&batch) {
            let created = now - year + year * (i as i32) / (count as i32);
            let (module_id, version_id) = versions[(i * 7919) % versions.len()];
            let status = status_of(i);
            let created_event = Event::DeploymentCreated(ev::Created {
                module: format!(
                    "svc-{:02}",
                    module_ids.iter().position(|m| *m == module_id).unwrap_or(0)
                ),
                version: format!("version {version_id}"),
                environment: envs[i % envs.len()].name.clone(),
                strategy: strategy.to_document(),
                rollback_of: None,
            });
            let ended = Event::ended(status, status.to_string()).expect("a finished status");
            for event in [created_event, ended] {
                event_rows.push(events::ActiveModel {
                    tenant_id: Set(tenant),
                    deployment_id: Set(Some(id)),
                    kind: Set(event.kind()),
                    payload: Set(event.payload()),
                    created_at: Set(created),
                    ..Default::default()
                });
            }
            if Some(envs[i % envs.len()].id) == production {
                approval_rows.push(approvals::ActiveModel {
                    tenant_id: Set(tenant),
                    deployment_id: Set(id),
                    approver_id: Set(admin.id),
                    decision: Set(Decision::Approved),
                    comment: Set(None),
                    created_at: Set(created),
                    ..Default::default()
                });
            }
        }
        events::Entity::insert_many(event_rows)
            .exec(&db)
            .await
            .expect("events");
        if !approval_rows.is_empty() {
            approvals::Entity::insert_many(approval_rows)
                .exec(&db)
                .await
                .expect("approvals");
        }
        done += batch.len();
    }
    // A year of history on PostgreSQL has been analysed by autovacuum long
    // since; a bulk load just now has not, and would be planned blind.
    // (SQLite keeps no statistics unless asked, and Hotswap never asks.)
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.execute_unprepared("ANALYZE").await.expect("analyze");
    }
    eprintln!(
        "seeded {count} deployments, {node_count} nodes in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let token =
        hotswap::services::tokens::create_for_member(&db, "default", "admin", "bench", None, None)
            .await
            .expect("token")
            .token;
    println!("{token}");
}

/// Nine in ten succeed.
fn status_of(i: usize) -> DeploymentStatus {
    match i % 100 {
        0..=89 => DeploymentStatus::Succeeded,
        90..=96 => DeploymentStatus::Failed,
        _ => DeploymentStatus::RolledBack,
    }
}

/// The upper bound: a page of 50 deployment rows, serialised per request
/// exactly as the API's list is, with no database and no authentication.
async fn bare(addr: &str) {
    use axum::routing::get;
    let page = || {
        let now = Utc::now();
        DeploymentPage {
            items: (0..50)
                .map(|i| DeploymentSummary {
                    id: 100_000 - i,
                    module: format!("svc-{:02}", i % 20),
                    version: format!("1.0.{i}"),
                    environment: "production".into(),
                    strategy: "rolling, batches of 25%".into(),
                    status: DeploymentStatus::Succeeded,
                    requested_by: Some("admin".into()),
                    created_at: now,
                    finished_at: Some(now),
                })
                .collect(),
            next_cursor: Some(99_950),
            now,
        }
    };
    let app = axum::Router::new().route(
        "/api/v1/deployments",
        get(move || async move { axum::Json(page()) }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}

/// `concurrency` clients, each sending its next request when the last one is
/// answered, for `seconds`; a request that takes over 2 s counts as an error.
async fn load(args: &[String]) {
    let url = flag(args, "--url").expect("--url");
    let concurrency = number(args, "--concurrency", 64);
    let seconds = number(args, "--seconds", 8);
    let mut headers = reqwest::header::HeaderMap::new();
    for header in flags(args, "--header") {
        let (name, value) = header.split_once(':').expect("--header 'Name: value'");
        headers.insert(
            reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).expect("name"),
            value.trim().parse().expect("value"),
        );
    }
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(2))
        .pool_max_idle_per_host(concurrency)
        // A redirect (to the sign-in page) is a failure here, not a page.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let until = Instant::now() + Duration::from_secs(seconds as u64);
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let mut took = Vec::new();
                let mut errors = 0u64;
                while Instant::now() < until {
                    let sent = Instant::now();
                    let ok = match client.get(&url).send().await {
                        Ok(response) => {
                            let success = response.status().is_success();
                            success && response.bytes().await.is_ok()
                        }
                        Err(_) => false,
                    };
                    if ok {
                        took.push(sent.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (took, errors)
            })
        })
        .collect();
    let mut took = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (t, e) = task.await.expect("client task");
        took.extend(t);
        errors += e;
    }
    report(took, errors, started.elapsed().as_secs_f64());
}

fn report(mut took: Vec<Duration>, errors: u64, elapsed: f64) {
    took.sort();
    let at = |q: f64| -> f64 {
        took.get(((took.len() as f64 * q) as usize).min(took.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{} {:.0} {:.1} {:.1} {:.1} {}",
        took.len(),
        took.len() as f64 / elapsed,
        at(0.50),
        at(0.95),
        at(0.99),
        errors
    );
}

async fn post(args: &[String]) {
    let base = flag(args, "--base").expect("--base");
    let token = flag(args, "--token").expect("--token");
    let requests = number(args, "--requests", 100);
    let client = reqwest::Client::new();
    let send = |path: &str, body: Value| {
        client
            .post(format!("{base}/api/v1{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    for i in 0..requests {
        let module = format!("post-{i:04}");
        let created = send("/modules", json!({ "name": module }))
            .await
            .expect("send");
        assert!(
            created.status().is_success(),
            "module: {}",
            created.status()
        );
        let published = send(
            &format!("/modules/{module}/versions"),
            json!({"version": "1.0.0", "artifact_url": "https://artifacts.example.com/a.tar.gz", "sha256": "a".repeat(64)}),
        )
        .await
        .expect("send");
        assert!(
            published.status().is_success(),
            "version: {}",
            published.status()
        );
    }
    let started = Instant::now();
    let mut took = Vec::new();
    for i in 0..requests {
        let body =
            json!({"module": format!("post-{i:04}"), "version": "1.0.0", "environment": "dev"});
        let sent = Instant::now();
        let response = send("/deployments", body).await.expect("send");
        assert!(
            response.status().is_success(),
            "{}",
            response.text().await.unwrap_or_default()
        );
        took.push(sent.elapsed());
    }
    report(took, 0, started.elapsed().as_secs_f64());
}
