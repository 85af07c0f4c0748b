use serde_json::{json, Value};

use crate::helpers::{browser, spawn_app, ADMIN_PASSWORD, MEMBER_PASSWORD};

/// The admin signs in with a password and the API knows who they are.
#[tokio::test]
async fn signing_in_starts_a_session_that_knows_the_user() {
    let app = spawn_app().await;
    let me: Value = app.get("/api/v1/auth/me").await.json().await.expect("JSON");
    assert_eq!(me["username"], "admin");
    assert_eq!(me["tenant"], "default");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["tenants"][0]["slug"], "default");
}

/// Without credentials the API answers 401 and pages send visitors to sign in.
#[tokio::test]
async fn visitors_must_sign_in() {
    let app = spawn_app().await;
    let response = app
        .anonymous
        .get(app.url("/api/v1/deployments"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "unauthorized");

    let response = app
        .anonymous
        .get(app.url("/deployments"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 302);
    assert_eq!(
        response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("/login?next=/deployments")
    );
    let login = app
        .anonymous
        .get(app.url("/login"))
        .send()
        .await
        .expect("sent");
    assert_eq!(login.status(), 200);
    assert!(login
        .text()
        .await
        .expect("html")
        .contains("Sign in to Hotswap"));
}

/// A wrong password is refused with 401, and the attempt is in the audit log.
#[tokio::test]
async fn wrong_passwords_are_refused_and_audited() {
    let app = spawn_app().await;
    let response = app
        .anonymous
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "username": "admin", "password": "not the password" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 401);

    let audit: Value = app
        .get("/api/v1/audit?action=auth.login")
        .await
        .json()
        .await
        .expect("JSON");
    let outcomes: Vec<_> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["outcome"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(outcomes.contains(&"failure".to_string()), "{audit}");
    assert!(outcomes.contains(&"success".to_string()), "{audit}");
    let failure = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["outcome"] == "failure")
        .expect("a failure");
    assert_eq!(failure["source_ip"], "127.0.0.1");
}

/// Repeated failures lock the account for a while: 429 with Retry-After, even
/// for the right password.
#[tokio::test]
async fn repeated_failures_lock_the_account() {
    let app = spawn_app().await;
    let client = browser(&app.address);
    let attempt = |password: &'static str| {
        let client = client.clone();
        let url = app.url("/api/v1/auth/login");
        async move {
            client
                .post(url)
                .json(&json!({ "username": "admin", "password": password }))
                .send()
                .await
                .expect("sent")
        }
    };
    for _ in 0..5 {
        assert_eq!(attempt("wrong password").await.status(), 401);
    }
    let locked = attempt(ADMIN_PASSWORD).await;
    assert_eq!(locked.status(), 429);
    let retry: u64 = locked
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=30).contains(&retry), "{retry}");
}

/// Signing out ends the session.
#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 204);
    assert_eq!(app.get("/api/v1/auth/me").await.status(), 401);
}

/// The login page's form works without JavaScript: redirects on success and failure.
#[tokio::test]
async fn the_login_form_redirects() {
    let app = spawn_app().await;
    let client = browser(&app.address);
    let response = client
        .post(app.url("/api/v1/auth/login"))
        .form(&[
            ("username", "admin"),
            ("password", "nope"),
            ("next", "/admin"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"]
        .to_str()
        .expect("text")
        .to_string();
    assert!(location.starts_with("/login?error=invalid"), "{location}");

    let response = client
        .post(app.url("/api/v1/auth/login"))
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "//evil.example/"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/", "no open redirects");
    assert_eq!(
        client
            .get(app.url("/api/v1/auth/me"))
            .send()
            .await
            .expect("sent")
            .status(),
        200
    );
}

/// A cookie-authenticated mutation from another site is refused; the same
/// request from the site itself, or with a bearer token, goes through.
#[tokio::test]
async fn cross_site_mutations_are_refused() {
    let app = spawn_app().await;
    let evil = app
        .client
        .post(app.url("/api/v1/tokens"))
        .header("origin", "https://evil.example")
        .json(&json!({ "name": "stolen" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(evil.status(), 403);
    let body: Value = evil.json().await.expect("JSON");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("cross-site"));

    let same = app
        .client
        .post(app.url("/api/v1/tokens"))
        .json(&json!({ "name": "mine" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(same.status(), 201);
    let token = same.json::<Value>().await.expect("JSON")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let with_token = crate::helpers::bearer(&token)
        .post(app.url("/api/v1/tokens"))
        .json(&json!({ "name": "from-ci" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(with_token.status(), 201);
}

/// A member with a temporary password is sent to their account page until
/// they choose their own; then the pages open to them.
#[tokio::test]
async fn a_temporary_password_must_be_changed_first() {
    let app = spawn_app().await;
    app.add_member("tess", "viewer").await;
    let tess = app.member_client("tess").await;
    let page = tess
        .get(app.url("/deployments"))
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status(), 302);
    assert_eq!(page.headers()["location"], "/account");
    assert_eq!(
        tess.get(app.url("/account"))
            .send()
            .await
            .expect("sent")
            .status(),
        200
    );

    let changed = tess
        .post(app.url("/api/v1/auth/password"))
        .json(&json!({ "current_password": crate::helpers::MEMBER_PASSWORD, "new_password": "tess-own-password" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(changed.status(), 204);
    assert_eq!(
        tess.get(app.url("/deployments"))
            .send()
            .await
            .expect("sent")
            .status(),
        200
    );
}

/// Server functions are behind the same cross-site check as the REST API.
#[tokio::test]
async fn cross_site_server_function_calls_are_refused() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/fn/add_member"))
        .header("origin", "https://evil.example")
        .form(&[
            ("username", "mallory"),
            ("email", ""),
            ("role", "admin"),
            ("password", "long-enough-password"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 403);
    let users: Value = app.get("/api/v1/users").await.json().await.expect("JSON");
    assert!(!users.to_string().contains("mallory"));
}

async fn login(client: &reqwest::Client, url: &str, username: &str, password: &str) -> u16 {
    client
        .post(url)
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

/// Guesses sent all at once count against each other: only the free five
/// are checked, however many arrive together.
#[tokio::test]
async fn parallel_guesses_cannot_outrun_the_throttle() {
    let app = spawn_app().await;
    let client = browser(&app.address);
    let url = app.url("/api/v1/auth/login");
    let guesses = (0..30).map(|i| {
        let (client, url) = (client.clone(), url.clone());
        async move { login(&client, &url, "admin", &format!("guess-{i}")).await }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + refused, 30, "{statuses:?}");
    // Of two attempts at once, at least one counts the other: at most
    // 2 × 5 − 1 are ever checked (exactly 5 when writes are serial).
    assert!(checked <= 9, "{checked} guesses were checked: {statuses:?}");
    if checked >= 5 {
        assert_eq!(login(&client, &url, "admin", ADMIN_PASSWORD).await, 429);
    }
}

/// An attacker who owns an account cannot sign in between guesses to reset
/// their address's count: only the account's own success forgives it.
#[tokio::test]
async fn signing_in_between_guesses_does_not_reset_the_address() {
    let app = spawn_app().await;
    app.add_member("mallory", "viewer").await;
    let client = browser(&app.address);
    let url = app.url("/api/v1/auth/login");
    for i in 0..20 {
        if i % 4 == 0 {
            assert_eq!(
                login(&client, &url, "mallory", MEMBER_PASSWORD).await,
                200,
                "mallory's own sign-in {i}"
            );
        }
        // Four guesses per account stay under the per-account limit.
        let victim = format!("victim-{}", i / 4);
        assert_eq!(
            login(&client, &url, &victim, "guess").await,
            401,
            "guess {i}"
        );
    }
    assert_eq!(login(&client, &url, "mallory", MEMBER_PASSWORD).await, 429);
    assert_eq!(login(&client, &url, "victim-9", "guess").await, 429);
}

/// Expired sessions and day-old sign-in attempts are deleted, so visits that
/// never sign in, and guesses, do not pile up in the database.
#[tokio::test]
async fn expired_sessions_and_old_attempts_are_purged() {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

    let app = crate::helpers::spawn_app_with(|config| {
        config.purge_interval = std::time::Duration::from_millis(200);
    })
    .await;
    let count = |table: &'static str| {
        let db = app.db.clone();
        async move {
            let row = db
                .query_one(Statement::from_string(
                    db.get_database_backend(),
                    format!("SELECT COUNT(*) AS n FROM {table}"),
                ))
                .await
                .expect("count")
                .expect("a row");
            row.try_get::<i64>("", "n").expect("n")
        }
    };
    let client = browser(&app.address);
    login(&client, &app.url("/api/v1/auth/login"), "admin", "wrong").await;
    assert!(count("sessions").await >= 1, "the admin's session");
    assert!(count("login_attempts").await >= 2);
    let expire = match app.db.get_database_backend() {
        DatabaseBackend::Postgres => {
            "UPDATE sessions SET expiry_date = now() - interval '1 minute'; \
             UPDATE login_attempts SET started_at = now() - interval '2 days'"
        }
        _ => {
            "UPDATE sessions SET expiry_date = 0; \
             UPDATE login_attempts SET started_at = '2000-01-01 00:00:00+00:00'"
        }
    };
    app.db.execute_unprepared(expire).await.expect("aged");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count("sessions").await + count("login_attempts").await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "sessions {} and attempts {} are left",
            count("sessions").await,
            count("login_attempts").await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A flood of refused attempts neither unlocks an account (by pushing its
/// failures out of view) nor is stored without bound: over-long usernames
/// are refused before anything is written.
#[tokio::test]
async fn refused_attempts_cannot_wash_out_a_lock() {
    let app = spawn_app().await;
    let client = browser(&app.address);
    let url = app.url("/api/v1/auth/login");
    for _ in 0..5 {
        assert_eq!(login(&client, &url, "admin", "wrong").await, 401);
    }
    for _ in 0..250 {
        assert_eq!(login(&client, &url, "admin", "wrong").await, 429);
    }
    assert_eq!(login(&client, &url, "admin", "another guess").await, 429);
    assert_eq!(login(&client, &url, &"u".repeat(3_000), "x").await, 422);
}
