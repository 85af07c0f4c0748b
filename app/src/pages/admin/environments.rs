use leptos::prelude::*;

use super::{field_error, form_error};
use crate::api::environments::{
    list_environments, list_freeze_windows, AddFreezeWindow, RemoveFreezeWindow, UpdatePolicy,
};
use crate::components::confirm::ConfirmButton;
use crate::components::error_panel::ErrorPanel;
use crate::model::environment::{EnvironmentSummary, FreezeInfo, NewFreeze, PolicyChange};
use crate::model::time::duration;

/// The tenant's environments and their policies: approval rules and freeze
/// windows, changed here by Admins.
#[component]
pub fn EnvironmentsPanel() -> impl IntoView {
    let policy = ServerAction::<UpdatePolicy>::new();
    let environments = Resource::new(move || policy.version().get(), |_| list_environments());
    // Created here, before the suspense that renders them, so that the
    // browser finds the same resources the server rendered.
    let add = ServerAction::<AddFreezeWindow>::new();
    let remove = ServerAction::<RemoveFreezeWindow>::new();
    let windows = Resource::new(
        move || (add.version().get(), remove.version().get()),
        |_| list_freeze_windows(),
    );
    // The environment the policy form edits, kept across refreshes.
    let selected = RwSignal::new(String::new());
    view! {
        <section class="panel" aria-labelledby="environments-title">
            <h2 id="environments-title">"Environments and policies"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading environments…"</p> }>
                {move || Suspend::new(async move {
                    match environments.await {
                        Ok(list) => view! {
                            <div class="table-scroll"><table class="data-table">
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
                                        .clone()
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
                            </table></div>
                            <PolicyForm envs=list.clone() policy selected/>
                            <FreezePanel envs=list windows add remove/>
                        }
                            .into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// Seconds as the API takes them back, e.g. "86400s".
fn seconds(secs: i64) -> String {
    format!("{secs}s")
}

#[component]
fn PolicyForm(
    envs: Vec<EnvironmentSummary>,
    policy: ServerAction<UpdatePolicy>,
    selected: RwSignal<String>,
) -> impl IntoView {
    let first = envs
        .iter()
        .find(|e| selected.with_untracked(|s| *s == e.name))
        .or(envs.first())
        .cloned();
    let environment = selected;
    environment.set(first.as_ref().map(|e| e.name.clone()).unwrap_or_default());
    let requires = RwSignal::new(first.as_ref().is_some_and(|e| e.requires_approval));
    let required = RwSignal::new(
        first
            .as_ref()
            .map_or("1".into(), |e| e.required_approvals.to_string()),
    );
    let self_approval = RwSignal::new(first.as_ref().is_some_and(|e| e.allow_self_approval));
    let timeout = RwSignal::new(
        first
            .as_ref()
            .map_or("24h".into(), |e| seconds(e.approval_timeout_secs)),
    );
    let pick = {
        let envs = envs.clone();
        move |name: String| {
            if let Some(e) = envs.iter().find(|e| e.name == name) {
                requires.set(e.requires_approval);
                required.set(e.required_approvals.to_string());
                self_approval.set(e.allow_self_approval);
                timeout.set(seconds(e.approval_timeout_secs));
            }
            environment.set(name);
        }
    };
    let result = policy.value();
    view! {
        <h3>"Approval policy"</h3>
        <form class="inline-form" on:submit=move |ev| {
            ev.prevent_default();
            policy.dispatch(UpdatePolicy { change: PolicyChange {
                environment: environment.get_untracked(),
                requires_approval: requires.get_untracked(),
                required_approvals: required.get_untracked(),
                allow_self_approval: self_approval.get_untracked(),
                approval_timeout: timeout.get_untracked(),
            }});
        }>
            <div class="field">
                <label for="policy-environment">"Environment"</label>
                <select id="policy-environment" on:change=move |ev| pick(event_target_value(&ev))>
                    {envs.iter().map(|e| {
                        let chosen = first.as_ref().is_some_and(|f| f.name == e.name);
                        view! { <option value=e.name.clone() selected=chosen>{e.name.clone()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <label class="check">
                <input type="checkbox" prop:checked=move || requires.get() on:change=move |ev| requires.set(event_target_checked(&ev))/>
                "Requires approval"
            </label>
            <div class="field">
                <label for="policy-required">"Approvals needed"</label>
                <input id="policy-required" type="number" min="1" max="10" class="small"
                    prop:value=move || required.get() on:input=move |ev| required.set(event_target_value(&ev))/>
                {move || field_error(result.get(), "required_approvals").map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            </div>
            <label class="check">
                <input type="checkbox" prop:checked=move || self_approval.get() on:change=move |ev| self_approval.set(event_target_checked(&ev))/>
                "Requesters may approve their own"
            </label>
            <div class="field">
                <label for="policy-timeout">"Expires after"</label>
                <input id="policy-timeout" type="text" class="small"
                    prop:value=move || timeout.get() on:input=move |ev| timeout.set(event_target_value(&ev))/>
                {move || field_error(result.get(), "approval_timeout").map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            </div>
            <button type="submit" class="button">"Save policy"</button>
        </form>
        {move || form_error(result.get()).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        {move || matches!(result.get(), Some(Ok(()))).then(|| view! { <p class="notice" role="status">"Policy saved."</p> })}
    }
}

#[component]
fn FreezePanel(
    envs: Vec<EnvironmentSummary>,
    windows: Resource<Result<Vec<FreezeInfo>, crate::error::AppError>>,
    add: ServerAction<AddFreezeWindow>,
    remove: ServerAction<RemoveFreezeWindow>,
) -> impl IntoView {
    let form = RwSignal::new(NewFreeze {
        environment: envs.first().map(|e| e.name.clone()).unwrap_or_default(),
        kind: "once".into(),
        day: "friday".into(),
        from: "16:00".into(),
        to: "23:59".into(),
        ..NewFreeze::default()
    });
    let result = add.value();
    let error = move |field: &'static str| {
        move || {
            field_error(result.get(), field)
                .map(|e| view! { <p class="field-error" role="alert">{e}</p> })
        }
    };
    let text = move |id: &'static str,
                     label: &'static str,
                     hint: &'static str,
                     get: fn(&NewFreeze) -> String,
                     set: fn(&mut NewFreeze, String)| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id type="text" prop:value=move || form.with(get) on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| set(f, v)) }/>
                {(!hint.is_empty()).then(|| view! { <p class="hint">{hint}</p> })}
            </div>
        }
    };
    view! {
        <h3>"Freeze windows"</h3>
        <Transition fallback=|| view! { <p class="loading">"Loading freeze windows…"</p> }>
            {move || Suspend::new(async move {
                match windows.await {
                    Ok(list) if list.is_empty() => view! { <p class="subtle">"No freeze windows: every environment takes roll-outs at any time."</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="table-scroll"><table class="data-table">
                            <caption class="visually-hidden">"Freeze windows"</caption>
                            <thead><tr>
                                <th scope="col">"Environment"</th>
                                <th scope="col">"Name"</th>
                                <th scope="col">"When"</th>
                                <th scope="col">"Now"</th>
                                <th scope="col"><span class="visually-hidden">"Remove"</span></th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|w| {
                                    let (environment, id) = (w.environment.clone(), w.id);
                                    view! {
                                        <tr aria-label=w.name.clone()>
                                            <td>{w.environment.clone()}</td>
                                            <th scope="row">{w.name.clone()}</th>
                                            <td>{w.schedule.clone()}</td>
                                            <td>{if w.active { "in force" } else { "not in force" }}</td>
                                            <td><ConfirmButton label="Remove" question=format!("Remove the freeze “{}” of {}?", w.name, w.environment)
                                                on_confirm=Callback::new(move |_| { remove.dispatch(RemoveFreezeWindow { environment: environment.clone(), id }); })/></td>
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
        <form class="inline-form" on:submit=move |ev| {
            ev.prevent_default();
            add.dispatch(AddFreezeWindow { new: form.get_untracked() });
        }>
            <div class="field">
                <label for="freeze-environment">"Environment"</label>
                <select id="freeze-environment" on:change=move |ev| { let v = event_target_value(&ev); form.update(|f| f.environment = v) }>
                    {envs.iter().map(|e| view! { <option value=e.name.clone()>{e.name.clone()}</option> }).collect_view()}
                </select>
            </div>
            {text("freeze-name", "Name", "", |f| f.name.clone(), |f, v| f.name = v)}
            {error("name")}
            <div class="field">
                <label for="freeze-kind">"Repeats"</label>
                <select id="freeze-kind" on:change=move |ev| { let v = event_target_value(&ev); form.update(|f| f.kind = v) }>
                    <option value="once">"once"</option>
                    <option value="weekly">"every week"</option>
                </select>
            </div>
            <Show when=move || form.with(|f| f.kind == "weekly") fallback=move || view! {
                {text("freeze-starts", "Starts", "UTC, e.g. 2026-11-27T00:00:00Z", |f| f.starts_at.clone(), |f, v| f.starts_at = v)}
                {error("starts_at")}
                {text("freeze-ends", "Ends", "UTC", |f| f.ends_at.clone(), |f, v| f.ends_at = v)}
                {error("ends_at")}
            }>
                {text("freeze-day", "Day", "e.g. friday", |f| f.day.clone(), |f, v| f.day = v)}
                {error("weekly.day")}
                {text("freeze-from", "From", "UTC, e.g. 16:00", |f| f.from.clone(), |f, v| f.from = v)}
                {error("weekly.from")}
                {text("freeze-to", "To", "UTC", |f| f.to.clone(), |f, v| f.to = v)}
                {error("weekly.to")}
            </Show>
            <button type="submit" class="button">"Add freeze window"</button>
        </form>
        {move || form_error(result.get()).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
    }
}
