use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::environments::list_environments;
use crate::api::modules::list_modules;
use crate::components::error_panel::ErrorPanel;

/// `/deploy`: where a roll-out starts. Lists the target environments with the
/// policy that will apply to a deployment there.
#[component]
pub fn DeployPage() -> impl IntoView {
    let environments = Resource::new(|| (), |_| list_environments());
    let modules = Resource::new(|| (), |_| list_modules());
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
        <section class="panel" aria-labelledby="modules-title">
            <h2 id="modules-title">"Modules"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading modules…"</p> }>
                {move || Suspend::new(async move {
                    match modules.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="subtle">"No modules yet. Publish one with POST /api/v1/modules and its versions under /api/v1/modules/{name}/versions."</p>
                        }
                            .into_any(),
                        Ok(list) => view! {
                            <table class="data-table">
                                <caption class="visually-hidden">"Modules"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">"Module"</th>
                                        <th scope="col">"Latest version"</th>
                                        <th scope="col">"Signatures"</th>
                                        <th scope="col">"Description"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list
                                        .into_iter()
                                        .map(|m| view! {
                                            <tr>
                                                <th scope="row">{m.name}</th>
                                                <td>{m.latest_version.unwrap_or_else(|| "none published".into())}</td>
                                                <td>{if m.require_signature { "required" } else { "optional" }}</td>
                                                <td>{m.description.unwrap_or_default()}</td>
                                            </tr>
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                        }
                            .into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
