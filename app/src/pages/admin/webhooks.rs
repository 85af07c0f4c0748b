use leptos::prelude::*;

use super::{field_error, form_error};
use crate::api::webhooks::{list_deliveries, list_webhooks, CreateWebhook, DeleteWebhook};
use crate::components::confirm::ConfirmButton;
use crate::components::error_panel::ErrorPanel;
use crate::model::time::minute;

use crate::model::event::WebhookTopic;

/// Outgoing webhooks: add one (its signing secret is shown once), remove
/// one, and read its delivery log.
#[component]
pub fn WebhooksPanel() -> impl IntoView {
    let create = ServerAction::<CreateWebhook>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    let hooks = Resource::new(
        move || (create.version().get(), delete.version().get()),
        |_| list_webhooks(),
    );
    let shown = RwSignal::new(None::<i64>);
    let deliveries = Resource::new(
        move || shown.get(),
        |id| async move {
            match id {
                Some(id) => list_deliveries(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let url = RwSignal::new(String::new());
    let format = RwSignal::new("json".to_string());
    let chosen = RwSignal::new(
        WebhookTopic::ALL
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>(),
    );
    let result = create.value();

    view! {
        <section class="panel" aria-labelledby="webhooks-title">
            <h2 id="webhooks-title">"Webhooks"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading webhooks…"</p> }>
                {move || Suspend::new(async move {
                    match hooks.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="subtle">"No webhooks. Add one to tell chat or another system about approvals and outcomes."</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <div class="table-scroll"><table class="data-table">
                                <caption class="visually-hidden">"Webhooks"</caption>
                                <thead><tr>
                                    <th scope="col">"URL"</th>
                                    <th scope="col">"Events"</th>
                                    <th scope="col">"Format"</th>
                                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|w| {
                                        let id = w.id;
                                        let target = w.url.clone();
                                        view! {
                                            <tr aria-label=w.url.clone()>
                                                <th scope="row" class="mono">{w.url.clone()}</th>
                                                <td>{w.events.join(", ")}</td>
                                                <td>{w.format.clone()}</td>
                                                <td class="actions">
                                                    <button type="button" class="linkbutton" on:click=move |_| shown.set(Some(id))>"Deliveries"</button>
                                                    <ConfirmButton label="Remove" question=format!("Remove the webhook to {target}?")
                                                        on_confirm=Callback::new(move |_| { delete.dispatch(DeleteWebhook { id }); })/>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })}
            </Transition>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match deliveries.await {
                        Ok(Some(list)) if list.is_empty() => view! { <p class="subtle">"Nothing delivered yet."</p> }.into_any(),
                        Ok(Some(list)) => view! {
                            <div class="table-scroll"><table class="data-table">
                                <caption>"Deliveries, newest first"</caption>
                                <thead><tr>
                                    <th scope="col">"Event"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Attempts"</th>
                                    <th scope="col">"Last answer"</th>
                                    <th scope="col">"Queued"</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|d| view! {
                                        <tr>
                                            <td>{d.event.as_str()}</td>
                                            <td>{d.status.as_str()}</td>
                                            <td>{d.attempts}</td>
                                            <td>{d.last_error.clone().or(d.last_status.map(|s| format!("HTTP {s}"))).unwrap_or_default()}</td>
                                            <td>{minute(d.created_at)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })}
            </Transition>
            <h3>"Add a webhook"</h3>
            <form class="inline-form" on:submit=move |ev| {
                ev.prevent_default();
                create.dispatch(CreateWebhook {
                    url: url.get_untracked(),
                    format: format.get_untracked(),
                    events: chosen.get_untracked(),
                });
            }>
                <div class="field">
                    <label for="webhook-url">"URL"</label>
                    <input id="webhook-url" type="url" prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev))/>
                    {move || field_error(result.get(), "url").map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                </div>
                <div class="field">
                    <label for="webhook-format">"Format"</label>
                    <select id="webhook-format" on:change=move |ev| format.set(event_target_value(&ev))>
                        <option value="json">"JSON (signed)"</option>
                        <option value="slack">"Slack text"</option>
                    </select>
                </div>
                <fieldset class="events">
                    <legend>"Events"</legend>
                    {WebhookTopic::ALL.iter().map(|e| {
                        let name = e.to_string();
                        let checked = { let name = name.clone(); move || chosen.with(|c| c.contains(&name)) };
                        view! {
                            <label class="check">
                                <input type="checkbox" prop:checked=checked on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    chosen.update(|c| { c.retain(|x| *x != name); if on { c.push(name.clone()); } });
                                }/>
                                {e.as_str().replace('_', " ")}
                            </label>
                        }
                    }).collect_view()}
                    {move || field_error(result.get(), "events").map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                </fieldset>
                <button type="submit" class="button">"Add webhook"</button>
            </form>
            {move || form_error(result.get()).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            {move || result.get().and_then(Result::ok).map(|created| view! {
                <div class="notice" role="status">
                    "Added. Receivers check X-Hotswap-Signature with this secret; copy it now, it is not shown again: "
                    <code class="secret">{created.secret.unwrap_or_default()}</code>
                </div>
            })}
        </section>
    }
}
