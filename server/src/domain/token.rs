//! API token secrets: random, shown once, stored as a hash.

use rand::distributions::{Alphanumeric, DistString};
use sha2::{Digest, Sha256};

/// Every token starts with this, so leaked tokens are easy to scan for.
pub const PREFIX: &str = "hst_";

/// A fresh secret: the prefix and 40 random letters and digits (~238 bits).
pub fn generate() -> String {
    format!(
        "{PREFIX}{}",
        Alphanumeric.sample_string(&mut rand::rngs::OsRng, 40)
    )
}

/// The stored form. Secrets are long and random, so a fast hash suffices
/// (unlike passwords) and lookups by hash stay indexable.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Parses "30d", "12h", "90m" or "1w" into a duration.
pub fn parse_lifetime(text: &str) -> Result<chrono::Duration, String> {
    let std = humantime::parse_duration(text.trim())
        .map_err(|_| format!("{text:?} is not a duration such as 30d, 12h or 90m"))?;
    let lifetime =
        chrono::Duration::from_std(std).map_err(|_| "that duration is too long".to_string())?;
    if lifetime < chrono::Duration::minutes(1) || lifetime > chrono::Duration::days(3650) {
        return Err("a token lives between one minute and ten years".to_string());
    }
    Ok(lifetime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_hash_stably() {
        let a = generate();
        assert!(a.starts_with(PREFIX));
        assert_eq!(a.len(), PREFIX.len() + 40);
        assert_ne!(a, generate());
        assert_eq!(hash(&a), hash(&a));
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), hash(&generate()));
    }

    #[test]
    fn lifetimes_read_like_people_write_them() {
        assert_eq!(parse_lifetime("30d"), Ok(chrono::Duration::days(30)));
        assert_eq!(parse_lifetime("12h"), Ok(chrono::Duration::hours(12)));
        assert!(parse_lifetime("soon").is_err());
        assert!(parse_lifetime("1s").is_err());
    }
}
