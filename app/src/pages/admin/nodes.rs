use leptos::prelude::*;

use super::form_error;
use crate::api::environments::list_environments;
use crate::api::nodes::{list_nodes, CreateEnrollmentToken};
use crate::components::error_panel::ErrorPanel;
use crate::model::module::NodeFilter;
use crate::model::time::{date, minute};

const NODES_PER_PAGE: u64 = 50;

/// Enrolled nodes, and enrollment tokens to add more.
#[component]
pub fn NodesPanel() -> impl IntoView {
    let enroll = ServerAction::<CreateEnrollmentToken>::new();
    // A page at a time: a fleet can have thousands of nodes.
    let cursor = RwSignal::new(None::<String>);
    let nodes = Resource::new(
        move || (enroll.version().get(), cursor.get()),
        |(_, cursor)| {
            list_nodes(NodeFilter {
                limit: Some(NODES_PER_PAGE),
                cursor,
                ..Default::default()
            })
        },
    );
    let environments = Resource::new(|| (), |_| list_environments());
    let environment = RwSignal::new(String::new());
    let pool = RwSignal::new(String::new());
    let expires = RwSignal::new(String::new());
    let result = enroll.value();
    let origin = move || {
        #[cfg(feature = "hydrate")]
        {
            web_sys::window()
                .and_then(|w| w.location().origin().ok())
                .unwrap_or_default()
        }
        #[cfg(not(feature = "hydrate"))]
        {
            String::from("http://<this server>")
        }
    };

    view! {
        <section class="panel" aria-labelledby="nodes-title">
            <h2 id="nodes-title">"Nodes"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading nodes…"</p> }>
                {move || Suspend::new(async move {
                    match nodes.await {
                        Ok(page) if page.items.is_empty() && cursor.with(Option::is_none) => view! {
                            <p class="subtle">"No nodes yet. Create an enrollment token below and start an agent with it."</p>
                        }
                            .into_any(),
                        Ok(page) => {
                            let list = page.items;
                            let next = page.next_cursor;
                            let paging = (next.is_some() || cursor.with(Option::is_some)).then(|| view! {
                                <p class="inline-form">
                                    {cursor.with(Option::is_some).then(|| view! {
                                        <button type="button" class="button" on:click=move |_| cursor.set(None)>"First page"</button>
                                    })}
                                    {next.map(|after| view! {
                                        <button type="button" class="button" on:click=move |_| cursor.set(Some(after.clone()))>"Next page"</button>
                                    })}
                                </p>
                            });
                            view! {
                            <div class="table-scroll"><table class="data-table">
                                <caption class="visually-hidden">"Nodes"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">"Node"</th>
                                        <th scope="col">"Environment"</th>
                                        <th scope="col">"Pool"</th>
                                        <th scope="col">"Status"</th>
                                        <th scope="col">"Running"</th>
                                        <th scope="col">"Labels"</th>
                                        <th scope="col">"Last heartbeat"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list
                                        .into_iter()
                                        .map(|n| {
                                            let running = if n.versions.is_empty() {
                                                "nothing yet".to_string()
                                            } else {
                                                n.versions.iter().map(|(m, v)| format!("{m} {v}")).collect::<Vec<_>>().join(", ")
                                            };
                                            let labels = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ");
                                            view! {
                                                <tr aria-label=n.name.clone()>
                                                    <th scope="row">{n.name.clone()}</th>
                                                    <td>{n.environment.clone()}</td>
                                                    <td>{n.pool.clone().unwrap_or_else(|| "—".into())}</td>
                                                    <td>
                                                        <span class=format!("node-status node-status-{}", n.status)>{n.status.as_str()}</span>
                                                    </td>
                                                    <td>{running}</td>
                                                    <td>{labels}</td>
                                                    <td>{n.last_heartbeat_at.map(minute).unwrap_or_else(|| "never".into())}</td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </tbody>
                            </table></div>
                            {paging}
                            }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })}
            </Transition>
            <h3>"Enroll nodes"</h3>
            <form
                class="inline-form"
                method="post"
                action="/api/fn/create_enrollment_token"
                on:submit=move |ev| {
                    ev.prevent_default();
                    enroll.dispatch(CreateEnrollmentToken {
                        environment: environment.get_untracked(),
                        pool: pool.get_untracked(),
                        expires: expires.get_untracked(),
                    });
                }
            >
                <Suspense fallback=|| view! { <p class="loading">"Loading environments…"</p> }>
                    {move || Suspend::new(async move {
                        let names: Vec<String> = environments
                            .await
                            .unwrap_or_default()
                            .into_iter()
                            .map(|e| e.name)
                            .collect();
                        view! {
                            <div class="field">
                                <label for="enroll-environment">"Environment"</label>
                                <select
                                    id="enroll-environment"
                                    name="environment"
                                    required
                                    on:change=move |ev| environment.set(event_target_value(&ev))
                                >
                                    <option value="">"Choose…"</option>
                                    {names
                                        .into_iter()
                                        .map(|name| view! { <option value=name.clone()>{name.clone()}</option> })
                                        .collect_view()}
                                </select>
                            </div>
                        }
                    })}
                </Suspense>
                <div class="field">
                    <label for="enroll-pool">"Pool"</label>
                    <select id="enroll-pool" name="pool" on:change=move |ev| pool.set(event_target_value(&ev))>
                        <option value="">"none"</option>
                        <option value="blue">"blue"</option>
                        <option value="green">"green"</option>
                    </select>
                </div>
                <div class="field">
                    <label for="enroll-expires">"Expires after"</label>
                    <input
                        id="enroll-expires"
                        name="expires"
                        placeholder="24h"
                        prop:value=expires
                        on:input=move |ev| expires.set(event_target_value(&ev))
                    />
                    <p class="hint">"e.g. 1h or 7d; the default is 24 hours."</p>
                </div>
                <button type="submit" class="button">"Create enrollment token"</button>
            </form>
            {move || form_error(result.get()).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            {move || result.get().and_then(Result::ok).map(|created| {
                let pool = created.pool.clone().map(|p| format!(" (pool {p})")).unwrap_or_default();
                let command = format!(
                    "hotswap-agent --server {} --token {} --root /srv/hotswap --name <node name>",
                    origin(),
                    created.token
                );
                view! {
                    <div class="notice" role="status">
                        <p>
                            {format!(
                                "Enrollment token for {}{pool}, valid until {}. Copy it now; it is not shown again:",
                                created.environment,
                                date(created.expires_at)
                            )}
                        </p>
                        <code class="secret">{created.token.clone()}</code>
                        <p>"On each node, run:"</p>
                        <pre class="command"><code>{command}</code></pre>
                    </div>
                }
            })}
        </section>
    }
}
