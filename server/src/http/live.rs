//! `GET /api/v1/live` (the tenant's events) and `/api/v1/deployments/{id}/live`
//! (one deployment's): WebSockets that send each event as JSON, the moment it
//! is committed. `?after=<event id>` first sends what the client missed.

use std::collections::BTreeSet;
use std::time::Duration;

use app::model::role::Action;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use serde::Deserialize;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::engine::live::LiveHub;
use crate::http::auth::csrf;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiQuery, Id};
use crate::http::sockets;
use crate::http::state::AppState;
use crate::services::events::missed;
use crate::services::principal::{Credential, Principal};

/// The most events sent in one burst before the stream looks at its
/// other duties (pings, closing, rechecks) again.
const BURST: usize = 64;

/// Keeps idle connections alive through proxies.
const PING: Duration = Duration::from_secs(20);
/// A client that takes longer than this to accept a write has stopped
/// reading: its stream ends rather than hold a task (and its rechecks) for
/// as long as the peer keeps the connection open.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Ids remembered per client to drop duplicates (PostgreSQL may deliver
/// commits out of id order, so a high-water mark alone would drop some).
const REMEMBERED: usize = 1024;
/// WebSocket close code 1012, "service restart": reconnect shortly.
pub const CLOSE_RESTART: u16 = 1012;
/// Close code when the viewer's access ended (policy violation).
pub const CLOSE_POLICY: u16 = 1008;

#[derive(Debug, Deserialize)]
pub struct LiveQuery {
    after: Option<String>,
}

fn after(query: LiveQuery) -> ApiResult<Option<i64>> {
    match query.after.filter(|a| !a.trim().is_empty()) {
        None => Ok(None),
        Some(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|a| *a >= 0)
            .map(Some)
            .ok_or_else(|| ApiError::invalid("after", "an event id, 0 or more")),
    }
}

/// A browser's WebSocket carries its cookies to any site that asks, so a
/// session-authenticated one must come from our own pages.
fn check_origin(principal: &Principal, headers: &HeaderMap) -> ApiResult<()> {
    if principal.credential == Credential::Session {
        csrf::verdict(headers).map_err(|reason| {
            ApiError::Forbidden(format!("cross-site WebSocket refused: {reason}"))
        })?;
    }
    Ok(())
}

fn upgrade_required() -> ApiError {
    ApiError::UpgradeRequired("this is a WebSocket: connect with one to follow events".into())
}

/// `GET /api/v1/live?after=`: every event of the caller's tenant.
pub async fn tenant(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<LiveQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    principal.require(Action::Read)?;
    let after = after(query)?;
    check_origin(&principal, &headers)?;
    let ws = sockets::for_viewer(ws.map_err(|_| upgrade_required())?);
    Ok(ws
        .on_upgrade(move |socket| follow(socket, state, principal, None, after))
        .into_response())
}

/// `GET /api/v1/deployments/{id}/live?after=`: one deployment's events.
pub async fn deployment(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Id(id): Id,
    ApiQuery(query): ApiQuery<LiveQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    principal.require(Action::Read)?;
    crate::services::deployments::check_visible(&state.db, &principal.tenant, id).await?;
    let after = after(query)?;
    check_origin(&principal, &headers)?;
    let ws = sockets::for_viewer(ws.map_err(|_| upgrade_required())?);
    Ok(ws
        .on_upgrade(move |socket| follow(socket, state, principal, Some(id), after))
        .into_response())
}

/// Sends missed events, then live ones, until either side leaves.
async fn follow(
    mut socket: WebSocket,
    state: AppState,
    principal: Principal,
    deployment_id: Option<i64>,
    after: Option<i64>,
) {
    let tenant_id = principal.tenant.id;
    let hub: &LiveHub = &state.live;
    // Checked with the other streams of its viewer (`engine/viewers.rs`).
    let mut access = hub.viewers().open(&principal);
    // Subscribe before reading the backlog, so nothing falls in between.
    let mut events = hub.subscribe();
    let mut closing = hub.closing();
    hub.clients().inc();
    // Where a gap is read from when the stream falls behind before it sent
    // anything: what it asked for, or what was already out when it joined,
    // never the tenant's whole history.
    let mut sent = Sent::from(after.unwrap_or(0).max(hub.newest_published()));
    let mut ping = tokio::time::interval(PING);
    ping.tick().await;
    let mut ok = match after {
        Some(after) => {
            backlog(
                &mut socket,
                &state,
                tenant_id,
                deployment_id,
                after,
                &mut sent,
            )
            .await
        }
        None => true,
    };
    // The server shutting down, or the viewer losing access (a disabled
    // member, a removed membership or a revoked token; a database hiccup
    // ends nothing).
    let ending = async {
        tokio::select! {
            _ = closing.changed() => Ending::Restart,
            () = access.revoked() => Ending::Revoked,
        }
    };
    tokio::pin!(ending);
    while ok {
        tokio::select! {
            received = events.recv() => match received {
                Ok(live) => {
                    // A roll-out writes its nodes' events in bursts: what is
                    // already waiting goes out with this one, in few writes.
                    let mut burst = vec![live];
                    let mut lagged = false;
                    while burst.len() < BURST {
                        match events.try_recv() {
                            Ok(more) => burst.push(more),
                            Err(TryRecvError::Lagged(_)) => { lagged = true; break }
                            Err(_) => break,
                        }
                    }
                    for live in burst {
                        let wanted = live.tenant_id == tenant_id
                            && deployment_id.is_none_or(|d| live.event.deployment_id == Some(d));
                        if ok && wanted && sent.first_time(live.event.id) {
                            ok = in_time(socket.feed(Message::Text(live.json.clone()))).await;
                        }
                    }
                    ok = ok && in_time(socket.flush()).await;
                    if ok && lagged {
                        let from = sent.high_water();
                        ok = backlog(&mut socket, &state, tenant_id, deployment_id, from, &mut sent).await;
                    }
                }
                // Fell behind the buffer: read the gap from the database.
                Err(RecvError::Lagged(_)) => {
                    let from = sent.high_water();
                    ok = backlog(&mut socket, &state, tenant_id, deployment_id, from, &mut sent).await;
                }
                Err(RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                ok = in_time(socket.send(Message::Ping(Vec::new().into()))).await;
            }
            // Made once for the whole stream, not at every event.
            ending = &mut ending => {
                let (code, reason) = match ending {
                    Ending::Restart => (CLOSE_RESTART, "server restarting; reconnect"),
                    Ending::Revoked => (CLOSE_POLICY, "access revoked"),
                };
                let _ = in_time(socket.send(Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                }))))
                .await;
                break;
            }
        }
    }
    hub.clients().dec();
}

/// Why the server ends a stream.
enum Ending {
    Restart,
    Revoked,
}

async fn backlog(
    socket: &mut WebSocket,
    state: &AppState,
    tenant_id: i64,
    deployment_id: Option<i64>,
    mut after: i64,
    sent: &mut Sent,
) -> bool {
    loop {
        let page = match missed(&state.db, tenant_id, deployment_id, after, 500).await {
            Ok(page) => page,
            Err(error) => {
                tracing::warn!(%error, "could not read missed events for a live client");
                let _ = in_time(socket.send(Message::Close(Some(CloseFrame {
                    code: CLOSE_RESTART,
                    reason: "events unavailable; reconnect".into(),
                }))))
                .await;
                return false;
            }
        };
        let full = page.len() == 500;
        for event in &page {
            after = event.id;
            if sent.first_time(event.id) && !send(socket, event).await {
                return false;
            }
        }
        if !full {
            return true;
        }
    }
}

async fn send(socket: &mut WebSocket, event: &app::model::deployment::EventInfo) -> bool {
    match serde_json::to_string(event) {
        Ok(text) => in_time(socket.send(Message::Text(text.into()))).await,
        Err(_) => true,
    }
}

/// Whether a write went out, within [`SEND_TIMEOUT`].
async fn in_time<E>(write: impl std::future::Future<Output = Result<(), E>>) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, write).await, Ok(Ok(())))
}

/// The ids recently sent to one client, above the id it started from.
struct Sent {
    ids: BTreeSet<i64>,
    floor: i64,
}

impl Sent {
    fn from(floor: i64) -> Self {
        Sent {
            ids: BTreeSet::new(),
            floor,
        }
    }

    fn first_time(&mut self, id: i64) -> bool {
        if self
            .ids
            .first()
            .is_some_and(|low| id < *low && self.ids.len() >= REMEMBERED)
        {
            return false;
        }
        let new = self.ids.insert(id);
        while self.ids.len() > REMEMBERED {
            self.ids.pop_first();
        }
        new
    }

    /// Where to read a gap from: past the newest sent, or the floor.
    fn high_water(&self) -> i64 {
        self.ids.last().copied().unwrap_or(0).max(self.floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_behind_before_it_sent_anything_reads_from_where_it_joined() {
        let sent = Sent::from(200_000);
        assert_eq!(sent.high_water(), 200_000, "not the whole history");
        let mut sent = Sent::from(0);
        assert!(sent.first_time(7));
        assert_eq!(sent.high_water(), 7);
    }

    #[test]
    fn an_event_is_sent_once() {
        let mut sent = Sent::from(0);
        assert!(sent.first_time(3));
        assert!(sent.first_time(1), "out of id order is still new");
        assert!(!sent.first_time(3));
    }
}
