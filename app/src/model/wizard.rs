//! The strategy part of the deployment wizard: what a person types, checked
//! as they type with the same rules (and field paths) as the server, and the
//! strategy document it becomes.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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

/// The operations guide's canary: 5 % for 10 min, 20 % for 15 min, then everyone.
pub fn guide_phases() -> Vec<PhaseInput> {
    vec![
        PhaseInput::new("5", "10m", "0.1", "100"),
        PhaseInput::new("20", "15m", "0.5", "200"),
        PhaseInput::new("100", "5m", "0.5", "200"),
    ]
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

/// Accepts what the server accepts: whole seconds or a number with s, m, h or d.
pub fn duration_secs(text: &str) -> Option<u64> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(secs);
    }
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "s" | "sec" | "secs" => 1,
        "m" | "min" | "mins" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return None,
    };
    number.checked_mul(factor)
}

impl StrategyInput {
    /// The problems a person should fix before the server is asked.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        match self.kind.as_str() {
            "rolling" => {
                let batch = self.batch_size.trim();
                let ok = match batch.strip_suffix('%') {
                    Some(p) => p
                        .trim()
                        .parse::<u32>()
                        .is_ok_and(|p| (1..=100).contains(&p)),
                    None => batch.parse::<u32>().is_ok_and(|c| c >= 1),
                };
                if !ok {
                    out.push(problem(
                        "batch_size",
                        "a node count like 2 or a share like 25% (1–100 %)",
                    ));
                }
                if self.max_failed.trim().parse::<u32>().is_err() {
                    out.push(problem("max_failed", "a whole number of nodes, 0 or more"));
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
                    match duration_secs(&p.duration) {
                        Some(s) if s <= 7 * 86_400 => {}
                        Some(_) => {
                            out.push(problem(at("duration"), "a phase lasts at most 7 days"))
                        }
                        None => out.push(problem(at("duration"), "a duration like 30s, 10m or 1h")),
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
        assert_eq!(duration_secs("90"), Some(90));
        assert_eq!(duration_secs("15m"), Some(900));
        assert_eq!(duration_secs("2 h"), Some(7200));
        assert_eq!(duration_secs("x"), None);
    }
}
