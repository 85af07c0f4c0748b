//! The agents' side of the API: enrollment (with an enrollment token) and the
//! WebSocket every agent keeps open (with its node credential). Neither is a
//! member's request, so neither goes through roles.

use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::engine::dispatch::{self, Resend};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::ApiJson;
use crate::http::routes::Routes;
use crate::http::sockets;
use crate::http::state::AppState;
use crate::services::nodes;
use hotswap_protocol::{
    AgentMessage, EnrollRequest, EnrollResponse, Modules, ServerMessage, PROTOCOL_VERSION,
};

/// How often a connection pings its agent, so proxies in between keep an
/// idle connection open. Commands due are found by the engine's sweep of
/// all this replica's connections, not by each connection reading the
/// database: a fleet of 10,000 would be 3,000 reads a second doing nothing.
const PING: Duration = Duration::from_secs(20);

pub fn routes() -> Routes {
    Routes::new()
        .post("/agents/enroll", enroll)
        .get("/agents/connect", connect)
}

/// `POST /api/v1/agents/enroll` `{token, name, labels, agent_version}` → 201.
async fn enroll(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<EnrollRequest>,
) -> ApiResult<(axum::http::StatusCode, Json<EnrollResponse>)> {
    let enrolled = nodes::enroll(&state.db, request)
        .await
        .map_err(|e| match e {
            crate::services::ServiceError::Unauthorized => ApiError::Forbidden(
                "the enrollment token is unknown, used up, revoked or expired; ask an Admin for a new one".into(),
            ),
            other => other.into(),
        })?;
    Ok((axum::http::StatusCode::CREATED, Json(enrolled)))
}

/// `GET /api/v1/agents/connect` with `Authorization: Bearer <node credential>`.
async fn connect(
    State(state): State<AppState>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let credential = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let node = match nodes::authenticate(&state.db, credential).await {
        Ok(node) => node,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Ok(ws) = ws else {
        return ApiError::UpgradeRequired("agents connect with a WebSocket".into()).into_response();
    };
    sockets::for_agent(ws).on_upgrade(move |socket| async move {
        let node_id = node.id;
        if let Err(error) = session(state.clone(), node, socket).await {
            tracing::info!(node_id, %error, "agent connection ended");
        }
    })
}

/// Ends the session of a node an Admin removed (its credential is gone).
/// A database error keeps the agent: the next sweep asks again.
async fn ensure_enrolled(
    db: &sea_orm::DatabaseConnection,
    node: &nodes::Node,
) -> anyhow::Result<()> {
    match nodes::still_enrolled(db, node).await {
        Ok(false) => anyhow::bail!("the node was removed"),
        _ => Ok(()),
    }
}

fn text(message: &ServerMessage) -> Message {
    Message::Text(serde_json::to_string(message).unwrap_or_default().into())
}

async fn session(state: AppState, node: nodes::Node, mut socket: WebSocket) -> anyhow::Result<()> {
    let engine = state.engine.clone();
    let db = state.db.clone();
    let link = engine.hub().register(node.id);
    // When this connection last wrote its node's heartbeat.
    let mut last_beat = chrono::Utc::now();
    let outcome = async {
        // The first message must be hello.
        let first = tokio::time::timeout(Duration::from_secs(10), socket.recv()).await;
        let Ok(Some(Ok(Message::Text(hello)))) = first else {
            anyhow::bail!("no hello");
        };
        let AgentMessage::Hello { protocol, agent_version, modules } = serde_json::from_str(&hello)? else {
            anyhow::bail!("the first message was not hello");
        };
        if protocol != PROTOCOL_VERSION {
            anyhow::bail!("agent speaks protocol {protocol}, this server {PROTOCOL_VERSION}");
        }
        nodes::seen(&db, &node, &modules, Some(&agent_version)).await?;
        let mut reported = Reported::new(modules, engine.config().node_timeout, &mut last_beat);
        tracing::info!(node = %node.name, "agent connected");
        deliver(&engine, &node, &mut socket, Resend::All).await?;
        let mut ping = tokio::time::interval(PING);
        ping.tick().await;
        loop {
            tokio::select! {
                incoming = socket.recv() => {
                    let Some(incoming) = incoming else { return Ok(()) };
                    match incoming? {
                        Message::Text(body) => match serde_json::from_str::<AgentMessage>(&body) {
                            Ok(message) => {
                                // A database outage must not drop the agent or its
                                // news: the message is written once the database is
                                // back (a result left unwritten after that is re-sent
                                // by the agent, which journals it, after a sweep).
                                if let Err(error) = handle_when_possible(&engine, &node, &mut reported, message).await {
                                    tracing::warn!(node = %node.name, %error, "could not record an agent message");
                                }
                            }
                            Err(error) => tracing::warn!(node = %node.name, %error, "unreadable agent message"),
                        },
                        Message::Close(_) => return Ok(()),
                        _ => {}
                    }
                }
                _ = link.woken() => {
                    if link.is_replaced() {
                        anyhow::bail!("replaced by a newer connection of this node");
                    }
                    if link.take_recheck() {
                        ensure_enrolled(&db, &node).await?;
                    }
                    deliver(&engine, &node, &mut socket, Resend::After(dispatch::resend_after())).await?;
                }
                _ = ping.tick() => {
                    socket.send(text(&ServerMessage::Ping)).await?;
                }
            }
        }
    }
    .await;
    // A node that reconnected, here or on another replica, has a newer
    // connection: it is not offline because its old one ended.
    if engine.hub().unregister(node.id, &link) {
        if let Err(error) = nodes::disconnected(&db, node.id, last_beat).await {
            tracing::warn!(%error, "could not mark a node offline");
        }
    }
    tracing::info!(node = %node.name, "agent disconnected");
    outcome
}

/// Sends the node its due commands. Only a broken socket is an error here; a
/// database error leaves the commands pending for the next sweep.
async fn deliver(
    engine: &crate::engine::Engine,
    node: &nodes::Node,
    socket: &mut WebSocket,
    resend: Resend,
) -> Result<(), axum::Error> {
    let due = dispatch::Due {
        node_id: node.id,
        resend,
    };
    match engine.commands_for(due).await {
        Ok(commands) => {
            for command in commands {
                socket.send(text(&command)).await?;
            }
        }
        Err(error) => {
            tracing::warn!(node = %node.name, %error, "could not read the node's commands; retrying at the next sweep")
        }
    }
    Ok(())
}

/// How long a message waits for the database to come back before it is
/// dropped (the agent sends heartbeats again and re-sends results).
const HOLD_THROUGH_OUTAGE: Duration = Duration::from_secs(60);

/// [`handle`], tried again while the database is unreachable, so what an
/// agent reported during an outage is written as soon as it ends. Messages
/// stay in order: later ones wait in the socket meanwhile.
async fn handle_when_possible(
    engine: &crate::engine::Engine,
    node: &nodes::Node,
    reported: &mut Reported<'_>,
    message: AgentMessage,
) -> Result<(), crate::services::ServiceError> {
    let give_up = tokio::time::Instant::now() + HOLD_THROUGH_OUTAGE;
    let mut pause = Duration::from_millis(100);
    loop {
        match handle(engine, node, reported, message.clone()).await {
            Err(crate::services::ServiceError::Unavailable(_))
                if tokio::time::Instant::now() + pause < give_up =>
            {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            outcome => return outcome,
        }
    }
}

/// What a connection last wrote of its node's heartbeats. Agents beat every
/// couple of seconds; writing each beat would be 5,000 writes a second for
/// 10,000 nodes. A beat is written when what the node runs differs from
/// what was last written (by a beat or a result), and otherwise a third of
/// the offline timeout after the last one written, so a live node is never
/// taken for silent.
struct Reported<'a> {
    modules: Modules,
    written: Option<tokio::time::Instant>,
    refresh: Duration,
    /// The wall-clock time of the last write, for the disconnect.
    at: &'a mut chrono::DateTime<chrono::Utc>,
}

impl<'a> Reported<'a> {
    fn new(
        modules: Modules,
        node_timeout: chrono::Duration,
        at: &'a mut chrono::DateTime<chrono::Utc>,
    ) -> Self {
        *at = chrono::Utc::now();
        Self {
            modules,
            written: Some(tokio::time::Instant::now()),
            refresh: node_timeout.to_std().unwrap_or(Duration::from_secs(15)) / 3,
            at,
        }
    }

    fn is_news(&self, modules: &Modules) -> bool {
        *modules != self.modules || self.written.is_none_or(|at| at.elapsed() >= self.refresh)
    }

    fn written(&mut self, modules: Modules) {
        self.modules = modules;
        self.written = Some(tokio::time::Instant::now());
        *self.at = chrono::Utc::now();
    }

    /// A result wrote `modules` as what the node runs (without its beat).
    /// The next beat is written only if it says otherwise: a result replayed
    /// from the agent's journal carries the list of its time.
    fn recorded(&mut self, modules: Modules) {
        self.modules = modules;
    }
}

async fn handle(
    engine: &crate::engine::Engine,
    node: &nodes::Node,
    reported: &mut Reported<'_>,
    message: AgentMessage,
) -> Result<(), crate::services::ServiceError> {
    let db = engine.db();
    match message {
        AgentMessage::Heartbeat { modules, sample } => {
            if reported.is_news(&modules) {
                nodes::seen(db, node, &modules, None).await?;
                reported.written(modules);
            }
            if let Some(sample) = sample {
                nodes::record_sample(db, node, sample).await?;
            }
        }
        AgentMessage::Result(result) if !dispatch::writable(&result) => {
            tracing::warn!(node = %node.name, "an answer with text no database can hold was dropped");
        }
        AgentMessage::Result(result) => {
            let modules = result.modules.clone();
            engine
                .record_answer(dispatch::Answer {
                    node_id: node.id,
                    node_name: node.name.clone(),
                    result,
                })
                .await?;
            reported.recorded(modules);
        }
        AgentMessage::Hello { .. } => {}
    }
    Ok(())
}
