//! The orchestration engine: workers that claim deployments from the job queue
//! and move each one step along its plan (see `../shared` ENGINE notes in the
//! README): the database is the only truth, every step is recorded before and
//! after it runs, and any worker on any replica can pick a deployment up.

pub mod advance;
pub mod batch;
pub mod dispatch;
pub mod hub;
pub mod live;
pub mod metrics;
pub mod providers;
pub mod switch;
pub mod viewers;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use futures_util::FutureExt;
use sea_orm::EntityTrait;

use self::advance::Next;
use self::hub::AgentHub;
use crate::domain::silence::SilenceClock;
use crate::services::jobs as queue;
use crate::services::lifecycle::{self, Observed, Orchestrator};
use crate::services::ServiceError;

/// How often the connections here are checked for commands due.
const CONNECTION_SWEEP: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Workers per process (`--workers`).
    pub workers: usize,
    /// How long a claimed job stays claimed without renewal.
    pub lease: chrono::Duration,
    /// A node silent this long is offline, and fails the steps that need it.
    pub node_timeout: chrono::Duration,
    /// A command unanswered this long fails.
    pub step_timeout: chrono::Duration,
    /// How often idle workers look for work another replica queued.
    pub idle_poll: Duration,
    /// How often overdue approval requests are expired.
    pub approval_sweep: chrono::Duration,
    /// Deployments one person (or token owner) may request per minute.
    pub deploy_rate_per_minute: u32,
    /// Which addresses requests on a tenant's behalf may go to.
    pub outbound: crate::outbound::OutboundPolicy,
    /// Blue-green switch commands the operator allows (`HOTSWAP_SWITCH_COMMANDS`),
    /// by the name an environment's switch hook refers to them with.
    pub switch_commands: std::collections::BTreeMap<String, String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            lease: chrono::Duration::seconds(30),
            node_timeout: chrono::Duration::seconds(15),
            step_timeout: chrono::Duration::minutes(10),
            idle_poll: Duration::from_millis(500),
            approval_sweep: chrono::Duration::minutes(5),
            deploy_rate_per_minute: 10,
            outbound: crate::outbound::OutboundPolicy::default(),
            switch_commands: std::collections::BTreeMap::new(),
        }
    }
}

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    metrics: metrics::EngineMetrics,
    hub: AgentHub,
    wake: Notify,
    config: EngineConfig,
    client: crate::outbound::Outbound,
    instance: String,
    /// Agents' answers, written a burst per transaction.
    answers: batch::Batched<dispatch::Answer, ()>,
    /// Connections asking for their commands, claimed a burst at a time.
    deliveries: batch::Batched<dispatch::Due, Vec<hotswap_protocol::ServerMessage>>,
    /// Their workers, taken by [`Engine::start`].
    batch_workers: std::sync::Mutex<Option<BatchWorkers>>,
}

struct BatchWorkers {
    answers: batch::Worker<dispatch::Answer, ()>,
    deliveries: batch::Worker<dispatch::Due, Vec<hotswap_protocol::ServerMessage>>,
}

/// The most answers written in one transaction, and the most connections
/// whose commands are claimed together.
const BURST: usize = 256;

impl Engine {
    pub fn new(
        db: DatabaseConnection,
        config: EngineConfig,
        registry: &prometheus::Registry,
    ) -> Result<Self, prometheus::Error> {
        let instance = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
        let (answers, answer_worker) = batch::channel(BURST);
        let (deliveries, delivery_worker) = batch::channel(BURST);
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                metrics: metrics::EngineMetrics::new(registry)?,
                hub: AgentHub::default(),
                wake: Notify::new(),
                client: crate::outbound::Outbound::new(
                    config.outbound.clone(),
                    std::time::Duration::from_secs(30),
                ),
                config,
                instance,
                answers,
                deliveries,
                batch_workers: std::sync::Mutex::new(Some(BatchWorkers {
                    answers: answer_worker,
                    deliveries: delivery_worker,
                })),
            }),
        })
    }

    pub fn metrics(&self) -> &metrics::EngineMetrics {
        &self.inner.metrics
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    pub fn hub(&self) -> &AgentHub {
        &self.inner.hub
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Records an agent's answer (with others that arrived meanwhile) and
    /// wakes its deployment if it was the last one out.
    pub async fn record_answer(&self, answer: dispatch::Answer) -> Result<(), ServiceError> {
        self.inner.answers.ask(answer).await
    }

    /// The commands due to a node (claimed with other nodes' at the moment).
    pub async fn commands_for(
        &self,
        due: dispatch::Due,
    ) -> Result<Vec<hotswap_protocol::ServerMessage>, ServiceError> {
        self.inner.deliveries.ask(due).await
    }

    /// The client for requests to addresses tenants chose.
    pub(crate) fn client(&self) -> &crate::outbound::Outbound {
        &self.inner.client
    }

    /// Starts the workers, the answer recorder and the sweeps.
    pub fn start(&self) -> Vec<JoinHandle<()>> {
        let mut tasks: Vec<JoinHandle<()>> = (0..self.inner.config.workers)
            .map(|n| {
                let engine = self.clone();
                let worker = format!("{}-w{n}", self.inner.instance);
                tokio::spawn(async move { engine.supervise(worker).await })
            })
            .collect();
        let batch_workers = self
            .inner
            .batch_workers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(workers) = batch_workers {
            let engine = self.clone();
            tasks.push(tokio::spawn(workers.answers.run(move |answers| {
                let engine = engine.clone();
                async move {
                    let finished = dispatch::record_answers(engine.db(), &answers).await?;
                    for deployment_id in finished {
                        engine.wake(deployment_id).await;
                    }
                    Ok(vec![(); answers.len()])
                }
            })));
            let engine = self.clone();
            tasks.push(tokio::spawn(workers.deliveries.run(move |due| {
                let engine = engine.clone();
                async move { dispatch::commands_for(engine.db(), &due).await }
            })));
        }
        let engine = self.clone();
        tasks.push(tokio::spawn(async move { engine.sweep_nodes().await }));
        let engine = self.clone();
        tasks.push(tokio::spawn(async move { engine.sweep_approvals().await }));
        let engine = self.clone();
        tasks.push(tokio::spawn(
            async move { engine.sweep_connections().await },
        ));
        if self.inner.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            let engine = self.clone();
            tasks.push(tokio::spawn(
                async move { engine.listen_for_commands().await },
            ));
        }
        tasks
    }

    /// Tells the connections of `node_ids` that they have new commands: on
    /// this replica directly, on the others through PostgreSQL `NOTIFY` (the
    /// connections' periodic sweep catches anything a notification misses).
    pub async fn announce_commands(&self, node_ids: &[i64]) {
        self.inner.hub.wake(node_ids);
        let db = &self.inner.db;
        if node_ids.is_empty() || db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return;
        }
        // NOTIFY payloads stay well under PostgreSQL's 8000-byte limit.
        for chunk in node_ids.chunks(500) {
            let ids: Vec<String> = chunk.iter().map(i64::to_string).collect();
            let statement = sea_orm::Statement::from_sql_and_values(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT pg_notify('hotswap_commands', $1)",
                [ids.join(",").into()],
            );
            if let Err(error) = db.execute(statement).await {
                tracing::debug!(%error, "could not notify other replicas; their sweep will deliver");
            }
        }
    }

    async fn listen_for_commands(self) {
        let pool = self.inner.db.get_postgres_connection_pool().clone();
        loop {
            let listened = async {
                let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
                listener.listen("hotswap_commands").await?;
                loop {
                    let notification = listener.recv().await?;
                    let ids: Vec<i64> = notification
                        .payload()
                        .split(',')
                        .filter_map(|id| id.parse().ok())
                        .collect();
                    self.inner.hub.wake(&ids);
                }
                #[allow(unreachable_code)]
                Ok::<(), sqlx::Error>(())
            }
            .await;
            if let Err(error) = listened {
                tracing::warn!(%error, "lost the command notifications; listening again");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn sweep_approvals(self) {
        let every = self
            .inner
            .config
            .approval_sweep
            .to_std()
            .unwrap_or(Duration::from_secs(300));
        loop {
            tokio::time::sleep(every).await;
            match crate::services::approvals::expire_overdue(&self.inner.db, &self).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "expired overdue approval requests"),
                Err(error) => tracing::warn!(%error, "could not expire approval requests"),
            }
        }
    }

    /// On shutdown: gives this replica's leases back so another replica (or
    /// the next start) picks its deployments up at once instead of waiting
    /// for the leases to expire.
    pub async fn hand_back(&self) {
        let statement = sea_orm::Statement::from_sql_and_values(
            self.inner.db.get_database_backend(),
            if self.inner.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
                "UPDATE jobs SET locked_by = NULL, lease_expires_at = NULL WHERE locked_by LIKE $1"
            } else {
                "UPDATE jobs SET locked_by = NULL, lease_expires_at = NULL WHERE locked_by LIKE ?"
            },
            [format!("{}-%", self.inner.instance).into()],
        );
        if let Err(error) = self.inner.db.execute(statement).await {
            tracing::warn!(%error, "could not hand back leases; they expire by themselves");
        }
    }

    /// Keeps a worker running: one that dies (a panic outside a job) is
    /// counted and started again.
    async fn supervise(self, worker: String) {
        loop {
            let engine = self.clone();
            let name = worker.clone();
            match tokio::spawn(async move { engine.work(name).await }).await {
                Err(died) if died.is_panic() => {
                    self.inner.metrics.worker_restarted();
                    tracing::error!(worker, "a worker died; starting it again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                _ => return,
            }
        }
    }

    async fn work(self, worker: String) {
        loop {
            match queue::claim(&self.inner.db, &worker, self.inner.config.lease).await {
                Ok(Some(job)) => self.run(job, &worker).await,
                Ok(None) => {
                    tokio::select! {
                        _ = self.inner.wake.notified() => {}
                        _ = tokio::time::sleep(self.inner.config.idle_poll) => {}
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot claim jobs; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Advances one deployment while renewing the lease; losing the lease
    /// abandons the work at once (another worker owns it now).
    async fn run(&self, job: queue::Claimed, worker: &str) {
        let db = &self.inner.db;
        let lease = self.inner.config.lease;
        let renew_every = (lease / 3).to_std().unwrap_or(Duration::from_secs(10));
        let keep_lease = async {
            loop {
                tokio::time::sleep(renew_every).await;
                match queue::renew(db, &job, worker, lease).await {
                    Ok(true) => {}
                    _ => return,
                }
            }
        };
        // A panic in one deployment's step is that deployment's failure, not
        // the worker's: it is caught here and the deployment stopped.
        let step =
            std::panic::AssertUnwindSafe(advance::advance(self, job.deployment_id)).catch_unwind();
        let outcome = tokio::select! {
            outcome = step => match outcome {
                Ok(outcome) => outcome,
                Err(panic) => {
                    self.stop_after_panic(&job, worker, panic_message(panic.as_ref())).await;
                    return;
                }
            },
            () = keep_lease => {
                tracing::warn!(deployment_id = job.deployment_id, "lost the lease; leaving the deployment to its new owner");
                return;
            }
        };
        let done = match outcome {
            Ok(Next::Done) => queue::finish(db, &job, worker).await,
            Ok(Next::At(at)) => queue::release(db, &job, worker, at).await,
            Err(error) => {
                tracing::warn!(%error, deployment_id = job.deployment_id, "a deployment step failed; retrying shortly");
                queue::release(
                    db,
                    &job,
                    worker,
                    chrono::Utc::now() + chrono::Duration::seconds(2),
                )
                .await
            }
        };
        if let Err(error) = done {
            tracing::warn!(%error, deployment_id = job.deployment_id, "could not hand the job back; its lease will expire");
        }
    }

    async fn stop_after_panic(&self, job: &queue::Claimed, worker: &str, message: String) {
        let db = &self.inner.db;
        self.inner.metrics.job_panicked();
        tracing::error!(deployment_id = job.deployment_id, panic = %message, "the engine panicked on a deployment; stopping it");
        let stopped = async {
            if let Some(dep) = crate::entities::deployments::Entity::find_by_id(job.deployment_id)
                .one(db)
                .await?
            {
                lifecycle::finish(
                    db,
                    self,
                    &dep,
                    app::model::deployment::DeploymentStatus::Failed,
                    "stopped: the engine hit an internal error on this deployment (the server log has the details)".into(),
                )
                .await?;
            }
            queue::finish(db, job, worker).await
        };
        if let Err(error) = stopped.await {
            tracing::warn!(%error, deployment_id = job.deployment_id, "could not stop the deployment; trying again in a minute");
            let later = chrono::Utc::now() + chrono::Duration::seconds(60);
            if let Err(error) = queue::release(db, job, worker, later).await {
                tracing::warn!(%error, "could not hand the job back; its lease will expire");
            }
        }
    }

    /// Every few seconds, nudges the connections here whose node has
    /// commands due (a nudge sent to another replica, or a command
    /// unanswered long enough to go again) or was removed (its connection
    /// then ends). Two queries for the whole fleet, however large.
    async fn sweep_connections(self) {
        let mut tick = tokio::time::interval(CONNECTION_SWEEP);
        loop {
            tick.tick().await;
            let connected = self.inner.hub.node_ids();
            if connected.is_empty() {
                continue;
            }
            // Apart, so that one failing does not skip the other.
            match self.removed_among(&connected).await {
                Ok(gone) => self.inner.hub.recheck(&gone),
                Err(error) => tracing::debug!(%error, "connection sweep (removed nodes) failed"),
            }
            match self.due_among(&connected).await {
                Ok(due) => self.inner.hub.wake(&due),
                Err(error) => tracing::debug!(%error, "connection sweep (commands due) failed"),
            }
        }
    }

    /// The connected nodes that were removed.
    async fn removed_among(&self, connected: &[i64]) -> Result<Vec<i64>, ServiceError> {
        let enrolled = crate::services::nodes::enrolled_among(&self.inner.db, connected).await?;
        Ok(connected
            .iter()
            .copied()
            .filter(|id| !enrolled.contains(id))
            .collect())
    }

    /// The connected nodes with commands due.
    async fn due_among(&self, connected: &[i64]) -> Result<Vec<i64>, ServiceError> {
        let here: std::collections::HashSet<i64> = connected.iter().copied().collect();
        Ok(
            dispatch::nodes_with_due_commands(&self.inner.db, dispatch::resend_after())
                .await?
                .into_iter()
                .filter(|id| here.contains(id))
                .collect(),
        )
    }

    /// Calls silent nodes offline, but only once the database has been
    /// reachable for a whole node timeout (see [`SilenceClock`]).
    async fn sweep_nodes(self) {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        let mut clock = SilenceClock::new(self.inner.config.node_timeout);
        loop {
            tick.tick().await;
            let started = chrono::Utc::now();
            let reached = self.inner.db.ping().await.is_ok();
            clock.probed(started, chrono::Utc::now(), reached);
            let Some(cutoff) = clock.cutoff(chrono::Utc::now()) else {
                continue;
            };
            if let Err(error) =
                crate::services::nodes::mark_silent_offline(&self.inner.db, cutoff).await
            {
                tracing::debug!(%error, "node sweep failed");
            }
        }
    }
}

#[async_trait::async_trait]
impl Orchestrator for Engine {
    /// Makes a deployment runnable now and rouses idle workers.
    async fn wake(&self, deployment_id: i64) {
        if let Err(error) = queue::wake(&self.inner.db, deployment_id).await {
            tracing::warn!(%error, deployment_id, "could not wake a deployment; it runs at its next poll");
        }
        self.inner.wake.notify_waiters();
    }

    /// Rouses idle workers (new work was queued).
    fn nudge(&self) {
        self.inner.wake.notify_waiters();
    }

    fn observe(&self, observed: Observed<'_>) {
        match observed {
            Observed::Finished {
                environment,
                strategy,
                status,
                seconds,
            } => {
                self.inner
                    .metrics
                    .observe_finished(environment, strategy, status.as_str(), seconds)
            }
            Observed::ApprovalSettled { seconds } => {
                self.inner.metrics.observe_approval_wait(seconds)
            }
        }
    }
}

/// The text a panic was raised with, when it has one.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}
