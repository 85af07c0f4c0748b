use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::deployments::list_deployments;
use crate::components::deployment_table::DeploymentTable;
use crate::components::empty_state::EmptyState;
use crate::components::error_panel::ErrorPanel;
use crate::model::deployment::{DeploymentFilter, DeploymentStatus};

/// `/approvals`: deployments waiting for a decision.
#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let pending = Resource::new(
        || (),
        |_| {
            list_deployments(DeploymentFilter {
                status: Some(DeploymentStatus::PendingApproval),
                ..DeploymentFilter::default()
            })
        },
    );
    view! {
        <Title text="Approvals"/>
        <div class="page-head">
            <h1>"Approvals"</h1>
            <p class="subtle">"Roll-outs to environments that require approval wait here for a decision."</p>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading approvals…"</p> }>
            {move || Suspend::new(async move {
                match pending.await {
                    Ok(page) if page.items.is_empty() => view! {
                        <EmptyState
                            title="No pending approvals"
                            hint="Deployments to staging and production appear here until an approver decides."
                        />
                    }
                        .into_any(),
                    Ok(page) => view! { <DeploymentTable caption="Pending approvals" rows=page.items now=page.now/> }
                        .into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
