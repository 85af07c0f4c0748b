//! The Hotswap user interface: Leptos components rendered on the server
//! (feature `ssr`) and hydrated in the browser (feature `hydrate`).
//!
//! Server functions under [`api`] are thin adapters over the services that the
//! server crate provides through context (see [`services`]).

pub mod api;
pub mod components;
pub mod error;
pub mod live;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod services;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use crate::components::layout::Layout;
use crate::pages::{
    account::AccountPage, admin::AdminPage, approvals::ApprovalsPage, dashboard::DashboardPage,
    deploy::DeployPage, deployment::DeploymentDetailPage, deployments::DeploymentsPage,
    login::LoginPage, not_found::NotFoundPage,
};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/hotswap.css"/>
        <Title formatter=|page: String| format!("{page} · Hotswap")/>
        <Router>
            <Layout>
                // Async: every page is complete HTML on first byte, readable without JavaScript.
                <Routes fallback=NotFoundPage>
                    <Route path=path!("") view=DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("/deployments") view=DeploymentsPage ssr=SsrMode::Async/>
                    <Route path=path!("/deployments/:id") view=DeploymentDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("/deploy") view=DeployPage ssr=SsrMode::Async/>
                    <Route path=path!("/approvals") view=ApprovalsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=AdminPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                </Routes>
            </Layout>
        </Router>
    }
}
