//! The agent's memory on disk (`ROOT/.hotswap/`): its node credential, and the
//! result of every command it ran, so a command the server sends again (after a
//! reconnect or a server crash) is answered, not run twice.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::protocol::CommandResult;
use crate::releases::STATE_DIR;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    pub server: String,
    pub node_id: i64,
    pub credential: String,
}

#[derive(Debug, Clone)]
pub struct Journal {
    dir: PathBuf,
}

impl Journal {
    pub fn open(root: &std::path::Path) -> std::io::Result<Self> {
        let dir = root.join(STATE_DIR);
        std::fs::create_dir_all(dir.join("results"))?;
        Ok(Self { dir })
    }

    pub fn identity(&self) -> Option<Identity> {
        let text = std::fs::read_to_string(self.dir.join("identity.json")).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn save_identity(&self, identity: &Identity) -> std::io::Result<()> {
        self.write_atomically("identity.json", &serde_json::to_vec_pretty(identity)?)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                self.dir.join("identity.json"),
                std::fs::Permissions::from_mode(0o600),
            )?;
        }
        Ok(())
    }

    fn result_file(command_id: &str) -> String {
        let safe: String = command_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("results/{safe}.json")
    }

    pub fn result(&self, command_id: &str) -> Option<CommandResult> {
        let text = std::fs::read_to_string(self.dir.join(Self::result_file(command_id))).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn record(&self, result: &CommandResult) -> std::io::Result<()> {
        self.write_atomically(
            &Self::result_file(&result.command_id),
            &serde_json::to_vec(result)?,
        )
    }

    fn write_atomically(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        let target = self.dir.join(name);
        let staged = target.with_extension("tmp");
        std::fs::write(&staged, bytes)?;
        std::fs::File::open(&staged)?.sync_all()?;
        std::fs::rename(staged, target)
    }
}
