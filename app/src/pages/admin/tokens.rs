use leptos::prelude::*;

use super::{field_error, form_error};
use crate::api::admin::{list_tokens, CreateToken, RevokeToken};
use crate::components::confirm::ConfirmButton;
use crate::components::error_panel::ErrorPanel;
use crate::components::form_field::FormField;
use crate::model::role::Role;
use crate::model::time::{date, minute};
use crate::model::validate;

/// API tokens of the tenant: create (the secret is shown once), list, revoke.
#[component]
pub fn TokensPanel() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let name = RwSignal::new(String::new());
    let expires = RwSignal::new(String::new());
    let role = RwSignal::new(String::new());
    let result = create.value();
    let name_error = Signal::derive(move || {
        let v = name.get();
        if v.is_empty() {
            field_error(result.get(), "name")
        } else {
            validate::name("name", &v)
                .err()
                .map(|e| e.message.to_string())
        }
    });
    let expires_error = Signal::derive(move || field_error(result.get(), "expires"));

    view! {
        <section class="panel" aria-labelledby="tokens-title">
            <h2 id="tokens-title">"API tokens"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading tokens…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="subtle">"No tokens yet. Create one for CI below."</p>
                        }
                            .into_any(),
                        Ok(list) => {
                            view! {
                                <div class="table-scroll"><table class="data-table">
                                    <caption class="visually-hidden">"API tokens"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Name"</th>
                                            <th scope="col">"Role"</th>
                                            <th scope="col">"Owner"</th>
                                            <th scope="col">"Created"</th>
                                            <th scope="col">"Expires"</th>
                                            <th scope="col">"Last used"</th>
                                            <th scope="col">"Status"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list
                                            .into_iter()
                                            .map(|t| {
                                                let id = t.id;
                                                let label = t.name.clone();
                                                view! {
                                                    <tr aria-label=t.name.clone()>
                                                        <th scope="row">{t.name.clone()}</th>
                                                        <td>{t.role.label()}</td>
                                                        <td>{t.owner.clone()}</td>
                                                        <td>{date(t.created_at)}</td>
                                                        <td>{t.expires_at.map(date).unwrap_or_else(|| "never".into())}</td>
                                                        <td>{t.last_used_at.map(minute).unwrap_or_else(|| "never".into())}</td>
                                                        <td>
                                                            {if t.revoked_at.is_some() {
                                                                view! { <span>"revoked"</span> }.into_any()
                                                            } else {
                                                                view! {
                                                                    <ConfirmButton
                                                                        label="Revoke"
                                                                        question=format!("Revoke the token {label}? Clients using it stop working now.")
                                                                        on_confirm=Callback::new(move |_| {
                                                                            revoke.dispatch(RevokeToken { id });
                                                                        })
                                                                    />
                                                                }
                                                                    .into_any()
                                                            }}
                                                        </td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table></div>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })}
            </Transition>
            <h3>"Create a token"</h3>
            <form
                class="inline-form"
                method="post"
                action="/api/fn/create_token"
                on:submit=move |ev| {
                    ev.prevent_default();
                    if name_error.with_untracked(Option::is_some) || name.with_untracked(|n| n.is_empty()) {
                        return;
                    }
                    create.dispatch(CreateToken {
                        name: name.get_untracked(),
                        role: role.get_untracked(),
                        expires: expires.get_untracked(),
                    });
                }
            >
                <FormField id="token-name" label="Token name" required=true value=name error=name_error/>
                <div class="field">
                    <label for="token-role">"Role"</label>
                    <select id="token-role" name="role" on:change=move |ev| role.set(event_target_value(&ev))>
                        <option value="">"same as mine"</option>
                        {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str()>{r.label()}</option> }).collect_view()}
                    </select>
                </div>
                <FormField
                    id="token-expires"
                    label="Expires after"
                    hint="e.g. 30d or 12h; empty for never."
                    value=expires
                    error=expires_error
                />
                <button type="submit" class="button">"Create token"</button>
            </form>
            {move || form_error(result.get()).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            {move || result.get().and_then(Result::ok).map(|created| view! {
                <div class="notice" role="status">
                    {format!("Created {}. Copy the token now; it is not shown again: ", created.info.name)}
                    <code class="secret">{created.token}</code>
                </div>
            })}
        </section>
    }
}
