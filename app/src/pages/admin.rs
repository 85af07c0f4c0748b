//! `/admin`: members and roles, API tokens, tenants, environments, webhooks, nodes, audit log.

mod audit;
mod environments;
mod members;
mod nodes;
mod tenants;
mod tokens;
mod webhooks;

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::session::get_viewer;
use crate::components::error_panel::ErrorPanel;
use crate::error::AppError;
use crate::model::role::Role;

#[component]
pub fn AdminPage() -> impl IntoView {
    let viewer = Resource::new(|| (), |_| get_viewer());
    view! {
        <Title text="Admin"/>
        <div class="page-head">
            <h1>"Admin"</h1>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match viewer.await {
                    Ok(Some(v)) if v.role == Role::Admin => view! {
                        <members::MembersPanel/>
                        <tokens::TokensPanel/>
                        <tenants::TenantsPanel viewer=v/>
                        <environments::EnvironmentsPanel/>
                        <webhooks::WebhooksPanel/>
                        <nodes::NodesPanel/>
                        <audit::AuditPanel/>
                    }
                        .into_any(),
                    Ok(_) => view! {
                        <ErrorPanel error=AppError::Forbidden("Administration needs the Admin role.".into())/>
                    }
                        .into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The message of a server refusal that concerns `field`, for showing under it.
pub(crate) fn field_error<T>(result: Option<Result<T, AppError>>, field: &str) -> Option<String> {
    match result {
        Some(Err(AppError::Invalid {
            field: Some(f),
            message,
        })) if f == field => Some(message),
        _ => None,
    }
}

/// A refusal not tied to one field, for showing above the form.
pub(crate) fn form_error<T>(result: Option<Result<T, AppError>>) -> Option<String> {
    match result {
        Some(Err(AppError::Invalid { field: Some(_), .. })) | Some(Ok(_)) | None => None,
        Some(Err(e)) => Some(e.to_string()),
    }
}
