//! Blue-green traffic switches: the environment's `switch` hook, a command run
//! on the server or an HTTP webhook (e.g. a load-balancer reload).

use std::time::Duration;

use serde_json::{json, Value};

const HOOK_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the hook to make `to_pool` serve traffic. No hook configured: only the
/// recorded active pool changes (agents or the balancer read it from the API).
pub async fn run(
    hook: Option<&Value>,
    client: &reqwest::Client,
    environment: &str,
    from_pool: Option<&str>,
    to_pool: &str,
) -> Result<(), String> {
    let Some(hook) = hook.filter(|h| !h.is_null()) else {
        return Ok(());
    };
    if let Some(command) = hook["command"].as_str() {
        let env = [
            ("HOTSWAP_ENVIRONMENT", environment.to_string()),
            ("HOTSWAP_ACTIVE_POOL", to_pool.to_string()),
            ("HOTSWAP_PREVIOUS_POOL", from_pool.unwrap_or("").to_string()),
        ];
        return crate::agent::hooks::run(command, &std::env::temp_dir(), &env, HOOK_TIMEOUT).await;
    }
    if let Some(url) = hook["webhook"].as_str() {
        let body = json!({
            "environment": environment,
            "active_pool": to_pool,
            "previous_pool": from_pool,
        });
        let response = client
            .post(url)
            .timeout(HOOK_TIMEOUT)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("switch webhook {url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!(
                "switch webhook {url} answered {}",
                response.status()
            ));
        }
        return Ok(());
    }
    Err("the switch hook needs a \"command\" or a \"webhook\"".into())
}

/// Checks a hook document as an admin sends it.
pub fn validate(hook: &Value) -> Result<(), String> {
    match hook {
        Value::Null => Ok(()),
        Value::Object(map) => match (map.get("command"), map.get("webhook")) {
            (Some(Value::String(c)), None) if !c.trim().is_empty() => Ok(()),
            (None, Some(Value::String(u)))
                if u.starts_with("http://") || u.starts_with("https://") =>
            {
                Ok(())
            }
            _ => Err("either {\"command\": \"…\"} or {\"webhook\": \"https://…\"}".into()),
        },
        _ => Err("either {\"command\": \"…\"} or {\"webhook\": \"https://…\"}".into()),
    }
}
