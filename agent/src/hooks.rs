//! Running the commands an operator configured on the agent (hooks, health
//! commands) with a time limit.

use std::path::Path;
use std::time::Duration;

/// How a shell command ended.
#[derive(Debug)]
pub enum Ended {
    Succeeded,
    TimedOut,
    CouldNotStart(std::io::Error),
    /// A non-zero exit, or `code: None` when a signal killed it; with what
    /// it wrote to stderr.
    Failed {
        code: Option<i32>,
        stderr: String,
    },
}

/// Runs `command` with `sh -c`, stdin closed, after `prepare` has set its
/// directory and environment; killed when it outlives `timeout`. The one
/// runner behind the agent's hooks and health commands and the server's
/// blue-green switch commands, which each word the outcome their own way.
pub async fn run_shell(
    command: &str,
    prepare: impl FnOnce(&mut tokio::process::Command),
    timeout: Duration,
) -> Ended {
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    prepare(&mut cmd);
    match tokio::time::timeout(timeout, cmd.output()).await {
        Err(_) => Ended::TimedOut,
        Ok(Err(e)) => Ended::CouldNotStart(e),
        Ok(Ok(output)) if output.status.success() => Ended::Succeeded,
        Ok(Ok(output)) => Ended::Failed {
            code: output.status.code(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        },
    }
}

/// Runs an operator's hook in `cwd`, failing with the tail of its output on
/// a non-zero exit or when it outlives `timeout`.
pub async fn run(
    command: &str,
    cwd: &Path,
    env: &[(&str, String)],
    timeout: Duration,
) -> Result<(), String> {
    let ended = run_shell(
        command,
        |cmd| {
            cmd.current_dir(cwd);
            for (key, value) in env {
                cmd.env(key, value);
            }
        },
        timeout,
    )
    .await;
    let (code, stderr) = match ended {
        Ended::Succeeded => return Ok(()),
        Ended::TimedOut => return Err(format!("`{command}` did not finish within {timeout:?}")),
        Ended::CouldNotStart(e) => return Err(format!("`{command}` could not start: {e}")),
        Ended::Failed { code, stderr } => (code, stderr),
    };
    let tail: String = stderr
        .trim()
        .chars()
        .rev()
        .take(300)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Err(match code {
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
