//! A node installs only the agent: nothing it depends on, however
//! indirectly, may be a database driver, a web framework, the UI or the
//! single sign-on client. Read from `Cargo.lock`, which over-approximates (it
//! records the features the whole workspace enables), so this cannot pass by
//! accident.

use std::collections::{BTreeMap, BTreeSet};

const FORBIDDEN: &[&str] = &[
    "sea-orm",
    "sqlx",
    "axum",
    "leptos",
    "openidconnect",
    "tower-sessions",
    "server",
    "app",
    "migrations",
];

/// Each package in the lock file and the names it depends on.
fn lock_graph() -> BTreeMap<String, Vec<String>> {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock"))
        .expect("Cargo.lock");
    let mut graph: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for package in lock.split("[[package]]").skip(1) {
        let name = package
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .and_then(|l| l.strip_suffix('"'))
            .expect("a package name")
            .to_string();
        let dependencies = package
            .split_once("dependencies = [")
            .map(|(_, rest)| rest.split(']').next().unwrap_or_default())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().trim_end_matches(',').strip_prefix('"'))
            .filter_map(|l| l.strip_suffix('"'))
            // "name" or "name version" or "name version (source)".
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect();
        graph
            .entry(name)
            .or_default()
            .extend::<Vec<String>>(dependencies);
    }
    graph
}

#[test]
fn the_agent_depends_on_no_server_side_crate() {
    let graph = lock_graph();
    let mut reached = BTreeSet::new();
    let mut queue = vec!["hotswap-agent".to_string()];
    while let Some(name) = queue.pop() {
        if reached.insert(name.clone()) {
            queue.extend(graph.get(&name).cloned().unwrap_or_default());
        }
    }
    assert!(reached.contains("hotswap-protocol"), "{reached:?}");
    assert!(reached.contains("tokio-tungstenite"), "{reached:?}");
    let found: Vec<&&str> = FORBIDDEN
        .iter()
        .filter(|f| {
            reached.contains(**f)
                || reached
                    .iter()
                    .any(|r| r.starts_with(&format!("{f}-")) || r.starts_with(&format!("{f}_")))
        })
        .collect();
    assert!(found.is_empty(), "the agent pulls in {found:?}");
}
