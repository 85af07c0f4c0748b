//! Freeze windows: a deployment inside one is refused with the window named;
//! an Admin may break the glass with a reason, which is audited.

use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};

use crate::fleet::{healthy_fleet, kinds, wait_finished};
use crate::helpers::{post_json, spawn_app};

#[tokio::test]
async fn a_freeze_refuses_deployments_unless_an_admin_breaks_the_glass() {
    let app = spawn_app().await;
    let (client, address) = (&app.client, app.address.as_str());
    let _fleet = healthy_fleet(client, address, "dev", 1, &["1.0.0"]).await;
    let windows = app.url("/api/v1/environments/dev/freeze-windows");

    let now = Utc::now();
    let response = post_json(
        client,
        &windows,
        json!({"name": "Black Friday", "starts_at": (now - chrono::Duration::minutes(1)).to_rfc3339(),
               "ends_at": (now + chrono::Duration::hours(1)).to_rfc3339()}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let window: Value = response.json().await.expect("JSON");
    assert_eq!(window["active"], true, "{window}");
    let weekly = post_json(client, &windows, json!({"name": "Friday evenings", "weekly": {"day": "friday", "from": "16:00", "to": "23:59"}})).await;
    assert_eq!(weekly.status(), 201);
    let listed: Value = app
        .get("/api/v1/environments/dev/freeze-windows")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        listed[1]["schedule"], "every friday 16:00–23:59 UTC",
        "{listed}"
    );
    for (bad, field) in [
        (
            json!({"name": "x", "weekly": {"day": "caturday", "from": "1:00", "to": "2:00"}}),
            "weekly.day",
        ),
        (
            json!({"name": "x", "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2020-01-02T00:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"starts_at": now.to_rfc3339(), "ends_at": now.to_rfc3339()}),
            "name",
        ),
    ] {
        let response = post_json(client, &windows, bad.clone()).await;
        assert_eq!(response.status(), 422, "{bad}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["error"]["field"], field, "{body}");
    }

    let request = json!({"module": "app", "version": "1.0.0", "environment": "dev"});
    let refused = post_json(client, &app.url("/api/v1/deployments"), request.clone()).await;
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await.expect("JSON");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Black Friday"),
        "{body}"
    );

    app.add_member("dora", "deployer").await;
    let dora = app.member_client("dora").await;
    let mut glass = request.clone();
    glass["override_freeze"] = json!("the outage fix cannot wait");
    let response = post_json(&dora, &app.url("/api/v1/deployments"), glass.clone()).await;
    assert_eq!(response.status(), 403);

    let response = post_json(client, &app.url("/api/v1/deployments"), glass).await;
    assert_eq!(response.status(), 202);
    let id = response.json::<Value>().await.expect("JSON")["id"]
        .as_i64()
        .expect("id");
    let detail = wait_finished(client, address, id, Duration::from_secs(60)).await;
    assert_eq!(detail["status"], "succeeded", "{detail}");
    let seen = kinds(&crate::fleet::events(client, address, id).await);
    assert!(seen.contains(&"freeze_overridden".to_string()), "{seen:?}");
    let audit: Value = app
        .get("/api/v1/audit?action=override")
        .await
        .json()
        .await
        .expect("JSON");
    let entry = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "override freeze window")
        .cloned()
        .unwrap_or_else(|| panic!("an audit entry: {audit}"));
    assert_eq!(
        entry["details"]["reason"], "the outage fix cannot wait",
        "{entry}"
    );

    // Lifted, the freeze no longer refuses anything.
    let id = window["id"].as_i64().expect("id");
    let response = client
        .delete(format!("{windows}/{id}"))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 204);
    let response = client
        .delete(format!("{windows}/{id}"))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 404);
    let still_weekly_only = post_json(client, &app.url("/api/v1/deployments"), request).await;
    // Refused only if the test happens to run on a Friday evening (UTC).
    let friday_evening = {
        use chrono::{Datelike, Timelike};
        let n = Utc::now();
        n.weekday() == chrono::Weekday::Fri && n.hour() >= 16
    };
    assert_eq!(
        still_weekly_only.status(),
        if friday_evening { 409 } else { 202 }
    );
}
