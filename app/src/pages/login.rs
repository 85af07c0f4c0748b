use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::session::get_single_sign_on;

/// `/login`: a plain form that posts to the REST endpoint and is answered with
/// redirects, so signing in works with or without JavaScript.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |key: &str| query.with_untracked(|q| q.get(key)).unwrap_or_default();
    let message = match get("error").as_str() {
        "invalid" => Some("Wrong username or password."),
        "locked" => Some("Too many failed attempts. Wait a few minutes, then try again."),
        "disabled" => Some("This account is disabled or belongs to no tenant. Ask an admin."),
        _ => None,
    };
    let signed_out = get("signed_out") == "1";
    let next = get("next");
    let username = get("username");
    let sso = Resource::new(|| (), |_| get_single_sign_on());
    let sso_next = next.clone();
    view! {
        <Title text="Sign in"/>
        <div class="login">
            <h1>"Sign in to Hotswap"</h1>
            {signed_out.then(|| view! { <p class="notice" role="status">"You are signed out."</p> })}
            {message.map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
            <form method="post" action="/api/v1/auth/login" class="stack">
                <input type="hidden" name="next" value=next/>
                <label for="username">"Username"</label>
                <input id="username" name="username" autocomplete="username" required value=username/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required/>
                <button type="submit" class="button">"Sign in"</button>
            </form>
            <Suspense fallback=|| ()>
                {move || {
                    let next = sso_next.clone();
                    Suspend::new(async move {
                        sso.await.ok().flatten().map(|name| {
                            let href = format!("/auth/oidc/login?next={}", if next.is_empty() { "/".into() } else { next });
                            view! {
                                <p class="or">"or"</p>
                                <a class="button secondary sso" href=href rel="external">{format!("Sign in with {name}")}</a>
                            }
                        })
                    })
                }}
            </Suspense>
        </div>
    }
}
