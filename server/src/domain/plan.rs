//! Turning a strategy and an environment's nodes into phases. Computed once when
//! a deployment starts and stored with it, so a worker that resumes it follows
//! the same plan.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::analysis::Thresholds;
use crate::domain::strategy::{BatchSize, Strategy};

/// A node as planning sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanNode {
    pub id: i64,
    pub pool: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub phases: Vec<Phase>,
    /// Rolling: how many nodes may fail before the deployment rolls back.
    pub max_failed: u32,
    /// Blue-green: the pool serving traffic before the switch.
    #[serde(default)]
    pub previous_pool: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// What a person reads in the timeline, e.g. `canary 20%`, `batch 2 of 3`.
    pub label: String,
    pub action: PhaseAction,
    /// Nodes this phase swaps.
    pub nodes: Vec<i64>,
    /// How long to watch before moving on (0: move on once the swaps are healthy).
    pub wait_secs: u64,
    /// Canary: the limits the analysis holds every running canary node to.
    pub thresholds: Option<Thresholds>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PhaseAction {
    Swap,
    /// Blue-green: make `to_pool` the pool that serves traffic.
    Switch {
        to_pool: String,
    },
}

/// The plan column: nothing until the deployment starts, then the plan it
/// follows. A plan this build cannot read (written by a newer one) is kept
/// as it is, so the row still loads and the engine can say what is wrong.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum StoredPlan {
    #[default]
    NotStarted,
    Planned(Plan),
    Unreadable(Value),
}

impl StoredPlan {
    pub fn plan(&self) -> Option<&Plan> {
        match self {
            StoredPlan::Planned(plan) => Some(plan),
            _ => None,
        }
    }
}

impl Serialize for StoredPlan {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            StoredPlan::NotStarted => Value::Object(Default::default()).serialize(serializer),
            StoredPlan::Planned(plan) => plan.serialize(serializer),
            StoredPlan::Unreadable(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for StoredPlan {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if value.as_object().is_some_and(|o| o.is_empty()) {
            return Ok(StoredPlan::NotStarted);
        }
        Ok(match Plan::deserialize(&value) {
            Ok(plan) => StoredPlan::Planned(plan),
            Err(_) => StoredPlan::Unreadable(value),
        })
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("the environment has no enrolled nodes")]
    NoNodes,
    #[error("blue-green needs nodes in pool {0}, the idle pool; enrol some with that pool")]
    EmptyPool(String),
}

/// The pool that is not `active`.
pub fn other_pool(active: &str) -> &'static str {
    if active == "green" {
        "blue"
    } else {
        "green"
    }
}

/// Plans a roll-out across `nodes` (in a stable order: the engine passes them by id).
pub fn plan(
    strategy: &Strategy,
    nodes: &[PlanNode],
    active_pool: Option<&str>,
) -> Result<Plan, PlanError> {
    if nodes.is_empty() {
        return Err(PlanError::NoNodes);
    }
    let ids: Vec<i64> = nodes.iter().map(|n| n.id).collect();
    let swap = |label: String, nodes: Vec<i64>, wait_secs, thresholds| Phase {
        label,
        action: PhaseAction::Swap,
        nodes,
        wait_secs,
        thresholds,
    };
    let plan = match strategy {
        Strategy::Direct => Plan {
            phases: vec![swap("all nodes".into(), ids, 0, None)],
            max_failed: 0,
            previous_pool: None,
        },
        Strategy::Rolling { batch, max_failed } => {
            let size = match *batch {
                BatchSize::Count(c) => c as usize,
                BatchSize::Percent(p) => share(ids.len(), p),
            }
            .clamp(1, ids.len());
            let batches: Vec<_> = ids.chunks(size).map(<[i64]>::to_vec).collect();
            let total = batches.len();
            Plan {
                phases: batches
                    .into_iter()
                    .enumerate()
                    .map(|(i, nodes)| swap(format!("batch {} of {total}", i + 1), nodes, 0, None))
                    .collect(),
                max_failed: *max_failed,
                previous_pool: None,
            }
        }
        Strategy::BlueGreen => {
            let active = active_pool.unwrap_or("blue");
            let idle = other_pool(active);
            let targets: Vec<i64> = nodes
                .iter()
                .filter(|n| n.pool.as_deref() == Some(idle))
                .map(|n| n.id)
                .collect();
            if targets.is_empty() {
                return Err(PlanError::EmptyPool(idle.to_string()));
            }
            Plan {
                phases: vec![
                    swap(format!("deploy to {idle}"), targets, 0, None),
                    Phase {
                        label: format!("switch traffic to {idle}"),
                        action: PhaseAction::Switch {
                            to_pool: idle.to_string(),
                        },
                        nodes: Vec::new(),
                        wait_secs: 0,
                        thresholds: None,
                    },
                ],
                max_failed: 0,
                previous_pool: Some(active.to_string()),
            }
        }
        Strategy::Canary { phases } => {
            let mut done = 0;
            let mut planned = Vec::with_capacity(phases.len() + 1);
            for phase in phases {
                let target = share(ids.len(), phase.percent).clamp(1, ids.len());
                let target = target.max(done);
                planned.push(swap(
                    format!("canary {}%", phase.percent),
                    ids[done..target].to_vec(),
                    phase.duration_secs,
                    Some(Thresholds {
                        max_error_rate: phase.max_error_rate,
                        max_p95_ms: phase.max_p95_ms,
                    }),
                ));
                done = target;
            }
            if done < ids.len() {
                planned.push(swap(
                    "remaining nodes".into(),
                    ids[done..].to_vec(),
                    0,
                    None,
                ));
            }
            Plan {
                phases: planned,
                max_failed: 0,
                previous_pool: None,
            }
        }
    };
    Ok(plan)
}

/// `percent` of `total`, rounded up: 5 % of 4 nodes is one node, not none.
fn share(total: usize, percent: u32) -> usize {
    (total * percent as usize).div_ceil(100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::strategy::CanaryPhase;

    fn nodes(n: i64) -> Vec<PlanNode> {
        (1..=n).map(|id| PlanNode { id, pool: None }).collect()
    }

    fn node_lists(plan: &Plan) -> Vec<Vec<i64>> {
        plan.phases.iter().map(|p| p.nodes.clone()).collect()
    }

    #[test]
    fn direct_swaps_every_node_at_once() {
        let plan = plan(&Strategy::Direct, &nodes(3), None).unwrap();
        assert_eq!(node_lists(&plan), [vec![1, 2, 3]]);
    }

    #[test]
    fn rolling_batches_by_count_or_share() {
        let by_count = Strategy::Rolling {
            batch: BatchSize::Count(2),
            max_failed: 1,
        };
        let plan_count = plan(&by_count, &nodes(5), None).unwrap();
        assert_eq!(node_lists(&plan_count), [vec![1, 2], vec![3, 4], vec![5]]);
        assert_eq!(plan_count.max_failed, 1);
        assert_eq!(plan_count.phases[2].label, "batch 3 of 3");

        let by_share = Strategy::Rolling {
            batch: BatchSize::Percent(25),
            max_failed: 0,
        };
        assert_eq!(
            node_lists(&plan(&by_share, &nodes(6), None).unwrap()).len(),
            3
        );
    }

    #[test]
    fn canary_phases_grow_to_every_node() {
        let phase = |percent, duration_secs| CanaryPhase {
            percent,
            duration_secs,
            max_error_rate: 0.01,
            max_p95_ms: 100.0,
        };
        let strategy = Strategy::Canary {
            phases: vec![phase(5, 10), phase(50, 10)],
        };
        let plan = plan(&strategy, &nodes(10), None).unwrap();
        // 5 % of 10 rounds up to one node; 50 % is five; the rest follow.
        assert_eq!(
            node_lists(&plan),
            [vec![1], vec![2, 3, 4, 5], vec![6, 7, 8, 9, 10]]
        );
        assert_eq!(plan.phases[0].wait_secs, 10);
        assert!(plan.phases[0].thresholds.is_some());
        assert_eq!(plan.phases[2].wait_secs, 0);
    }

    #[test]
    fn blue_green_deploys_to_the_idle_pool_then_switches() {
        let pooled = vec![
            PlanNode {
                id: 1,
                pool: Some("blue".into()),
            },
            PlanNode {
                id: 2,
                pool: Some("green".into()),
            },
            PlanNode {
                id: 3,
                pool: Some("green".into()),
            },
        ];
        let plan = plan(&Strategy::BlueGreen, &pooled, Some("blue")).unwrap();
        assert_eq!(plan.phases[0].nodes, [2, 3]);
        assert_eq!(
            plan.phases[1].action,
            PhaseAction::Switch {
                to_pool: "green".into()
            }
        );
        assert_eq!(plan.previous_pool.as_deref(), Some("blue"));

        let back = super::plan(&Strategy::BlueGreen, &pooled, Some("green")).unwrap();
        assert_eq!(back.phases[0].nodes, [1]);
        assert_eq!(
            super::plan(&Strategy::BlueGreen, &nodes(2), None),
            Err(PlanError::EmptyPool("green".into()))
        );
    }

    #[test]
    fn nothing_to_deploy_to_is_an_error() {
        assert_eq!(plan(&Strategy::Direct, &[], None), Err(PlanError::NoNodes));
    }

    #[test]
    fn a_stored_plan_reads_back_as_it_was_written() {
        let written = plan(&Strategy::Direct, &nodes(2), None).unwrap();
        for stored in [StoredPlan::NotStarted, StoredPlan::Planned(written)] {
            let text = serde_json::to_value(&stored).unwrap();
            assert_eq!(serde_json::from_value::<StoredPlan>(text).unwrap(), stored);
        }
        assert_eq!(
            serde_json::to_value(StoredPlan::NotStarted).unwrap(),
            serde_json::json!({})
        );
        // A newer build's plan loads, kept as it is.
        let newer = serde_json::json!({ "phases": [{ "kind": "teleport" }] });
        let read: StoredPlan = serde_json::from_value(newer.clone()).unwrap();
        assert_eq!(read, StoredPlan::Unreadable(newer.clone()));
        assert_eq!(serde_json::to_value(&read).unwrap(), newer);
    }
}
