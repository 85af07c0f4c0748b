//! Where canary samples come from (SPEC §5): the agents' own health probes
//! (reported with heartbeats), or a Prometheus server queried with PromQL
//! templates.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::domain::analysis::Sample;
use crate::entities::node_samples;
use crate::outbound::{read_capped, Outbound};

/// The most of a Prometheus answer that is read.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// What a provider needs to know about the window it is asked for.
pub struct Window<'a> {
    pub module: &'a str,
    pub version: &'a str,
    pub node_ids: &'a [i64],
    pub node_names: &'a [String],
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// Samples for the canary nodes in the window; an error means the provider
/// could not be asked (the window is then inconclusive, never a pass).
pub async fn samples(
    db: &DatabaseConnection,
    client: &Outbound,
    analysis: &Value,
    window: &Window<'_>,
) -> Result<Vec<Sample>, String> {
    match analysis["provider"].as_str() {
        Some("prometheus") => prometheus(client, analysis, window).await,
        _ => agent_probe(db, window).await,
    }
}

async fn agent_probe(db: &DatabaseConnection, window: &Window<'_>) -> Result<Vec<Sample>, String> {
    let rows = node_samples::Entity::find()
        .filter(node_samples::Column::NodeId.is_in(window.node_ids.iter().copied()))
        .filter(node_samples::Column::CreatedAt.gte(window.since))
        .filter(node_samples::Column::CreatedAt.lte(window.until))
        .all(db)
        .await
        .map_err(|e| format!("reading agent samples: {e}"))?;
    Ok(rows
        .into_iter()
        .map(|s| Sample {
            requests: s.requests.max(0) as u64,
            errors: s.errors.max(0) as u64,
            p95_ms: s.p95_ms,
        })
        .collect())
}

/// Fills `{{module}}`, `{{version}}`, `{{node}}` (a regex matching every canary
/// node, for `=~`) and `{{window}}` (e.g. `30s`) into a PromQL template.
pub fn render(template: &str, window: &Window<'_>) -> String {
    let nodes: Vec<String> = window
        .node_names
        .iter()
        .map(|n| n.replace('.', "\\\\.").replace('+', "\\\\+"))
        .collect();
    let secs = (window.until - window.since).num_seconds().max(1);
    template
        .replace("{{module}}", window.module)
        .replace("{{version}}", window.version)
        .replace("{{node}}", &nodes.join("|"))
        .replace("{{window}}", &format!("{secs}s"))
}

async fn instant_query(
    client: &Outbound,
    base: &str,
    query: &str,
    at: DateTime<Utc>,
) -> Result<Option<Vec<f64>>, String> {
    let url = format!("{}/api/v1/query", base.trim_end_matches('/'));
    let failed = |e: crate::outbound::OutboundError| format!("prometheus: {e}");
    let response = client
        .request(reqwest::Method::GET, &url)
        .map_err(failed)?
        .query(&[("query", query), ("time", &at.timestamp().to_string())])
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| failed(e.into()))?;
    let status = response.status();
    let body = read_capped(response, MAX_ANSWER_BYTES)
        .await
        .map_err(failed)?;
    let answer: Value = serde_json::from_slice(&body)
        .map_err(|_| format!("prometheus answered {status} with something other than JSON"))?;
    // Its error text is not repeated: it could be anything the server returned.
    if answer["status"] != "success" {
        return Err(format!("prometheus refused a query ({status})"));
    }
    let values: Vec<f64> = answer["data"]["result"]
        .as_array()
        .map(|results| {
            results
                .iter()
                .filter_map(|r| r["value"][1].as_str()?.parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .collect()
        })
        .unwrap_or_default();
    Ok((!values.is_empty()).then_some(values))
}

async fn prometheus(
    client: &Outbound,
    analysis: &Value,
    window: &Window<'_>,
) -> Result<Vec<Sample>, String> {
    let base = analysis["url"]
        .as_str()
        .ok_or("the prometheus provider needs a url")?;
    let query = |key: &str| {
        analysis[key]
            .as_str()
            .map(|t| render(t, window))
            .ok_or_else(|| format!("the prometheus provider needs {key}"))
    };
    let requests = instant_query(client, base, &query("requests_query")?, window.until).await?;
    let error_rate = instant_query(client, base, &query("error_rate_query")?, window.until).await?;
    let p95 = instant_query(client, base, &query("p95_query")?, window.until).await?;
    let (Some(requests), Some(error_rate)) = (requests, error_rate) else {
        // No series yet: nothing to judge by.
        return Ok(Vec::new());
    };
    let requests: f64 = requests.iter().sum();
    let error_rate = error_rate.iter().copied().fold(0.0, f64::max);
    let p95_ms = p95
        .map(|v| v.iter().copied().fold(0.0, f64::max))
        .unwrap_or(0.0);
    Ok(vec![Sample {
        requests: requests.max(0.0).round() as u64,
        errors: (requests.max(0.0) * error_rate.clamp(0.0, 1.0)).round() as u64,
        p95_ms,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_get_module_version_nodes_and_window() {
        let names = vec!["web-1".to_string(), "web.2".to_string()];
        let now = Utc::now();
        let window = Window {
            module: "api",
            version: "2.0.0",
            node_ids: &[1, 2],
            node_names: &names,
            since: now - chrono::Duration::seconds(30),
            until: now,
        };
        let query = render(
            r#"sum(rate(errors{module="{{module}}",version="{{version}}",node=~"{{node}}"}[{{window}}]))"#,
            &window,
        );
        assert_eq!(
            query,
            r#"sum(rate(errors{module="api",version="2.0.0",node=~"web-1|web\\.2"}[30s]))"#
        );
    }
}
