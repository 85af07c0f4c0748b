//! Input rules shared by the forms (validation as you type) and the server
//! (validation that counts), so both always agree.

/// A rule a field broke, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: &'static str,
}

fn fail<T>(field: &'static str, message: &'static str) -> Result<T, FieldError> {
    Err(FieldError { field, message })
}

pub fn username(text: &str) -> Result<String, FieldError> {
    let name = text.trim();
    let ok = (2..=64).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(name.to_string())
    } else {
        fail(
            "username",
            "2 to 64 characters: letters, digits, '.', '_', '-' or '@'",
        )
    }
}

pub fn email(text: &str) -> Result<String, FieldError> {
    let email = text.trim();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.contains(char::is_whitespace);
    if valid {
        Ok(email.to_lowercase())
    } else {
        fail("email", "not an email address")
    }
}

pub fn password(text: &str) -> Result<(), FieldError> {
    match text.chars().count() {
        n if n < 12 => fail("password", "use at least 12 characters"),
        n if n > 1024 => fail("password", "use at most 1024 characters"),
        _ => Ok(()),
    }
}

pub fn slug(text: &str) -> Result<String, FieldError> {
    let slug = text.trim();
    let ok = (2..=40).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(slug.to_string())
    } else {
        fail(
            "slug",
            "2 to 40 lowercase letters, digits or '-', not at either end",
        )
    }
}

/// Names of tokens and tenants.
pub fn name(field: &'static str, text: &str) -> Result<String, FieldError> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > 100 {
        fail(field, "1 to 100 characters")
    } else {
        Ok(name.to_string())
    }
}

/// Module names and versions become directory names on every node.
fn path_safe(text: &str, max: usize) -> bool {
    let n = text.chars().count();
    (1..=max).contains(&n)
        && !text.starts_with('.')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
}

pub fn module_name(text: &str) -> Result<String, FieldError> {
    let name = text.trim();
    if path_safe(name, 64) {
        Ok(name.to_string())
    } else {
        fail(
            "name",
            "1 to 64 characters: letters, digits, '.', '-', '_' or '+', not starting with '.'",
        )
    }
}

pub fn version(text: &str) -> Result<String, FieldError> {
    let version = text.trim();
    if path_safe(version, 64) {
        Ok(version.to_string())
    } else {
        fail(
            "version",
            "1 to 64 characters: letters, digits, '.', '-', '_' or '+', e.g. 1.4.2",
        )
    }
}

pub fn artifact_url(text: &str) -> Result<String, FieldError> {
    let url = text.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let ok = match rest {
        Some(rest) => !rest.is_empty() && !rest.starts_with('/'),
        None => url
            .strip_prefix("file://")
            .is_some_and(|p| p.starts_with('/') && p.len() > 1),
    };
    if ok && url.len() <= 2048 && !url.contains(char::is_whitespace) {
        Ok(url.to_string())
    } else {
        fail(
            "artifact_url",
            "an http://, https:// or file:///absolute/path URL",
        )
    }
}

pub fn sha256(text: &str) -> Result<String, FieldError> {
    let digest = text.trim();
    if digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(digest.to_ascii_lowercase())
    } else {
        fail("sha256", "64 hexadecimal characters")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_are_described_safely() {
        assert!(module_name("billing-api").is_ok());
        assert!(module_name("../etc").is_err());
        assert!(version("1.4.2+build.7").is_ok());
        assert!(version("1.0/evil").is_err());
        assert!(artifact_url("https://example.com/a.tar.gz").is_ok());
        assert!(artifact_url("file:///srv/a.tar.gz").is_ok());
        assert!(artifact_url("ftp://example.com/a").is_err());
        assert!(artifact_url("file://relative").is_err());
        assert_eq!(sha256(&"AB".repeat(32)).unwrap(), "ab".repeat(32));
        assert!(sha256("abc").is_err());
    }

    #[test]
    fn usernames() {
        assert_eq!(username(" dora "), Ok("dora".into()));
        assert!(username("d").is_err());
        assert!(username("dora smith").is_err());
        assert!(username("dora.smith@example.com").is_ok());
    }

    #[test]
    fn emails() {
        assert_eq!(email("Dora@Example.com"), Ok("dora@example.com".into()));
        for bad in [
            "dora",
            "@example.com",
            "dora@example",
            "dora@.com",
            "do ra@example.com",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_and_slugs() {
        assert!(password("short").is_err());
        assert!(password("long enough pass").is_ok());
        assert_eq!(slug("acme-2"), Ok("acme-2".into()));
        for bad in ["A", "acme_co", "-acme", "acme-", "Acme"] {
            assert!(slug(bad).is_err(), "{bad}");
        }
    }
}
