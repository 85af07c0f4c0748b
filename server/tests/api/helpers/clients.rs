//! HTTP clients as a browser, a signed-in member or a token holder uses them.

use std::time::Duration;

use serde_json::json;

use super::*;

/// A client that keeps cookies and sends this site's Origin, like a browser.
pub fn browser(address: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ORIGIN,
        reqwest::header::HeaderValue::from_str(address).expect("origin header"),
    );
    reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// A browser-like client signed in as `username`.
pub async fn sign_in(address: &str, username: &str, password: &str) -> reqwest::Client {
    let client = browser(address);
    let response = client
        .post(format!("{address}/api/v1/auth/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("sign-in request");
    assert_eq!(response.status(), 200, "{username} signs in");
    client
}

/// POSTs `body` as JSON with `client`.
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    client
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("request is sent")
}

/// A client carrying a bearer token.
pub fn bearer(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

impl TestApp {
    /// Adds a member with a password to the default tenant; returns their user id.
    pub async fn add_member(&self, username: &str, role: &str) -> i64 {
        let response = self
            .client
            .post(self.url("/api/v1/users"))
            .json(&json!({ "username": username, "role": role, "password": MEMBER_PASSWORD }))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 201, "{username} is added");
        let body: serde_json::Value = response.json().await.expect("JSON");
        body["id"].as_i64().expect("id")
    }

    /// Changes an environment's settings as the admin; the change must succeed.
    pub async fn patch_environment(&self, name: &str, body: serde_json::Value) {
        let response = self
            .client
            .patch(self.url(&format!("/api/v1/environments/{name}")))
            .json(&body)
            .send()
            .await
            .expect("patch");
        assert_eq!(
            response.status(),
            200,
            "{}",
            response.text().await.unwrap_or_default()
        );
    }

    /// A signed-in client for a member added with [`TestApp::add_member`].
    pub async fn member_client(&self, username: &str) -> reqwest::Client {
        sign_in(&self.address, username, MEMBER_PASSWORD).await
    }
}

pub const MEMBER_PASSWORD: &str = "members-password-123";
