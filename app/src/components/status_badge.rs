use leptos::prelude::*;

use crate::model::deployment::DeploymentStatus;

/// A deployment status as colour and words, never colour alone.
#[component]
pub fn StatusBadge(status: DeploymentStatus) -> impl IntoView {
    view! {
        <span class=format!("badge badge-{}", status.as_str())>
            <span class="badge-dot" aria-hidden="true"></span>
            {status.label()}
        </span>
    }
}
