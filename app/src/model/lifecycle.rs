//! The states a deployment, its steps and its nodes move through (SPEC §3),
//! as types. Their stored names are the serde names: the server maps them to
//! columns (SeaORM's `DeriveActiveEnum`, `ssr` only), the browser reads them
//! from the same JSON. Nothing else spells them out.

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use sea_orm::{DeriveActiveEnum, EnumIter};

/// Declares a string-stored enum: its variants, its stored name and its
/// column mapping, from one list.
macro_rules! stored_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "ssr", derive(EnumIter, DeriveActiveEnum))]
        #[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "Text"))]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $text)]
                #[cfg_attr(feature = "ssr", sea_orm(string_value = $text))]
                $variant,
            )+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name stored in the database and used in the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(value: &str) -> Option<Self> {
                match value {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use stored_enum;

stored_enum! {
    /// The life cycle of a deployment.
    pub enum DeploymentStatus {
        PendingApproval = "pending_approval",
        Queued = "queued",
        Running = "running",
        Paused = "paused",
        Succeeded = "succeeded",
        Failed = "failed",
        RolledBack = "rolled_back",
        Rejected = "rejected",
        Expired = "expired",
        Cancelled = "cancelled",
    }
}

impl DeploymentStatus {
    /// The words a person reads on a badge.
    pub fn label(self) -> &'static str {
        match self {
            Self::PendingApproval => "pending approval",
            Self::RolledBack => "rolled back",
            other => other.as_str(),
        }
    }

    /// Active deployments hold their (module, environment) slot.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Self::PendingApproval | Self::Queued | Self::Running | Self::Paused
        )
    }

    /// Finished deployments never change status again.
    pub fn is_finished(self) -> bool {
        !self.is_active()
    }

    pub fn active() -> impl Iterator<Item = DeploymentStatus> {
        Self::ALL.iter().copied().filter(|s| s.is_active())
    }
}

stored_enum! {
    /// Where a running deployment is inside its current phase.
    pub enum Stage {
        /// Sending the phase's swaps (or switching traffic) and waiting for them.
        Swap = "swap",
        /// Watching the phase: its wait, and canary analysis where it has limits.
        Verify = "verify",
        /// Undoing what was swapped; ends the deployment.
        Rollback = "rollback",
    }
}

stored_enum! {
    /// What a deployment step asks its node to do.
    pub enum StepAction {
        Swap = "swap",
        Rollback = "rollback",
    }
}

stored_enum! {
    /// A step's command, from written to answered.
    pub enum StepStatus {
        /// Written; not yet sent to the node.
        Pending = "pending",
        /// Sent; waiting for the node's answer.
        Sent = "sent",
        Done = "done",
        Failed = "failed",
    }
}

impl StepStatus {
    /// Still waiting for an answer.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Sent)
    }
}

stored_enum! {
    /// Whether a node's agent is connected.
    pub enum NodeStatus {
        Online = "online",
        Offline = "offline",
        /// Kept out of new roll-outs.
        Draining = "draining",
    }
}

stored_enum! {
    /// What canary analysis made of a window of samples.
    pub enum Verdict {
        Pass = "pass",
        Fail = "fail",
        /// Too few requests to say.
        Inconclusive = "inconclusive",
    }
}

stored_enum! {
    /// A person's answer to an approval request.
    pub enum Decision {
        Approved = "approved",
        Rejected = "rejected",
    }
}

stored_enum! {
    /// A phase of the plan as the detail page shows it.
    pub enum PhaseState {
        Pending = "pending",
        Active = "active",
        Done = "done",
    }
}

stored_enum! {
    /// One node's part in a deployment, from its steps.
    pub enum NodeProgressState {
        Waiting = "waiting",
        Swapping = "swapping",
        Swapped = "swapped",
        Failed = "failed",
        RollingBack = "rolling_back",
        RolledBack = "rolled_back",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T>(all: &[T], as_str: fn(T) -> &'static str, parse: fn(&str) -> Option<T>)
    where
        T: Copy + PartialEq + std::fmt::Debug + Serialize,
    {
        for value in all {
            assert_eq!(parse(as_str(*value)), Some(*value));
            let json = serde_json::to_string(value).expect("serialises");
            assert_eq!(json, format!("\"{}\"", as_str(*value)));
        }
        assert_eq!(parse("done-ish"), None);
    }

    #[test]
    fn every_state_round_trips_through_its_stored_name() {
        round_trips(
            DeploymentStatus::ALL,
            DeploymentStatus::as_str,
            DeploymentStatus::parse,
        );
        round_trips(Stage::ALL, Stage::as_str, Stage::parse);
        round_trips(StepAction::ALL, StepAction::as_str, StepAction::parse);
        round_trips(StepStatus::ALL, StepStatus::as_str, StepStatus::parse);
        round_trips(NodeStatus::ALL, NodeStatus::as_str, NodeStatus::parse);
        round_trips(Verdict::ALL, Verdict::as_str, Verdict::parse);
        round_trips(Decision::ALL, Decision::as_str, Decision::parse);
        round_trips(PhaseState::ALL, PhaseState::as_str, PhaseState::parse);
        round_trips(
            NodeProgressState::ALL,
            NodeProgressState::as_str,
            NodeProgressState::parse,
        );
    }

    #[test]
    fn only_undecided_and_in_flight_deployments_hold_the_slot() {
        let active: Vec<_> = DeploymentStatus::active().collect();
        assert_eq!(
            active,
            [
                DeploymentStatus::PendingApproval,
                DeploymentStatus::Queued,
                DeploymentStatus::Running,
                DeploymentStatus::Paused
            ]
        );
    }

    #[test]
    fn labels_read_as_words() {
        assert_eq!(DeploymentStatus::RolledBack.label(), "rolled back");
        assert_eq!(DeploymentStatus::Queued.label(), "queued");
    }
}
