use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::model::time::{absolute, relative};

/// "3 min ago", with the exact time on hover and in the markup.
#[component]
pub fn RelativeTime(at: DateTime<Utc>, now: DateTime<Utc>) -> impl IntoView {
    view! {
        <time datetime=at.to_rfc3339() title=absolute(at)>
            {relative(at, now)}
        </time>
    }
}
