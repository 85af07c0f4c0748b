use leptos::prelude::*;

/// A destructive action behind a second, explicit click that names its target.
/// Escape or "Cancel" backs out.
#[component]
pub fn ConfirmButton(
    /// The button's words, e.g. "Disable".
    label: &'static str,
    /// The question, naming the target, e.g. "Disable dora?".
    #[prop(into)]
    question: String,
    on_confirm: Callback<()>,
) -> impl IntoView {
    let asking = RwSignal::new(false);
    view! {
        <Show
            when=move || asking.get()
            fallback=move || view! {
                <button type="button" class="button danger-outline" on:click=move |_| asking.set(true)>{label}</button>
            }
        >
            <span
                class="confirm"
                role="alertdialog"
                aria-label=question.clone()
                on:keydown=move |ev| if ev.key() == "Escape" { asking.set(false) }
            >
                <span>{question.clone()}</span>
                <button
                    type="button"
                    class="button danger"
                    autofocus
                    on:click=move |_| {
                        asking.set(false);
                        on_confirm.run(());
                    }
                >
                    {format!("Yes, {}", label.to_lowercase())}
                </button>
                <button type="button" class="linkbutton" on:click=move |_| asking.set(false)>"Cancel"</button>
            </span>
        </Show>
    }
}
