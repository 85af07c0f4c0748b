//! The browser's live connection to the tenant's event stream
//! (`/api/v1/live`). One per tab, provided by the layout; pages read the
//! events it received and refetch what they show. It reconnects with backoff
//! and resumes after the last event it saw, so a page catches up on return.

use leptos::prelude::*;

use crate::model::event::{EventInfo, EventKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveStatus {
    /// Rendered on the server, or JavaScript is off: a static page.
    Off,
    Connecting,
    Live,
    Reconnecting,
}

impl LiveStatus {
    pub fn label(self) -> &'static str {
        match self {
            LiveStatus::Off => "not live",
            LiveStatus::Connecting => "connecting…",
            LiveStatus::Live => "live",
            LiveStatus::Reconnecting => "reconnecting…",
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            LiveStatus::Off => "live-off",
            LiveStatus::Connecting | LiveStatus::Reconnecting => "live-reconnecting",
            LiveStatus::Live => "live-on",
        }
    }
}

/// Events that change which approval requests are pending.
pub const APPROVAL_EVENTS: &[EventKind] = &[
    EventKind::ApprovalRequested,
    EventKind::Approved,
    EventKind::Rejected,
    EventKind::DeploymentExpired,
    EventKind::DeploymentCancelled,
];

#[derive(Clone, Copy)]
pub struct Live {
    pub status: RwSignal<LiveStatus>,
    /// The newest events, oldest first.
    pub events: RwSignal<Vec<EventInfo>>,
    last_id: StoredValue<i64>,
    started: StoredValue<bool>,
}

impl Live {
    /// Changes whenever an event of `deployment` arrives (or any event, for `None`).
    pub fn newest_for(&self, deployment: Option<i64>) -> i64 {
        self.events.with(|events| {
            events
                .iter()
                .rev()
                .find(|e| deployment.is_none() || e.deployment_id == deployment)
                .map_or(0, |e| e.id)
        })
    }

    /// Changes whenever an event of one of `kinds` arrives.
    pub fn newest_of(&self, kinds: &[EventKind]) -> i64 {
        self.events.with(|events| {
            events
                .iter()
                .rev()
                .find(|e| kinds.contains(&e.kind))
                .map_or(0, |e| e.id)
        })
    }

    /// Starts following the tenant's events after `after` (once per page load).
    pub fn start(&self, after: i64) {
        if self.started.get_value() {
            return;
        }
        self.started.set_value(true);
        self.last_id.set_value(after);
        #[cfg(feature = "hydrate")]
        {
            self.status.set(LiveStatus::Connecting);
            browser::connect(*self, 0);
        }
    }

    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn received(&self, event: EventInfo) {
        /// Events kept for pages to read; older ones have been acted on.
        const KEPT: usize = 200;
        if event.id > self.last_id.get_value() {
            self.last_id.set_value(event.id);
        }
        self.events.update(|events| {
            events.push(event);
            if events.len() > KEPT {
                events.drain(..events.len() - KEPT);
            }
        });
    }
}

pub fn provide_live() -> Live {
    let live = Live {
        status: RwSignal::new(LiveStatus::Off),
        events: RwSignal::new(Vec::new()),
        last_id: StoredValue::new(0),
        started: StoredValue::new(false),
    };
    provide_context(live);
    live
}

pub fn use_live() -> Option<Live> {
    use_context::<Live>()
}

/// The connection state, in words and colour, for the top bar.
#[component]
pub fn LiveIndicator() -> impl IntoView {
    let status = use_live().map(|l| l.status);
    let current = move || status.map_or(LiveStatus::Off, |s| s.get());
    view! {
        <span
            class=move || format!("live-indicator {}", current().class())
            role="status"
            aria-live="polite"
            title="Live updates"
        >
            <span class="live-dot" aria-hidden="true"></span>
            {move || current().label()}
        </span>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::time::Duration;

    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{CloseEvent, MessageEvent, WebSocket};

    use super::{Live, LiveStatus};
    use crate::model::event::EventInfo;

    fn backoff(attempt: u32) -> Duration {
        Duration::from_millis((500u64 << attempt.min(5)).min(10_000))
    }

    pub fn connect(live: Live, attempt: u32) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let location = window.location();
        let scheme = match location.protocol().as_deref() {
            Ok("https:") => "wss",
            _ => "ws",
        };
        let host = location.host().unwrap_or_default();
        let url = format!(
            "{scheme}://{host}/api/v1/live?after={}",
            live.last_id.get_value()
        );
        let Ok(socket) = WebSocket::new(&url) else {
            retry(live, attempt);
            return;
        };

        let on_open = Closure::<dyn FnMut()>::new(move || live.status.set(LiveStatus::Live));
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();

        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |message: MessageEvent| {
            if let Some(text) = message.data().as_string() {
                if let Ok(event) = serde_json::from_str::<EventInfo>(&text) {
                    live.received(event);
                }
            }
        });
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();

        // A connection that opened resets the backoff; one that never did grows it.
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
            let next = if live.status.get_untracked() == LiveStatus::Live {
                0
            } else {
                attempt + 1
            };
            live.status.set(LiveStatus::Reconnecting);
            retry(live, next);
        });
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        on_close.forget();
    }

    fn retry(live: Live, attempt: u32) {
        set_timeout(move || connect(live, attempt), backoff(attempt));
    }
}
