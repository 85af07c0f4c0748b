//! Carrying out the server's commands on disk, one at a time:
//! download → verify → unpack → pre-swap hook → switch → post-swap hook →
//! health → report. Any failure after the switch switches back, so a failed
//! swap leaves the node on the release it had.

use std::path::PathBuf;
use std::time::Duration;

use crate::artifact;
use crate::hooks;
use crate::journal::Journal;
use crate::probe::Prober;
use crate::protocol::{CommandResult, ServerMessage, SwapCommand};
use crate::releases::{is_safe_component, Releases};

/// Releases kept per module, counting the current one.
pub const KEEP_RELEASES: usize = 5;

#[derive(Clone)]
pub struct Executor {
    pub releases: Releases,
    pub journal: Journal,
    pub client: reqwest::Client,
    pub limits: artifact::ArtifactLimits,
    pub prober: Option<Prober>,
    pub pre_swap: Option<String>,
    pub post_swap: Option<String>,
    pub hook_timeout: Duration,
    pub health_grace: Duration,
    /// Probe statistics since the last heartbeat; emptied at every switch so a
    /// heartbeat never reports the old release's health as the new one's.
    pub stats: std::sync::Arc<std::sync::Mutex<crate::probe::Stats>>,
}

impl Executor {
    /// Runs a command once; asked again, answers with the recorded result.
    pub async fn execute(&self, message: &ServerMessage) -> Option<CommandResult> {
        let command_id = message.command_id()?;
        if let Some(done) = self.journal.result(command_id) {
            return Some(done);
        }
        let result = match message {
            ServerMessage::Swap(swap) => self.swap(swap).await,
            ServerMessage::Rollback {
                command_id,
                module,
                to_version,
            } => {
                self.rollback(command_id, module, to_version.as_deref())
                    .await
            }
            ServerMessage::Ping => return None,
        };
        if let Err(error) = self.journal.record(&result) {
            tracing::warn!(%error, "could not record a command result; it may run again");
        }
        Some(result)
    }

    fn report(
        &self,
        command_id: &str,
        module: &str,
        previous: Option<String>,
        outcome: Result<(), String>,
    ) -> CommandResult {
        let (ok, error) = match outcome {
            Ok(()) => (true, None),
            Err(e) => (false, Some(e)),
        };
        CommandResult {
            command_id: command_id.to_string(),
            ok,
            error,
            module: module.to_string(),
            current_version: self.releases.current_version(module),
            previous_version: previous,
            modules: self.releases.installed(),
        }
    }

    async fn swap(&self, cmd: &SwapCommand) -> CommandResult {
        let previous = if is_safe_component(&cmd.module) {
            self.releases.current_version(&cmd.module)
        } else {
            None
        };
        let outcome = self.try_swap(cmd, previous.as_deref()).await;
        match &outcome {
            Ok(()) => tracing::info!(module = %cmd.module, version = %cmd.version, "swapped"),
            Err(error) => {
                tracing::warn!(module = %cmd.module, version = %cmd.version, %error, "swap failed")
            }
        }
        self.report(&cmd.command_id, &cmd.module, previous, outcome)
    }

    async fn try_swap(&self, cmd: &SwapCommand, previous: Option<&str>) -> Result<(), String> {
        if !is_safe_component(&cmd.module) || !is_safe_component(&cmd.version) {
            return Err(format!(
                "refusing unsafe module or version name {:?} {:?}",
                cmd.module, cmd.version
            ));
        }
        if previous == Some(cmd.version.as_str())
            && self
                .releases
                .has_verified(&cmd.module, &cmd.version, &cmd.sha256)
        {
            return Ok(());
        }
        if !self
            .releases
            .has_verified(&cmd.module, &cmd.version, &cmd.sha256)
        {
            self.fetch(cmd).await.map_err(|e| e.to_string())?;
        }
        let env = self.hook_env(&cmd.module, &cmd.version);
        if let Some(hook) = &self.pre_swap {
            hooks::run(hook, self.releases.root(), &env, self.hook_timeout)
                .await
                .map_err(|e| format!("pre-swap hook failed: {e}"))?;
        }
        self.releases
            .switch(&cmd.module, Some(&cmd.version))
            .map_err(|e| format!("could not switch current: {e}"))?;
        self.forget_samples();
        let after = self.after_switch(&cmd.module, &cmd.version).await;
        if let Err(error) = after {
            let back = self.releases.switch(&cmd.module, previous);
            self.forget_samples();
            if let (Some(hook), Some(old)) = (&self.post_swap, previous) {
                let env = self.hook_env(&cmd.module, old);
                let _ = hooks::run(hook, self.releases.root(), &env, self.hook_timeout).await;
            }
            return Err(match back {
                Ok(()) => format!(
                    "{error}; switched back to {}",
                    previous.unwrap_or("nothing")
                ),
                Err(e) => format!("{error}; switching back failed too: {e}"),
            });
        }
        self.releases.prune(&cmd.module, KEEP_RELEASES, previous);
        Ok(())
    }

    async fn after_switch(&self, module: &str, version: &str) -> Result<(), String> {
        if let Some(hook) = &self.post_swap {
            let env = self.hook_env(module, version);
            hooks::run(hook, self.releases.root(), &env, self.hook_timeout)
                .await
                .map_err(|e| format!("post-swap hook failed: {e}"))?;
        }
        if let Some(prober) = &self.prober {
            prober
                .wait_healthy(self.health_grace)
                .await
                .map_err(|e| format!("unhealthy after the swap: {e}"))?;
        }
        Ok(())
    }

    async fn fetch(&self, cmd: &SwapCommand) -> Result<(), artifact::ArtifactError> {
        let scratch = self.releases.scratch_dir(&cmd.module);
        std::fs::create_dir_all(&scratch)?;
        let download = scratch.join(format!("{}.download", cmd.version));
        let unpacked: PathBuf = scratch.join(format!("{}.unpacked", cmd.version));
        let _ = std::fs::remove_dir_all(&unpacked);
        let result = async {
            let digest =
                artifact::download(&self.client, &cmd.url, &download, &self.limits).await?;
            artifact::verify_checksum(&digest, &cmd.sha256)?;
            if let Some(key) = &cmd.public_key {
                artifact::verify_signature(&digest, cmd.signature.as_deref(), key)?;
            }
            artifact::unpack(
                download.clone(),
                cmd.url.clone(),
                unpacked.clone(),
                self.limits.clone(),
            )
            .await?;
            self.releases
                .install(&cmd.module, &cmd.version, &cmd.sha256, &unpacked)?;
            Ok(())
        }
        .await;
        let _ = std::fs::remove_file(&download);
        let _ = std::fs::remove_dir_all(&unpacked);
        result
    }

    async fn rollback(&self, command_id: &str, module: &str, to: Option<&str>) -> CommandResult {
        let previous = self.releases.current_version(module);
        let outcome = async {
            if !is_safe_component(module) || to.is_some_and(|v| !is_safe_component(v)) {
                return Err("refusing an unsafe module or version name".to_string());
            }
            if previous.as_deref() == to {
                return Ok(());
            }
            self.releases
                .switch(module, to)
                .map_err(|e| format!("could not switch back: {e}"))?;
            self.forget_samples();
            if let (Some(hook), Some(version)) = (&self.post_swap, to) {
                let env = self.hook_env(module, version);
                hooks::run(hook, self.releases.root(), &env, self.hook_timeout)
                    .await
                    .map_err(|e| format!("post-swap hook failed after rolling back: {e}"))?;
            }
            Ok(())
        }
        .await;
        tracing::info!(%module, to = ?to, ok = outcome.is_ok(), "rolled back");
        self.report(command_id, module, previous, outcome)
    }

    fn forget_samples(&self) {
        if let Ok(mut stats) = self.stats.lock() {
            stats.take();
        }
    }

    fn hook_env(&self, module: &str, version: &str) -> Vec<(&'static str, String)> {
        vec![
            ("HOTSWAP_MODULE", module.to_string()),
            ("HOTSWAP_VERSION", version.to_string()),
            (
                "HOTSWAP_RELEASE_DIR",
                self.releases
                    .release_dir(module, version)
                    .display()
                    .to_string(),
            ),
        ]
    }
}
