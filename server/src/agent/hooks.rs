//! Running the commands an operator configured on the agent (hooks, health
//! commands) with a time limit.

use std::path::Path;
use std::time::Duration;

/// Runs `command` with `sh -c` in `cwd`, failing with the tail of its output on
/// a non-zero exit or when it outlives `timeout` (it is killed then).
pub async fn run(
    command: &str,
    cwd: &Path,
    env: &[(&str, String)],
    timeout: Duration,
) -> Result<(), String> {
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    for (key, value) in env {
        cmd.env(key, value);
    }
    let output = match tokio::time::timeout(timeout, cmd.output()).await {
        Err(_) => return Err(format!("`{command}` did not finish within {timeout:?}")),
        Ok(Err(e)) => return Err(format!("`{command}` could not start: {e}")),
        Ok(Ok(output)) => output,
    };
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: String = stderr
        .trim()
        .chars()
        .rev()
        .take(300)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Err(match output.status.code() {
        Some(code) if tail.is_empty() => format!("`{command}` exited with {code}"),
        Some(code) => format!("`{command}` exited with {code}: {tail}"),
        None => format!("`{command}` was killed by a signal"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failures_and_timeouts_are_explained() {
        let here = std::env::temp_dir();
        let limit = Duration::from_secs(5);
        assert!(run("true", &here, &[], limit).await.is_ok());
        let failed = run("echo nope >&2; exit 3", &here, &[], limit)
            .await
            .unwrap_err();
        assert!(failed.contains("exited with 3: nope"), "{failed}");
        let slow = run("sleep 5", &here, &[], Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(slow.contains("did not finish"), "{slow}");
        let env = [("HOTSWAP_VERSION", "2.0".to_string())];
        assert!(run("test \"$HOTSWAP_VERSION\" = 2.0", &here, &env, limit)
            .await
            .is_ok());
    }
}
