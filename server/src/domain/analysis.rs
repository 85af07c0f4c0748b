//! Deciding whether a canary is healthy from the samples its nodes reported.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub max_error_rate: f64,
    pub max_p95_ms: f64,
}

/// Health-probe statistics for one interval on one node.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub requests: u64,
    pub errors: u64,
    pub p95_ms: f64,
}

pub use app::model::lifecycle::Verdict;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub p95_ms: f64,
    pub reason: String,
}

/// Judges the samples of a window. The window's p95 is the highest p95 any
/// node reported in it: a single slow canary is a slow canary.
pub fn decide(samples: &[Sample], thresholds: &Thresholds, min_requests: u64) -> Decision {
    let requests: u64 = samples.iter().map(|s| s.requests).sum();
    let errors: u64 = samples.iter().map(|s| s.errors).sum();
    let error_rate = if requests == 0 {
        0.0
    } else {
        errors as f64 / requests as f64
    };
    let p95_ms = samples
        .iter()
        .filter(|s| s.requests > 0)
        .map(|s| s.p95_ms)
        .fold(0.0, f64::max);
    let (verdict, reason) = if requests < min_requests.max(1) {
        (
            Verdict::Inconclusive,
            format!(
                "{requests} of the {} requests needed to judge",
                min_requests.max(1)
            ),
        )
    } else if error_rate > thresholds.max_error_rate {
        (
            Verdict::Fail,
            format!(
                "error rate {:.2}% is above the limit of {:.2}% ({errors} of {requests} requests failed)",
                error_rate * 100.0,
                thresholds.max_error_rate * 100.0
            ),
        )
    } else if p95_ms > thresholds.max_p95_ms {
        (
            Verdict::Fail,
            format!(
                "p95 latency {p95_ms:.0} ms is above the limit of {:.0} ms",
                thresholds.max_p95_ms
            ),
        )
    } else {
        (
            Verdict::Pass,
            format!(
                "error rate {:.2}% and p95 {p95_ms:.0} ms within limits over {requests} requests",
                error_rate * 100.0
            ),
        )
    };
    Decision {
        verdict,
        requests,
        errors,
        error_rate,
        p95_ms,
        reason,
    }
}

/// Checks a Prometheus analysis document.
pub fn validate_prometheus(
    analysis: &serde_json::Map<String, serde_json::Value>,
    policy: &crate::outbound::OutboundPolicy,
) -> Result<(), String> {
    let url = analysis
        .get("url")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    if url.is_empty() {
        return Err("url: the Prometheus server, e.g. https://prometheus.example:9090".into());
    }
    policy.check_url(url).map_err(|e| format!("url: {e}"))?;
    for key in ["requests_query", "error_rate_query", "p95_query"] {
        if analysis
            .get(key)
            .and_then(serde_json::Value::as_str)
            .is_none_or(|q| q.trim().is_empty())
        {
            return Err(format!("{key}: a PromQL template is required"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Thresholds = Thresholds {
        max_error_rate: 0.01,
        max_p95_ms: 100.0,
    };

    fn sample(requests: u64, errors: u64, p95_ms: f64) -> Sample {
        Sample {
            requests,
            errors,
            p95_ms,
        }
    }

    #[test]
    fn healthy_samples_pass() {
        let d = decide(&[sample(50, 0, 20.0), sample(50, 0, 30.0)], &LIMITS, 10);
        assert_eq!(d.verdict, Verdict::Pass);
        assert_eq!(d.requests, 100);
        assert_eq!(d.p95_ms, 30.0);
    }

    #[test]
    fn too_many_errors_fail_and_say_why() {
        let d = decide(&[sample(50, 2, 20.0), sample(50, 0, 20.0)], &LIMITS, 10);
        assert_eq!(d.verdict, Verdict::Fail);
        assert!(d.reason.contains("error rate 2.00%"), "{}", d.reason);
    }

    #[test]
    fn one_slow_node_fails_the_window() {
        let d = decide(&[sample(50, 0, 20.0), sample(50, 0, 250.0)], &LIMITS, 10);
        assert_eq!(d.verdict, Verdict::Fail);
        assert!(d.reason.contains("p95 latency 250 ms"), "{}", d.reason);
    }

    #[test]
    fn too_few_requests_are_inconclusive_even_when_failing() {
        let d = decide(&[sample(3, 3, 20.0)], &LIMITS, 10);
        assert_eq!(d.verdict, Verdict::Inconclusive);
        assert_eq!(decide(&[], &LIMITS, 0).verdict, Verdict::Inconclusive);
    }
}
