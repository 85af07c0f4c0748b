//! The strategy part of the deployment wizard: what a person types, checked
//! as they type with the same rules (and field paths) as the server, and the
//! strategy document it becomes.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::model::duration::{self, BoundedDuration};

/// At most this many nodes in a batch, or failures allowed.
pub const MAX_NODES: u32 = 10_000;

pub const BATCH_RULE: &str = "a node count like 2 (up to 10,000) or a share like 25% (1–100 %)";
pub const MAX_FAILED_RULE: &str = "a whole number of nodes, from 0 to 10,000";

/// A rolling batch as the server and the wizard read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    Count(u32),
    Percent(u32),
}

/// `2` (nodes, 1 to 10,000) or `25%` (1 to 100 %): one parser for the
/// number and the text form alike.
pub fn batch_size(text: &str) -> Option<Batch> {
    let text = text.trim();
    match text.strip_suffix('%') {
        Some(p) => p
            .parse::<u32>()
            .ok()
            .filter(|p| (1..=100).contains(p))
            .map(Batch::Percent),
        None => text
            .parse::<u32>()
            .ok()
            .filter(|c| (1..=MAX_NODES).contains(c))
            .map(Batch::Count),
    }
}

/// Failed nodes a rolling deployment tolerates: 0 to 10,000.
pub fn max_failed(text: &str) -> Option<u32> {
    text.trim().parse::<u32>().ok().filter(|n| *n <= MAX_NODES)
}

/// One canary phase as typed: percent of nodes, how long, and its limits
/// (error rate in percent, p95 in milliseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseInput {
    pub percent: String,
    pub duration: String,
    pub max_error_pct: String,
    pub max_p95_ms: String,
}

impl PhaseInput {
    fn new(percent: &str, duration: &str, error_pct: &str, p95: &str) -> Self {
        Self {
            percent: percent.into(),
            duration: duration.into(),
            max_error_pct: error_pct.into(),
            max_p95_ms: p95.into(),
        }
    }
}

/// One phase of the guide's canary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuidePhase {
    pub percent: u32,
    pub duration_secs: u64,
    /// A fraction: 0.001 is 0.1 %.
    pub max_error_rate: f64,
    pub max_p95_ms: f64,
}

const fn guide(percent: u32, minutes: u64, max_error_rate: f64, max_p95_ms: f64) -> GuidePhase {
    GuidePhase {
        percent,
        duration_secs: minutes * 60,
        max_error_rate,
        max_p95_ms,
    }
}

/// The operations guide's canary: 5 % for 10 min, 20 % for 15 min, then 20 %
/// more every 5 min. The server's default canary and the wizard's first draft.
pub const GUIDE_CANARY: [GuidePhase; 6] = [
    guide(5, 10, 0.001, 100.0),
    guide(20, 15, 0.005, 200.0),
    guide(40, 5, 0.005, 200.0),
    guide(60, 5, 0.005, 200.0),
    guide(80, 5, 0.005, 200.0),
    guide(100, 5, 0.005, 200.0),
];

/// The guide's canary as the wizard's fields.
pub fn guide_phases() -> Vec<PhaseInput> {
    GUIDE_CANARY
        .iter()
        .map(|p| {
            PhaseInput::new(
                &p.percent.to_string(),
                &duration::text(p.duration_secs),
                &format!("{}", p.max_error_rate * 100.0),
                &format!("{}", p.max_p95_ms),
            )
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyInput {
    /// `default` (the environment's), `direct`, `rolling`, `blue_green`, `canary`.
    pub kind: String,
    pub batch_size: String,
    pub max_failed: String,
    pub phases: Vec<PhaseInput>,
}

impl Default for StrategyInput {
    fn default() -> Self {
        Self {
            kind: "default".into(),
            batch_size: "25%".into(),
            max_failed: "0".into(),
            phases: guide_phases(),
        }
    }
}

/// A problem with one field; `field` is the server's path, e.g. `phases[1].percent`.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

fn problem(field: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        field: field.into(),
        message: message.into(),
    }
}

impl StrategyInput {
    /// The problems a person should fix before the server is asked.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        match self.kind.as_str() {
            "rolling" => {
                if batch_size(&self.batch_size).is_none() {
                    out.push(problem("batch_size", BATCH_RULE));
                }
                if max_failed(&self.max_failed).is_none() {
                    out.push(problem("max_failed", MAX_FAILED_RULE));
                }
            }
            "canary" => {
                if self.phases.is_empty() {
                    out.push(problem("phases", "at least one phase"));
                }
                let mut previous = 0;
                for (i, p) in self.phases.iter().enumerate() {
                    let at = |f: &str| format!("phases[{i}].{f}");
                    match p.percent.trim().parse::<u32>() {
                        Ok(n) if (1..=100).contains(&n) && n > previous => previous = n,
                        Ok(n) if (1..=100).contains(&n) => out.push(problem(
                            at("percent"),
                            format!("phases must grow: {n}% follows {previous}%"),
                        )),
                        _ => out.push(problem(at("percent"), "a share of nodes from 1 to 100")),
                    }
                    // The server's own parser and bounds.
                    if let Err(message) = BoundedDuration::parse(&p.duration, &duration::PHASE) {
                        out.push(problem(at("duration"), message));
                    }
                    if !p
                        .max_error_pct
                        .trim()
                        .parse::<f64>()
                        .is_ok_and(|r| (0.0..=100.0).contains(&r))
                    {
                        out.push(problem(at("max_error_rate"), "a percentage from 0 to 100"));
                    }
                    if !p
                        .max_p95_ms
                        .trim()
                        .parse::<f64>()
                        .is_ok_and(|ms| ms > 0.0 && ms.is_finite())
                    {
                        out.push(problem(at("max_p95_ms"), "milliseconds, more than 0"));
                    }
                }
            }
            _ => {}
        }
        out
    }

    /// The strategy document to send; `None` asks for the environment's default.
    pub fn document(&self) -> Option<Value> {
        Some(match self.kind.as_str() {
            "direct" => json!({ "kind": "direct" }),
            "blue_green" => json!({ "kind": "blue_green" }),
            "rolling" => {
                let batch = self.batch_size.trim();
                let batch_size = match batch.parse::<u64>() {
                    Ok(count) => json!(count),
                    Err(_) => json!(batch),
                };
                json!({
                    "kind": "rolling",
                    "batch_size": batch_size,
                    "max_failed": self.max_failed.trim().parse::<u64>().unwrap_or(0),
                })
            }
            "canary" => json!({
                "kind": "canary",
                "phases": self.phases.iter().map(|p| json!({
                    "percent": p.percent.trim().parse::<u64>().unwrap_or(0),
                    "duration": p.duration.trim(),
                    "max_error_rate": p.max_error_pct.trim().parse::<f64>().unwrap_or(-1.0) / 100.0,
                    "max_p95_ms": p.max_p95_ms.trim().parse::<f64>().unwrap_or(0.0),
                })).collect::<Vec<_>>(),
            }),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_canary_is_valid_and_becomes_fractions() {
        let input = StrategyInput {
            kind: "canary".into(),
            ..StrategyInput::default()
        };
        assert!(input.problems().is_empty());
        let doc = input.document().expect("a document");
        assert_eq!(doc["phases"][0]["percent"], 5);
        assert_eq!(doc["phases"][0]["duration"], "10m");
        assert!((doc["phases"][0]["max_error_rate"].as_f64().unwrap() - 0.001).abs() < 1e-12);
        // The whole guide: 5 %, 20 %, then 20 % more every 5 minutes.
        let percents: Vec<u64> = (0..6)
            .map(|i| doc["phases"][i]["percent"].as_u64().unwrap())
            .collect();
        assert_eq!(percents, [5, 20, 40, 60, 80, 100]);
        assert_eq!(doc["phases"][1]["duration"], "15m");
        assert_eq!(doc["phases"][5]["max_p95_ms"], 200.0);
    }

    #[test]
    fn problems_name_the_field_as_the_server_does() {
        let mut input = StrategyInput {
            kind: "canary".into(),
            ..StrategyInput::default()
        };
        input.phases[1].percent = "3".into();
        input.phases[2].duration = "soon".into();
        input.phases[0].max_p95_ms = "0".into();
        let fields: Vec<String> = input.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "phases[0].max_p95_ms",
                "phases[1].percent",
                "phases[2].duration"
            ]
        );
        let rolling = StrategyInput {
            kind: "rolling".into(),
            batch_size: "150%".into(),
            max_failed: "-1".into(),
            ..StrategyInput::default()
        };
        let fields: Vec<String> = rolling.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["batch_size", "max_failed"]);
    }

    #[test]
    fn the_environment_default_sends_no_document() {
        assert_eq!(StrategyInput::default().document(), None);
        let ok = |t: &str| BoundedDuration::parse(t, &duration::PHASE).is_ok();
        assert!(ok("90") && ok("15m") && ok("1h30m"));
        assert!(!ok("2 h") && !ok("x") && !ok("8d"));
    }
}
