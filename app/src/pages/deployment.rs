use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::deployments::{get_deployment, ActOnDeployment};
use crate::components::confirm::ConfirmButton;
use crate::components::error_panel::ErrorPanel;
use crate::components::layout::use_viewer;
use crate::components::metric_chart::{MetricChart, Point};
use crate::components::status_badge::StatusBadge;
use crate::components::time::RelativeTime;
use crate::error::AppError;
use crate::live::use_live;
use crate::model::deployment::{
    DeploymentDetail, DeploymentStatus, DeploymentView, NodeProgressState, PhaseState, Stage,
};
use crate::model::event::{Event, EventInfo, EventKind};
use crate::model::role::Action;
use crate::model::session::Viewer;
use crate::model::time::duration;
use crate::pages::approvals::{headline, time_left, DecisionForm, Decisions};

/// `/deployments/{id}`: where a roll-out stands, live — phase timeline, node
/// grid, canary charts against their thresholds, event log, and the actions
/// the viewer's role allows.
#[component]
pub fn DeploymentDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok());
    let live = use_live();
    // Changes with each live event of this deployment: refetch then.
    let changed = Memo::new(move |_| live.map_or(0, |l| l.newest_for(id())));
    let acted = RwSignal::new(0u32);
    let view_data = Resource::new(
        move || (id(), changed.get(), acted.get()),
        |(id, _, _)| async move {
            match id {
                Some(id) => get_deployment(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    let viewer = use_viewer();
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading the deployment…"</p> }>
            {move || Suspend::new(async move {
                let me = match viewer {
                    Some(v) => v.await.ok().flatten(),
                    None => None,
                };
                match view_data.await {
                    Ok(data) => view! { <Detail data me acted/> }.into_any(),
                    Err(error) => view! {
                        <Title text="Deployment"/>
                        <ErrorPanel error/>
                    }
                        .into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Detail(data: DeploymentView, me: Option<Viewer>, acted: RwSignal<u32>) -> impl IntoView {
    let DeploymentView {
        detail,
        hidden_nodes,
        events,
        now,
    } = data;
    let node_total = detail.nodes.len() + hidden_nodes.iter().map(|(_, n)| n).sum::<usize>();
    let d = detail.summary.clone();
    let title = headline(&d);
    let charts = canary_points(&events);
    view! {
        <Title text=title.clone()/>
        <div class="page-head">
            <h1>{title.clone()}</h1>
            <p class="subtle">
                <StatusBadge status=d.status/>
                " "
                {d.strategy.clone()}
                {d.requested_by.clone().map(|r| format!(" · requested by {r}"))}
                " · "
                <RelativeTime at=d.created_at now=now/>
                {detail.rollback_of.map(|r| format!(" · returns to what ran before #{r}"))}
            </p>
        </div>
        {detail.outcome.clone().map(|o| view! { <p class=format!("notice outcome outcome-{}", d.status.as_str()) role="status">{o}</p> })}
        <Actions detail=detail.clone() me=me.clone() acted/>
        <ApprovalPanel detail=detail.clone() me now acted/>
        <section class="panel" aria-labelledby="phases-title">
            <h2 id="phases-title">"Phases"</h2>
            <Timeline detail=detail.clone() reached=reached(&events)/>
        </section>
        <section class="panel" aria-labelledby="nodes-title">
            <h2 id="nodes-title">{format!("Nodes ({node_total})")}</h2>
            <NodeGrid detail=detail.clone()/>
            <HiddenNodes hidden=hidden_nodes/>
        </section>
        {(!charts.0.is_empty() || d.strategy.starts_with("canary")).then(|| view! {
            <section class="panel" aria-labelledby="analysis-title">
                <h2 id="analysis-title">"Canary analysis"</h2>
                <div class="charts">
                    <MetricChart title="Error rate" format=percent points=charts.0.clone()/>
                    <MetricChart title="p95 latency" format=millis points=charts.1.clone()/>
                </div>
            </section>
        })}
        <EventLog events now/>
    }
}

fn percent(v: f64) -> String {
    format!("{:.2} %", v * 100.0)
}

fn millis(v: f64) -> String {
    format!("{v:.0} ms")
}

/// Error rate and p95 of every analysed window, against the phase's limits.
fn canary_points(events: &[EventInfo]) -> (Vec<Point>, Vec<Point>) {
    let mut rates = Vec::new();
    let mut p95s = Vec::new();
    for e in events.iter().filter(|e| e.kind == EventKind::Analysis) {
        let Some(Event::Analysis(a)) = e.event() else {
            continue;
        };
        let at = e.created_at.timestamp_millis() as f64 / 1000.0;
        rates.push(Point {
            at_secs: at,
            value: a.error_rate,
            limit: Some(a.max_error_rate),
        });
        p95s.push(Point {
            at_secs: at,
            value: a.p95_ms,
            limit: Some(a.max_p95_ms),
        });
    }
    (rates, p95s)
}

/// The furthest phase the deployment started, from its events.
fn reached(events: &[EventInfo]) -> Option<i64> {
    events
        .iter()
        .filter(|e| e.kind == EventKind::PhaseStarted)
        .filter_map(|e| match e.event() {
            Some(Event::PhaseStarted(p)) => Some(i64::from(p.phase)),
            _ => None,
        })
        .max()
}

/// Horizontal steps: done, current, next, with how long each watches. A
/// deployment that ended badly shows where it stopped.
#[component]
fn Timeline(detail: DeploymentDetail, reached: Option<i64>) -> impl IntoView {
    let ended_badly = matches!(
        detail.summary.status,
        DeploymentStatus::Failed | DeploymentStatus::RolledBack | DeploymentStatus::Cancelled
    );
    if detail.phases.is_empty() {
        let text = if detail.summary.status.is_active() {
            "Planned when the deployment starts."
        } else {
            "It never started, so it has no phases."
        };
        return view! { <p class="subtle">{text}</p> }.into_any();
    }
    let planned_only = matches!(
        detail.summary.status,
        DeploymentStatus::PendingApproval | DeploymentStatus::Queued
    );
    view! {
        {planned_only.then(|| view! { <p class="subtle">"Not started: the plan it follows if it starts now."</p> })}
        <ol class="timeline" aria-label="Phase timeline">
            {detail
                .phases
                .iter()
                .map(|p| {
                    let limits = match (p.max_error_rate, p.max_p95_ms) {
                        (Some(rate), Some(p95)) => format!("errors ≤ {:.2} %, p95 ≤ {p95:.0} ms", rate * 100.0),
                        _ => String::new(),
                    };
                    let wait = (p.wait_secs > 0).then(|| format!("watched {}", duration(p.wait_secs as f64)));
                    let index = i64::from(p.index);
                    let state = match (ended_badly, reached) {
                        (true, Some(r)) if index < r => "done",
                        (true, Some(r)) if index == r => "stopped here",
                        (true, _) => "not reached",
                        _ => match p.state {
                            PhaseState::Done => "done",
                            PhaseState::Active => "current",
                            PhaseState::Pending => "next",
                        },
                    };
                    view! {
                        <li class=format!("step step-{}", state.replace(' ', "-")) aria-current=(state == "current").then_some("step")>
                            <span class="step-label">{p.label.clone()}</span>
                            <span class="step-meta">{format!("{} node(s)", p.nodes)}</span>
                            {wait.map(|w| view! { <span class="step-meta">{w}</span> })}
                            {(!limits.is_empty()).then(|| view! { <span class="step-meta">{limits.clone()}</span> })}
                            <span class="step-state">{state}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
    .into_any()
}

/// What the grid leaves out, counted by state.
#[component]
fn HiddenNodes(hidden: Vec<(NodeProgressState, usize)>) -> impl IntoView {
    (!hidden.is_empty()).then(|| {
        let total: usize = hidden.iter().map(|(_, n)| n).sum();
        let counts: Vec<String> = hidden
            .iter()
            .map(|(state, n)| format!("{n} {}", state.as_str().replace('_', " ")))
            .collect();
        view! {
            <p class="subtle hidden-nodes">
                {format!("…and {total} more, not drawn: {}.", counts.join(", "))}
            </p>
        }
    })
}

/// One focusable square per node, coloured by state and labelled in words.
#[component]
fn NodeGrid(detail: DeploymentDetail) -> impl IntoView {
    if detail.nodes.is_empty() {
        return view! { <p class="subtle">"No nodes are enrolled in this environment."</p> }
            .into_any();
    }
    view! {
        <ul class="node-grid" aria-label="Node grid">
            {detail
                .nodes
                .iter()
                .map(|n| {
                    let state = n.state.as_str().replace('_', " ");
                    let version = n.version.clone().unwrap_or_else(|| "nothing installed".into());
                    let connection = if n.online { "online" } else { "offline" };
                    let label = format!(
                        "{}: {state}, runs {version}, {connection}{}",
                        n.name,
                        n.error.as_ref().map(|e| format!(", {e}")).unwrap_or_default()
                    );
                    let (title, aria) = (label.clone(), label.clone());
                    view! {
                        <li
                            class=format!("node-cell node-cell-{}{}", n.state, if n.online { "" } else { " node-offline" })
                            tabindex="0"
                            title=title
                            aria-label=aria
                        >
                            <span class="node-name">{n.name.clone()}</span>
                            <span class="node-popover" aria-hidden="true">{label}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        <p class="node-legend subtle">
            <span class="legend node-cell-waiting">"waiting"</span>
            <span class="legend node-cell-swapping">"swapping"</span>
            <span class="legend node-cell-swapped">"swapped"</span>
            <span class="legend node-cell-failed">"failed"</span>
            <span class="legend node-cell-rolled_back">"rolled back"</span>
        </p>
    }
    .into_any()
}

/// The operator actions the viewer's role and the deployment's state allow.
#[component]
fn Actions(detail: DeploymentDetail, me: Option<Viewer>, acted: RwSignal<u32>) -> impl IntoView {
    let act = ServerAction::<ActOnDeployment>::new();
    let result = act.value();
    let id = detail.summary.id;
    Effect::new(move |_| match result.get() {
        Some(Ok(target)) if target != id =>
        {
            #[cfg(feature = "hydrate")]
            if let Some(window) = web_sys::window() {
                let _ = window
                    .location()
                    .set_href(&format!("/deployments/{target}"));
            }
        }
        Some(Ok(_)) => acted.update(|n| *n += 1),
        _ => {}
    });
    let Some(me) = me else {
        return ().into_any();
    };
    if !me.role.allows(Action::Operate) {
        return view! {
            <p class="subtle read-only">"Read-only: your role can watch this deployment but not act on it."</p>
        }
        .into_any();
    }
    let status = detail.summary.status;
    let stage = detail.stage;
    let rolling_back = stage == Stage::Rollback;
    let mine = detail.summary.requested_by.as_deref() == Some(me.username.as_str());
    let is_admin = me.role.allows(Action::Approve);
    let target = headline(&detail.summary);
    let run = move |verb: &'static str| {
        act.dispatch(ActOnDeployment {
            id,
            verb: verb.to_string(),
        });
    };
    let plain = move |verb: &'static str, label: &'static str| {
        view! { <button type="button" class="button secondary" on:click=move |_| run(verb)>{label}</button> }
    };
    let confirm = move |verb: &'static str, label: &'static str, question: String| {
        view! { <ConfirmButton label question on_confirm=Callback::new(move |_| run(verb))/> }
    };
    let mut buttons = Vec::new();
    match status {
        DeploymentStatus::Running if !rolling_back => {
            buttons.push(plain("pause", "Pause").into_any());
            if stage == Stage::Verify {
                buttons.push(plain("promote", "Promote").into_any());
            }
            buttons.push(
                confirm(
                    "abort",
                    "Abort",
                    format!("Abort {target} and roll back every swapped node?"),
                )
                .into_any(),
            );
        }
        DeploymentStatus::Paused => {
            buttons.push(plain("resume", "Resume").into_any());
            buttons.push(
                confirm(
                    "abort",
                    "Abort",
                    format!("Abort {target} and roll back every swapped node?"),
                )
                .into_any(),
            );
        }
        DeploymentStatus::Succeeded => buttons.push(
            confirm(
                "rollback",
                "Roll back",
                format!("Roll back {target}: deploy the version that ran before it again?"),
            )
            .into_any(),
        ),
        DeploymentStatus::Queued | DeploymentStatus::PendingApproval if mine || is_admin => buttons
            .push(
                confirm(
                    "cancel",
                    "Cancel deployment",
                    format!("Cancel {target} before it starts?"),
                )
                .into_any(),
            ),
        _ => {}
    }
    if buttons.is_empty() {
        return ().into_any();
    }
    view! {
        <div class="actions-bar" role="group" aria-label="Actions">
            {buttons}
            {move || match result.get() {
                Some(Err(error)) => Some(view! { <p class="form-error" role="alert">{error.to_string()}</p> }),
                _ => None,
            }}
        </div>
    }
    .into_any()
}

/// Who approved, who must still decide, and the decision form for Admins.
#[component]
fn ApprovalPanel(
    detail: DeploymentDetail,
    me: Option<Viewer>,
    now: chrono::DateTime<chrono::Utc>,
    acted: RwSignal<u32>,
) -> impl IntoView {
    let Some(approval) = detail.approval.clone() else {
        return ().into_any();
    };
    let pending = detail.summary.status == DeploymentStatus::PendingApproval;
    let can_decide = pending && me.as_ref().is_some_and(|v| v.role.allows(Action::Approve));
    let mine = me.as_ref().map(|v| v.username.as_str()) == detail.summary.requested_by.as_deref();
    view! {
        <section class="panel" aria-labelledby="approval-title">
            <h2 id="approval-title">"Approval"</h2>
            <p>
                {format!("{} of {} approval(s)", approval.approved(), approval.required)}
                {pending.then(|| format!(" · {}", time_left(approval.deadline, now)))}
            </p>
            <Decisions decisions=approval.decisions.clone()/>
            {can_decide.then(|| view! {
                <DecisionForm
                    id=detail.summary.id
                    title=headline(&detail.summary)
                    mine
                    allow_self=approval.allow_self_approval
                    decided=acted
                />
            })}
        </section>
    }
    .into_any()
}

/// Newest first, filterable by kind.
#[component]
fn EventLog(events: Vec<EventInfo>, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    let kind = RwSignal::new(String::new());
    let mut kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    kinds.sort();
    kinds.dedup();
    let rows: Vec<EventInfo> = events.into_iter().rev().collect();
    view! {
        <section class="panel" aria-labelledby="events-title">
            <h2 id="events-title">"Events"</h2>
            <div class="field inline">
                <label for="event-kind">"Show"</label>
                <select id="event-kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value="">"every kind"</option>
                    {kinds.into_iter().map(|k| view! { <option value=k.as_str()>{k.as_str().replace('_', " ")}</option> }).collect_view()}
                </select>
            </div>
            <div class="table-scroll"><table class="data-table">
                <caption class="visually-hidden">"Event log, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Event"</th>
                        <th scope="col">"What happened"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|e| {
                            let text = e.describe();
                            let this = e.kind.as_str();
                            view! {
                                <tr data-event-id=e.id hidden=move || kind.with(|k| !k.is_empty() && *k != this)>
                                    <td><RelativeTime at=e.created_at now=now/></td>
                                    <td class="mono">{e.kind.as_str()}</td>
                                    <td>{text}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table></div>
        </section>
    }
}
