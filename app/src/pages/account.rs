use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::session::{get_viewer, ChangePassword};
use crate::error::AppError;

/// `/account`: who you are, and changing your password (required after an
/// admin set a temporary one).
#[component]
pub fn AccountPage() -> impl IntoView {
    let viewer = Resource::new(|| (), |_| get_viewer());
    let change = ServerAction::<ChangePassword>::new();
    let result = change.value();
    view! {
        <Title text="Account"/>
        <div class="page-head">
            <h1>"Account"</h1>
        </div>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                viewer.await.ok().flatten().map(|v| view! {
                    <p>
                        "Signed in as " <strong>{v.username}</strong> ", "
                        {v.role.label()} " in " <span class="mono">{v.tenant}</span> "."
                    </p>
                    {v.must_change_password.then(|| view! {
                        <p class="notice" role="status">"Choose a new password before you go on."</p>
                    })}
                })
            })}
        </Suspense>
        <section class="panel" aria-labelledby="password-title">
            <h2 id="password-title">"Change password"</h2>
            <ActionForm action=change attr:class="stack">
                <label for="current_password">"Current password"</label>
                <input id="current_password" name="current_password" type="password" autocomplete="current-password" required/>
                <label for="new_password">"New password"</label>
                <input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="12" required/>
                <p class="hint">"At least 12 characters."</p>
                <button type="submit" class="button">"Change password"</button>
            </ActionForm>
            {move || result.get().map(|r| match r {
                Ok(()) => view! { <p class="notice" role="status">"Password changed."</p> }.into_any(),
                Err(AppError::Invalid { message, .. }) => view! { <p class="form-error" role="alert">{message}</p> }.into_any(),
                Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}
