use serde_json::Value;

use crate::helpers::{create_tenant, seed_deployment, spawn_app};

/// A client pages through the history newest first, without gaps or repeats.
#[tokio::test]
async fn deployments_page_newest_first_with_a_cursor() {
    let app = spawn_app().await;
    let tenant = app.default_tenant().await;
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(
            seed_deployment(
                &app.db,
                tenant,
                "billing",
                &format!("1.0.{n}"),
                "dev",
                "succeeded",
            )
            .await,
        );
    }
    ids.reverse();

    let mut seen = Vec::new();
    let mut path = "/api/v1/deployments?limit=2".to_string();
    loop {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.expect("JSON");
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|d| d["id"].as_i64().expect("id")));
        match page["next_cursor"].as_i64() {
            Some(cursor) => path = format!("/api/v1/deployments?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
}

/// Filters narrow the list by environment, module and status.
#[tokio::test]
async fn deployments_filter_by_environment_module_and_status() {
    let app = spawn_app().await;
    let tenant = app.default_tenant().await;
    seed_deployment(&app.db, tenant, "billing", "1.0.0", "dev", "succeeded").await;
    seed_deployment(&app.db, tenant, "billing", "1.1.0", "production", "failed").await;
    seed_deployment(&app.db, tenant, "search", "2.0.0", "production", "running").await;

    let versions = |page: Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|d| d["version"].as_str().expect("version").to_string())
            .collect()
    };
    let page = |query: &'static str| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/deployments?{query}"))
                .await
                .json::<Value>()
                .await
                .expect("JSON")
        }
    };
    assert_eq!(
        versions(page("environment=production").await),
        ["2.0.0", "1.1.0"]
    );
    assert_eq!(versions(page("module=billing").await), ["1.1.0", "1.0.0"]);
    assert_eq!(versions(page("status=failed").await), ["1.1.0"]);
    assert_eq!(
        versions(page("environment=production&module=search").await),
        ["2.0.0"]
    );
    assert!(versions(page("environment=nowhere").await).is_empty());

    let first: Value = page("status=running").await;
    let item = &first["items"][0];
    assert_eq!(item["module"], "search");
    assert_eq!(item["environment"], "production");
    assert_eq!(item["status"], "running");
    assert_eq!(item["strategy"], "rolling, batches of 2");
}

/// Another tenant's deployments are invisible: absent from lists, 404 by id.
#[tokio::test]
async fn another_tenants_deployments_are_not_found() {
    let app = spawn_app().await;
    let other = create_tenant(&app.db, "acme").await;
    let hidden = seed_deployment(
        &app.db,
        other,
        "secret-module",
        "9.9.9",
        "production",
        "succeeded",
    )
    .await;
    let tenant = app.default_tenant().await;
    let visible = seed_deployment(&app.db, tenant, "billing", "1.0.0", "dev", "succeeded").await;

    let list: Value = app
        .get("/api/v1/deployments")
        .await
        .json()
        .await
        .expect("JSON");
    let ids: Vec<_> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|d| d["id"].clone())
        .collect();
    assert_eq!(ids, [Value::from(visible)]);

    let response = app.get(&format!("/api/v1/deployments/{hidden}")).await;
    assert_eq!(response.status(), 404);
    let body = response.text().await.expect("text");
    assert!(!body.contains("secret-module"), "{body}");

    let response = app.get(&format!("/api/v1/deployments/{visible}")).await;
    assert_eq!(response.status(), 200);
}

/// The environments endpoint lists the policies a deployer needs to know.
#[tokio::test]
async fn environments_are_listed_in_order_with_policies() {
    let app = spawn_app().await;
    let list: Value = app
        .get("/api/v1/environments")
        .await
        .json()
        .await
        .expect("JSON");
    let list = list.as_array().expect("array");
    let names: Vec<_> = list
        .iter()
        .map(|e| e["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["dev", "qa", "staging", "production"]);
    assert_eq!(list[3]["requires_approval"], true);
    assert_eq!(list[3]["approval_timeout_secs"], 86_400);
    assert!(list[3]["default_strategy"]
        .as_str()
        .unwrap_or_default()
        .starts_with("canary 5%"));
}
