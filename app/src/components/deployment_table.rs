use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::components::status_badge::StatusBadge;
use crate::components::time::RelativeTime;
use crate::model::deployment::DeploymentSummary;

/// Deployments as a table, newest first.
#[component]
pub fn DeploymentTable(
    #[prop(into)] caption: String,
    rows: Vec<DeploymentSummary>,
    now: DateTime<Utc>,
    /// Offer "Deploy again" (for Deployers), which opens the wizard prefilled.
    #[prop(optional)]
    redeploy: bool,
) -> impl IntoView {
    view! {
        <div class="table-scroll"><table class="data-table">
            <caption class="visually-hidden">{caption}</caption>
            <thead>
                <tr>
                    <th scope="col">"#"</th>
                    <th scope="col">"Module"</th>
                    <th scope="col">"Version"</th>
                    <th scope="col">"Environment"</th>
                    <th scope="col">"Strategy"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Requested by"</th>
                    <th scope="col">"Started"</th>
                    {redeploy.then(|| view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> })}
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|d| {
                        let environment = d.environment.clone();
                        let again = redeploy.then(|| {
                            let href = format!(
                                "/deploy?module={}&version={}&environment={}",
                                d.module, d.version, d.environment
                            );
                            let label = format!("Deploy {} {} to {} again", d.module, d.version, d.environment);
                            view! { <td><a href=href aria-label=label>"Deploy again"</a></td> }
                        });
                        view! {
                            <tr data-environment=environment>
                                <td class="mono">
                                    <a href=format!("/deployments/{}", d.id)>{d.id}</a>
                                </td>
                                <td>{d.module}</td>
                                <td class="mono">{d.version}</td>
                                <td>{d.environment}</td>
                                <td>{d.strategy}</td>
                                <td>
                                    <StatusBadge status=d.status/>
                                </td>
                                <td>{d.requested_by.unwrap_or_else(|| "system".into())}</td>
                                <td>
                                    <RelativeTime at=d.created_at now=now/>
                                </td>
                                {again}
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table></div>
    }
}
