use leptos::prelude::*;

use super::{field_error, form_error};
use crate::api::admin::{list_members, AddMember, UpdateMember};
use crate::components::confirm::ConfirmButton;
use crate::components::error_panel::ErrorPanel;
use crate::components::form_field::FormField;
use crate::model::admin::Member;
use crate::model::role::Role;
use crate::model::validate;

/// Members of the tenant with their roles; invite, change role, disable.
#[component]
pub fn MembersPanel() -> impl IntoView {
    let add = ServerAction::<AddMember>::new();
    let update = ServerAction::<UpdateMember>::new();
    let members = Resource::new(
        move || (add.version().get(), update.version().get()),
        |_| list_members(),
    );

    view! {
        <section class="panel" aria-labelledby="members-title">
            <h2 id="members-title">"Members"</h2>
            {move || form_error(update.value().get()).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            <Transition fallback=|| view! { <p class="loading">"Loading members…"</p> }>
                {move || Suspend::new(async move {
                    match members.await {
                        Ok(list) => view! { <MemberTable list update/> }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })}
            </Transition>
            <InviteForm add/>
        </section>
    }
}

#[component]
fn MemberTable(list: Vec<Member>, update: ServerAction<UpdateMember>) -> impl IntoView {
    view! {
        <div class="table-scroll"><table class="data-table">
            <caption class="visually-hidden">"Members"</caption>
            <thead>
                <tr>
                    <th scope="col">"User"</th>
                    <th scope="col">"Email"</th>
                    <th scope="col">"Role"</th>
                    <th scope="col">"Sign-in"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Actions"</th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|m| {
                        let id = m.id;
                        let name = m.username.clone();
                        view! {
                            <tr aria-label=m.username.clone()>
                                <th scope="row">{m.username.clone()}</th>
                                <td>{m.email.clone().unwrap_or_default()}</td>
                                <td>
                                    <select
                                        aria-label=format!("Role of {}", m.username)
                                        on:change=move |ev| {
                                            let role = Role::parse(&event_target_value(&ev));
                                            update.dispatch(UpdateMember { id, role, disabled: None });
                                        }
                                    >
                                        {Role::ALL
                                            .into_iter()
                                            .map(|r| view! {
                                                <option value=r.as_str() selected=r == m.role>{r.label()}</option>
                                            })
                                            .collect_view()}
                                    </select>
                                </td>
                                <td>{m.sign_in.clone()}</td>
                                <td>
                                    {if m.account_disabled {
                                        "account disabled"
                                    } else if m.disabled {
                                        "disabled"
                                    } else if m.must_change_password {
                                        "must change password"
                                    } else {
                                        "active"
                                    }}
                                </td>
                                <td>
                                    {if m.disabled {
                                        view! {
                                            <button
                                                type="button"
                                                class="button secondary"
                                                on:click=move |_| {
                                                    update.dispatch(UpdateMember { id, role: None, disabled: Some(false) });
                                                }
                                            >
                                                "Enable"
                                            </button>
                                        }
                                            .into_any()
                                    } else {
                                        view! {
                                            <ConfirmButton
                                                label="Disable"
                                                question=format!("Disable {name} in this tenant? Their access here and their tokens here end now.")
                                                on_confirm=Callback::new(move |_| {
                                                    update.dispatch(UpdateMember { id, role: None, disabled: Some(true) });
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
}

/// Invite a local user (with a temporary password, typed or generated) or a
/// single sign-on user by email. Validates as you type and on the server.
#[component]
fn InviteForm(add: ServerAction<AddMember>) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new("viewer".to_string());
    let result = add.value();

    let username_error = Signal::derive(move || {
        let v = username.get();
        if v.is_empty() {
            field_error(result.get(), "username")
        } else {
            validate::username(&v).err().map(|e| e.message.to_string())
        }
    });
    let email_error = Signal::derive(move || {
        let v = email.get();
        if v.trim().is_empty() {
            field_error(result.get(), "email")
        } else {
            validate::email(&v).err().map(|e| e.message.to_string())
        }
    });
    let password_error = Signal::derive(move || {
        let v = password.get();
        if v.is_empty() {
            field_error(result.get(), "password")
        } else {
            validate::password(&v).err().map(|e| e.message.to_string())
        }
    });
    // A successful invitation empties the form for the next one.
    Effect::new(move |_| {
        if matches!(result.get(), Some(Ok(_))) {
            username.set(String::new());
            email.set(String::new());
            password.set(String::new());
        }
    });
    let invalid = move || {
        username.with(|u| u.is_empty())
            || username_error.with(Option::is_some)
            || email_error.with(Option::is_some)
            || password_error.with(Option::is_some)
    };

    view! {
        <h3>"Invite a member"</h3>
        <form
            class="inline-form"
            method="post"
            action="/api/fn/add_member"
            on:submit=move |ev| {
                ev.prevent_default();
                if invalid() {
                    return;
                }
                add.dispatch(AddMember {
                    username: username.get_untracked(),
                    email: email.get_untracked(),
                    role: role.get_untracked(),
                    password: password.get_untracked(),
                });
            }
        >
            <FormField id="username" label="Username" required=true value=username error=username_error/>
            <FormField
                id="email"
                label="Email"
                kind="email"
                hint="For single sign-on: they sign in with this address."
                value=email
                error=email_error
            />
            <div class="field">
                <label for="invite-role">"Role"</label>
                <select id="invite-role" name="role" on:change=move |ev| role.set(event_target_value(&ev))>
                    {Role::ALL
                        .into_iter()
                        .map(|r| view! { <option value=r.as_str() selected=r == Role::Viewer>{r.label()}</option> })
                        .collect_view()}
                </select>
            </div>
            <FormField
                id="password"
                label="Temporary password"
                kind="password"
                hint="Optional. Left empty without an email, one is generated. It must be changed at first sign-in."
                value=password
                error=password_error
            />
            <button type="submit" class="button" disabled=invalid>"Invite"</button>
        </form>
        {move || form_error(result.get()).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        {move || {
            result
                .get()
                .and_then(Result::ok)
                .map(|added| {
                    view! {
                        <div class="notice" role="status">
                            {format!("Invited {} as {}.", added.member.username, added.member.role.label())}
                            {added.temporary_password.map(|p| view! {
                                " Temporary password (shown once): " <code class="secret">{p}</code>
                            })}
                        </div>
                    }
                })
        }}
    }
}
