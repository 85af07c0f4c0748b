//! Describing a roll-out strategy to a person.

use serde_json::Value;

/// A one-line description of a strategy document, e.g. `canary 5% → 20% → 100%`.
/// Unknown shapes are described by their kind rather than rejected: this is for display.
pub fn summarize(strategy: &Value) -> String {
    let kind = strategy["kind"].as_str().unwrap_or("unknown");
    match kind {
        "direct" => "direct".to_string(),
        "rolling" => {
            let batch = match &strategy["batch_size"] {
                Value::Number(n) => format!("{n}"),
                Value::String(s) => s.clone(),
                _ => "?".to_string(),
            };
            format!("rolling, batches of {batch}")
        }
        "blue_green" => "blue-green".to_string(),
        "canary" => {
            let steps: Vec<String> = strategy["phases"]
                .as_array()
                .map(|phases| {
                    phases
                        .iter()
                        .filter_map(|p| p["percent"].as_u64())
                        .map(|p| format!("{p}%"))
                        .collect()
                })
                .unwrap_or_default();
            if steps.is_empty() {
                "canary".to_string()
            } else {
                format!("canary {}", steps.join(" → "))
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategies_read_as_short_phrases() {
        assert_eq!(summarize(&json!({"kind": "direct"})), "direct");
        assert_eq!(
            summarize(&json!({"kind": "rolling", "batch_size": 2})),
            "rolling, batches of 2"
        );
        assert_eq!(
            summarize(&json!({"kind": "rolling", "batch_size": "25%"})),
            "rolling, batches of 25%"
        );
        assert_eq!(summarize(&json!({"kind": "blue_green"})), "blue-green");
        assert_eq!(
            summarize(&json!({"kind": "canary", "phases": [{"percent": 5}, {"percent": 100}]})),
            "canary 5% → 100%"
        );
        assert_eq!(summarize(&json!({})), "unknown");
    }
}
