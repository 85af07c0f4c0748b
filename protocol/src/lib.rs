//! The agent protocol: JSON messages over one WebSocket, versioned so either
//! side can refuse a peer it does not understand.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const PROTOCOL_VERSION: u32 = 1;

/// `POST /api/v1/agents/enroll`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollRequest {
    pub token: String,
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub agent_version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub node_id: i64,
    /// The node's own secret from now on; the enrollment token is not needed again.
    pub credential: String,
    pub environment: String,
    pub pool: Option<String>,
    pub heartbeat_secs: u64,
}

/// What is installed, module by module: the version `current` points at.
pub type Modules = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentMessage {
    Hello {
        protocol: u32,
        agent_version: String,
        modules: Modules,
    },
    Heartbeat {
        modules: Modules,
        /// Health-probe statistics since the previous heartbeat, if the agent probes.
        sample: Option<ProbeSample>,
    },
    Result(CommandResult),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProbeSample {
    pub requests: u64,
    pub errors: u64,
    pub p95_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandResult {
    pub command_id: String,
    pub ok: bool,
    pub error: Option<String>,
    pub module: String,
    /// What `current` points at after the command, whatever happened.
    pub current_version: Option<String>,
    /// What it pointed at before: where a rollback returns to.
    pub previous_version: Option<String>,
    pub modules: Modules,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Swap(SwapCommand),
    Rollback {
        command_id: String,
        module: String,
        /// `None`: the module was not installed before; remove `current`.
        to_version: Option<String>,
    },
    Ping,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwapCommand {
    pub command_id: String,
    pub module: String,
    pub version: String,
    pub url: String,
    pub sha256: String,
    /// Ed25519 signature of the artifact's SHA-256 digest, hex or base64.
    pub signature: Option<String>,
    /// Set when the module requires signed artifacts.
    pub public_key: Option<String>,
}

impl ServerMessage {
    pub fn command_id(&self) -> Option<&str> {
        match self {
            ServerMessage::Swap(s) => Some(&s.command_id),
            ServerMessage::Rollback { command_id, .. } => Some(command_id),
            ServerMessage::Ping => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json() {
        let ping = serde_json::to_value(ServerMessage::Ping).unwrap();
        assert_eq!(ping, serde_json::json!({"type": "ping"}));
        let hello: AgentMessage = serde_json::from_str(
            r#"{"type":"hello","protocol":1,"agent_version":"0.1.0","modules":{"api":"1.0"}}"#,
        )
        .unwrap();
        assert!(matches!(hello, AgentMessage::Hello { protocol: 1, .. }));
    }
}
