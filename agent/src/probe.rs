//! Probing the service on this node: an HTTP health URL or a command, sampled
//! continuously and summarised into each heartbeat for canary analysis.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::protocol::ProbeSample;

#[derive(Debug, Clone)]
pub enum HealthCheck {
    /// Healthy when it answers 2xx.
    Url(String),
    /// Healthy when it exits 0; run with `sh -c` in the agent's root.
    Command(String),
}

#[derive(Clone)]
pub struct Prober {
    check: HealthCheck,
    client: reqwest::Client,
    root: PathBuf,
    timeout: Duration,
}

impl Prober {
    pub fn new(check: HealthCheck, client: reqwest::Client, root: PathBuf) -> Self {
        Self {
            check,
            client,
            root,
            timeout: Duration::from_secs(5),
        }
    }

    /// One probe: whether it was healthy, how long it took, and why not.
    pub async fn probe(&self) -> (Result<(), String>, Duration) {
        let started = Instant::now();
        let outcome = match &self.check {
            HealthCheck::Url(url) => {
                match tokio::time::timeout(self.timeout, self.client.get(url).send()).await {
                    Err(_) => Err(format!("{url} did not answer within {:?}", self.timeout)),
                    Ok(Err(e)) => Err(format!("{url}: {e}")),
                    Ok(Ok(r)) if r.status().is_success() => Ok(()),
                    Ok(Ok(r)) => Err(format!("{url} answered {}", r.status())),
                }
            }
            HealthCheck::Command(cmd) => {
                crate::hooks::run(cmd, &self.root, &[], self.timeout).await
            }
        };
        (outcome, started.elapsed())
    }

    /// After a swap: healthy once within `grace`, probing every 250 ms.
    pub async fn wait_healthy(&self, grace: Duration) -> Result<(), String> {
        let deadline = Instant::now() + grace;
        loop {
            let (outcome, _) = self.probe().await;
            match outcome {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }
}

/// Probe outcomes since the last heartbeat.
#[derive(Debug, Default)]
pub struct Stats {
    latencies_ms: Vec<f64>,
    errors: u64,
}

impl Stats {
    pub fn record(&mut self, healthy: bool, latency: Duration) {
        self.latencies_ms.push(latency.as_secs_f64() * 1000.0);
        if !healthy {
            self.errors += 1;
        }
    }

    /// Summarises and resets; `None` when nothing was probed.
    pub fn take(&mut self) -> Option<ProbeSample> {
        if self.latencies_ms.is_empty() {
            return None;
        }
        let mut latencies = std::mem::take(&mut self.latencies_ms);
        latencies.sort_by(f64::total_cmp);
        let rank = ((latencies.len() as f64) * 0.95).ceil() as usize;
        let p95_ms = latencies[rank.clamp(1, latencies.len()) - 1];
        Some(ProbeSample {
            requests: latencies.len() as u64,
            errors: std::mem::take(&mut self.errors),
            p95_ms,
        })
    }
}

/// Probes forever every `interval`, adding to `stats`.
pub async fn run(prober: Prober, stats: Arc<Mutex<Stats>>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let (outcome, latency) = prober.probe().await;
        if let Ok(mut stats) = stats.lock() {
            stats.record(outcome.is_ok(), latency);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_report_requests_errors_and_p95() {
        let mut stats = Stats::default();
        assert_eq!(stats.take(), None);
        for ms in 1..=20 {
            stats.record(ms != 7, Duration::from_millis(ms));
        }
        let sample = stats.take().unwrap();
        assert_eq!(sample.requests, 20);
        assert_eq!(sample.errors, 1);
        assert!((sample.p95_ms - 19.0).abs() < 0.5, "{}", sample.p95_ms);
        assert_eq!(stats.take(), None, "taking resets");
    }
}
