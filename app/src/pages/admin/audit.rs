use leptos::prelude::*;

use crate::api::admin::list_audit;
use crate::components::error_panel::ErrorPanel;
use crate::components::time::RelativeTime;
use crate::model::admin::AuditQuery;

/// The audit log with filters; newest first, older pages by cursor.
#[component]
pub fn AuditPanel() -> impl IntoView {
    let actor = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let outcome = RwSignal::new(String::new());
    let cursor = RwSignal::new(None::<i64>);
    let query = move || AuditQuery {
        actor: Some(actor.get()),
        action: Some(action.get()),
        outcome: Some(outcome.get()),
        cursor: cursor.get(),
    };
    let page = Resource::new(query, list_audit);

    view! {
        <section class="panel" aria-labelledby="audit-title">
            <h2 id="audit-title">"Audit log"</h2>
            <div class="filters" role="search" aria-label="Filter the audit log">
                <label>
                    "Actor"
                    <input type="text" on:change=move |ev| { cursor.set(None); actor.set(event_target_value(&ev)); }/>
                </label>
                <label>
                    "Action contains"
                    <input type="text" on:change=move |ev| { cursor.set(None); action.set(event_target_value(&ev)); }/>
                </label>
                <label>
                    "Outcome"
                    <select on:change=move |ev| { cursor.set(None); outcome.set(event_target_value(&ev)); }>
                        <option value="">"any"</option>
                        <option value="success">"success"</option>
                        <option value="failure">"failure"</option>
                        <option value="denied">"denied"</option>
                    </select>
                </label>
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading the audit log…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => {
                            let now = page.now;
                            let next = page.next_cursor;
                            view! {
                                <div class="table-scroll"><table class="data-table">
                                    <caption class="visually-hidden">"Audit log"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"When"</th>
                                            <th scope="col">"Actor"</th>
                                            <th scope="col">"Action"</th>
                                            <th scope="col">"Target"</th>
                                            <th scope="col">"From"</th>
                                            <th scope="col">"Outcome"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {page.items.into_iter().map(|e| view! {
                                            <tr>
                                                <td><RelativeTime at=e.created_at now/></td>
                                                <td>{e.actor}</td>
                                                <td class="mono">{e.action}</td>
                                                <td class="mono">{e.target.unwrap_or_default()}</td>
                                                <td class="mono">{e.source_ip.unwrap_or_default()}</td>
                                                <td><span class=format!("outcome outcome-{}", e.outcome)>{e.outcome.clone()}</span></td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table></div>
                                <p class="pager">
                                    {move || cursor.get().is_some().then(|| view! {
                                        <button type="button" class="button secondary" on:click=move |_| cursor.set(None)>"Newest"</button>
                                    })}
                                    {next.map(|c| view! {
                                        <button type="button" class="button secondary" on:click=move |_| cursor.set(Some(c))>"Older entries"</button>
                                    })}
                                </p>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
