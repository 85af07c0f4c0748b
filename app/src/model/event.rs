//! The deployment event log's entries, typed. The server writes an [`Event`]
//! (its kind and payload go to two columns and to the API as `kind` and
//! `payload`); the browser reads one back with [`EventInfo::event`] to render it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::lifecycle::{stored_enum, Decision, Verdict};

#[cfg(feature = "ssr")]
use sea_orm::{DeriveActiveEnum, EnumIter};

stored_enum! {
    /// Which kind of entry an event is; one per [`Event`] variant.
    pub enum EventKind {
        DeploymentCreated = "deployment_created",
        ApprovalRequested = "approval_requested",
        Approved = "approved",
        Rejected = "rejected",
        FreezeOverridden = "freeze_overridden",
        DeploymentStarted = "deployment_started",
        PhaseStarted = "phase_started",
        PhaseSwapped = "phase_swapped",
        NodeSwapped = "node_swapped",
        NodeSwapFailed = "node_swap_failed",
        NodeRolledBack = "node_rolled_back",
        NodeRollbackFailed = "node_rollback_failed",
        Analysis = "analysis",
        TrafficSwitched = "traffic_switched",
        RollbackStarted = "rollback_started",
        Paused = "paused",
        Resumed = "resumed",
        Promoted = "promoted",
        DeploymentSucceeded = "deployment_succeeded",
        DeploymentFailed = "deployment_failed",
        DeploymentRolledBack = "deployment_rolled_back",
        DeploymentCancelled = "deployment_cancelled",
        DeploymentRejected = "deployment_rejected",
        DeploymentExpired = "deployment_expired",
    }
}

stored_enum! {
    /// What a webhook may subscribe to: the moments people are told about.
    pub enum WebhookTopic {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
        Expired = "expired",
        Succeeded = "succeeded",
        Failed = "failed",
        RolledBack = "rolled_back",
    }
}

stored_enum! {
    /// Where one webhook delivery stands.
    pub enum DeliveryStatus {
        /// Waiting for its next attempt (or in one).
        Pending = "pending",
        Delivered = "delivered",
        /// Given up.
        Failed = "failed",
    }
}

/// One entry of a deployment's event log, with its payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Event {
    DeploymentCreated(Created),
    ApprovalRequested(ApprovalRequested),
    Approved(Decided),
    Rejected(Decided),
    FreezeOverridden(FreezeOverridden),
    DeploymentStarted(Started),
    PhaseStarted(PhaseStarted),
    PhaseSwapped(PhaseSwapped),
    NodeSwapped(NodeOutcome),
    NodeSwapFailed(NodeOutcome),
    NodeRolledBack(NodeOutcome),
    NodeRollbackFailed(NodeOutcome),
    Analysis(Analysis),
    TrafficSwitched(TrafficSwitched),
    RollbackStarted(Reason),
    Paused(Actor),
    Resumed(Actor),
    Promoted(Promoted),
    DeploymentSucceeded(Ended),
    DeploymentFailed(Ended),
    DeploymentRolledBack(Ended),
    DeploymentCancelled(Ended),
    DeploymentRejected(Ended),
    DeploymentExpired(Ended),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Created {
    pub module: String,
    pub version: String,
    pub environment: String,
    /// The strategy document as requested.
    pub strategy: Value,
    pub rollback_of: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequested {
    pub required: i32,
    pub deadline: DateTime<Utc>,
    pub environment: String,
}

/// An approval or a rejection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decided {
    pub by: String,
    pub comment: Option<String>,
    /// Approvals so far, this one included.
    pub approvals: i64,
    pub required: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FreezeOverridden {
    pub by: String,
    pub reason: String,
    pub window: String,
    /// The window's schedule in words.
    pub schedule: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Started {
    pub strategy: String,
    pub nodes: usize,
    /// The phases' labels, in order.
    pub phases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseStarted {
    pub phase: i32,
    pub label: String,
    pub nodes: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseSwapped {
    pub phase: i32,
    pub label: String,
    pub swapped: usize,
    pub failed: usize,
}

/// How one node's swap or rollback ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeOutcome {
    /// `None` once the node was removed.
    pub node: Option<String>,
    pub node_id: Option<i64>,
    pub phase: i32,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub previous_version: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

/// One judgement of a canary window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub phase: i32,
    pub label: String,
    pub verdict: Verdict,
    pub reason: String,
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub p95_ms: f64,
    pub max_error_rate: f64,
    pub max_p95_ms: f64,
    pub canaries: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrafficSwitched {
    pub environment: String,
    pub from: Option<String>,
    pub to: String,
    /// Switched back as part of a rollback.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rollback: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Promoted {
    pub by: String,
    pub phase: i32,
}

/// How a deployment ended, in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ended {
    pub outcome: String,
}

impl Event {
    pub fn kind(&self) -> EventKind {
        use EventKind as K;
        match self {
            Event::DeploymentCreated(_) => K::DeploymentCreated,
            Event::ApprovalRequested(_) => K::ApprovalRequested,
            Event::Approved(_) => K::Approved,
            Event::Rejected(_) => K::Rejected,
            Event::FreezeOverridden(_) => K::FreezeOverridden,
            Event::DeploymentStarted(_) => K::DeploymentStarted,
            Event::PhaseStarted(_) => K::PhaseStarted,
            Event::PhaseSwapped(_) => K::PhaseSwapped,
            Event::NodeSwapped(_) => K::NodeSwapped,
            Event::NodeSwapFailed(_) => K::NodeSwapFailed,
            Event::NodeRolledBack(_) => K::NodeRolledBack,
            Event::NodeRollbackFailed(_) => K::NodeRollbackFailed,
            Event::Analysis(_) => K::Analysis,
            Event::TrafficSwitched(_) => K::TrafficSwitched,
            Event::RollbackStarted(_) => K::RollbackStarted,
            Event::Paused(_) => K::Paused,
            Event::Resumed(_) => K::Resumed,
            Event::Promoted(_) => K::Promoted,
            Event::DeploymentSucceeded(_) => K::DeploymentSucceeded,
            Event::DeploymentFailed(_) => K::DeploymentFailed,
            Event::DeploymentRolledBack(_) => K::DeploymentRolledBack,
            Event::DeploymentCancelled(_) => K::DeploymentCancelled,
            Event::DeploymentRejected(_) => K::DeploymentRejected,
            Event::DeploymentExpired(_) => K::DeploymentExpired,
        }
    }

    /// The payload column: the variant's fields as a JSON object.
    pub fn payload(&self) -> Value {
        match serde_json::to_value(self) {
            Ok(Value::Object(mut tagged)) => tagged.remove("payload").unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// Reads an event back from its kind and payload; `None` if they do not fit.
    pub fn from_parts(kind: EventKind, payload: &Value) -> Option<Event> {
        let tagged = serde_json::json!({ "kind": kind.as_str(), "payload": payload });
        serde_json::from_value(tagged).ok()
    }

    /// The event that ends a deployment with `status`, if it is a final one.
    pub fn ended(status: super::lifecycle::DeploymentStatus, outcome: String) -> Option<Event> {
        use super::lifecycle::DeploymentStatus as S;
        let ended = Ended { outcome };
        Some(match status {
            S::Succeeded => Event::DeploymentSucceeded(ended),
            S::Failed => Event::DeploymentFailed(ended),
            S::RolledBack => Event::DeploymentRolledBack(ended),
            S::Cancelled => Event::DeploymentCancelled(ended),
            S::Rejected => Event::DeploymentRejected(ended),
            S::Expired => Event::DeploymentExpired(ended),
            S::PendingApproval | S::Queued | S::Running | S::Paused => return None,
        })
    }

    /// An approval or a rejection, by its decision.
    pub fn decided(decision: Decision, decided: Decided) -> Event {
        match decision {
            Decision::Approved => Event::Approved(decided),
            Decision::Rejected => Event::Rejected(decided),
        }
    }

    /// The webhook topic this event stands for, if any. An approval counts
    /// once the deployment has all the approvals it needs.
    pub fn webhook_topic(&self) -> Option<WebhookTopic> {
        Some(match self {
            Event::ApprovalRequested(_) => WebhookTopic::Pending,
            Event::Approved(d) if d.approvals >= d.required => WebhookTopic::Approved,
            Event::DeploymentRejected(_) => WebhookTopic::Rejected,
            Event::DeploymentExpired(_) => WebhookTopic::Expired,
            Event::DeploymentSucceeded(_) => WebhookTopic::Succeeded,
            Event::DeploymentFailed(_) => WebhookTopic::Failed,
            Event::DeploymentRolledBack(_) => WebhookTopic::RolledBack,
            _ => return None,
        })
    }

    /// One line a person reads for it.
    pub fn describe(&self) -> String {
        match self {
            Event::DeploymentCreated(c) => {
                format!("{} {} requested for {}", c.module, c.version, c.environment)
            }
            Event::DeploymentStarted(s) => {
                format!("started: {} nodes, {}", s.nodes, s.phases.join(" → "))
            }
            Event::PhaseStarted(p) => format!("{} started on {} node(s)", p.label, p.nodes),
            Event::PhaseSwapped(p) => {
                format!("{}: {} swapped, {} failed", p.label, p.swapped, p.failed)
            }
            Event::NodeSwapped(n) => format!(
                "{} now runs {}",
                node_name(n),
                n.version.as_deref().unwrap_or("")
            ),
            Event::NodeSwapFailed(n) => {
                format!(
                    "{} failed: {}",
                    node_name(n),
                    n.error.as_deref().unwrap_or("")
                )
            }
            Event::NodeRolledBack(n) => match &n.version {
                Some(v) => format!("{} back on {v}", node_name(n)),
                None => format!("{} back to nothing installed", node_name(n)),
            },
            Event::NodeRollbackFailed(n) => format!(
                "{} could not roll back: {}",
                node_name(n),
                n.error.as_deref().unwrap_or("")
            ),
            Event::Analysis(a) => format!("{}: {} — {}", a.label, a.verdict, a.reason),
            Event::TrafficSwitched(t) => format!("traffic switched to the {} pool", t.to),
            Event::RollbackStarted(r) => format!("rolling back: {}", r.reason),
            Event::Paused(a) => format!("paused by {}", a.by),
            Event::Resumed(a) => format!("resumed by {}", a.by),
            Event::Promoted(p) => format!("promoted by {}", p.by),
            Event::ApprovalRequested(a) => {
                format!("waiting for {} approval(s) before it starts", a.required)
            }
            Event::Approved(d) => format!(
                "approved by {} ({} of {}){}",
                d.by,
                d.approvals,
                d.required,
                comment(&d.comment)
            ),
            Event::Rejected(d) => format!("rejected by {}{}", d.by, comment(&d.comment)),
            Event::FreezeOverridden(f) => {
                format!("freeze “{}” overridden by {}: {}", f.window, f.by, f.reason)
            }
            Event::DeploymentSucceeded(e)
            | Event::DeploymentFailed(e)
            | Event::DeploymentRolledBack(e)
            | Event::DeploymentCancelled(e)
            | Event::DeploymentRejected(e)
            | Event::DeploymentExpired(e) => {
                let kind = self.kind();
                let word = kind
                    .as_str()
                    .trim_start_matches("deployment_")
                    .replace('_', " ");
                format!("{word}: {}", e.outcome)
            }
        }
    }
}

fn node_name(n: &NodeOutcome) -> &str {
    n.node.as_deref().unwrap_or("a removed node")
}

fn comment(comment: &Option<String>) -> String {
    match comment.as_deref().map(str::trim) {
        Some(c) if !c.is_empty() => format!(": “{c}”"),
        _ => String::new(),
    }
}

/// One entry of the event log as the API and the live feed carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventInfo {
    pub id: i64,
    pub deployment_id: Option<i64>,
    pub kind: EventKind,
    pub payload: Value,
    pub created_at: DateTime<Utc>,
}

impl EventInfo {
    /// The typed event, if its payload reads as its kind's.
    pub fn event(&self) -> Option<Event> {
        Event::from_parts(self.kind, &self.payload)
    }

    /// One line a person reads for it.
    pub fn describe(&self) -> String {
        match self.event() {
            Some(event) => event.describe(),
            None => self.kind.as_str().replace('_', " "),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    pub items: Vec<EventInfo>,
    /// Pass as `after` to read on.
    pub last_id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info(event: &Event) -> EventInfo {
        EventInfo {
            id: 1,
            deployment_id: Some(7),
            kind: event.kind(),
            payload: event.payload(),
            created_at: DateTime::<Utc>::default(),
        }
    }

    fn samples() -> Vec<Event> {
        let node = NodeOutcome {
            node: Some("web-1".into()),
            node_id: Some(3),
            phase: 0,
            version: Some("1.2.0".into()),
            previous_version: Some("1.1.0".into()),
            error: None,
        };
        let decided = Decided {
            by: "alice".into(),
            comment: Some(" looks good ".into()),
            approvals: 1,
            required: 2,
        };
        let ended = Ended {
            outcome: "3 nodes swapped".into(),
        };
        vec![
            Event::DeploymentCreated(Created {
                module: "api".into(),
                version: "1.2.0".into(),
                environment: "prod".into(),
                strategy: json!({"kind": "direct"}),
                rollback_of: None,
            }),
            Event::ApprovalRequested(ApprovalRequested {
                required: 2,
                deadline: DateTime::<Utc>::default(),
                environment: "prod".into(),
            }),
            Event::Approved(decided.clone()),
            Event::Rejected(decided),
            Event::FreezeOverridden(FreezeOverridden {
                by: "root".into(),
                reason: "hotfix".into(),
                window: "weekend".into(),
                schedule: "weekly, Sat 00:00 for 48h".into(),
            }),
            Event::DeploymentStarted(Started {
                strategy: "rolling".into(),
                nodes: 4,
                phases: vec!["batch 1".into(), "batch 2".into()],
            }),
            Event::PhaseStarted(PhaseStarted {
                phase: 0,
                label: "batch 1".into(),
                nodes: 2,
            }),
            Event::PhaseSwapped(PhaseSwapped {
                phase: 0,
                label: "batch 1".into(),
                swapped: 2,
                failed: 0,
            }),
            Event::NodeSwapped(node.clone()),
            Event::NodeSwapFailed(NodeOutcome {
                error: Some("checksum mismatch".into()),
                ..node.clone()
            }),
            Event::NodeRolledBack(NodeOutcome {
                version: None,
                ..node.clone()
            }),
            Event::NodeRollbackFailed(NodeOutcome { node: None, ..node }),
            Event::Analysis(Analysis {
                phase: 0,
                label: "canary 5%".into(),
                verdict: Verdict::Fail,
                reason: "error rate 9.0 % > 1.0 %".into(),
                requests: 100,
                errors: 9,
                error_rate: 0.09,
                p95_ms: 120.0,
                max_error_rate: 0.01,
                max_p95_ms: 500.0,
                canaries: 1,
            }),
            Event::TrafficSwitched(TrafficSwitched {
                environment: "prod".into(),
                from: Some("blue".into()),
                to: "green".into(),
                rollback: false,
            }),
            Event::RollbackStarted(Reason {
                reason: "aborted by bob".into(),
            }),
            Event::Paused(Actor { by: "bob".into() }),
            Event::Resumed(Actor { by: "bob".into() }),
            Event::Promoted(Promoted {
                by: "bob".into(),
                phase: 1,
            }),
            Event::DeploymentSucceeded(ended.clone()),
            Event::DeploymentFailed(ended.clone()),
            Event::DeploymentRolledBack(ended.clone()),
            Event::DeploymentCancelled(ended.clone()),
            Event::DeploymentRejected(ended.clone()),
            Event::DeploymentExpired(ended),
        ]
    }

    #[test]
    fn every_kind_has_a_variant_whose_name_it_stores() {
        let events = samples();
        let kinds: Vec<EventKind> = events.iter().map(Event::kind).collect();
        assert_eq!(kinds, EventKind::ALL, "one sample per kind, in order");
        for event in &events {
            let tagged = serde_json::to_value(event).expect("serialises");
            assert_eq!(tagged["kind"], event.kind().as_str());
        }
    }

    #[test]
    fn every_event_reads_back_from_its_kind_and_payload() {
        for event in samples() {
            assert_eq!(info(&event).event(), Some(event.clone()), "{event:?}");
        }
    }

    #[test]
    fn the_stored_payload_keeps_the_api_shape() {
        let switched = Event::TrafficSwitched(TrafficSwitched {
            environment: "prod".into(),
            from: None,
            to: "blue".into(),
            rollback: true,
        });
        assert_eq!(
            switched.payload(),
            json!({"environment": "prod", "from": null, "to": "blue", "rollback": true})
        );
        let forward = Event::TrafficSwitched(TrafficSwitched {
            rollback: false,
            ..match switched {
                Event::TrafficSwitched(t) => t,
                _ => unreachable!(),
            }
        });
        assert!(forward.payload().get("rollback").is_none());
    }

    #[test]
    fn lines_read_as_a_person_would_write_them() {
        let lines: Vec<String> = samples().iter().map(|e| info(e).describe()).collect();
        assert_eq!(lines[0], "api 1.2.0 requested for prod");
        assert_eq!(lines[2], "approved by alice (1 of 2): “looks good”");
        assert_eq!(lines[5], "started: 4 nodes, batch 1 → batch 2");
        assert_eq!(lines[10], "web-1 back to nothing installed");
        assert_eq!(lines[11], "a removed node could not roll back: ");
        assert_eq!(lines[12], "canary 5%: fail — error rate 9.0 % > 1.0 %");
        assert_eq!(lines[17], "promoted by bob");
        assert_eq!(lines[20], "rolled back: 3 nodes swapped");
    }

    #[test]
    fn webhooks_hear_of_requests_decisions_and_endings_only() {
        let topics: Vec<Option<WebhookTopic>> =
            samples().iter().map(Event::webhook_topic).collect();
        let told: Vec<WebhookTopic> = topics.iter().flatten().copied().collect();
        use WebhookTopic as T;
        assert_eq!(
            told,
            [
                T::Pending,
                T::Succeeded,
                T::Failed,
                T::RolledBack,
                T::Rejected,
                T::Expired
            ]
        );
        // Approved only with every approval in: the sample has 1 of 2.
        let complete = Event::Approved(Decided {
            by: "a".into(),
            comment: None,
            approvals: 2,
            required: 2,
        });
        assert_eq!(complete.webhook_topic(), Some(T::Approved));
        // A cancellation is the requester's own doing: nobody is told.
        assert_eq!(topics[21], None);
    }

    #[test]
    fn a_payload_that_does_not_fit_its_kind_still_reads_as_its_kind() {
        let odd = EventInfo {
            payload: json!({"unexpected": true}),
            ..info(&Event::Paused(Actor { by: "x".into() }))
        };
        assert_eq!(odd.event(), None);
        assert_eq!(odd.describe(), "paused");
    }
}
