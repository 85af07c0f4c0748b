//! The environments a new tenant starts with and their policies (SPEC §3, §4).

use serde_json::{json, Value};

/// An environment's starting policy.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvironmentTemplate {
    pub name: &'static str,
    pub requires_approval: bool,
    pub default_strategy: Value,
}

/// The default approval timeout: 24 hours.
pub const DEFAULT_APPROVAL_TIMEOUT_SECS: i64 = 24 * 60 * 60;

/// dev and qa roll out without approval; staging and production wait for one.
/// Production defaults to the canary phases of the operations guide.
pub fn default_environments() -> Vec<EnvironmentTemplate> {
    vec![
        EnvironmentTemplate {
            name: "dev",
            requires_approval: false,
            default_strategy: json!({ "kind": "direct" }),
        },
        EnvironmentTemplate {
            name: "qa",
            requires_approval: false,
            default_strategy: json!({ "kind": "rolling", "batch_size": "50%", "max_failed": 0 }),
        },
        EnvironmentTemplate {
            name: "staging",
            requires_approval: true,
            default_strategy: json!({ "kind": "blue_green" }),
        },
        EnvironmentTemplate {
            name: "production",
            requires_approval: true,
            default_strategy: json!({
                "kind": "canary",
                "phases": [
                    { "percent": 5, "duration": "10m", "max_error_rate": 0.001, "max_p95_ms": 100 },
                    { "percent": 20, "duration": "15m", "max_error_rate": 0.005, "max_p95_ms": 200 },
                    { "percent": 40, "duration": "5m", "max_error_rate": 0.005, "max_p95_ms": 200 },
                    { "percent": 60, "duration": "5m", "max_error_rate": 0.005, "max_p95_ms": 200 },
                    { "percent": 80, "duration": "5m", "max_error_rate": 0.005, "max_p95_ms": 200 },
                    { "percent": 100, "duration": "5m", "max_error_rate": 0.005, "max_p95_ms": 200 }
                ]
            }),
        },
    ]
}

/// The analysis settings every environment starts with: the agent probe.
pub fn default_analysis() -> Value {
    json!({ "provider": "agent_probe", "interval": "30s", "min_samples": 10 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_staging_and_production_wait_for_approval() {
        let gated: Vec<_> = default_environments()
            .into_iter()
            .filter(|e| e.requires_approval)
            .map(|e| e.name)
            .collect();
        assert_eq!(gated, ["staging", "production"]);
    }

    #[test]
    fn production_canary_follows_the_operations_guide() {
        let production = default_environments()
            .into_iter()
            .find(|e| e.name == "production")
            .expect("production exists");
        let phases = production.default_strategy["phases"]
            .as_array()
            .expect("phases")
            .clone();
        let percents: Vec<_> = phases
            .iter()
            .map(|p| p["percent"].as_u64().unwrap_or(0))
            .collect();
        assert_eq!(percents, [5, 20, 40, 60, 80, 100]);
        assert_eq!(phases[0]["max_error_rate"], 0.001);
        assert_eq!(phases[0]["max_p95_ms"], 100);
        assert_eq!(phases[1]["duration"], "15m");
    }
}
