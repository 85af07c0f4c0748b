//! Fetching an artifact, checking it is the one that was published, and
//! unpacking it.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("download failed: {0}")]
    Download(String),
    #[error("checksum mismatch: expected sha256 {expected}, the artifact has {actual}")]
    Checksum { expected: String, actual: String },
    #[error("signature check failed: {0}")]
    Signature(String),
    #[error("could not unpack the artifact: {0}")]
    Unpack(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Downloads `url` (`http(s)://` or `file://`) to `dest`, returning its SHA-256 digest.
pub async fn download(
    client: &reqwest::Client,
    url: &str,
    dest: &Path,
) -> Result<[u8; 32], ArtifactError> {
    let mut file = tokio::fs::File::create(dest).await?;
    let mut hasher = Sha256::new();
    if let Some(path) = url.strip_prefix("file://") {
        use tokio::io::AsyncReadExt;
        let mut source = tokio::fs::File::open(path)
            .await
            .map_err(|e| ArtifactError::Download(format!("{url}: {e}")))?;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = source.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            file.write_all(&buffer[..n]).await?;
        }
    } else {
        let mut response = client
            .get(url)
            .send()
            .await
            .map_err(|e| ArtifactError::Download(format!("{url}: {e}")))?;
        if !response.status().is_success() {
            return Err(ArtifactError::Download(format!(
                "{url}: HTTP {}",
                response.status()
            )));
        }
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ArtifactError::Download(format!("{url}: {e}")))?
        {
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
    }
    file.sync_all().await?;
    Ok(hasher.finalize().into())
}

/// Compares a digest with the published hex checksum.
pub fn verify_checksum(digest: &[u8; 32], expected: &str) -> Result<(), ArtifactError> {
    let actual = hex::encode(digest);
    if actual.eq_ignore_ascii_case(expected.trim()) {
        Ok(())
    } else {
        Err(ArtifactError::Checksum {
            expected: expected.to_string(),
            actual,
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

/// Unpacks a `.tar.gz` into `dir`, or places a single file there under its name
/// in the URL. Tar entries that would land outside `dir` are refused by `tar`.
pub async fn unpack(archive: PathBuf, url: String, dir: PathBuf) -> Result<(), ArtifactError> {
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
            let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
            tar.set_preserve_permissions(true);
            tar.unpack(&dir)
                .map_err(|e| ArtifactError::Unpack(e.to_string()))?;
        } else {
            let name = url
                .rsplit('/')
                .next()
                .filter(|n| crate::agent::releases::is_safe_component(n))
                .unwrap_or("artifact");
            std::fs::copy(&archive, dir.join(name))?;
        }
        Ok(())
    })
    .await
    .map_err(|e| ArtifactError::Unpack(e.to_string()))?
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
        let result = unpack(archive, "file:///bad.tar.gz".into(), dir.path().join("out")).await;
        assert!(
            matches!(result, Err(ArtifactError::Unpack(_))),
            "{result:?}"
        );
    }
}
