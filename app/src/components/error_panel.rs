use leptos::prelude::*;

use crate::error::AppError;

/// A failed read, said plainly, in place of the content it replaces.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    view! {
        <div class="error-panel" role="alert">
            <strong>"Could not load this page. "</strong>
            {error.to_string()}
        </div>
    }
}
