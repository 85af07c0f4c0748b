//! Live events: every event row, as soon as it is committed, fanned out to the
//! WebSocket clients of this replica (ENGINE notes, "Live events").
//!
//! On PostgreSQL the writer's `NOTIFY hotswap_events, '<id>'` is delivered
//! after its transaction commits, to every replica, which reads the row by id
//! (commit order may differ from id order, so ids, not a cursor, are the
//! signal). On SQLite there is one process and writers are serialised, so ids
//! commit in order and a cursor over `id > last` misses nothing; writers wake
//! the reader, and a short tick covers a wake that came before the commit.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use app::model::event::EventInfo;
use axum::extract::ws::Utf8Bytes;
use prometheus::{IntGauge, Registry};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::engine::viewers::Viewers;
use crate::entities::events;
use crate::services::events::{newest_id, read, EventRow};

/// How often the SQLite reader looks even without a wake.
const TICK: Duration = Duration::from_millis(100);
/// Events a slow client may fall behind before it re-reads from the database.
const BUFFER: usize = 4096;
/// PostgreSQL: notified ids waiting to be read. Either database: the most
/// events read at once.
const NOTIFIED: usize = 65_536;
const READ_AT_ONCE: usize = 500;

/// One committed event, the tenant it belongs to, and its JSON (serialised
/// once here rather than once per client; shared, not copied, by each send).
#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub tenant_id: i64,
    pub event: EventInfo,
    pub json: Utf8Bytes,
}

#[derive(Clone)]
pub struct LiveHub {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    sender: broadcast::Sender<Arc<LiveEvent>>,
    /// The newest event id fanned out.
    cursor: AtomicI64,
    /// The cursor starts at the newest event when the replica starts.
    started: AtomicBool,
    clients: IntGauge,
    /// Flips to true on shutdown: connections close with a reconnect hint.
    closing: watch::Sender<bool>,
    viewers: Viewers,
}

impl LiveHub {
    pub fn new(db: DatabaseConnection, registry: &Registry) -> Result<Self, prometheus::Error> {
        let (sender, _) = broadcast::channel(BUFFER);
        let clients = IntGauge::new(
            "hotswap_websocket_clients",
            "Browsers and API clients following live events on this replica",
        )?;
        registry.register(Box::new(clients.clone()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                sender,
                cursor: AtomicI64::new(0),
                started: AtomicBool::new(false),
                clients,
                closing: watch::Sender::new(false),
                viewers: Viewers::default(),
            }),
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.inner.sender.subscribe()
    }

    /// The newest event fanned out so far: what a new subscriber has no
    /// need to be sent.
    pub fn newest_published(&self) -> i64 {
        self.inner.cursor.load(Ordering::SeqCst)
    }

    pub fn closing(&self) -> watch::Receiver<bool> {
        self.inner.closing.subscribe()
    }

    /// Asks every connection to close, telling clients to reconnect.
    pub fn close_all(&self) {
        self.inner.closing.send_replace(true);
    }

    pub fn clients(&self) -> &IntGauge {
        &self.inner.clients
    }

    /// Who follows here, checked once per viewer by [`LiveHub::start`].
    pub fn viewers(&self) -> &Viewers {
        &self.inner.viewers
    }

    /// Starts reading committed events and fanning them out, and checking
    /// that those who follow still may (two tasks: one failing leaves the
    /// other running).
    pub fn start(&self) -> Vec<JoinHandle<()>> {
        let hub = self.clone();
        let fan_out = tokio::spawn(async move {
            match hub.inner.db.get_database_backend() {
                DatabaseBackend::Postgres => hub.listen().await,
                _ => hub.follow().await,
            }
        });
        let sweep = tokio::spawn(self.inner.viewers.clone().sweep(self.inner.db.clone()));
        vec![fan_out, sweep]
    }

    /// PostgreSQL: one listening connection per replica.
    async fn listen(self) {
        let pool = self.inner.db.get_postgres_connection_pool().clone();
        // Live means from now on: history is for `?after=`, not re-broadcast
        // at every start.
        while !self.inner.started.load(Ordering::SeqCst) {
            match newest_id(&self.inner.db, None).await {
                Ok(id) => {
                    self.inner.cursor.fetch_max(id, Ordering::SeqCst);
                    self.inner.started.store(true, Ordering::SeqCst);
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot read the newest event yet; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        loop {
            let listened = async {
                let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
                listener.listen("hotswap_events").await?;
                // Whatever committed while nobody listened.
                self.catch_up().await;
                // Notifications come one by one; the ids that arrive while
                // one read is out are read together by the next (a roll-out
                // commits a thousand events at once).
                let (notified, mut arrived) = mpsc::channel::<i64>(NOTIFIED);
                let receive = async {
                    loop {
                        let notification = listener.recv().await?;
                        if let Ok(id) = notification.payload().parse() {
                            if notified.send(id).await.is_err() {
                                return Ok(());
                            }
                        }
                    }
                };
                let publish = async {
                    let mut ids = Vec::with_capacity(READ_AT_ONCE);
                    while arrived.recv_many(&mut ids, READ_AT_ONCE).await > 0 {
                        self.publish_ids(std::mem::take(&mut ids)).await;
                    }
                };
                tokio::select! {
                    received = receive => received,
                    () = publish => Ok::<(), sqlx::Error>(()),
                }
            }
            .await;
            if let Err(error) = listened {
                tracing::warn!(%error, "lost the live event notifications; listening again");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn publish_ids(&self, ids: Vec<i64>) {
        let query = events::Entity::find()
            .filter(events::Column::Id.is_in(ids))
            .order_by_asc(events::Column::Id);
        let rows = read(query, None, &self.inner.db).await;
        match rows {
            Ok(rows) => self.publish(rows),
            Err(error) => tracing::warn!(%error, "could not read notified events"),
        }
    }

    /// SQLite: a cursor over the event table, woken by writers.
    async fn follow(self) {
        self.inner.cursor.store(
            newest_id(&self.inner.db, None).await.unwrap_or(0),
            Ordering::SeqCst,
        );
        loop {
            let _ = tokio::time::timeout(TICK, crate::services::events::written().notified()).await;
            self.catch_up().await;
        }
    }

    async fn catch_up(&self) {
        loop {
            let after = self.inner.cursor.load(Ordering::SeqCst);
            let query = events::Entity::find()
                .filter(events::Column::Id.gt(after))
                .order_by_asc(events::Column::Id);
            let rows = read(query, Some(READ_AT_ONCE as u64), &self.inner.db).await;
            match rows {
                Ok(rows) if rows.is_empty() => return,
                Ok(rows) => {
                    let full = rows.len() == READ_AT_ONCE;
                    self.publish(rows);
                    if !full {
                        return;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "could not read new events");
                    return;
                }
            }
        }
    }

    fn publish(&self, rows: Vec<EventRow>) {
        for row in rows {
            // Past it even when it is not sent: the cursor never sticks.
            self.inner.cursor.fetch_max(row.id, Ordering::SeqCst);
            let tenant_id = row.tenant_id;
            let Some(event) = row.info() else {
                continue;
            };
            let json = Utf8Bytes::from(serde_json::to_string(&event).unwrap_or_default());
            // No receivers is fine: nobody is watching.
            let _ = self.inner.sender.send(Arc::new(LiveEvent {
                tenant_id,
                event,
                json,
            }));
        }
    }
}
