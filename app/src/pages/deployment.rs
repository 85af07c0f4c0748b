use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::deployments::get_deployment;
use crate::components::error_panel::ErrorPanel;
use crate::components::status_badge::StatusBadge;
use crate::components::time::RelativeTime;
use crate::error::AppError;
use crate::model::deployment::{describe_event, DeploymentView};
use crate::model::time::duration;

/// `/deployments/{id}`: the plan phase by phase, every node's state and
/// version, and the event log.
#[component]
pub fn DeploymentDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok());
    let view_data = Resource::new(id, |id| async move {
        match id {
            Some(id) => get_deployment(id).await,
            None => Err(AppError::NotFound),
        }
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the deployment…"</p> }>
            {move || Suspend::new(async move {
                match view_data.await {
                    Ok(data) => view! { <Detail data/> }.into_any(),
                    Err(error) => view! {
                        <Title text="Deployment"/>
                        <ErrorPanel error/>
                    }
                        .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Detail(data: DeploymentView) -> impl IntoView {
    let DeploymentView {
        detail,
        events,
        now,
    } = data;
    let d = detail.summary.clone();
    let title = format!("#{} {} {} → {}", d.id, d.module, d.version, d.environment);
    view! {
        <Title text=title.clone()/>
        <div class="page-head">
            <h1>{title}</h1>
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
        {detail.outcome.clone().map(|o| view! { <p class="notice" role="status">{o}</p> })}
        <section class="panel" aria-labelledby="phases-title">
            <h2 id="phases-title">"Phases"</h2>
            {if detail.phases.is_empty() {
                view! { <p class="subtle">"Planned when the deployment starts."</p> }.into_any()
            } else {
                view! {
                    <ol class="phase-list">
                        {detail
                            .phases
                            .iter()
                            .map(|p| {
                                let limits = match (p.max_error_rate, p.max_p95_ms) {
                                    (Some(rate), Some(p95)) => format!(
                                        " · errors ≤ {:.2}%, p95 ≤ {p95:.0} ms",
                                        rate * 100.0
                                    ),
                                    _ => String::new(),
                                };
                                let wait = if p.wait_secs > 0 {
                                    format!(" · watched for {}", duration(p.wait_secs as f64))
                                } else {
                                    String::new()
                                };
                                view! {
                                    <li class=format!("phase phase-{}", p.state)>
                                        <strong>{p.label.clone()}</strong>
                                        {format!(" · {} node(s){wait}{limits} · {}", p.nodes, p.state)}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ol>
                }
                    .into_any()
            }}
        </section>
        <section class="panel" aria-labelledby="nodes-title">
            <h2 id="nodes-title">"Nodes"</h2>
            <table class="data-table">
                <caption class="visually-hidden">"Nodes of this deployment"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Node"</th>
                        <th scope="col">"Pool"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Runs"</th>
                        <th scope="col">"Connection"</th>
                        <th scope="col">"Error"</th>
                    </tr>
                </thead>
                <tbody>
                    {detail
                        .nodes
                        .into_iter()
                        .map(|n| view! {
                            <tr aria-label=n.name.clone()>
                                <th scope="row">{n.name.clone()}</th>
                                <td>{n.pool.clone().unwrap_or_else(|| "—".into())}</td>
                                <td>
                                    <span class=format!("node-state node-state-{}", n.state)>{n.state.replace('_', " ")}</span>
                                </td>
                                <td class="mono">{n.version.clone().unwrap_or_else(|| "—".into())}</td>
                                <td>{if n.online { "online" } else { "offline" }}</td>
                                <td>{n.error.clone().unwrap_or_default()}</td>
                            </tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
        <section class="panel" aria-labelledby="events-title">
            <h2 id="events-title">"Events"</h2>
            <table class="data-table">
                <caption class="visually-hidden">"Event log"</caption>
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Event"</th>
                        <th scope="col">"What happened"</th>
                    </tr>
                </thead>
                <tbody>
                    {events
                        .into_iter()
                        .map(|e| {
                            let text = describe_event(&e);
                            view! {
                                <tr>
                                    <td><RelativeTime at=e.created_at now=now/></td>
                                    <td class="mono">{e.kind.clone()}</td>
                                    <td>{text}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
}
