//! The engine's Prometheus metrics (SPEC §8), registered in the process's
//! one registry. Durations are observed by the replica that finished the
//! deployment (sum them across replicas); counts that must agree across
//! replicas come from the database at scrape time (`services/stats.rs`).

use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, Registry};

pub struct EngineMetrics {
    duration: HistogramVec,
    approval_wait: Histogram,
    job_panics: IntCounter,
    worker_restarts: IntCounter,
}

impl EngineMetrics {
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "hotswap_deployment_duration_seconds",
                "Time from start to end of finished deployments",
            )
            .buckets(vec![
                1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0,
            ]),
            &["environment", "strategy", "status"],
        )?;
        registry.register(Box::new(duration.clone()))?;
        let approval_wait = Histogram::with_opts(
            HistogramOpts::new(
                "hotswap_approval_wait_seconds",
                "Time from an approval request to its decision or expiry",
            )
            .buckets(vec![
                10.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 14400.0, 43200.0, 86400.0,
            ]),
        )?;
        registry.register(Box::new(approval_wait.clone()))?;
        let job_panics = IntCounter::new(
            "hotswap_engine_panics_total",
            "Deployments stopped because the engine panicked while advancing them",
        )?;
        registry.register(Box::new(job_panics.clone()))?;
        let worker_restarts = IntCounter::new(
            "hotswap_worker_restarts_total",
            "Orchestration workers that died and were started again",
        )?;
        registry.register(Box::new(worker_restarts.clone()))?;
        Ok(Self {
            duration,
            approval_wait,
            job_panics,
            worker_restarts,
        })
    }

    pub fn job_panicked(&self) {
        self.job_panics.inc();
    }

    pub fn worker_restarted(&self) {
        self.worker_restarts.inc();
    }

    pub fn observe_approval_wait(&self, seconds: f64) {
        self.approval_wait.observe(seconds.max(0.0));
    }

    pub fn observe_finished(&self, environment: &str, strategy: &str, status: &str, seconds: f64) {
        self.duration
            .with_label_values(&[environment, strategy, status])
            .observe(seconds.max(0.0));
    }
}
