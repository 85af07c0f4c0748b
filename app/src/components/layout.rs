use leptos::prelude::*;
use leptos_router::components::A;

/// The frame of every page: top bar with the product name and the main
/// navigation, then the page itself.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    // Effects run only in the browser, so this flips once the page is hydrated;
    // tests and styles read `data-hydrated`.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <div class="app" data-hydrated=move || hydrated.get().to_string()>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <header class="topbar">
                <a class="brand" href="/">
                    <span class="brand-mark" aria-hidden="true">"⇄"</span>
                    "Hotswap"
                </a>
                <nav class="mainnav" aria-label="Main">
                    <A href="/" exact=true>"Dashboard"</A>
                    <A href="/deployments">"Deployments"</A>
                    <A href="/deploy">"Deploy"</A>
                    <A href="/approvals">"Approvals"</A>
                    <A href="/admin">"Admin"</A>
                </nav>
            </header>
            <main id="main" class="content">{children()}</main>
        </div>
    }
}
