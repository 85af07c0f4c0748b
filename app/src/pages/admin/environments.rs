use leptos::prelude::*;

use crate::api::environments::list_environments;
use crate::components::error_panel::ErrorPanel;
use crate::model::time::duration;

/// The tenant's environments and their policies.
#[component]
pub fn EnvironmentsPanel() -> impl IntoView {
    let environments = Resource::new(|| (), |_| list_environments());
    view! {
        <section class="panel" aria-labelledby="environments-title">
            <h2 id="environments-title">"Environments and policies"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading environments…"</p> }>
                {move || Suspend::new(async move {
                    match environments.await {
                        Ok(list) => view! {
                            <table class="data-table">
                                <caption class="visually-hidden">"Environments and policies"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">"Environment"</th>
                                        <th scope="col">"Approval"</th>
                                        <th scope="col">"Self-approval"</th>
                                        <th scope="col">"Approval timeout"</th>
                                        <th scope="col">"Default strategy"</th>
                                        <th scope="col">"Nodes online"</th>
                                        <th scope="col">"Serving pool"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list
                                        .into_iter()
                                        .map(|e| view! {
                                            <tr>
                                                <th scope="row">{e.name}</th>
                                                <td>
                                                    {if e.requires_approval {
                                                        format!("{} approval(s) required", e.required_approvals)
                                                    } else {
                                                        "not required".to_string()
                                                    }}
                                                </td>
                                                <td>{if e.allow_self_approval { "allowed" } else { "not allowed" }}</td>
                                                <td>{duration(e.approval_timeout_secs as f64)}</td>
                                                <td>{e.default_strategy}</td>
                                                <td>{format!("{} / {}", e.nodes_online, e.nodes_total)}</td>
                                                <td>{e.active_pool.unwrap_or_else(|| "—".into())}</td>
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
