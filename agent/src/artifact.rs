//! Fetching an artifact, checking it is the one that was published, and
//! unpacking it.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// What a node accepts from an artifact, whoever published it: the
/// directories `file://` URLs may read from, and how big it may be.
#[derive(Debug, Clone)]
pub struct ArtifactLimits {
    /// `--artifact-dir`: `file://` artifacts only from under these (none: no `file://`).
    pub file_roots: Vec<PathBuf>,
    /// `--max-artifact-size`: the most bytes downloaded; unpacked, eight times that.
    pub max_bytes: u64,
    /// `--download-timeout`: a download that takes longer fails, however
    /// slowly the other side keeps sending.
    pub max_duration: std::time::Duration,
}

impl Default for ArtifactLimits {
    fn default() -> Self {
        Self {
            file_roots: Vec::new(),
            max_bytes: 2 << 30,
            max_duration: std::time::Duration::from_secs(30 * 60),
        }
    }
}

/// Flags for opening a `file://` artifact (Linux's values: agents run on Linux).
mod open_flags {
    pub const NONBLOCK: i32 = 0o4000;
    pub const NOFOLLOW: i32 = 0o400000;
}

/// At most this many entries in one tarball.
const MAX_ENTRIES: u64 = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("download failed: {0}")]
    Download(String),
    // The real digest is never reported: that would let whoever publishes
    // learn the digest of any file a node can read.
    #[error("checksum mismatch: the artifact is not the one published with sha256 {expected}")]
    Checksum { expected: String },
    #[error("signature check failed: {0}")]
    Signature(String),
    #[error("could not unpack the artifact: {0}")]
    Unpack(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Downloads `url` (`http(s)://`, or `file://` under an allowed directory)
/// to `dest`, at most `limits.max_bytes`, returning its SHA-256 digest.
/// Redirects are not followed (the client is built that way).
pub async fn download(
    client: &reqwest::Client,
    url: &str,
    dest: &Path,
    limits: &ArtifactLimits,
) -> Result<[u8; 32], ArtifactError> {
    tokio::time::timeout(
        limits.max_duration,
        download_within(client, url, dest, limits),
    )
    .await
    .map_err(|_| {
        ArtifactError::Download(format!("{url} took longer than {:?}", limits.max_duration))
    })?
}

async fn download_within(
    client: &reqwest::Client,
    url: &str,
    dest: &Path,
    limits: &ArtifactLimits,
) -> Result<[u8; 32], ArtifactError> {
    let too_big = || {
        ArtifactError::Download(format!(
            "the artifact is larger than {} bytes",
            limits.max_bytes
        ))
    };
    let mut file = tokio::fs::File::create(dest).await?;
    let mut hasher = Sha256::new();
    let mut total: u64 = 0;
    if url.starts_with("file:") {
        use tokio::io::AsyncReadExt;
        let path = allowed_file(url, &limits.file_roots).await?;
        // Opened without following a link and without blocking (a FIFO
        // swapped in after the check must not hang the agent), then checked
        // again as opened.
        let mut source = {
            use std::os::unix::fs::OpenOptionsExt;
            let file = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(open_flags::NOFOLLOW | open_flags::NONBLOCK)
                .open(&path)
                .map_err(|_| ArtifactError::Download(format!("{url} cannot be read")))?;
            if !file.metadata().is_ok_and(|m| m.is_file()) {
                return Err(ArtifactError::Download(format!("{url} cannot be read")));
            }
            tokio::fs::File::from_std(file)
        };
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = source.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > limits.max_bytes {
                return Err(too_big());
            }
            hasher.update(&buffer[..n]);
            file.write_all(&buffer[..n]).await?;
        }
    } else {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ArtifactError::Download(
                "only http(s):// and file:// artifacts".into(),
            ));
        }
        let mut response = client
            .get(url)
            .send()
            .await
            .map_err(|e| ArtifactError::Download(format!("{url}: {}", transport(&e))))?;
        if !response.status().is_success() {
            return Err(ArtifactError::Download(format!(
                "{url}: HTTP {}",
                response.status().as_u16()
            )));
        }
        if response
            .content_length()
            .is_some_and(|n| n > limits.max_bytes)
        {
            return Err(too_big());
        }
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ArtifactError::Download(format!("{url}: {}", transport(&e))))?
        {
            total += chunk.len() as u64;
            if total > limits.max_bytes {
                return Err(too_big());
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
    }
    file.sync_all().await?;
    Ok(hasher.finalize().into())
}

/// A few words for a failed request, never the body of an answer.
fn transport(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_redirect() {
        "redirects are not followed"
    } else {
        "the transfer failed"
    }
}

/// The regular file a `file://` URL names, if it lies under one of `roots`
/// once links are resolved. Whether a file outside exists is not told.
async fn allowed_file(url: &str, roots: &[PathBuf]) -> Result<PathBuf, ArtifactError> {
    let refused = || {
        ArtifactError::Download(format!(
            "{url} is not a file under this node's artifact directories (--artifact-dir)"
        ))
    };
    let path = url::Url::parse(url)
        .ok()
        .filter(|u| {
            u.host_str()
                .is_none_or(|h| h.is_empty() || h == "localhost")
        })
        .and_then(|u| u.to_file_path().ok())
        .ok_or_else(refused)?;
    let real = tokio::fs::canonicalize(&path)
        .await
        .map_err(|_| refused())?;
    let mut inside = false;
    for root in roots {
        if let Ok(root) = tokio::fs::canonicalize(root).await {
            inside |= real.starts_with(&root);
        }
    }
    let regular = tokio::fs::metadata(&real).await.is_ok_and(|m| m.is_file());
    if inside && regular {
        Ok(real)
    } else {
        Err(refused())
    }
}

/// Compares a digest with the published hex checksum.
pub fn verify_checksum(digest: &[u8; 32], expected: &str) -> Result<(), ArtifactError> {
    if hex::encode(digest).eq_ignore_ascii_case(expected.trim()) {
        Ok(())
    } else {
        Err(ArtifactError::Checksum {
            expected: expected.trim().to_string(),
        })
    }
}

/// Decodes hex or base64 into exactly `N` bytes.
pub fn decode_key_material<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.trim();
    let bytes = hex::decode(text)
        .ok()
        .or_else(|| base64::engine::general_purpose::STANDARD.decode(text).ok())?;
    bytes.try_into().ok()
}

/// Checks an Ed25519 signature made over the artifact's 32-byte SHA-256 digest.
pub fn verify_signature(
    digest: &[u8; 32],
    signature: Option<&str>,
    public_key: &str,
) -> Result<(), ArtifactError> {
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    let signature = signature.ok_or_else(|| {
        ArtifactError::Signature("the module requires a signature and none was published".into())
    })?;
    let key = decode_key_material::<32>(public_key)
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .ok_or_else(|| {
            ArtifactError::Signature("the module's public key is not an Ed25519 key".into())
        })?;
    let signature = decode_key_material::<64>(signature)
        .map(|s| Signature::from_bytes(&s))
        .ok_or_else(|| {
            ArtifactError::Signature("the signature is not 64 bytes of hex or base64".into())
        })?;
    key.verify(digest, &signature)
        .map_err(|_| ArtifactError::Signature("the signature does not match the artifact".into()))
}

/// Unpacks a `.tar.gz` into `dir`, or places a single file there under its
/// name in the URL. The archive is hostile until proven otherwise: only
/// regular files, directories and symlinks that stay inside `dir`; no
/// setuid, setgid or sticky bits, owners or extended attributes; nothing
/// named like the agent's own `.hotswap*` files; at most eight times the
/// download limit unpacked, and 100,000 entries.
pub async fn unpack(
    archive: PathBuf,
    url: String,
    dir: PathBuf,
    limits: ArtifactLimits,
) -> Result<(), ArtifactError> {
    tokio::task::spawn_blocking(move || -> Result<(), ArtifactError> {
        use std::io::Read;
        std::fs::create_dir_all(&dir)?;
        let mut magic = [0u8; 2];
        let gzipped = std::fs::File::open(&archive)?
            .read_exact(&mut magic)
            .map(|()| magic == [0x1f, 0x8b])
            .unwrap_or(false);
        if gzipped {
            let file = std::fs::File::open(&archive)?;
            let max_unpacked = limits.max_bytes.saturating_mul(8);
            let decoder = flate2::read::GzDecoder::new(file).take(max_unpacked.saturating_add(1));
            unpack_entries(tar::Archive::new(decoder), &dir, max_unpacked)
        } else {
            let name = url
                .rsplit('/')
                .next()
                .filter(|n| crate::releases::is_safe_component(n) && !n.starts_with(".hotswap"))
                .unwrap_or("artifact");
            std::fs::copy(&archive, dir.join(name))?;
            Ok(())
        }
    })
    .await
    .map_err(|e| ArtifactError::Unpack(e.to_string()))?
}

fn unpack_entries<R: std::io::Read>(
    mut archive: tar::Archive<R>,
    dir: &Path,
    max_unpacked: u64,
) -> Result<(), ArtifactError> {
    use std::path::Component;
    use tar::EntryType;
    let refuse = |message: String| ArtifactError::Unpack(message);
    archive.set_preserve_permissions(false);
    // Nothing in a release is writable by group or others.
    archive.set_mask(0o022);
    archive.set_preserve_ownerships(false);
    archive.set_unpack_xattrs(false);
    archive.set_preserve_mtime(true);
    let mut unpacked: u64 = 0;
    let entries = archive.entries().map_err(|e| refuse(e.to_string()))?;
    for (index, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| refuse(e.to_string()))?;
        if index as u64 >= MAX_ENTRIES {
            return Err(refuse(format!("more than {MAX_ENTRIES} entries")));
        }
        let path = entry
            .path()
            .map_err(|e| refuse(e.to_string()))?
            .into_owned();
        let shown = path.display().to_string();
        let mut depth = 0usize;
        for component in path.components() {
            match component {
                Component::Normal(part) => {
                    if part.to_string_lossy().starts_with(".hotswap") {
                        return Err(refuse(format!(
                            "{shown}: names starting .hotswap are the agent's own"
                        )));
                    }
                    depth += 1;
                }
                Component::CurDir => {}
                _ => return Err(refuse(format!("{shown}: an entry outside the release"))),
            }
        }
        match entry.header().entry_type() {
            EntryType::Regular | EntryType::Continuous | EntryType::Directory => {}
            EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(|e| refuse(e.to_string()))?
                    .ok_or_else(|| refuse(format!("{shown}: a link without a target")))?;
                if !link_stays_inside(depth, &target) {
                    return Err(refuse(format!(
                        "{shown}: a link that points outside the release"
                    )));
                }
            }
            other => {
                return Err(refuse(format!(
                "{shown}: a {other:?} entry; only files, directories and links inside the release"
            )))
            }
        }
        unpacked = unpacked.saturating_add(entry.header().size().unwrap_or(0));
        if unpacked > max_unpacked {
            return Err(refuse(format!(
                "it unpacks to more than {max_unpacked} bytes"
            )));
        }
        // Nothing is written beneath a link an earlier entry made: the
        // entry's place on disk is then exactly the path it names.
        let mut prefix = dir.to_path_buf();
        let parents: Vec<_> = path.components().collect();
        for component in parents.iter().take(parents.len().saturating_sub(1)) {
            prefix.push(component);
            if std::fs::symlink_metadata(&prefix).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(refuse(format!("{shown}: written through a link")));
            }
        }
        // Keeps the rwx bits (scripts stay executable), never setuid,
        // setgid or sticky: `set_preserve_permissions(false)` masks them.
        if !entry
            .unpack_in(dir)
            .map_err(|e| refuse(format!("{shown}: {e}")))?
        {
            return Err(refuse(format!("{shown}: an entry outside the release")));
        }
    }
    links_stay_inside(dir)
}

/// Every link in the unpacked tree, followed to the end (through other
/// links), lands inside it: the text of one link cannot tell that alone.
fn links_stay_inside(dir: &Path) -> Result<(), ArtifactError> {
    let root = std::fs::canonicalize(dir)?;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current)? {
            let path = entry?.path();
            let kind = std::fs::symlink_metadata(&path)?.file_type();
            if kind.is_symlink() {
                let inside =
                    std::fs::canonicalize(&path).is_ok_and(|target| target.starts_with(&root));
                if !inside {
                    let shown = path
                        .strip_prefix(dir)
                        .unwrap_or(&path)
                        .display()
                        .to_string();
                    return Err(ArtifactError::Unpack(format!(
                        "{shown}: a link that leads outside the release (or nowhere)"
                    )));
                }
            } else if kind.is_dir() {
                pending.push(path);
            }
        }
    }
    Ok(())
}

/// A relative link target that, followed from an entry `depth` components
/// deep (counting the entry itself), never climbs above the release.
fn link_stays_inside(depth: usize, target: &Path) -> bool {
    use std::path::Component;
    let mut level = depth.saturating_sub(1) as isize;
    for component in target.components() {
        match component {
            Component::Normal(_) => level += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                level -= 1;
                if level < 0 {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    #[test]
    fn signatures_over_the_digest_verify_and_others_do_not() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let public = hex::encode(key.verifying_key().to_bytes());
        let digest: [u8; 32] = Sha256::digest(b"artifact").into();
        let good = hex::encode(key.sign(&digest).to_bytes());
        assert!(verify_signature(&digest, Some(&good), &public).is_ok());

        let other: [u8; 32] = Sha256::digest(b"tampered").into();
        assert!(verify_signature(&other, Some(&good), &public).is_err());
        assert!(verify_signature(&digest, None, &public).is_err());
        assert!(verify_signature(&digest, Some("zz"), &public).is_err());
    }

    #[test]
    fn checksums_compare_without_regard_to_case() {
        let digest: [u8; 32] = Sha256::digest(b"x").into();
        assert!(verify_checksum(&digest, &hex::encode(digest).to_uppercase()).is_ok());
        assert!(matches!(
            verify_checksum(&digest, &"0".repeat(64)),
            Err(ArtifactError::Checksum { .. })
        ));
    }

    #[tokio::test]
    async fn a_corrupt_tarball_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("bad.tar.gz");
        std::fs::write(&archive, [0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5]).unwrap();
        let result = unpack(
            archive,
            "file:///bad.tar.gz".into(),
            dir.path().join("out"),
            ArtifactLimits::default(),
        )
        .await;
        assert!(
            matches!(result, Err(ArtifactError::Unpack(_))),
            "{result:?}"
        );
    }

    /// One tarball entry: path, kind, mode, link target, data.
    type Entry<'a> = (&'a str, tar::EntryType, u32, Option<&'a str>, &'a [u8]);

    /// A tarball built entry by entry.
    fn tarball(dir: &Path, entries: &[Entry<'_>]) -> PathBuf {
        let file = dir.join("artifact.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&file).unwrap(),
            flate2::Compression::fast(),
        );
        let mut builder = tar::Builder::new(gz);
        for (path, kind, mode, link, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(*mode);
            header.set_size(data.len() as u64);
            if let Some(link) = link {
                header.set_link_name(link).unwrap();
            }
            // Written raw: `set_path` would refuse the hostile names tested here.
            let name = &mut header.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
        file
    }

    async fn unpack_into(dir: &Path, archive: PathBuf) -> Result<(), ArtifactError> {
        unpack(
            archive,
            "file:///a.tar.gz".into(),
            dir.join("out"),
            ArtifactLimits::default(),
        )
        .await
    }

    #[tokio::test]
    async fn hostile_tarballs_are_refused_and_write_nothing_outside() {
        use tar::EntryType::{Fifo, Link, Regular, Symlink};
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        let target = outside.to_str().unwrap().to_string();
        let cases: Vec<(&str, Vec<Entry<'_>>)> = vec![
            (
                "the marker as a link out",
                vec![(".hotswap-sha256", Symlink, 0o777, Some(&target), b"")],
            ),
            (
                "a link to an absolute path",
                vec![("config", Symlink, 0o777, Some(&target), b"")],
            ),
            (
                "a link that climbs out",
                vec![("a/config", Symlink, 0o777, Some("../../outside"), b"")],
            ),
            (
                "a hard link",
                vec![
                    ("x", Regular, 0o644, None, b"x"),
                    ("y", Link, 0o644, Some("x"), b""),
                ],
            ),
            ("a fifo", vec![("pipe", Fifo, 0o644, None, b"")]),
            (
                "a path that climbs out",
                vec![("../outside", Regular, 0o644, None, b"pwned")],
            ),
            (
                "a link that looks deeper than it is",
                vec![
                    ("a", Symlink, 0o777, Some("."), b""),
                    ("a/a/a/x", Symlink, 0o777, Some("../../../outside"), b""),
                ],
            ),
            (
                "a chain of links",
                vec![
                    ("a", Symlink, 0o777, Some("."), b""),
                    ("b", Symlink, 0o777, Some("a/a/../.."), b""),
                ],
            ),
            (
                "a file written through a link",
                vec![
                    ("d", Symlink, 0o777, Some("."), b""),
                    ("d/x", Regular, 0o644, None, b"x"),
                ],
            ),
            (
                "an absolute path",
                vec![(&target, Regular, 0o644, None, b"pwned")],
            ),
        ];
        for (name, entries) in cases {
            let case = tempfile::tempdir_in(dir.path()).unwrap();
            let result = unpack_into(case.path(), tarball(case.path(), &entries)).await;
            assert!(
                matches!(result, Err(ArtifactError::Unpack(_))),
                "{name}: {result:?}"
            );
            assert!(!outside.exists(), "{name}: wrote outside the release");
        }
    }

    #[tokio::test]
    async fn files_keep_their_rwx_bits_but_never_setuid_or_setgid() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let archive = tarball(
            dir.path(),
            &[
                (
                    "bin/tool",
                    tar::EntryType::Regular,
                    0o6755,
                    None,
                    b"#!/bin/sh\n",
                ),
                (
                    "bin/link",
                    tar::EntryType::Symlink,
                    0o777,
                    Some("tool"),
                    b"",
                ),
            ],
        );
        unpack_into(dir.path(), archive)
            .await
            .expect("a plain release unpacks");
        let mode = std::fs::metadata(dir.path().join("out/bin/tool"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o755);
    }

    #[tokio::test]
    async fn file_urls_are_read_only_under_the_artifact_directories() {
        let dir = tempfile::tempdir().unwrap();
        let allowed = dir.path().join("artifacts");
        std::fs::create_dir_all(&allowed).unwrap();
        std::fs::write(allowed.join("ok.tar.gz"), b"bytes").unwrap();
        std::fs::write(dir.path().join("secret"), b"secret").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), allowed.join("sneaky")).unwrap();
        let limits = ArtifactLimits {
            file_roots: vec![allowed.clone()],
            max_bytes: 1024,
            ..Default::default()
        };
        let client = reqwest::Client::new();
        let dest = dir.path().join("download");
        let fetch = |url: String| {
            let (client, dest, limits) = (client.clone(), dest.clone(), limits.clone());
            async move { download(&client, &url, &dest, &limits).await }
        };
        assert!(
            fetch(format!("file://{}", allowed.join("ok.tar.gz").display()))
                .await
                .is_ok()
        );
        for url in [
            format!("file://{}", dir.path().join("secret").display()),
            format!("file://{}", allowed.join("sneaky").display()),
            format!("file://{}/../secret", allowed.display()),
            format!("file://{}", allowed.join("missing").display()),
            "file:///dev/zero".to_string(),
            "file:///etc/hostname".to_string(),
            format!("file://{}", allowed.display()),
        ] {
            let error = fetch(url.clone()).await.expect_err(&url).to_string();
            assert!(
                error.contains("not a file under this node's artifact directories"),
                "{url}: {error}"
            );
        }
        let small = ArtifactLimits {
            file_roots: vec![allowed.clone()],
            max_bytes: 3,
            ..Default::default()
        };
        let error = download(
            &client,
            &format!("file://{}", allowed.join("ok.tar.gz").display()),
            &dest,
            &small,
        )
        .await
        .expect_err("too big")
        .to_string();
        assert!(error.contains("larger than 3 bytes"), "{error}");
    }

    #[test]
    fn a_checksum_mismatch_never_tells_the_real_digest() {
        let digest: [u8; 32] = Sha256::digest(b"/etc/shadow").into();
        let error = verify_checksum(&digest, &"0".repeat(64))
            .unwrap_err()
            .to_string();
        assert!(!error.contains(&hex::encode(digest)), "{error}");
    }
}
