//! Roll-out strategies (SPEC §4): parsed and validated from the JSON people
//! send, and described to a person in a line.

use std::time::Duration;

use app::model::duration::{self, BoundedDuration, Bounds};
use app::model::wizard;
use app::model::wizard::GUIDE_CANARY;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A validated strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Strategy {
    Direct,
    Rolling { batch: BatchSize, max_failed: u32 },
    BlueGreen,
    Canary { phases: Vec<CanaryPhase> },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchSize {
    Count(u32),
    Percent(u32),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryPhase {
    /// Share of the environment's nodes running the new version during this phase.
    pub percent: u32,
    pub duration_secs: u64,
    pub max_error_rate: f64,
    pub max_p95_ms: f64,
}

/// The operations guide's canary phases, as the wizard drafts them: what a
/// canary without phases of its own follows.
pub fn guide_canary() -> Vec<CanaryPhase> {
    GUIDE_CANARY
        .iter()
        .map(|p| CanaryPhase {
            percent: p.percent,
            duration_secs: p.duration_secs,
            max_error_rate: p.max_error_rate,
            max_p95_ms: p.max_p95_ms,
        })
        .collect()
}

/// A strategy document that cannot be used; `path` names the bad part,
/// e.g. `phases[1].percent`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct StrategyError {
    pub path: String,
    pub message: String,
}

fn bad(path: impl Into<String>, message: impl Into<String>) -> StrategyError {
    StrategyError {
        path: path.into(),
        message: message.into(),
    }
}

/// Reads a duration given as seconds (`30`) or as text (`"10m"`, `"1h30m"`),
/// within `bounds` — the one parser the browser uses too.
pub fn parse_duration(
    value: &Value,
    path: &str,
    bounds: &Bounds,
) -> Result<Duration, StrategyError> {
    BoundedDuration::from_json(value, bounds)
        .map(BoundedDuration::to_std)
        .map_err(|message| bad(path, message))
}

impl Strategy {
    /// Validates a strategy document as the API and the wizard send it.
    pub fn parse(doc: &Value) -> Result<Self, StrategyError> {
        if !doc.is_object() {
            return Err(bad("kind", "a strategy is an object with a \"kind\""));
        }
        let kind = doc["kind"]
            .as_str()
            .ok_or_else(|| bad("kind", "one of direct, rolling, blue_green, canary"))?;
        match kind {
            "direct" => Ok(Strategy::Direct),
            "blue_green" | "blue-green" => Ok(Strategy::BlueGreen),
            "rolling" => {
                // Numbers and text go through the one parser the wizard uses.
                let batch = match &doc["batch_size"] {
                    Value::Null => Some(wizard::Batch::Percent(25)),
                    Value::Number(n) => wizard::batch_size(&n.to_string()),
                    Value::String(text) => wizard::batch_size(text),
                    _ => None,
                }
                .map(|b| match b {
                    wizard::Batch::Count(c) => BatchSize::Count(c),
                    wizard::Batch::Percent(p) => BatchSize::Percent(p),
                })
                .ok_or_else(|| bad("batch_size", wizard::BATCH_RULE))?;
                let max_failed = match &doc["max_failed"] {
                    Value::Null => Some(0),
                    Value::Number(n) => wizard::max_failed(&n.to_string()),
                    Value::String(text) => wizard::max_failed(text),
                    _ => None,
                }
                .ok_or_else(|| bad("max_failed", wizard::MAX_FAILED_RULE))?;
                Ok(Strategy::Rolling { batch, max_failed })
            }
            "canary" => {
                let phases = match &doc["phases"] {
                    Value::Null => guide_canary(),
                    Value::Array(items) if !items.is_empty() && items.len() <= 50 => {
                        parse_phases(items)?
                    }
                    _ => return Err(bad("phases", "a list of 1 to 50 phases")),
                };
                Ok(Strategy::Canary { phases })
            }
            other => Err(bad(
                "kind",
                format!("unknown strategy {other:?}; one of direct, rolling, blue_green, canary"),
            )),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Strategy::Direct => "direct",
            Strategy::Rolling { .. } => "rolling",
            Strategy::BlueGreen => "blue_green",
            Strategy::Canary { .. } => "canary",
        }
    }

    /// The document stored with a deployment: complete, with defaults filled in.
    pub fn to_document(&self) -> Value {
        match self {
            Strategy::Direct => serde_json::json!({ "kind": "direct" }),
            Strategy::BlueGreen => serde_json::json!({ "kind": "blue_green" }),
            Strategy::Rolling { batch, max_failed } => serde_json::json!({
                "kind": "rolling",
                "batch_size": match batch {
                    BatchSize::Count(c) => Value::from(*c),
                    BatchSize::Percent(p) => Value::from(format!("{p}%")),
                },
                "max_failed": max_failed,
            }),
            Strategy::Canary { phases } => serde_json::json!({
                "kind": "canary",
                "phases": phases.iter().map(|p| serde_json::json!({
                    "percent": p.percent,
                    "duration": format!("{}s", p.duration_secs),
                    "max_error_rate": p.max_error_rate,
                    "max_p95_ms": p.max_p95_ms,
                })).collect::<Vec<_>>(),
            }),
        }
    }
}

/// A strategy as a deployment keeps it: the document written when it was
/// requested, read back through today's rules, which may have tightened since
/// (the engine fails a deployment whose strategy no longer parses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StoredStrategy(Value);

impl From<&Strategy> for StoredStrategy {
    fn from(strategy: &Strategy) -> Self {
        StoredStrategy(strategy.to_document())
    }
}

impl StoredStrategy {
    pub fn strategy(&self) -> Result<Strategy, StrategyError> {
        Strategy::parse(&self.0)
    }

    /// The kind as stored, for labels; `unknown` for a document without one.
    pub fn kind(&self) -> &str {
        self.0["kind"].as_str().unwrap_or("unknown")
    }

    pub fn summary(&self) -> String {
        summarize(&self.0)
    }

    pub fn document(&self) -> &Value {
        &self.0
    }
}

fn parse_phases(items: &[Value]) -> Result<Vec<CanaryPhase>, StrategyError> {
    let mut phases = Vec::with_capacity(items.len());
    let mut previous = 0;
    for (i, item) in items.iter().enumerate() {
        let at = |field: &str| format!("phases[{i}].{field}");
        let percent = item["percent"]
            .as_u64()
            .filter(|p| (1..=100).contains(p))
            .ok_or_else(|| bad(at("percent"), "a share of nodes from 1 to 100"))?
            as u32;
        if percent <= previous {
            return Err(bad(
                at("percent"),
                format!("phases must grow: {percent}% follows {previous}%"),
            ));
        }
        previous = percent;
        let duration = match &item["duration"] {
            Value::Null => Duration::from_secs(300),
            v => parse_duration(v, &at("duration"), &duration::PHASE)?,
        };
        let max_error_rate = match &item["max_error_rate"] {
            Value::Null => 0.005,
            v => v
                .as_f64()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| bad(at("max_error_rate"), "a fraction from 0 to 1, e.g. 0.001"))?,
        };
        let max_p95_ms = match &item["max_p95_ms"] {
            Value::Null => 200.0,
            v => v
                .as_f64()
                .filter(|ms| *ms > 0.0 && ms.is_finite())
                .ok_or_else(|| bad(at("max_p95_ms"), "milliseconds, more than 0"))?,
        };
        phases.push(CanaryPhase {
            percent,
            duration_secs: duration.as_secs(),
            max_error_rate,
            max_p95_ms,
        });
    }
    Ok(phases)
}

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

    #[test]
    fn the_wizards_draft_canary_is_the_servers_default() {
        let draft = app::model::wizard::StrategyInput {
            kind: "canary".into(),
            ..Default::default()
        }
        .document()
        .expect("a document");
        let (Ok(Strategy::Canary { phases: drafted }), Ok(Strategy::Canary { phases: default })) = (
            Strategy::parse(&draft),
            Strategy::parse(&serde_json::json!({"kind": "canary"})),
        ) else {
            panic!("both are canaries");
        };
        assert_eq!(drafted.len(), default.len());
        for (d, s) in drafted.iter().zip(&default) {
            assert_eq!((d.percent, d.duration_secs), (s.percent, s.duration_secs));
            assert!((d.max_error_rate - s.max_error_rate).abs() < 1e-12);
            assert!((d.max_p95_ms - s.max_p95_ms).abs() < 1e-9);
        }
    }
    use serde_json::json;

    #[test]
    fn a_canary_without_phases_follows_the_operations_guide() {
        let Strategy::Canary { phases } = Strategy::parse(&json!({"kind": "canary"})).unwrap()
        else {
            panic!("a canary")
        };
        assert_eq!(phases[0].percent, 5);
        assert_eq!(phases[0].duration_secs, 600);
        assert_eq!(phases[0].max_error_rate, 0.001);
        assert_eq!(phases[1].percent, 20);
        assert_eq!(phases.last().map(|p| p.percent), Some(100));
    }

    #[test]
    fn bad_documents_name_the_bad_part() {
        let err = |doc: Value| Strategy::parse(&doc).unwrap_err().path;
        assert_eq!(err(json!({"kind": "yolo"})), "kind");
        assert_eq!(
            err(json!({"kind": "rolling", "batch_size": 0})),
            "batch_size"
        );
        assert_eq!(
            err(json!({"kind": "rolling", "batch_size": "150%"})),
            "batch_size"
        );
        assert_eq!(
            err(json!({"kind": "rolling", "max_failed": -1})),
            "max_failed"
        );
        assert_eq!(
            err(json!({"kind": "canary", "phases": [{"percent": 50}, {"percent": 20}]})),
            "phases[1].percent"
        );
        assert_eq!(
            err(json!({"kind": "canary", "phases": [{"percent": 5, "duration": "soon"}]})),
            "phases[0].duration"
        );
        assert_eq!(
            err(json!({"kind": "canary", "phases": [{"percent": 5, "max_error_rate": 2}]})),
            "phases[0].max_error_rate"
        );
    }

    #[test]
    fn rolling_batches_read_as_counts_or_shares() {
        assert_eq!(
            Strategy::parse(&json!({"kind": "rolling", "batch_size": 2, "max_failed": 1})).unwrap(),
            Strategy::Rolling {
                batch: BatchSize::Count(2),
                max_failed: 1
            }
        );
        assert_eq!(
            Strategy::parse(&json!({"kind": "rolling", "batch_size": "50%"})).unwrap(),
            Strategy::Rolling {
                batch: BatchSize::Percent(50),
                max_failed: 0
            }
        );
    }

    #[test]
    fn stored_documents_parse_back_to_the_same_strategy() {
        for doc in [
            json!({"kind": "direct"}),
            json!({"kind": "rolling", "batch_size": "25%", "max_failed": 2}),
            json!({"kind": "blue_green"}),
            json!({"kind": "canary", "phases": [{"percent": 10, "duration": 3}, {"percent": 100, "duration": "1m"}]}),
        ] {
            let strategy = Strategy::parse(&doc).unwrap();
            assert_eq!(Strategy::parse(&strategy.to_document()).unwrap(), strategy);
        }
    }

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
