use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::api::session::get_viewer;
use crate::live::{provide_live, LiveIndicator};
use crate::model::role::Role;
use crate::model::session::Viewer;

/// The signed-in person, loaded once by the layout for every page.
#[derive(Clone, Copy)]
pub struct ViewerResource(pub Resource<Result<Option<Viewer>, crate::error::AppError>>);

/// The layout's viewer resource (await it inside a `Suspend`).
pub fn use_viewer() -> Option<Resource<Result<Option<Viewer>, crate::error::AppError>>> {
    use_context::<ViewerResource>().map(|v| v.0)
}

/// Pages anyone may see without signing in.
const PUBLIC_PATHS: &[&str] = &["/login"];

/// The frame of every page: top bar with the product name, the main
/// navigation and the user menu, then the page itself. Visitors who are not
/// signed in are sent to the login page.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    // Effects run only in the browser, so this flips once the page is hydrated;
    // tests and styles read `data-hydrated`.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let viewer = Resource::new(|| (), |_| get_viewer());
    provide_context(ViewerResource(viewer));
    let live = provide_live();
    let pending = pending_count(live);
    let location = use_location();

    view! {
        <div class="app" data-hydrated=move || hydrated.get().to_string()>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <header class="topbar">
                <a class="brand" href="/">
                    <span class="brand-mark" aria-hidden="true">"⇄"</span>
                    "Hotswap"
                </a>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let path = location.pathname.get_untracked();
                        match viewer.await {
                            // A temporary password must be replaced before anything else.
                            Ok(Some(viewer)) if viewer.must_change_password && path != "/account" => {
                                view! { <SendTo target="/account".to_string()/> }.into_any()
                            }
                            Ok(Some(viewer)) => {
                                let after = viewer.last_event_id;
                                Effect::new(move |_| live.start(after));
                                let pending = pending.await.unwrap_or(0);
                                view! { <SignedInBar viewer pending/> }.into_any()
                            }
                            Ok(None) if !PUBLIC_PATHS.contains(&path.as_str()) => {
                                view! { <SendTo target=format!("/login?next={path}")/> }.into_any()
                            }
                            _ => ().into_any(),
                        }
                    })}
                </Transition>
            </header>
            <main id="main" class="content">{children()}</main>
        </div>
    }
}

#[component]
fn SignedInBar(viewer: Viewer, pending: u64) -> impl IntoView {
    let is_admin = viewer.role == Role::Admin;
    view! {
        <nav class="mainnav" aria-label="Main">
            <A href="/" exact=true>"Dashboard"</A>
            <A href="/deployments">"Deployments"</A>
            <A href="/deploy">"Deploy"</A>
            <A href="/approvals">
                "Approvals"
                {(pending > 0).then(|| view! {
                    <span class="nav-count" aria-label=format!("{pending} pending")>{pending}</span>
                })}
            </A>
            {is_admin.then(|| view! { <A href="/admin">"Admin"</A> })}
        </nav>
        <div class="usermenu">
            <LiveIndicator/>
            <TenantSwitcher current=viewer.tenant.clone() tenants=viewer.tenants.clone()/>
            <a class="user" href="/account">
                {viewer.username}
                " · "
                <span class="role">{viewer.role.label()}</span>
            </a>
            <form method="post" action="/api/v1/auth/logout">
                <button type="submit" class="linkbutton">"Sign out"</button>
            </form>
        </div>
    }
}

/// Sends the browser elsewhere: a 302 from the server, a location change in
/// the browser, and a plain link for anything else.
#[component]
fn SendTo(target: String) -> impl IntoView {
    // Pages answer with a real redirect whatever the client accepts.
    #[cfg(feature = "ssr")]
    if let (Some(response), Ok(location)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(&target),
    ) {
        response.set_status(http::StatusCode::FOUND);
        response.insert_header(http::header::LOCATION, location);
    }
    #[cfg(feature = "hydrate")]
    {
        let target = target.clone();
        Effect::new(move |_| {
            if let Some(window) = web_sys::window() {
                let _ = window.location().set_href(&target);
            }
        });
    }
    view! { <a class="button" href=target>"Continue"</a> }
}

/// The tenant the viewer acts in, and a way to change it when they have several.
#[component]
fn TenantSwitcher(
    current: String,
    tenants: Vec<crate::model::session::TenantChoice>,
) -> impl IntoView {
    let switch = ServerAction::<crate::api::admin::SwitchTenant>::new();
    Effect::new(move |_| {
        if matches!(switch.value().get(), Some(Ok(()))) {
            #[cfg(feature = "hydrate")]
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        }
    });
    if tenants.len() < 2 {
        return view! { <span class="tenant" title="Tenant">{current}</span> }.into_any();
    }
    view! {
        <ActionForm action=switch attr:class="tenant-switch">
            <label class="visually-hidden" for="tenant-switch">"Tenant"</label>
            <select id="tenant-switch" name="tenant" class="tenant">
                {tenants
                    .into_iter()
                    .map(|t| {
                        let selected = t.slug == current;
                        let value = t.slug.clone();
                        view! { <option value=value selected=selected>{t.slug}</option> }
                    })
                    .collect_view()}
            </select>
            <button type="submit" class="linkbutton">"Switch"</button>
        </ActionForm>
    }
    .into_any()
}

/// The number of pending approvals, for the navigation link; follows the
/// live stream. Created by the layout (resources must exist before the
/// suspense that reads them, for hydration to line up).
fn pending_count(live: crate::live::Live) -> Resource<Result<u64, crate::error::AppError>> {
    let changed = Memo::new(move |_| live.newest_of(crate::live::APPROVAL_EVENTS));
    Resource::new(
        move || changed.get(),
        |_| crate::api::approvals::count_pending_approvals(),
    )
}
