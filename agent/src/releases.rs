//! The agent's files: `ROOT/<module>/releases/<version>/` holds each unpacked
//! release and `ROOT/<module>/current` is a symlink to one of them. The link is
//! replaced by renaming a new link over it, which is atomic: after a crash at any
//! point `current` names the old release or the new one, never something between.

use std::io;
use std::path::{Path, PathBuf};

use crate::protocol::Modules;

/// Marker written into a release once it is completely unpacked and verified.
const VERIFIED_MARKER: &str = ".hotswap-sha256";
/// Directory under ROOT for the agent's own state; never a module.
pub const STATE_DIR: &str = ".hotswap";

#[derive(Debug, Clone)]
pub struct Releases {
    root: PathBuf,
}

/// Module names and versions become path components, so they are held to a
/// safe alphabet: no separators, no `..`, no hidden names.
pub fn is_safe_component(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
}

impl Releases {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn module_dir(&self, module: &str) -> PathBuf {
        self.root.join(module)
    }

    pub fn release_dir(&self, module: &str, version: &str) -> PathBuf {
        self.module_dir(module).join("releases").join(version)
    }

    /// A private scratch directory on the same file system (renames stay atomic).
    pub fn scratch_dir(&self, module: &str) -> PathBuf {
        self.module_dir(module).join(".tmp")
    }

    /// The version `current` points at, if it points at an existing release.
    pub fn current_version(&self, module: &str) -> Option<String> {
        let link = self.module_dir(module).join("current");
        let target = std::fs::read_link(&link).ok()?;
        let version = target.file_name()?.to_str()?.to_string();
        self.release_dir(module, &version)
            .is_dir()
            .then_some(version)
    }

    /// Every module with a `current` release: what this node really runs.
    pub fn installed(&self) -> Modules {
        let mut modules = Modules::new();
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return modules;
        };
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !is_safe_component(&name) {
                continue;
            }
            if let Some(version) = self.current_version(&name) {
                modules.insert(name, version);
            }
        }
        modules
    }

    /// True when `version` is unpacked and was verified against `sha256`.
    pub fn has_verified(&self, module: &str, version: &str, sha256: &str) -> bool {
        let marker = self.release_dir(module, version).join(VERIFIED_MARKER);
        // Only a plain file the agent wrote counts, never a link.
        std::fs::symlink_metadata(&marker).is_ok_and(|m| m.file_type().is_file())
            && std::fs::read_to_string(&marker)
                .map(|stored| stored.trim().eq_ignore_ascii_case(sha256))
                .unwrap_or(false)
    }

    /// Moves a completely unpacked directory into place as `version`.
    pub fn install(
        &self,
        module: &str,
        version: &str,
        sha256: &str,
        unpacked: &Path,
    ) -> io::Result<()> {
        write_new(&unpacked.join(VERIFIED_MARKER), sha256.as_bytes())?;
        let target = self.release_dir(module, version);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if target.exists() {
            // An unverified leftover (or a different artifact under the same
            // version): it is not `current` — the engine never reuses versions —
            // so it can go.
            std::fs::remove_dir_all(&target)?;
        }
        std::fs::rename(unpacked, &target)
    }

    /// Points `current` at `version` (or removes it for `None`) atomically.
    pub fn switch(&self, module: &str, version: Option<&str>) -> io::Result<()> {
        let dir = self.module_dir(module);
        let current = dir.join("current");
        let Some(version) = version else {
            return match std::fs::remove_file(&current) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                other => other,
            };
        };
        if !self.release_dir(module, version).is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("release {version} of {module} is not on this node"),
            ));
        }
        std::fs::create_dir_all(&dir)?;
        let staged = dir.join(format!(".current-{}", std::process::id()));
        let _ = std::fs::remove_file(&staged);
        std::os::unix::fs::symlink(Path::new("releases").join(version), &staged)?;
        std::fs::rename(&staged, &current)?;
        // Make the rename durable before reporting it.
        std::fs::File::open(&dir)?.sync_all()
    }

    /// Keeps the newest `keep` releases, never removing the current one or `also_keep`.
    pub fn prune(&self, module: &str, keep: usize, also_keep: Option<&str>) {
        let releases = self.module_dir(module).join("releases");
        let current = self.current_version(module);
        let Ok(entries) = std::fs::read_dir(&releases) else {
            return;
        };
        let mut found: Vec<(std::time::SystemTime, PathBuf, String)> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                let modified = e.metadata().and_then(|m| m.modified()).ok()?;
                Some((modified, e.path(), name))
            })
            .collect();
        found.sort_by_key(|entry| std::cmp::Reverse(entry.0));
        for (_, path, name) in found.into_iter().skip(keep) {
            if Some(name.as_str()) == current.as_deref() || Some(name.as_str()) == also_keep {
                continue;
            }
            if let Err(error) = std::fs::remove_dir_all(&path) {
                tracing::warn!(%error, path = %path.display(), "could not prune an old release");
            }
        }
    }

    /// Removes what an interrupted swap left behind: scratch files and staged links.
    pub fn clean_up_interrupted(&self) {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        for entry in entries.flatten() {
            let dir = entry.path();
            if !dir.is_dir() || entry.file_name() == STATE_DIR {
                continue;
            }
            let _ = std::fs::remove_dir_all(dir.join(".tmp"));
            if let Ok(inner) = std::fs::read_dir(&dir) {
                for item in inner.flatten() {
                    if item.file_name().to_string_lossy().starts_with(".current-") {
                        let _ = std::fs::remove_file(item.path());
                    }
                }
            }
        }
    }
}

/// Writes a file that did not exist: whatever stands at `path` (a link out
/// of the release, say) is removed first and never written through.
fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path)?,
        Ok(_) => std::fs::remove_file(path)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?
        .write_all(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unpacked(root: &Path, content: &str) -> PathBuf {
        let dir = tempfile::Builder::new().tempdir_in(root).unwrap().keep();
        std::fs::write(dir.join("app.txt"), content).unwrap();
        dir
    }

    #[test]
    fn switching_moves_current_between_releases_and_back() {
        let root = tempfile::tempdir().unwrap();
        let releases = Releases::new(root.path());
        releases
            .install("api", "1.0", "aa", &unpacked(root.path(), "one"))
            .unwrap();
        releases
            .install("api", "2.0", "bb", &unpacked(root.path(), "two"))
            .unwrap();
        assert_eq!(releases.current_version("api"), None);

        releases.switch("api", Some("1.0")).unwrap();
        releases.switch("api", Some("2.0")).unwrap();
        assert_eq!(releases.current_version("api").as_deref(), Some("2.0"));
        let served = std::fs::read_to_string(root.path().join("api/current/app.txt")).unwrap();
        assert_eq!(served, "two");

        releases.switch("api", Some("1.0")).unwrap();
        assert_eq!(
            releases.installed().get("api").map(String::as_str),
            Some("1.0")
        );
        releases.switch("api", None).unwrap();
        assert!(releases.installed().is_empty());
    }

    #[test]
    fn a_missing_release_is_never_switched_to() {
        let root = tempfile::tempdir().unwrap();
        let releases = Releases::new(root.path());
        releases
            .install("api", "1.0", "aa", &unpacked(root.path(), "one"))
            .unwrap();
        releases.switch("api", Some("1.0")).unwrap();
        assert!(releases.switch("api", Some("9.9")).is_err());
        assert_eq!(releases.current_version("api").as_deref(), Some("1.0"));
    }

    #[test]
    fn only_verified_releases_count_as_present() {
        let root = tempfile::tempdir().unwrap();
        let releases = Releases::new(root.path());
        releases
            .install("api", "1.0", "AbC", &unpacked(root.path(), "one"))
            .unwrap();
        assert!(releases.has_verified("api", "1.0", "abc"));
        assert!(!releases.has_verified("api", "1.0", "other"));
        assert!(!releases.has_verified("api", "2.0", "abc"));
    }

    #[test]
    fn pruning_keeps_the_newest_and_the_current() {
        let root = tempfile::tempdir().unwrap();
        let releases = Releases::new(root.path());
        for v in ["1", "2", "3", "4"] {
            releases
                .install("api", v, "aa", &unpacked(root.path(), v))
                .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        releases.switch("api", Some("1")).unwrap();
        releases.prune("api", 2, None);
        for (v, kept) in [("1", true), ("2", false), ("3", true), ("4", true)] {
            assert_eq!(releases.release_dir("api", v).exists(), kept, "release {v}");
        }
    }

    #[test]
    fn unsafe_names_are_refused() {
        for bad in ["", "..", "../etc", "a/b", ".hidden", "a b"] {
            assert!(!is_safe_component(bad), "{bad:?}");
        }
        for good in ["api", "1.2.3", "v2-rc.1", "build+7"] {
            assert!(is_safe_component(good), "{good:?}");
        }
    }
}
