use leptos::prelude::*;

use super::{field_error, form_error};
use crate::api::admin::{CreateTenant, SwitchTenant};
use crate::components::form_field::FormField;
use crate::model::session::Viewer;
use crate::model::validate;

/// The tenants one belongs to, switching between them, and (for platform
/// admins) creating new ones.
#[component]
pub fn TenantsPanel(viewer: Viewer) -> impl IntoView {
    let switch = ServerAction::<SwitchTenant>::new();
    let create = ServerAction::<CreateTenant>::new();
    // A new tenant changes everything on the page: reload it.
    Effect::new(move |_| {
        let switched = matches!(switch.value().get(), Some(Ok(())));
        let created = matches!(create.value().get(), Some(Ok(_)));
        if switched || created {
            #[cfg(feature = "hydrate")]
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        }
    });
    let slug = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let result = create.value();
    let slug_error = Signal::derive(move || {
        let v = slug.get();
        if v.is_empty() {
            field_error(result.get(), "slug")
        } else {
            validate::slug(&v).err().map(|e| e.message.to_string())
        }
    });
    let name_error = Signal::derive(move || field_error(result.get(), "name"));
    let current = viewer.tenant.clone();

    view! {
        <section class="panel" aria-labelledby="tenants-title">
            <h2 id="tenants-title">"Tenants"</h2>
            <ul class="tenant-list">
                {viewer
                    .tenants
                    .into_iter()
                    .map(|t| {
                        let here = t.slug == current;
                        let slug = t.slug.clone();
                        view! {
                            <li>
                                <span class="mono">{t.slug.clone()}</span>
                                " — " {t.name} " (" {t.role.label()} ")"
                                {if here {
                                    view! { <strong>" current"</strong> }.into_any()
                                } else {
                                    view! {
                                        <button
                                            type="button"
                                            class="button secondary"
                                            on:click=move |_| {
                                                switch.dispatch(SwitchTenant { tenant: slug.clone() });
                                            }
                                        >
                                            {format!("Switch to {}", t.slug)}
                                        </button>
                                    }
                                        .into_any()
                                }}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            {viewer.is_platform_admin.then(|| view! {
                <h3>"Create a tenant"</h3>
                <form
                    class="inline-form"
                    method="post"
                    action="/api/fn/create_tenant"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        if slug_error.with_untracked(Option::is_some) {
                            return;
                        }
                        create.dispatch(CreateTenant { slug: slug.get_untracked(), name: name.get_untracked() });
                    }
                >
                    <FormField id="tenant-slug" label="Slug" required=true hint="e.g. acme; used in URLs and the API." value=slug error=slug_error/>
                    <FormField id="tenant-name" label="Name" required=true value=name error=name_error/>
                    <button type="submit" class="button">"Create tenant"</button>
                </form>
                {move || form_error(result.get()).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            })}
        </section>
    }
}
