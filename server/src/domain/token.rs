//! API token secrets: random, shown once, stored as a hash.

use app::model::duration::{BoundedDuration, Bounds};
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

/// Parses "30d", "12h", "90m" or "1w" into a lifetime within `bounds`.
pub fn parse_lifetime(text: &str, bounds: &Bounds) -> Result<chrono::Duration, String> {
    BoundedDuration::parse(text, bounds).map(BoundedDuration::to_chrono)
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
        use app::model::duration::TOKEN_LIFETIME;
        assert_eq!(
            parse_lifetime("30d", &TOKEN_LIFETIME),
            Ok(chrono::Duration::days(30))
        );
        assert_eq!(
            parse_lifetime("12h", &TOKEN_LIFETIME),
            Ok(chrono::Duration::hours(12))
        );
        assert!(parse_lifetime("soon", &TOKEN_LIFETIME).is_err());
        assert!(parse_lifetime("1s", &TOKEN_LIFETIME).is_err());
    }
}
