//! Blue-green traffic switches: the environment's `switch` hook names either
//! a command the server's operator configured (`HOTSWAP_SWITCH_COMMANDS`) or
//! an HTTP webhook (e.g. a load-balancer reload). A tenant never supplies a
//! command line: what runs on the server is the operator's to decide.

use std::collections::BTreeMap;
use std::time::Duration;

use hotswap_agent::hooks::Ended;
use serde_json::{json, Value};

use crate::outbound::Outbound;

const HOOK_TIMEOUT: Duration = Duration::from_secs(30);

use crate::domain::switch::SHAPE;

/// Runs the hook to make `to_pool` serve traffic. No hook configured: only the
/// recorded active pool changes (agents or the balancer read it from the API).
pub async fn run(
    hook: Option<&Value>,
    client: &Outbound,
    commands: &BTreeMap<String, String>,
    environment: &str,
    from_pool: Option<&str>,
    to_pool: &str,
) -> Result<(), String> {
    let Some(hook) = hook.filter(|h| !h.is_null()) else {
        return Ok(());
    };
    if let Some(name) = hook["command"].as_str() {
        // Looked up now, not when the hook was set: an operator who removes a
        // command disables it everywhere at once.
        let Some(command) = commands.get(name) else {
            return Err(format!(
                "the switch command {name:?} is not configured on this server (HOTSWAP_SWITCH_COMMANDS)"
            ));
        };
        return run_command(name, command, environment, from_pool, to_pool).await;
    }
    if let Some(url) = hook["webhook"].as_str() {
        let body = json!({
            "environment": environment,
            "active_pool": to_pool,
            "previous_pool": from_pool,
        });
        let response = client
            .request(reqwest::Method::POST, url)
            .map_err(|e| format!("switch webhook: {e}"))?
            .timeout(HOOK_TIMEOUT)
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "switch webhook: {}",
                    crate::outbound::OutboundError::from(e)
                )
            })?;
        if !response.status().is_success() {
            return Err(format!(
                "switch webhook answered {}",
                response.status().as_u16()
            ));
        }
        return Ok(());
    }
    Err(format!("the switch hook needs {SHAPE}"))
}

/// Runs an operator's command with a clean environment: only `PATH`, `HOME`
/// and the switch's own variables, never the server's secrets. Its output is
/// logged for the operator, not shown to the tenant.
async fn run_command(
    name: &str,
    command: &str,
    environment: &str,
    from_pool: Option<&str>,
    to_pool: &str,
) -> Result<(), String> {
    let ended = hotswap_agent::hooks::run_shell(
        command,
        |cmd| {
            // Nothing of the server's environment (database URL, secrets).
            cmd.env_clear()
                .env(
                    "PATH",
                    std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
                )
                .env("HOME", std::env::temp_dir())
                .env("HOTSWAP_ENVIRONMENT", environment)
                .env("HOTSWAP_ACTIVE_POOL", to_pool)
                .env("HOTSWAP_PREVIOUS_POOL", from_pool.unwrap_or(""))
                .current_dir(std::env::temp_dir());
        },
        HOOK_TIMEOUT,
    )
    .await;
    // What it printed goes to the operator's log, not to the tenant.
    Err(match ended {
        Ended::Succeeded => return Ok(()),
        Ended::TimedOut => {
            format!("the switch command {name:?} did not finish within {HOOK_TIMEOUT:?}")
        }
        Ended::CouldNotStart(error) => {
            tracing::warn!(%error, name, "a switch command could not start");
            format!("the switch command {name:?} could not start")
        }
        Ended::Failed { code, stderr } => {
            tracing::warn!(name, status = ?code, %stderr, "a switch command failed");
            match code {
                Some(code) => format!("the switch command {name:?} exited with {code}"),
                None => format!("the switch command {name:?} was killed by a signal"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_command_sees_its_pools_and_none_of_the_servers_secrets() {
        std::env::set_var("HOTSWAP_TEST_SECRET", "hunter2");
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("seen");
        let commands = BTreeMap::from([(
            "record".to_string(),
            format!(
                "echo \"$HOTSWAP_ACTIVE_POOL:$HOTSWAP_TEST_SECRET\" > {}",
                out.display()
            ),
        )]);
        let client = Outbound::new(crate::outbound::OutboundPolicy::default(), HOOK_TIMEOUT);
        let hook = json!({"command": "record"});
        run(
            Some(&hook),
            &client,
            &commands,
            "prod",
            Some("blue"),
            "green",
        )
        .await
        .expect("runs");
        assert_eq!(
            std::fs::read_to_string(&out).expect("written").trim(),
            "green:"
        );
        let missing = run(
            Some(&json!({"command": "gone"})),
            &client,
            &commands,
            "prod",
            None,
            "green",
        )
        .await
        .unwrap_err();
        assert!(missing.contains("not configured"), "{missing}");
    }
}
