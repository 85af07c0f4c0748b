use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::approvals::{list_approvals, DecideApproval};
use crate::components::confirm::ConfirmButton;
use crate::components::empty_state::EmptyState;
use crate::components::error_panel::ErrorPanel;
use crate::components::layout::use_viewer;
use crate::live::{use_live, APPROVAL_EVENTS};
use crate::model::deployment::{ApprovalRequest, DeploymentSummary};
use crate::model::role::{Action, Role};
use crate::model::time::duration;

/// `/approvals`: the requests waiting for a decision, the most urgent first;
/// Admins approve or reject each with a comment. Updates live.
#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let decided = RwSignal::new(0u32);
    let live = use_live();
    let changed = Memo::new(move |_| live.map_or(0, |l| l.newest_of(APPROVAL_EVENTS)));
    let inbox = Resource::new(move || (changed.get(), decided.get()), |_| list_approvals());
    let viewer = use_viewer();
    view! {
        <Title text="Approvals"/>
        <div class="page-head">
            <h1>"Approvals"</h1>
            <p class="subtle">"Roll-outs to environments that require approval wait here for an Admin's decision."</p>
        </div>
        <Transition fallback=|| view! { <p class="loading">"Loading approvals…"</p> }>
            {move || Suspend::new(async move {
                let me = match viewer {
                    Some(v) => v.await.ok().flatten(),
                    None => None,
                };
                match inbox.await {
                    Ok(page) if page.items.is_empty() => view! {
                        <EmptyState
                            title="No pending approvals"
                            hint="Deployments to environments that require approval (staging and production by default) wait here until an Admin decides."
                        />
                    }
                        .into_any(),
                    Ok(page) => {
                        let now = page.now;
                        view! {
                            <ul class="approval-list" aria-label="Pending approvals">
                                {page
                                    .items
                                    .into_iter()
                                    .map(|request| {
                                        let mine = me.as_ref().is_some_and(|v| Some(&v.username) == request.deployment.requested_by.as_ref());
                                        let can_decide = me.as_ref().is_some_and(|v| v.role.allows(Action::Approve));
                                        view! { <li><ApprovalCard request now mine can_decide decided/></li> }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

pub fn headline(d: &DeploymentSummary) -> String {
    format!("#{} {} {} → {}", d.id, d.module, d.version, d.environment)
}

/// "expires in 3 h 5 min", or "overdue" once the deadline passed.
pub fn time_left(
    deadline: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    match deadline {
        Some(d) if d > now => format!("expires in {}", duration((d - now).num_seconds() as f64)),
        Some(_) => "overdue; expires at the next sweep".into(),
        None => String::new(),
    }
}

#[component]
fn ApprovalCard(
    request: ApprovalRequest,
    now: chrono::DateTime<chrono::Utc>,
    mine: bool,
    can_decide: bool,
    decided: RwSignal<u32>,
) -> impl IntoView {
    let ApprovalRequest {
        deployment,
        approval,
    } = request;
    let id = deployment.id;
    let title = headline(&deployment);
    let form_title = title.clone();
    view! {
        <article class="card approval" aria-label=title.clone()>
            <h2><a href=format!("/deployments/{id}")>{title.clone()}</a></h2>
            <dl class="facts">
                <dt>"Requested by"</dt>
                <dd>{deployment.requested_by.clone().unwrap_or_else(|| "system".into())}</dd>
                <dt>"Strategy"</dt>
                <dd>{deployment.strategy.clone()}</dd>
                <dt>"Approvals"</dt>
                <dd>{format!("{} of {}", approval.approved(), approval.required)}</dd>
                <dt>"Time left"</dt>
                <dd>{time_left(approval.deadline, now)}</dd>
            </dl>
            <Decisions decisions=approval.decisions.clone()/>
            {if can_decide {
                view! { <DecisionForm id title=form_title.clone() mine allow_self=approval.allow_self_approval decided/> }.into_any()
            } else {
                view! { <p class="subtle">{format!("An {} decides.", Role::Admin.label())}</p> }.into_any()
            }}
        </article>
    }
}

/// Who decided what, with their comments.
#[component]
pub fn Decisions(decisions: Vec<crate::model::deployment::ApprovalDecision>) -> impl IntoView {
    (!decisions.is_empty()).then(|| {
        view! {
            <ul class="decisions">
                {decisions
                    .into_iter()
                    .map(|d| {
                        let comment = d.comment.map(|c| format!(": “{c}”")).unwrap_or_default();
                        view! { <li>{format!("{} by {}{comment}", d.decision, d.approver)}</li> }
                    })
                    .collect_view()}
            </ul>
        }
    })
}

/// Approve or reject one deployment, with a comment (required to reject).
#[component]
pub fn DecisionForm(
    id: i64,
    title: String,
    mine: bool,
    allow_self: bool,
    decided: RwSignal<u32>,
) -> impl IntoView {
    let decide = ServerAction::<DecideApproval>::new();
    let comment = RwSignal::new(String::new());
    let missing_reason = RwSignal::new(false);
    let result = decide.value();
    Effect::new(move |_| {
        if matches!(result.get(), Some(Ok(()))) {
            decided.update(|n| *n += 1);
        }
    });
    let comment_id = format!("comment-{id}");
    let send = move |decision: &str| {
        decide.dispatch(DecideApproval {
            id,
            decision: decision.to_string(),
            comment: comment.get_untracked(),
        });
    };
    let reject = Callback::new(move |_| {
        if comment.get_untracked().trim().is_empty() {
            missing_reason.set(true);
        } else {
            send("reject");
        }
    });
    view! {
        <div class="decision">
            {(mine && !allow_self).then(|| view! {
                <p class="hint">"You requested this deployment: another Admin must approve it."</p>
            })}
            <div class="field">
                <label for=comment_id.clone()>"Comment"</label>
                <textarea
                    id=comment_id.clone()
                    rows="2"
                    prop:value=move || comment.get()
                    aria-invalid=move || missing_reason.get().to_string()
                    on:input=move |ev| {
                        missing_reason.set(false);
                        comment.set(event_target_value(&ev));
                    }
                ></textarea>
                {move || missing_reason.get().then(|| view! {
                    <p class="field-error" role="alert">"Say why you reject it: the requester reads this."</p>
                })}
            </div>
            <div class="actions">
                <button type="button" class="button" on:click=move |_| send("approve")>"Approve"</button>
                <ConfirmButton label="Reject" question=format!("Reject {title}?") on_confirm=reject/>
            </div>
            {move || match result.get() {
                Some(Err(error)) => Some(view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any()),
                Some(Ok(())) => Some(view! { <p class="notice" role="status">"Decision recorded."</p> }.into_any()),
                None => None,
            }}
        </div>
    }
}
