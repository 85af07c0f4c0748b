use serde_json::Value;

use crate::helpers::{seed_deployment, spawn_app};

/// The dashboard is complete HTML from the server: the running-versions matrix,
/// active deployments and history, read from the database.
#[tokio::test]
async fn dashboard_renders_deployments_from_the_database() {
    let app = spawn_app().await;
    let tenant = app.default_tenant().await;
    seed_deployment(&app.db, tenant, "billing", "1.4.2", "staging", "succeeded").await;
    seed_deployment(&app.db, tenant, "billing", "1.5.0", "production", "running").await;
    seed_deployment(&app.db, tenant, "search", "0.9.0", "dev", "failed").await;

    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("html");
    for expected in [
        "Running versions",
        "billing",
        "1.4.2",
        "1.5.0",
        "badge-running",
        "badge-failed",
        "Active deployments",
        "50 %",
    ] {
        assert!(html.contains(expected), "missing {expected:?} in {html}");
    }
    // The failed search deployment never ran anywhere, so it is not in the matrix.
    assert!(!html.contains(">search</th>"), "{html}");
}

/// The server function behind the dashboard answers JSON to the hydrated page.
#[tokio::test]
async fn dashboard_server_function_returns_the_read_model() {
    let app = spawn_app().await;
    let tenant = app.default_tenant().await;
    seed_deployment(&app.db, tenant, "billing", "1.9.0", "qa", "succeeded").await;
    seed_deployment(&app.db, tenant, "billing", "2.0.0", "qa", "succeeded").await;
    // A later failure does not change what runs there.
    seed_deployment(&app.db, tenant, "billing", "2.1.0", "qa", "failed").await;

    let response = app
        .client
        .post(app.url("/api/fn/get_dashboard"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body("")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let data: Value = response.json().await.expect("JSON");
    assert_eq!(data["tenant"], "default");
    assert_eq!(data["modules"], serde_json::json!(["billing"]));
    let qa = data["matrix"]
        .as_array()
        .expect("matrix")
        .iter()
        .find(|row| row["environment"] == "qa")
        .expect("qa row");
    assert_eq!(qa["cells"], serde_json::json!(["2.0.0"]));
    // Each seeded deployment ran for 90 s.
    assert_eq!(data["week"]["finished"], 3);
    assert_eq!(data["week"]["succeeded"], 2);
    let mean = data["week"]["mean_duration_secs"].as_f64().expect("a mean");
    assert!((mean - 90.0).abs() < 1.0, "{mean}");
}

/// Every page of the navigation renders on the server.
#[tokio::test]
async fn every_navigation_page_renders() {
    let app = spawn_app().await;
    for (path, heading) in [
        ("/", "Dashboard"),
        ("/deployments", "Deployments"),
        ("/deploy", "Deploy"),
        ("/approvals", "Approvals"),
        ("/admin", "Admin"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.expect("html");
        assert!(
            html.contains(&format!("<h1>{heading}</h1>")),
            "{path}: {html}"
        );
    }
}

/// A deployment over more nodes than anyone reads draws a bounded grid and
/// counts the rest, so its page costs the same at 130 nodes as at 10,000.
#[tokio::test]
async fn the_detail_page_draws_a_bounded_node_grid_and_counts_the_rest() {
    use hotswap::entities::{environments, nodes};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = spawn_app().await;
    let tenant = app.default_tenant().await;
    let env = environments::Entity::find()
        .filter(environments::Column::TenantId.eq(tenant))
        .filter(environments::Column::Name.eq("staging"))
        .one(&app.db)
        .await
        .expect("query")
        .expect("the first run made staging");
    let rows = (0..130).map(|n| {
        let offline = ::app::model::lifecycle::NodeStatus::Offline;
        crate::helpers::node_row(tenant, env.id, format!("web-{n:03}"), offline)
    });
    nodes::Entity::insert_many(rows)
        .exec(&app.db)
        .await
        .expect("nodes");
    let id = seed_deployment(&app.db, tenant, "billing", "2.0.0", "staging", "succeeded").await;

    let response = app.get(&format!("/deployments/{id}")).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("html");
    assert_eq!(
        html.matches(r#"class="node-cell node-cell-"#).count(),
        ::app::model::deployment::NODES_SHOWN,
        "{html}"
    );
    assert!(html.contains("Nodes (130)"), "{html}");
    assert!(html.contains("…and 30 more, not drawn"), "{html}");
}
