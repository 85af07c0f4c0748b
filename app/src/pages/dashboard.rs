use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::dashboard::get_dashboard;
use crate::components::deployment_table::DeploymentTable;
use crate::components::empty_state::EmptyState;
use crate::components::error_panel::ErrorPanel;
use crate::components::status_badge::StatusBadge;
use crate::live::use_live;
use crate::model::dashboard::{drift, Dashboard, Progress};
use crate::model::time::duration;

/// `/`: what runs where, what is moving now, and how roll-outs have gone.
#[component]
pub fn DashboardPage() -> impl IntoView {
    // Every event of the tenant may change a figure here: refetch on each.
    let live = use_live();
    let changed = Memo::new(move |_| live.map_or(0, |l| l.newest_for(None)));
    let dashboard = Resource::new(move || changed.get(), |_| get_dashboard());
    // Which environment the page is narrowed to; `None` shows them all. Kept
    // here so a live refresh does not reset it.
    let focus = RwSignal::new(None::<String>);
    view! {
        <Title text="Dashboard"/>
        <Transition fallback=|| view! { <p class="loading">"Loading dashboard…"</p> }>
            {move || Suspend::new(async move {
                match dashboard.await {
                    Ok(data) => view! { <DashboardView data focus/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn DashboardView(data: Dashboard, focus: RwSignal<Option<String>>) -> impl IntoView {
    let shows = move |environment: &str| {
        focus.with(|f| f.as_deref().is_none_or(|name| name == environment))
    };
    let Dashboard {
        tenant,
        environments,
        modules,
        matrix,
        active,
        progress,
        recent,
        week,
        now,
    } = data;
    let nodes_online: u64 = environments.iter().map(|e| e.nodes_online).sum();
    let nodes_total: u64 = environments.iter().map(|e| e.nodes_total).sum();
    let env_names: Vec<String> = environments.iter().map(|e| e.name.clone()).collect();

    view! {
        <div class="page-head">
            <h1>"Dashboard"</h1>
            <p class="subtle">"Tenant " <span class="mono">{tenant}</span></p>
        </div>

        <section class="cards" aria-label="Summary">
            <div class="card stat">
                <span class="stat-label">"Active deployments"</span>
                <span class="stat-value">{active.len()}</span>
            </div>
            <div class="card stat">
                <span class="stat-label">"Success rate (7 days)"</span>
                <span class="stat-value">
                    {week.success_rate().map(|r| format!("{r:.0} %")).unwrap_or_else(|| "—".into())}
                </span>
                <span class="stat-note">{format!("{} of {} finished", week.succeeded, week.finished)}</span>
            </div>
            <div class="card stat">
                <span class="stat-label">"Mean duration (7 days)"</span>
                <span class="stat-value">
                    {week.mean_duration_secs.map(duration).unwrap_or_else(|| "—".into())}
                </span>
            </div>
            <div class="card stat">
                <span class="stat-label">"Nodes online"</span>
                <span class="stat-value">{format!("{nodes_online} / {nodes_total}")}</span>
            </div>
        </section>

        <div class="filter" role="group" aria-label="Show environment">
            <span class="filter-label">"Show"</span>
            <button
                type="button"
                class="chip"
                aria-pressed=move || focus.with(Option::is_none).to_string()
                on:click=move |_| focus.set(None)
            >
                "All environments"
            </button>
            {env_names
                .into_iter()
                .map(|name| {
                    let pressed = name.clone();
                    let chosen = name.clone();
                    view! {
                        <button
                            type="button"
                            class="chip"
                            aria-pressed=move || {
                                focus.with(|f| f.as_deref() == Some(pressed.as_str())).to_string()
                            }
                            on:click=move |_| focus.set(Some(chosen.clone()))
                        >
                            {name}
                        </button>
                    }
                })
                .collect_view()}
        </div>

        <section class="panel" aria-labelledby="environments-title">
            <h2 id="environments-title">"Environments"</h2>
            <ul class="env-list">
                {environments
                    .into_iter()
                    .map(|e| {
                        let name = e.name.clone();
                        view! {
                            <li class="card env-card" hidden=move || !shows(&name) aria-label=e.name.clone()>
                                <h3>{e.name.clone()}</h3>
                                <p>
                                    {if e.requires_approval {
                                        format!("Needs {} approval(s)", e.required_approvals)
                                    } else {
                                        "No approval needed".to_string()
                                    }}
                                </p>
                                <p class="subtle">{format!("Default: {}", e.default_strategy)}</p>
                                <p class="subtle">{format!("{} of {} nodes online", e.nodes_online, e.nodes_total)}</p>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>

        <section class="panel" aria-labelledby="matrix-title">
            <h2 id="matrix-title">"Running versions"</h2>
            {if modules.is_empty() {
                view! {
                    <EmptyState
                        title="No modules deployed yet"
                        hint="Publish a module version, then roll it out from Deploy. The versions running in each environment appear here."
                    />
                }
                    .into_any()
            } else {
                view! {
                    <div class="table-scroll"><table class="data-table matrix">
                        <caption class="visually-hidden">"Versions by environment and module"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Environment"</th>
                                {modules.iter().map(|m| view! { <th scope="col">{m.clone()}</th> }).collect_view()}
                            </tr>
                        </thead>
                        <tbody>
                            {matrix
                                .into_iter()
                                .map(|row| {
                                    let environment = row.environment.clone();
                                    view! {
                                        <tr hidden=move || !shows(&environment)>
                                            <th scope="row">{row.environment}</th>
                                            {row
                                                .cells
                                                .into_iter()
                                                .zip(row.reported)
                                                .map(|(cell, reported)| {
                                                    let drifted = drift(cell.as_deref(), &reported);
                                                    let nodes = reported
                                                        .iter()
                                                        .map(|(v, n)| format!("{v} on {n}"))
                                                        .collect::<Vec<_>>()
                                                        .join(", ");
                                                    match (cell, drifted) {
                                                        (Some(version), false) => view! { <td class="mono">{version}</td> }.into_any(),
                                                        (cell, true) => view! {
                                                            <td class="mono drift">
                                                                {cell.unwrap_or_else(|| "—".into())}
                                                                <span class="drift-note">{format!("drift: {nodes}")}</span>
                                                            </td>
                                                        }.into_any(),
                                                        (None, false) => view! { <td class="subtle">"—"</td> }.into_any(),
                                                    }
                                                })
                                                .collect_view()}
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table></div>
                }
                    .into_any()
            }}
        </section>

        <section class="panel" aria-labelledby="active-title">
            <h2 id="active-title">"Active deployments"</h2>
            {if active.is_empty() {
                view! { <EmptyState title="Nothing is rolling out" hint="Start a roll-out from Deploy; it appears here while it runs."/> }.into_any()
            } else {
                view! { <ActiveList rows=active progress focus/> }.into_any()
            }}
        </section>

        <section class="panel" aria-labelledby="recent-title">
            <h2 id="recent-title">"Recent history"</h2>
            {if recent.is_empty() {
                view! { <EmptyState title="No deployments yet" hint="Finished roll-outs are listed here with their outcome."/> }.into_any()
            } else {
                view! { <FilteredTable caption="Recent deployments" rows=recent now focus/> }.into_any()
            }}
        </section>
    }
}

/// Active deployments with their progress, narrowed to the focused environment.
#[component]
fn ActiveList(
    rows: Vec<crate::model::deployment::DeploymentSummary>,
    progress: Vec<Progress>,
    focus: RwSignal<Option<String>>,
) -> impl IntoView {
    view! {
        <ul class="active-list" aria-label="Active deployments">
            {rows
                .into_iter()
                .zip(progress)
                .map(|(d, p)| {
                    let environment = d.environment.clone();
                    let title = format!("#{} {} {} → {}", d.id, d.module, d.version, d.environment);
                    let label = if p.planned == 0 {
                        "not started".to_string()
                    } else {
                        format!(
                            "{} of {} nodes swapped{}",
                            p.swapped,
                            p.planned,
                            p.phase.as_ref().map(|ph| format!(" · {ph}")).unwrap_or_default()
                        )
                    };
                    let aria = title.clone();
                    let bar = label.clone();
                    view! {
                        <li
                            class="active-item"
                            aria-label=aria
                            hidden=move || focus.with(|f| f.as_deref().is_some_and(|name| name != environment))
                        >
                            <a href=format!("/deployments/{}", d.id)>{title}</a>
                            <StatusBadge status=d.status/>
                            <span class="subtle">{d.strategy.clone()}</span>
                            <progress max=p.planned.max(1) value=p.swapped aria-label=bar></progress>
                            <span class="subtle">{label}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// A deployment table narrowed to the focused environment.
#[component]
fn FilteredTable(
    caption: &'static str,
    rows: Vec<crate::model::deployment::DeploymentSummary>,
    now: chrono::DateTime<chrono::Utc>,
    focus: RwSignal<Option<String>>,
) -> impl IntoView {
    move || {
        let rows = focus.with(|f| {
            rows.iter()
                .filter(|d| f.as_deref().is_none_or(|name| name == d.environment))
                .cloned()
                .collect::<Vec<_>>()
        });
        view! { <DeploymentTable caption rows now/> }
    }
}
