//! Prometheus metrics of the HTTP layer, labelled by route template so ids
//! never explode the label space.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use prometheus::core::Collector;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::http::error::ApiError;
use crate::services::stats::{self, Counts};

/// The process's one registry, with the HTTP layer's metrics and the
/// database-derived counts it refreshes at each scrape; the engine and the
/// live hub register theirs in it at start.
pub struct HttpMetrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    deployments: IntCounterVec,
    active: IntGauge,
    approvals: IntCounterVec,
    queue_depth: IntGauge,
    nodes: IntGaugeVec,
    /// One scrape at a time refreshes and reads the database-derived counts.
    /// The newest exposition text and when its rendering began: scrapes
    /// that arrived before then share it instead of each reading the
    /// database (64 concurrent scrapers cost about one read).
    last: tokio::sync::Mutex<Option<(Instant, axum::body::Bytes)>>,
}

fn registered<C: Collector + Clone + 'static>(
    registry: &Registry,
    collector: C,
) -> Result<C, prometheus::Error> {
    registry.register(Box::new(collector.clone()))?;
    Ok(collector)
}

impl HttpMetrics {
    pub fn new(registry: Registry) -> Result<Self, prometheus::Error> {
        let r = &registry;
        Ok(Self {
            requests: registered(
                r,
                IntCounterVec::new(
                    Opts::new("http_requests_total", "HTTP requests served"),
                    &["method", "route", "status"],
                )?,
            )?,
            duration: registered(
                r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "http_request_duration_seconds",
                        "Time to first response byte",
                    )
                    .buckets(vec![
                        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    ]),
                    &["method", "route"],
                )?,
            )?,
            deployments: registered(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "hotswap_deployments_total",
                        "Deployments by environment, strategy and status",
                    ),
                    &["environment", "strategy", "status"],
                )?,
            )?,
            active: registered(
                r,
                IntGauge::new(
                    "hotswap_active_deployments",
                    "Deployments pending approval, queued, running or paused",
                )?,
            )?,
            approvals: registered(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "hotswap_approvals_total",
                        "Approval decisions, and requests that expired",
                    ),
                    &["decision"],
                )?,
            )?,
            queue_depth: registered(
                r,
                IntGauge::new(
                    "hotswap_job_queue_depth",
                    "Jobs waiting or running in the queue",
                )?,
            )?,
            nodes: registered(
                r,
                IntGaugeVec::new(
                    Opts::new("hotswap_nodes", "Enrolled nodes by status"),
                    &["status"],
                )?,
            )?,
            last: tokio::sync::Mutex::new(None),
            registry,
        })
    }

    fn observe(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.duration
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// Every metric of the process in Prometheus text format, with the
    /// database-derived ones set to `counts`.
    /// The exposition text, never older than the caller's arrival.
    pub async fn scrape(
        &self,
        db: &sea_orm::DatabaseConnection,
    ) -> Result<axum::body::Bytes, ApiError> {
        let arrived = Instant::now();
        let mut last = self.last.lock().await;
        if let Some((began, text)) = last.as_ref() {
            if *began >= arrived {
                return Ok(text.clone());
            }
        }
        let began = Instant::now();
        let counts = stats::counts(db).await?;
        let text = axum::body::Bytes::from(
            self.render(&counts)
                .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?,
        );
        *last = Some((began, text.clone()));
        Ok(text)
    }

    /// Called with `last` held, so one render runs at a time.
    fn render(&self, counts: &Counts) -> Result<String, prometheus::Error> {
        // Reset first, so label sets that no longer exist are not reported.
        self.deployments.reset();
        for d in &counts.deployments {
            self.deployments
                .with_label_values(&[&d.environment, &d.strategy, d.status.as_str()])
                .inc_by(d.count.max(0) as u64);
        }
        self.active.set(counts.active());
        self.approvals.reset();
        for (decision, n) in &counts.approvals {
            self.approvals
                .with_label_values(&[decision])
                .inc_by((*n).max(0) as u64);
        }
        self.queue_depth.set(counts.queue_depth);
        for (status, n) in &counts.nodes {
            self.nodes.with_label_values(&[status.as_str()]).set(*n);
        }
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// The label for a request: its route template, or a fixed word for
/// requests no route matched (static files, unknown paths).
fn route_label(request: &Request) -> String {
    if let Some(matched) = request.extensions().get::<MatchedPath>() {
        return matched.as_str().to_string();
    }
    let path = request.uri().path();
    if path.starts_with("/pkg/") {
        "/pkg/{file}".to_string()
    } else {
        "unmatched".to_string()
    }
}

/// The label for a request's method: the standard ones by name, anything a
/// client makes up as `other`, so anonymous requests cannot grow the series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Middleware: counts and times every request.
pub async fn track(
    State(metrics): State<Arc<HttpMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let method = method_label(request.method());
    let route = route_label(&request);
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`: Prometheus text format, no authentication (SPEC §7).
pub async fn endpoint(
    State(state): State<crate::http::state::AppState>,
) -> Result<Response, ApiError> {
    let text = state.metrics.scrape(&state.db).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
