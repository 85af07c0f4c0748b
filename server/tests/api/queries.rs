//! The queries that must stay cheap however long the history grows: every
//! filter of the deployment list walks an index and stops after a page, and
//! the tallies `/metrics` reads agree with the rows they count.

use app::model::deployment::DeploymentFilter;
use app::model::lifecycle::DeploymentStatus;
use hotswap::services::read::ReadModel;
use hotswap::services::stats;
use hotswap::services::tenancy::Tenant;
use sea_orm::{ConnectionTrait, DatabaseBackend, QueryTrait, Statement, TransactionTrait};

use crate::helpers::{seed_deployment, spawn_app};

/// The plan the database chooses for `statement`, one line per step.
async fn plan_of(db: &sea_orm::DatabaseConnection, statement: Statement) -> Vec<String> {
    let backend = db.get_database_backend();
    let txn = db.begin().await.expect("transaction");
    let explain = match backend {
        DatabaseBackend::Postgres => {
            // Tables this small are cheaper to scan whole; what is asked here
            // is whether an index can serve the query, so scans and sorts are
            // made a last resort.
            for setting in ["enable_seqscan", "enable_bitmapscan", "enable_sort"] {
                txn.execute_unprepared(&format!("SET LOCAL {setting} = off"))
                    .await
                    .expect("set");
            }
            "EXPLAIN"
        }
        _ => "EXPLAIN QUERY PLAN",
    };
    let rows = txn
        .query_all(Statement {
            sql: format!("{explain} {}", statement.sql),
            ..statement
        })
        .await
        .expect("explain");
    let column = match backend {
        DatabaseBackend::Postgres => "QUERY PLAN",
        _ => "detail",
    };
    rows.iter()
        .map(|row| row.try_get::<String>("", column).expect("plan line"))
        .collect()
}

#[tokio::test]
async fn every_filter_of_the_deployment_list_is_served_by_an_index() {
    let app = spawn_app().await;
    let tenant_id = app.default_tenant().await;
    seed_deployment(
        &app.db,
        tenant_id,
        "billing",
        "1.0.0",
        "staging",
        "succeeded",
    )
    .await;
    let tenant = Tenant {
        id: tenant_id,
        slug: "default".into(),
        name: "Default".into(),
    };
    let filters = [
        ("no filter", DeploymentFilter::default()),
        (
            "environment",
            DeploymentFilter {
                environment: Some("staging".into()),
                ..Default::default()
            },
        ),
        (
            "module",
            DeploymentFilter {
                module: Some("billing".into()),
                ..Default::default()
            },
        ),
        (
            "requester",
            DeploymentFilter {
                requester: Some("admin".into()),
                ..Default::default()
            },
        ),
        (
            "status",
            DeploymentFilter {
                status: Some(DeploymentStatus::Failed),
                ..Default::default()
            },
        ),
        (
            "cursor",
            DeploymentFilter {
                cursor: Some(1000),
                ..Default::default()
            },
        ),
        (
            "environment, status and cursor",
            DeploymentFilter {
                environment: Some("staging".into()),
                status: Some(DeploymentStatus::Succeeded),
                cursor: Some(1000),
                limit: Some(50),
                ..Default::default()
            },
        ),
    ];
    let backend = app.db.get_database_backend();
    for (name, filter) in filters {
        let statement = ReadModel::list_query(&tenant, &filter)
            .expect("a valid filter")
            .build(backend);
        let plan = plan_of(&app.db, statement).await;
        let text = plan.join("\n");
        match backend {
            DatabaseBackend::Postgres => {
                assert!(
                    text.contains("Index Scan Backward using ix_deployments_")
                        || text.contains("Index Only Scan Backward using ix_deployments_"),
                    "{name}: the list should walk a deployments index newest first:\n{text}"
                );
                assert!(!text.contains("Seq Scan on deployments"), "{name}:\n{text}");
                assert!(
                    !text.contains("Sort"),
                    "{name}: sorts instead of walking an index:\n{text}"
                );
            }
            _ => {
                assert!(
                    plan.iter()
                        .any(|l| l.starts_with("SEARCH deployments USING INDEX ix_deployments_")),
                    "{name}: the list should search a deployments index:\n{text}"
                );
                assert!(
                    !plan.iter().any(|l| l.starts_with("SCAN deployments")),
                    "{name}: scans every deployment:\n{text}"
                );
                assert!(
                    !text.contains("TEMP B-TREE"),
                    "{name}: sorts instead of walking an index:\n{text}"
                );
            }
        }
    }
}

/// What `/metrics` reports is read from tallies the database keeps; they
/// must agree with counting the rows, through inserts, status changes and
/// deletes.
#[tokio::test]
async fn the_tallies_agree_with_the_rows_they_count() {
    let app = spawn_app().await;
    let tenant = app.default_tenant().await;
    let mut ids = Vec::new();
    for (module, env, status) in [
        ("billing", "staging", "succeeded"),
        ("billing", "production", "failed"),
        ("search", "staging", "running"),
        ("search", "dev", "pending_approval"),
        ("auth", "dev", "succeeded"),
    ] {
        ids.push(seed_deployment(&app.db, tenant, module, "1.0.0", env, status).await);
    }
    let db = &app.db;
    let run = |sql: String| async move {
        db.execute_unprepared(&sql).await.expect("statement");
    };
    run(format!(
        "UPDATE deployments SET status = 'succeeded' WHERE id = {}",
        ids[2]
    ))
    .await;
    run(format!(
        "UPDATE deployments SET status = 'rejected' WHERE id = {}",
        ids[3]
    ))
    .await;
    // Touching other columns leaves the tallies alone.
    run(format!(
        "UPDATE deployments SET current_phase = 3 WHERE id = {}",
        ids[0]
    ))
    .await;
    run(format!("DELETE FROM deployments WHERE id = {}", ids[1])).await;
    // Moved to another environment: counted there instead.
    run(format!(
        "UPDATE deployments SET environment_id = \
         (SELECT environment_id FROM deployments WHERE id = {}) WHERE id = {}",
        ids[0], ids[4]
    ))
    .await;

    let counted = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "SELECT e.name AS environment, d.status AS status, COUNT(*) AS n \
             FROM deployments d JOIN environments e ON e.id = d.environment_id \
             GROUP BY e.name, d.status ORDER BY e.name, d.status",
        ))
        .await
        .expect("count");
    let mut expected: Vec<(String, String, i64)> = counted
        .iter()
        .map(|r| {
            (
                r.try_get("", "environment").expect("environment"),
                r.try_get("", "status").expect("status"),
                r.try_get("", "n").expect("n"),
            )
        })
        .collect();
    let mut tallied: Vec<(String, String, i64)> = stats::counts(db)
        .await
        .expect("counts")
        .deployments
        .into_iter()
        .map(|c| {
            assert_eq!(c.strategy, "rolling", "{c:?}");
            (c.environment, c.status.to_string(), c.count)
        })
        .collect();
    expected.sort();
    tallied.sort();
    assert_eq!(tallied, expected);
    assert_eq!(
        tallied,
        vec![
            ("dev".into(), "rejected".into(), 1),
            ("staging".into(), "succeeded".into(), 3),
        ]
    );

    // And /metrics reports them.
    let metrics = app.get("/metrics").await.text().await.expect("text");
    assert!(
        metrics.contains(
            r#"hotswap_deployments_total{environment="staging",status="succeeded",strategy="rolling"} 3"#
        ),
        "{metrics}"
    );
}

/// However large the fleet, the node list answers a page at a time.
#[tokio::test]
async fn the_node_list_comes_a_page_at_a_time() {
    use app::model::lifecycle::NodeStatus;
    use hotswap::entities::{environments, nodes};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let app = spawn_app().await;
    let tenant = app.default_tenant().await;
    let envs = environments::Entity::find()
        .filter(environments::Column::TenantId.eq(tenant))
        .all(&app.db)
        .await
        .expect("environments");
    nodes::Entity::insert_many((0..5).map(|i| {
        let status = if i == 4 {
            NodeStatus::Online
        } else {
            NodeStatus::Offline
        };
        crate::helpers::node_row(tenant, envs[i % 2].id, format!("node-{i}"), status)
    }))
    .exec(&app.db)
    .await
    .expect("nodes");

    let page = |query: &'static str| {
        let app = &app;
        async move {
            let response = app.get(&format!("/api/v1/nodes{query}")).await;
            let status = response.status();
            (
                status,
                response.json::<serde_json::Value>().await.expect("JSON"),
            )
        }
    };
    let names = |body: &serde_json::Value| -> Vec<String> {
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|n| n["name"].as_str().expect("name").to_string())
            .collect()
    };
    let (status, first) = page("?limit=2").await;
    assert_eq!(status, 200);
    assert_eq!(names(&first), ["node-0", "node-1"]);
    assert_eq!(first["next_cursor"], "node-1");
    let (_, second) = page("?limit=2&cursor=node-1").await;
    assert_eq!(names(&second), ["node-2", "node-3"]);
    let (_, last) = page("?limit=2&cursor=node-3").await;
    assert_eq!(names(&last), ["node-4"]);
    assert!(last["next_cursor"].is_null(), "{last}");

    let filtered: serde_json::Value = app
        .get(&format!("/api/v1/nodes?environment={}", envs[1].name))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(names(&filtered), ["node-1", "node-3"]);
    assert_eq!(filtered["items"][0]["environment"], envs[1].name.as_str());
    let (status, unknown) = page("?environment=nowhere").await;
    assert_eq!(status, 200);
    assert!(names(&unknown).is_empty(), "{unknown}");
    let (_, online) = page("?status=online").await;
    assert_eq!(names(&online), ["node-4"]);

    for (bad, expected) in [
        ("?limit=0", 422),
        ("?limit=501", 422),
        ("?status=asleep", 400),
        ("?limit=-1", 400),
    ] {
        let (status, body) = page(bad).await;
        assert_eq!(status, expected, "{bad}: {body}");
    }
    // A cursor is a node name: one far longer than any is refused, not searched.
    let response = app
        .get(&format!("/api/v1/nodes?cursor={}", "n".repeat(10_000)))
        .await;
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["field"], "cursor", "{body}");
}
