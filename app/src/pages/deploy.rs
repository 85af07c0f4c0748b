use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::deployments::{preview_deployment, RequestDeployment};
use crate::api::environments::list_environments;
use crate::api::modules::{list_modules, list_versions};
use crate::api::nodes::running_versions;
use crate::components::error_panel::ErrorPanel;
use crate::components::layout::use_viewer;
use crate::error::AppError;
use crate::model::deployment::{DeployPreview, DeployRequest};
use crate::model::environment::EnvironmentSummary;
use crate::model::module::RunningVersion;
use crate::model::role::Action;
use crate::model::time::duration;
use crate::model::wizard::{guide_phases, PhaseInput, StrategyInput};

/// `/deploy`: the wizard — module → version → environment → strategy (checked
/// as you type, with a preview of every phase) → review node by node → submit,
/// then straight to the live view.
#[component]
pub fn DeployPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let initial = |key: &str| query.with_untracked(|q| q.get(key).unwrap_or_default());
    let module = RwSignal::new(initial("module"));
    let version = RwSignal::new(initial("version"));
    let environment = RwSignal::new(initial("environment"));
    let strategy = RwSignal::new(StrategyInput::default());

    let modules = Resource::new(|| (), |_| list_modules());
    let environments = Resource::new(|| (), |_| list_environments());
    let nodes = Resource::new(|| (), |_| running_versions());
    let versions = Resource::new(
        move || module.get(),
        |m| async move {
            if m.is_empty() {
                Ok(Vec::new())
            } else {
                list_versions(m).await
            }
        },
    );
    let request = Memo::new(move |_| DeployRequest {
        module: module.get(),
        version: version.get(),
        environment: environment.get(),
        strategy: strategy
            .with(|s| s.document())
            .map(|d| d.to_string())
            .unwrap_or_default(),
        override_freeze: String::new(),
    });
    // Break glass: an Admin's reason to deploy inside a freeze window.
    let override_reason = RwSignal::new(String::new());
    let problems = Memo::new(move |_| strategy.with(|s| s.problems()));
    let preview = Resource::new(
        move || (request.get(), problems.with(Vec::is_empty)),
        |(r, clean)| async move {
            if r.module.is_empty() || r.version.is_empty() || r.environment.is_empty() || !clean {
                None
            } else {
                Some(preview_deployment(r).await)
            }
        },
    );
    let submit = ServerAction::<RequestDeployment>::new();
    let result = submit.value();
    Effect::new(move |_| {
        if let Some(Ok(requested)) = result.get() {
            #[cfg(feature = "hydrate")]
            if let Some(window) = web_sys::window() {
                let _ = window
                    .location()
                    .set_href(&format!("/deployments/{}", requested.id));
            }
            let _ = requested;
        }
    });
    let viewer = use_viewer();

    view! {
        <Title text="Deploy"/>
        <div class="page-head">
            <h1>"Deploy"</h1>
            <p class="subtle">"Choose a module version, where it goes and how it rolls out; review every node before you submit."</p>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = match viewer {
                    Some(v) => v.await.ok().flatten(),
                    None => None,
                };
                let may_deploy = me.as_ref().is_some_and(|v| v.role.allows(Action::Deploy));
                let is_admin = me.as_ref().is_some_and(|v| v.role.allows(Action::Approve));
                let (mods, envs, fleet) = (modules.await, environments.await, nodes.await);
                let (mods, envs, fleet) = match (mods, envs, fleet) {
                    (Ok(m), Ok(e), Ok(n)) => (m, e, n),
                    (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => {
                        return view! { <ErrorPanel error/> }.into_any();
                    }
                };
                if !may_deploy {
                    return view! {
                        <p class="notice" role="status">"Your role can watch deployments but not start them. Ask an Admin for the Deployer role."</p>
                    }
                        .into_any();
                }
                if mods.is_empty() {
                    return view! {
                        <p class="notice" role="status">"No modules yet. Publish one with POST /api/v1/modules and its versions under /api/v1/modules/{name}/versions, then come back."</p>
                    }
                        .into_any();
                }
                view! {
                    <form class="wizard" on:submit=move |ev| {
                        ev.prevent_default();
                        if problems.with_untracked(Vec::is_empty) {
                            let mut request = request.get_untracked();
                            request.override_freeze = override_reason.get_untracked();
                            submit.dispatch(RequestDeployment { request });
                        }
                    }>
                        <fieldset class="step-box">
                            <legend>"1. Module"</legend>
                            <div class="field">
                                <label for="wizard-module">"Module"</label>
                                <select id="wizard-module" on:change=move |ev| {
                                    module.set(event_target_value(&ev));
                                    version.set(String::new());
                                }>
                                    <option value="" selected=move || module.with(String::is_empty)>"Choose a module"</option>
                                    {mods.into_iter().map(|m| {
                                        let name = m.name.clone();
                                        let selected = move || module.with(|v| *v == name);
                                        view! { <option value=m.name.clone() selected=selected>{m.name.clone()}</option> }
                                    }).collect_view()}
                                </select>
                            </div>
                        </fieldset>
                        <fieldset class="step-box" disabled=move || module.with(String::is_empty)>
                            <legend>"2. Version"</legend>
                            <VersionPicker versions version/>
                        </fieldset>
                        <fieldset class="step-box" disabled=move || version.with(String::is_empty)>
                            <legend>"3. Environment"</legend>
                            <EnvironmentPicker envs fleet module environment/>
                        </fieldset>
                        <fieldset class="step-box" disabled=move || environment.with(String::is_empty)>
                            <legend>"4. Strategy"</legend>
                            <StrategyEditor strategy problems/>
                        </fieldset>
                        <fieldset class="step-box" disabled=move || environment.with(String::is_empty)>
                            <legend>"5. Review"</legend>
                            <Transition fallback=|| view! { <p class="loading">"Checking…"</p> }>
                                {move || Suspend::new(async move {
                                    match preview.await {
                                        None => view! { <p class="subtle">"Choose a module, a version and an environment to see what will happen."</p> }.into_any(),
                                        Some(Ok(p)) => view! { <Review preview=p is_admin override_reason/> }.into_any(),
                                        Some(Err(error)) => view! { <p class="form-error" role="alert">{refusal(&error)}</p> }.into_any(),
                                    }
                                })}
                            </Transition>
                            {move || result.get().and_then(Result::err).map(|error| view! {
                                <p class="form-error" role="alert">{format!("Not deployed: {}", refusal(&error))}</p>
                            })}
                            <button type="submit" class="button" disabled=move || !problems.with(Vec::is_empty) || submit.pending().get()>
                                {move || if submit.pending().get() { "Requesting…" } else { "Deploy" }}
                            </button>
                        </fieldset>
                    </form>
                }
                    .into_any()
            })}
        </Suspense>
    }
}

/// A refusal in words, naming the field when there is one.
fn refusal(error: &AppError) -> String {
    match error {
        AppError::Invalid {
            field: Some(field),
            message,
        } => format!("{field}: {message}"),
        other => other.to_string(),
    }
}

#[component]
fn VersionPicker(
    versions: Resource<Result<Vec<crate::model::module::VersionInfo>, AppError>>,
    version: RwSignal<String>,
) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading versions…"</p> }>
            {move || Suspend::new(async move {
                match versions.await {
                    Ok(list) if list.is_empty() => view! { <p class="subtle">"No versions published for this module yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="choices" role="radiogroup" aria-label="Version">
                            {list.into_iter().map(|v| {
                                let value = v.version.clone();
                                let checked = {
                                    let value = value.clone();
                                    move || version.with(|cur| *cur == value)
                                };
                                let id = format!("version-{}", v.version);
                                view! {
                                    <label class="choice">
                                        <input type="radio" name="version" id=id value=value.clone() prop:checked=checked
                                            on:change=move |_| version.set(value.clone())/>
                                        <span class="choice-body">
                                            <span class="choice-title mono">{v.version.clone()}</span>
                                            <span class="choice-meta">{format!("published by {}", v.published_by.clone().unwrap_or_else(|| "unknown".into()))}</span>
                                            <span class="choice-meta mono" title=v.sha256.clone()>{format!("sha256 {}…", &v.sha256[..12.min(v.sha256.len())])}</span>
                                            <span class="choice-meta">{if v.signed { "signed" } else { "unsigned" }}</span>
                                        </span>
                                    </label>
                                }
                            }).collect_view()}
                        </div>
                    }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// "1.0.0 on 3 nodes, nothing on 1".
fn running_now(fleet: &[RunningVersion], env: &EnvironmentSummary, module: &str) -> String {
    if env.nodes_total == 0 {
        return "no nodes enrolled".into();
    }
    let mut counts: BTreeMap<String, u64> = fleet
        .iter()
        .filter(|r| r.environment == env.name && r.module == module)
        .map(|r| (r.version.clone(), r.nodes))
        .collect();
    let reporting: u64 = counts.values().sum();
    if reporting < env.nodes_total {
        *counts.entry("nothing".into()).or_default() += env.nodes_total - reporting;
    }
    counts
        .into_iter()
        .map(|(v, n)| format!("{v} on {n} node{}", if n == 1 { "" } else { "s" }))
        .collect::<Vec<_>>()
        .join(", ")
}

#[component]
fn EnvironmentPicker(
    envs: Vec<EnvironmentSummary>,
    fleet: Vec<RunningVersion>,
    module: RwSignal<String>,
    environment: RwSignal<String>,
) -> impl IntoView {
    view! {
        <div class="choices" role="radiogroup" aria-label="Environment">
            {envs.into_iter().map(|e| {
                let name = e.name.clone();
                let checked = {
                    let name = name.clone();
                    move || environment.with(|cur| *cur == name)
                };
                let fleet = fleet.clone();
                let env = e.clone();
                let now = move || running_now(&fleet, &env, &module.get());
                let approval = if e.requires_approval {
                    format!("needs {} approval(s)", e.required_approvals)
                } else {
                    "no approval needed".into()
                };
                let id = format!("environment-{}", e.name);
                view! {
                    <label class="choice">
                        <input type="radio" name="environment" id=id value=name.clone() prop:checked=checked
                            on:change=move |_| environment.set(name.clone())/>
                        <span class="choice-body">
                            <span class="choice-title">{e.name.clone()}</span>
                            <span class="choice-meta">{move || format!("runs {}", now())}</span>
                            <span class="choice-meta">{format!("{} of {} nodes online", e.nodes_online, e.nodes_total)}</span>
                            <span class="choice-meta">{approval}</span>
                            <span class="choice-meta">{e.frozen.clone().unwrap_or_else(|| "not frozen".into())}</span>
                            <span class="choice-meta">{format!("default: {}", e.default_strategy)}</span>
                        </span>
                    </label>
                }
            }).collect_view()}
        </div>
    }
}

#[component]
fn StrategyEditor(
    strategy: RwSignal<StrategyInput>,
    problems: Memo<Vec<crate::model::wizard::Problem>>,
) -> impl IntoView {
    let problem = move |field: String| {
        problems.with(|ps| {
            ps.iter()
                .find(|p| p.field == field)
                .map(|p| p.message.clone())
        })
    };
    let kind = move || strategy.with(|s| s.kind.clone());
    view! {
        <div class="field">
            <label for="wizard-strategy">"Strategy"</label>
            <select id="wizard-strategy" on:change=move |ev| strategy.update(|s| s.kind = event_target_value(&ev))>
                <option value="default">"The environment's default"</option>
                <option value="direct">"Direct: every node at once"</option>
                <option value="rolling">"Rolling: in batches"</option>
                <option value="blue_green">"Blue-green: the idle pool, then switch"</option>
                <option value="canary">"Canary: growing phases, checked against metrics"</option>
            </select>
        </div>
        <Show when=move || kind() == "rolling">
            <div class="field-row">
                <TextField id="wizard-batch" label="Batch size" hint="nodes (2) or a share (25%)"
                    get=move || strategy.with(|s| s.batch_size.clone())
                    set=move |v| strategy.update(|s| s.batch_size = v)
                    error=Signal::derive(move || problem("batch_size".into()))/>
                <TextField id="wizard-max-failed" label="Failures tolerated" hint="nodes that may fail before it rolls back"
                    get=move || strategy.with(|s| s.max_failed.clone())
                    set=move |v| strategy.update(|s| s.max_failed = v)
                    error=Signal::derive(move || problem("max_failed".into()))/>
            </div>
        </Show>
        <Show when=move || kind() == "canary">
            <div class="table-scroll"><table class="data-table phase-editor">
                <caption>"Canary phases"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Phase"</th>
                        <th scope="col">"Nodes (%)"</th>
                        <th scope="col">"Watch for"</th>
                        <th scope="col">"Max error rate (%)"</th>
                        <th scope="col">"Max p95 (ms)"</th>
                        <th scope="col"><span class="visually-hidden">"Remove"</span></th>
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=move || 0..strategy.with(|s| s.phases.len())
                        key=|i| *i
                        children=move |i| {
                            let cell = move |field: &'static str, label: String, get: fn(&PhaseInput) -> String, set: fn(&mut PhaseInput, String)| {
                                let path = format!("phases[{i}].{field}");
                                let error = Signal::derive(move || problem(path.clone()));
                                let id = format!("phase-{i}-{field}");
                                view! {
                                    <td>
                                        <label class="visually-hidden" for=id.clone()>{label}</label>
                                        <input id=id class="small" type="text"
                                            prop:value=move || strategy.with(|s| s.phases.get(i).map(get).unwrap_or_default())
                                            on:input=move |ev| { let v = event_target_value(&ev); strategy.update(|s| if let Some(p) = s.phases.get_mut(i) { set(p, v) }) }
                                            aria-invalid=move || error.with(Option::is_some).to_string()/>
                                        {move || error.get().map(|e| view! { <span class="field-error" role="alert">{e}</span> })}
                                    </td>
                                }
                            };
                            view! {
                                <tr>
                                    <th scope="row">{format!("{}", i + 1)}</th>
                                    {cell("percent", format!("Phase {} nodes (%)", i + 1), |p| p.percent.clone(), |p, v| p.percent = v)}
                                    {cell("duration", format!("Phase {} duration", i + 1), |p| p.duration.clone(), |p, v| p.duration = v)}
                                    {cell("max_error_rate", format!("Phase {} max error rate (%)", i + 1), |p| p.max_error_pct.clone(), |p, v| p.max_error_pct = v)}
                                    {cell("max_p95_ms", format!("Phase {} max p95 (ms)", i + 1), |p| p.max_p95_ms.clone(), |p, v| p.max_p95_ms = v)}
                                    <td>
                                        <button type="button" class="linkbutton" on:click=move |_| strategy.update(|s| { if i < s.phases.len() { s.phases.remove(i); } })>
                                            {format!("Remove phase {}", i + 1)}
                                        </button>
                                    </td>
                                </tr>
                            }
                        }
                    />
                </tbody>
            </table></div>
            {move || problem("phases".into()).map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
            <div class="actions">
                <button type="button" class="button secondary" on:click=move |_| strategy.update(|s| {
                    let last = s.phases.last().cloned().unwrap_or_else(|| guide_phases()[0].clone());
                    s.phases.push(PhaseInput { percent: "100".into(), ..last });
                })>"Add a phase"</button>
                <button type="button" class="linkbutton" on:click=move |_| strategy.update(|s| s.phases = guide_phases())>"Reset to the operations guide"</button>
            </div>
        </Show>
    }
}

#[component]
fn TextField(
    id: &'static str,
    label: &'static str,
    hint: &'static str,
    get: impl Fn() -> String + Send + Sync + 'static,
    set: impl Fn(String) + Send + Sync + 'static,
    error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id type="text" prop:value=get on:input=move |ev| set(event_target_value(&ev))
                aria-invalid=move || error.with(Option::is_some).to_string()
                aria-describedby=format!("{id}-hint")/>
            <p class="hint" id=format!("{id}-hint")>{hint}</p>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        </div>
    }
}

/// The phases and every node's change, as the server planned them.
#[component]
fn Review(
    preview: DeployPreview,
    is_admin: bool,
    override_reason: RwSignal<String>,
) -> impl IntoView {
    let approval = if preview.requires_approval {
        format!(
            "Waits for {} approval(s) before it starts.",
            preview.required_approvals
        )
    } else {
        "Starts as soon as it is queued.".into()
    };
    view! {
        <div class="review">
            <p><strong>{preview.strategy.clone()}</strong>" · "{approval}</p>
            {preview.freeze.clone().map(|f| view! {
                <div class="freeze" role="group" aria-label="Freeze window">
                    <p class="form-error" role="alert">{f}</p>
                    {if is_admin {
                        view! {
                            <div class="field">
                                <label for="wizard-override">"Break-glass reason"</label>
                                <textarea id="wizard-override" rows="2"
                                    prop:value=move || override_reason.get()
                                    on:input=move |ev| override_reason.set(event_target_value(&ev))></textarea>
                                <p class="hint">"Deploying inside a freeze is recorded in the audit log with this reason."</p>
                            </div>
                        }.into_any()
                    } else {
                        view! { <p class="hint">"Only an Admin may deploy during a freeze."</p> }.into_any()
                    }}
                </div>
            })}
            <ol class="preview-phases" aria-label="Phases">
                {preview.phases.iter().map(|p| {
                    let limits = match (p.max_error_rate, p.max_p95_ms) {
                        (Some(rate), Some(p95)) => format!(", errors ≤ {:.2} %, p95 ≤ {p95:.0} ms", rate * 100.0),
                        _ => String::new(),
                    };
                    let wait = if p.wait_secs > 0 { format!(", watched {}", duration(p.wait_secs as f64)) } else { String::new() };
                    view! { <li>{format!("{}: {} node(s){wait}{limits}", p.label, p.nodes)}</li> }
                }).collect_view()}
            </ol>
            <div class="table-scroll"><table class="data-table">
                <caption>"Node by node"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Node"</th>
                        <th scope="col">"Now"</th>
                        <th scope="col">"After"</th>
                        <th scope="col">"Phase"</th>
                    </tr>
                </thead>
                <tbody>
                    {preview.nodes.into_iter().map(|n| view! {
                        <tr aria-label=n.name.clone()>
                            <th scope="row">{n.name.clone()}{(!n.online).then_some(" (offline)")}</th>
                            <td class="mono">{n.current.clone().unwrap_or_else(|| "nothing".into())}</td>
                            <td class="mono">{n.next.clone()}</td>
                            <td>{n.phase.clone().unwrap_or_else(|| "not swapped".into())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table></div>
        </div>
    }
}
