use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::deployments::list_deployments;
use crate::components::deployment_table::DeploymentTable;
use crate::components::empty_state::EmptyState;
use crate::components::error_panel::ErrorPanel;
use crate::components::layout::use_viewer;
use crate::live::use_live;
use crate::model::deployment::{DeploymentFilter, DeploymentStatus};
use crate::model::role::Action;

/// `/deployments`: the history, filtered by query parameters so every view has
/// a link and works without JavaScript.
#[component]
pub fn DeploymentsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        query.with(|q| {
            let text = |key: &str| q.get(key).filter(|v| !v.is_empty());
            DeploymentFilter {
                environment: text("environment"),
                module: text("module"),
                requester: text("requester"),
                status: text("status").and_then(|s| DeploymentStatus::parse(&s)),
                cursor: text("cursor").and_then(|c| c.parse().ok()),
                limit: None,
            }
        })
    };
    // The first page follows live events; older pages stay as they were.
    let live = use_live();
    let changed = Memo::new(move |_| live.map_or(0, |l| l.newest_for(None)));
    let page = Resource::new(
        move || {
            let f = filter();
            let tick = if f.cursor.is_none() { changed.get() } else { 0 };
            (f, tick)
        },
        |(f, _)| list_deployments(f),
    );
    let viewer = use_viewer();

    view! {
        <Title text="Deployments"/>
        <div class="page-head">
            <h1>"Deployments"</h1>
        </div>
        <form class="filters" method="get" action="/deployments">
            <label>
                "Environment"
                <input type="text" name="environment" value=move || filter().environment/>
            </label>
            <label>
                "Module"
                <input type="text" name="module" value=move || filter().module/>
            </label>
            <label>
                "Requested by"
                <input type="text" name="requester" value=move || filter().requester/>
            </label>
            <label>
                "Status"
                <select name="status">
                    <option value="">"any"</option>
                    {DeploymentStatus::ALL
                        .iter()
                        .copied()
                        .map(|s| {
                            view! {
                                <option value=s.as_str() selected=move || filter().status == Some(s)>
                                    {s.label()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <button type="submit" class="button">"Filter"</button>
        </form>
        <Transition fallback=|| view! { <p class="loading">"Loading deployments…"</p> }>
            {move || Suspend::new(async move {
                let redeploy = match viewer {
                    Some(v) => v.await.ok().flatten().is_some_and(|v| v.role.allows(Action::Deploy)),
                    None => false,
                };
                match page.await {
                    Ok(page) if page.items.is_empty() => view! {
                        <EmptyState
                            title="No deployments match"
                            hint="Clear the filters, or start a roll-out from Deploy."
                        />
                    }
                        .into_any(),
                    Ok(page) => {
                        let next = page.next_cursor.map(|cursor| {
                            let f = filter();
                            let mut href = format!("/deployments?cursor={cursor}");
                            for (key, value) in [("environment", f.environment), ("module", f.module), ("requester", f.requester)] {
                                if let Some(value) = value {
                                    href.push_str(&format!("&{key}={value}"));
                                }
                            }
                            if let Some(status) = f.status {
                                href.push_str(&format!("&status={status}"));
                            }
                            href
                        });
                        view! {
                            <DeploymentTable caption="Deployments" rows=page.items now=page.now redeploy/>
                            {next.map(|href| view! { <p><a class="button" href=href>"Load more"</a></p> })}
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}
