//! Hostile input at every REST route and every server function, as an
//! anonymous client, a signed-in Admin and an Admin's token: wrong types,
//! huge and negative numbers, long strings, NUL, bad UTF-8, broken and huge
//! bodies, unknown and malformed ids. Whatever the input, the answer is never
//! a 5xx, and every error is the JSON error shape.
//!
//! Routes are read from the routers' sources and server functions from the
//! app's, so a new one is fuzzed without anyone adding it here.

use std::collections::BTreeMap;
use std::path::Path;

use futures_util::stream::{self, StreamExt};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Method};
use serde_json::{json, Map, Value};

use crate::helpers::{
    bearer, browser, post_json, routes_of, seed_deployment, sign_in, spawn_app, TestApp,
    ADMIN_PASSWORD,
};

/// Requests in flight at once.
const IN_FLIGHT: usize = 4;

/// Every field name the API's request bodies use, and a value each would
/// accept, so one hostile field at a time gets past the others.
fn plausible() -> Map<String, Value> {
    let groups = [
        json!({
            "name": "fuzz", "slug": "fuzz", "username": "fuzz-user", "email": "fuzz@example.com",
            "password": "fuzz-password-123", "new_password": "fuzz-password-123",
            "current_password": "not-the-password", "temporary_password": "fuzz-password-123",
            "role": "viewer", "disabled": false, "account_disabled": false, "tenant": "default",
        }),
        json!({
            "module": "billing", "version": "9.9.9", "environment": "dev", "description": "fuzz",
            "artifact_url": "https://example.com/a.tar.gz", "sha256": "0".repeat(64),
            "signature": null, "public_key": null, "require_signature": false,
        }),
        json!({
            "strategy": {"kind": "direct"}, "default_strategy": {"kind": "direct"}, "kind": "direct",
            "batch_size": 1, "max_failed": 0, "phases": [{"percent": 10, "duration": "1m"}],
            "percent": 10, "duration": "1m", "interval": "1m", "max_error_rate": 5,
        }),
        json!({
            "comment": "fuzz", "reason": "fuzz", "override_freeze": null,
            "requires_approval": false, "required_approvals": 1, "allow_self_approval": false,
            "approval_timeout": "1h", "analysis": {"interval": "1m"},
            "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-02T00:00:00Z",
            "weekly": {"day": "friday", "from": "16:00", "to": "18:00"},
        }),
        json!({
            "url": "http://127.0.0.1:9/hook", "events": ["succeeded"], "format": "json",
            "enabled": true, "secret": "fuzz", "pool": null, "uses": 1, "max_uses": 1,
            "labels": {}, "token": "not-a-token", "agent_version": "1.0.0", "expires": null,
            "expires_at": null, "limit": 10, "cursor": null, "decision": "approve", "verb": "pause",
        }),
    ];
    groups
        .into_iter()
        .flat_map(|group| match group {
            Value::Object(map) => map,
            _ => unreachable!("an object"),
        })
        .collect()
}

/// Values no field should take without a clear refusal.
fn hostile() -> Vec<Value> {
    vec![
        json!(null),
        json!(true),
        json!(-1),
        json!(0),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(1e308),
        json!(-1.5),
        json!(""),
        json!("x".repeat(5_000)),
        json!("a\u{0}b"),
        json!("-1"),
        json!("99999999999999999999"),
        json!("4294967295"),
        json!("300000y"),
        json!("1h1h"),
        json!("../../../etc/passwd"),
        json!("file:///etc/passwd"),
        json!("http://169.254.169.254/latest/meta-data"),
        json!([]),
        json!([null]),
        json!({}),
        json!({"kind": "rolling", "batch_size": "4294967295"}),
        json!([{"percent": 1e308, "duration": "-1s"}]),
    ]
}

/// The few that go into each field one at a time.
fn one_at_a_time() -> Vec<Value> {
    vec![json!(u64::MAX), json!("x".repeat(10_000)), json!([])]
}

/// Bodies no parser should choke on: (content type, bytes).
fn raw_bodies() -> Vec<(Option<&'static str>, Vec<u8>)> {
    let json = Some("application/json");
    vec![
        (None, Vec::new()),
        (json, Vec::new()),
        (json, b"{".to_vec()),
        (json, b"null".to_vec()),
        (json, b"[]".to_vec()),
        (json, b"\"text\"".to_vec()),
        (json, b"{\"name\":\"\xff\xfe\"}".to_vec()),
        (json, "[".repeat(5_000).into_bytes()),
        (
            json,
            format!("{{\"name\":\"{}\"}}", "x".repeat(3 << 20)).into_bytes(),
        ),
        (Some("text/plain"), b"{}".to_vec()),
        (
            Some("application/x-www-form-urlencoded"),
            b"name=x".to_vec(),
        ),
    ]
}

/// Path segments that are not ids or names, or not ones that exist.
fn hostile_segments() -> Vec<String> {
    [
        "0",
        "-1",
        "9223372036854775807",
        "99999999999999999999",
        "abc",
        "1.5",
        "%FF",
        "%00",
        "%2e%2e%2f%2e%2e%2fetc",
        "%20",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(["x".repeat(3_000)])
    .collect()
}

fn hostile_queries() -> Vec<String> {
    [
        "",
        "?limit=-1",
        "?limit=0",
        "?limit=99999999999999999999",
        "?limit=abc",
        "?cursor=abc",
        "?cursor=-1",
        "?after=99999999999999999999",
        "?status=bogus",
        "?environment=%00",
        "?module=%FF",
        "?outcome=%FF%FE",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("?requester={}", "x".repeat(10_000))])
    .collect()
}

/// Values a server function's form fields get.
fn form_values() -> Vec<String> {
    [
        "",
        "abc",
        "-1",
        "0",
        "99999999999999999999",
        "9223372036854775807",
        "1e308",
        "%00",
        "%FF%FE",
        "300000y",
        "true",
        "%5B%5D",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(["x".repeat(10_000)])
    .collect()
}

/// The rows path parameters should hit.
struct Fixtures {
    ids: BTreeMap<&'static str, i64>,
}

impl Fixtures {
    async fn seed(app: &TestApp) -> Self {
        let tenant = app.default_tenant().await;
        let deployment =
            seed_deployment(&app.db, tenant, "billing", "1.0.0", "dev", "succeeded").await;
        let user = app.add_member("target", "viewer").await;
        let created = |path: &str, body: Value| {
            let (client, url) = (app.client.clone(), app.url(path));
            async move {
                let response = post_json(&client, &url, body).await;
                assert_eq!(response.status(), 201, "{url}");
                response.json::<Value>().await.expect("JSON")["id"]
                    .as_i64()
                    .expect("id")
            }
        };
        let token = created("/api/v1/tokens", json!({"name": "target"})).await;
        let webhook = created("/api/v1/webhooks", json!({"url": "http://127.0.0.1:9/x"})).await;
        let freeze = created(
            "/api/v1/environments/dev/freeze-windows",
            json!({"name": "target", "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-02T00:00:00Z"}),
        )
        .await;
        let enrollment = post_json(
            &app.client,
            &app.url("/api/v1/environments/dev/enrollment-tokens"),
            json!({"uses": 2}),
        )
        .await
        .json::<Value>()
        .await
        .expect("JSON");
        let enrolled = post_json(
            &app.anonymous,
            &app.url("/api/v1/agents/enroll"),
            json!({"token": enrollment["token"], "name": "target-node", "labels": {}, "agent_version": "1.0.0"}),
        )
        .await;
        assert_eq!(enrolled.status(), 201, "a node is enrolled");
        let node = enrolled.json::<Value>().await.expect("JSON")["node_id"]
            .as_i64()
            .expect("node id");
        let ids = BTreeMap::from([
            ("deployments", deployment),
            ("users", user),
            ("tokens", token),
            ("webhooks", webhook),
            ("freeze-windows", freeze),
            ("enrollment-tokens", enrollment["id"].as_i64().expect("id")),
            ("nodes", node),
        ]);
        Self { ids }
    }

    /// The route with its parameters filled by real rows.
    fn real(&self, template: &str) -> String {
        let mut parts = Vec::new();
        let mut previous = "";
        for part in template.split('/') {
            let filled = match part {
                "{id}" => self.ids.get(previous).copied().unwrap_or(1).to_string(),
                "{name}" if previous == "modules" => "billing".into(),
                "{name}" => "dev".into(),
                other => other.to_string(),
            };
            previous = part;
            parts.push(filled);
        }
        parts.join("/")
    }

    /// The route with one of its parameters replaced by `segment`.
    fn with_segment(&self, template: &str, segment: &str) -> Vec<String> {
        let real = self.real(template);
        let real_parts: Vec<&str> = real.split('/').collect();
        template
            .split('/')
            .enumerate()
            .filter(|(_, part)| part.starts_with('{'))
            .map(|(i, _)| {
                let mut parts = real_parts.clone();
                parts[i] = segment;
                parts.join("/")
            })
            .collect()
    }
}

/// One request to make.
struct Probe {
    /// Probes run in this order: deletions after the rest, so the rows other
    /// probes aim at still exist; signing out last.
    rank: u8,
    caller: &'static str,
    client: Client,
    method: Method,
    url: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
}

/// What is wrong with the answer, if anything.
async fn verdict(probe: Probe) -> (&'static str, u16, Option<String>) {
    let caller = probe.caller;
    let (status, problem) = answer(probe).await;
    (caller, status, problem)
}

async fn answer(probe: Probe) -> (u16, Option<String>) {
    let mut request = probe.client.request(probe.method.clone(), &probe.url);
    if let Some(content_type) = probe.content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    let what = format!(
        "{} {} {} ({} body bytes{})",
        probe.caller,
        probe.method,
        shorten(&probe.url),
        probe.body.len(),
        shorten(&format!(": {}", String::from_utf8_lossy(&probe.body))),
    );
    let response = match request.body(probe.body).send().await {
        Ok(response) => response,
        Err(error) => return (0, Some(format!("{what}: no answer: {error}"))),
    };
    let status = response.status().as_u16();
    if status >= 500 {
        let body = response.text().await.unwrap_or_default();
        return (status, Some(format!("{what}: {status} {}", shorten(&body))));
    }
    if status < 400 {
        return (status, None);
    }
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.text().await.unwrap_or_default();
    let shaped = content_type.starts_with("application/json")
        && serde_json::from_str::<Value>(&body)
            .is_ok_and(|b| b["error"]["code"].is_string() && b["error"]["message"].is_string());
    let problem = (!shaped).then(|| format!("{what}: {status} {content_type} {}", shorten(&body)));
    (status, problem)
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= 160 {
        return text.to_string();
    }
    let head: String = text.chars().take(160).collect();
    format!("{head}…")
}

fn json_body(value: &Value) -> (Option<&'static str>, Vec<u8>) {
    (
        Some("application/json"),
        serde_json::to_vec(value).expect("JSON"),
    )
}

/// Bodies for a route that takes one.
fn bodies(thorough: bool) -> Vec<(Option<&'static str>, Vec<u8>)> {
    let base = plausible();
    let mut all = raw_bodies();
    for value in hostile() {
        let every: Map<String, Value> = base.keys().map(|k| (k.clone(), value.clone())).collect();
        all.push(json_body(&Value::Object(every)));
    }
    if thorough {
        all.push(json_body(&Value::Object(base.clone())));
        for field in base.keys() {
            for value in one_at_a_time() {
                let mut one = base.clone();
                one.insert(field.clone(), value);
                all.push(json_body(&Value::Object(one)));
            }
        }
    }
    all
}

/// The server functions' endpoints and argument names, read from the app.
fn server_functions() -> Vec<(String, Vec<String>)> {
    fn walk(dir: &Path, found: &mut Vec<(String, Vec<String>)>) {
        for entry in std::fs::read_dir(dir).expect("app sources") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, found);
                continue;
            }
            let source = std::fs::read_to_string(&path).expect("source");
            for chunk in source.split("endpoint = \"").skip(1) {
                let (endpoint, rest) = chunk.split_once('"').expect("quoted");
                let signature = rest
                    .split_once("pub async fn ")
                    .and_then(|(_, s)| s.split_once('('))
                    .and_then(|(_, s)| s.split_once(") ->"))
                    .map(|(args, _)| args)
                    .unwrap_or_default();
                let args = signature
                    .split(',')
                    .filter_map(|arg| arg.split_once(':'))
                    .map(|(name, _)| name.trim().to_string())
                    .filter(|name| !name.is_empty())
                    .collect();
                found.push((endpoint.to_string(), args));
            }
        }
    }
    let mut found = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src/api"),
        &mut found,
    );
    found.sort();
    found
}

fn server_function_forms(args: &[String]) -> Vec<(Option<&'static str>, Vec<u8>)> {
    let form = Some("application/x-www-form-urlencoded");
    let fields: Vec<String> = plausible().keys().cloned().collect();
    let mut all = vec![
        (form, Vec::new()),
        (Some("application/json"), b"{\"id\": 1}".to_vec()),
        (Some("text/plain"), b"id=1".to_vec()),
        (form, format!("id={}", "x".repeat(3 << 20)).into_bytes()),
        (form, b"id=%ZZ&&&==".to_vec()),
        (form, b"id=\xff\xfe".to_vec()),
    ];
    for value in form_values() {
        let flat: Vec<String> = args.iter().map(|a| format!("{a}={value}")).collect();
        all.push((form, flat.join("&").into_bytes()));
        let nested: Vec<String> = args
            .iter()
            .flat_map(|a| fields.iter().map(move |f| (a, f)))
            .map(|(a, f)| format!("{a}%5B{f}%5D={value}"))
            .collect();
        all.push((form, nested.join("&").into_bytes()));
    }
    all
}

#[tokio::test]
async fn hostile_input_anywhere_gets_a_clear_json_refusal() {
    let app = spawn_app().await;
    let fixtures = Fixtures::seed(&app).await;
    let token = post_json(
        &app.client,
        &app.url("/api/v1/tokens"),
        json!({"name": "fuzzer"}),
    )
    .await
    .json::<Value>()
    .await
    .expect("JSON")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let session = sign_in(&app.address, "admin", ADMIN_PASSWORD).await;
    let callers: [(&'static str, Client); 3] = [
        ("token", bearer(&token)),
        ("session", session),
        ("anonymous", browser(&app.address)),
    ];

    let routes = routes_of(hotswap::http::router::api_routes(), "/api/v1");
    assert!(routes.len() > 40, "the router's routes: {routes:?}");

    let mut probes = Vec::new();
    for (method, template) in &routes {
        let method: Method = method.parse().expect("method");
        let takes_body = method != Method::GET;
        let rank = match (&method, template.ends_with("/auth/logout")) {
            (_, true) => 2,
            (&Method::DELETE, _) => 1,
            _ => 0,
        };
        for (caller, client) in &callers {
            let probe = |url: String, content_type, body| Probe {
                rank,
                caller,
                client: client.clone(),
                method: method.clone(),
                url,
                content_type,
                body,
            };
            let real = app.url(&fixtures.real(template));
            if takes_body {
                for (content_type, body) in bodies(*caller == "token") {
                    probes.push(probe(real.clone(), content_type, body));
                }
            } else {
                for query in hostile_queries() {
                    probes.push(probe(format!("{real}{query}"), None, Vec::new()));
                }
            }
            for segment in hostile_segments() {
                for url in fixtures.with_segment(template, &segment) {
                    let (content_type, body) = json_body(&Value::Object(plausible()));
                    let (content_type, body) = if takes_body {
                        (content_type, body)
                    } else {
                        (None, Vec::new())
                    };
                    probes.push(probe(app.url(&url), content_type, body));
                }
            }
        }
    }

    let functions = server_functions();
    assert!(functions.len() > 30, "server functions: {functions:?}");
    for (endpoint, args) in &functions {
        for (caller, client) in &callers[1..] {
            for (content_type, body) in server_function_forms(args) {
                probes.push(Probe {
                    rank: 0,
                    caller,
                    client: client.clone(),
                    method: Method::POST,
                    url: app.url(&format!("/api/fn/{endpoint}")),
                    content_type,
                    body,
                });
            }
        }
    }
    probes.sort_by_key(|p| p.rank);
    let total = probes.len();
    let verdicts: Vec<(&str, u16, Option<String>)> = stream::iter(probes)
        .map(verdict)
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let mut by_status: BTreeMap<(&str, u16), usize> = BTreeMap::new();
    for (caller, status, _) in &verdicts {
        *by_status.entry((caller, *status)).or_default() += 1;
    }
    let problems: Vec<&String> = verdicts.iter().filter_map(|(_, _, p)| p.as_ref()).collect();
    assert!(
        problems.is_empty(),
        "{} of {total} answers were 5xx or not the JSON error shape:\n{}",
        problems.len(),
        problems
            .iter()
            .take(30)
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!("{total} probes answered {by_status:?}");
    // Each signed-in caller got past sign-in and parsing: into validation,
    // and through it.
    for (caller, statuses) in [
        ("token", &[200, 201, 404, 422][..]),
        ("session", &[200, 404, 422]),
    ] {
        for &status in statuses {
            assert!(
                by_status.get(&(caller, status)).copied().unwrap_or(0) > 10,
                "{caller} rarely got {status}: {by_status:?}"
            );
        }
    }
}
