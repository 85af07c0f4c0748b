use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::environments::list_environments;
use crate::components::error_panel::ErrorPanel;

/// `/deploy`: where a roll-out starts. Lists the target environments with the
/// policy that will apply to a deployment there.
#[component]
pub fn DeployPage() -> impl IntoView {
    let environments = Resource::new(|| (), |_| list_environments());
    view! {
        <Title text="Deploy"/>
        <div class="page-head">
            <h1>"Deploy"</h1>
            <p class="subtle">"Choose where a module version goes and how it rolls out."</p>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading environments…"</p> }>
            {move || Suspend::new(async move {
                match environments.await {
                    Ok(list) => view! {
                        <ul class="env-list">
                            {list
                                .into_iter()
                                .map(|e| view! {
                                    <li class="card">
                                        <h2>{e.name}</h2>
                                        <p>{format!("Default strategy: {}", e.default_strategy)}</p>
                                        <p>
                                            {if e.requires_approval {
                                                "Waits for approval before it starts."
                                            } else {
                                                "Starts as soon as it is queued."
                                            }}
                                        </p>
                                        <p class="subtle">{format!("{} of {} nodes online", e.nodes_online, e.nodes_total)}</p>
                                    </li>
                                })
                                .collect_view()}
                        </ul>
                    }
                        .into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
