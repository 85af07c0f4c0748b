//! Every setting the server reads: its key in the configuration file, the
//! environment variable that overrides it, how a file writes it, and whether
//! it may be shown.

/// How a value is written in the configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One string, number or boolean.
    Scalar,
    /// One value, or an array of them (read as the comma-separated list the
    /// environment variable takes).
    List,
    /// A table of strings (read as the JSON object the variable takes).
    Table,
}

/// Whether a value may be printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    Plain,
    /// Never printed.
    Secret,
    /// A URL printed with its password replaced.
    Url,
    /// A table printed as its names only.
    Names,
}

#[derive(Debug)]
pub struct Setting {
    /// `section.name` in the file.
    pub key: &'static str,
    pub variable: &'static str,
    pub shape: Shape,
    pub exposure: Exposure,
    /// What applies when it is set nowhere.
    pub default: &'static str,
}

const fn setting(key: &'static str, variable: &'static str, default: &'static str) -> Setting {
    Setting {
        key,
        variable,
        shape: Shape::Scalar,
        exposure: Exposure::Plain,
        default,
    }
}

const fn secret(key: &'static str, variable: &'static str, default: &'static str) -> Setting {
    Setting {
        exposure: Exposure::Secret,
        ..setting(key, variable, default)
    }
}

const fn list(key: &'static str, variable: &'static str, default: &'static str) -> Setting {
    Setting {
        shape: Shape::List,
        ..setting(key, variable, default)
    }
}

/// The settings in the order `hotswap config check` prints them. The meaning
/// of each is in the README's table and in `hotswap.example.toml`.
pub const SETTINGS: &[Setting] = &[
    setting("addr", "HOTSWAP_ADDR", "127.0.0.1:3000"),
    setting("public_url", "HOTSWAP_PUBLIC_URL", "http://<addr>"),
    setting("data_dir", "HOTSWAP_DATA_DIR", "./hotswap-data"),
    setting("site_root", "HOTSWAP_SITE_ROOT", "target/site"),
    secret(
        "admin_password",
        "HOTSWAP_ADMIN_PASSWORD",
        "generated at first run",
    ),
    setting("purge_interval", "HOTSWAP_PURGE_INTERVAL", "10m"),
    Setting {
        exposure: Exposure::Url,
        ..setting(
            "database.url",
            "HOTSWAP_DATABASE_URL",
            "sqlite://<data_dir>/hotswap.db",
        )
    },
    setting(
        "database.max_connections",
        "HOTSWAP_DB_MAX_CONNECTIONS",
        "4 on SQLite, 10 on PostgreSQL",
    ),
    setting("log.filter", "HOTSWAP_LOG", "info"),
    setting("log.format", "HOTSWAP_LOG_FORMAT", "text"),
    setting(
        "oidc.issuer",
        "HOTSWAP_OIDC_ISSUER",
        "unset (no single sign-on)",
    ),
    setting(
        "oidc.client_id",
        "HOTSWAP_OIDC_CLIENT_ID",
        "required with an issuer",
    ),
    secret(
        "oidc.client_secret",
        "HOTSWAP_OIDC_CLIENT_SECRET",
        "unset (a public client)",
    ),
    setting("oidc.name", "HOTSWAP_OIDC_NAME", "single sign-on"),
    setting("oidc.roles_claim", "HOTSWAP_OIDC_ROLES_CLAIM", "groups"),
    list("oidc.role_map", "HOTSWAP_OIDC_ROLE_MAP", "empty"),
    setting("oidc.default_role", "HOTSWAP_OIDC_DEFAULT_ROLE", "viewer"),
    setting(
        "oidc.default_tenant",
        "HOTSWAP_OIDC_DEFAULT_TENANT",
        "default",
    ),
    setting("engine.workers", "HOTSWAP_WORKERS", "2"),
    setting("engine.job_lease", "HOTSWAP_JOB_LEASE", "30s"),
    setting("engine.node_timeout", "HOTSWAP_NODE_TIMEOUT", "15s"),
    setting("engine.step_timeout", "HOTSWAP_STEP_TIMEOUT", "10m"),
    setting(
        "engine.approval_sweep_interval",
        "HOTSWAP_APPROVAL_SWEEP_INTERVAL",
        "5m",
    ),
    setting(
        "limits.max_body_bytes",
        "HOTSWAP_MAX_BODY_BYTES",
        "10485760 (10 MiB)",
    ),
    setting(
        "limits.deployments_per_minute",
        "HOTSWAP_DEPLOY_RATE_LIMIT",
        "10",
    ),
    list(
        "outbound.allow_private_targets",
        "HOTSWAP_ALLOW_PRIVATE_TARGETS",
        "false",
    ),
    Setting {
        shape: Shape::Table,
        exposure: Exposure::Names,
        ..setting("switch_commands", "HOTSWAP_SWITCH_COMMANDS", "none")
    },
];

pub fn by_key(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

pub fn by_variable(variable: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.variable == variable)
}

/// Whether some setting lives in the file's table `section`.
pub fn is_section(section: &str) -> bool {
    SETTINGS.iter().any(|s| {
        s.key
            .split_once('.')
            .is_some_and(|(head, _)| head == section)
    })
}

/// The known key nearest to a misspelt one, when it is near enough to be
/// what was meant.
pub fn nearest(key: &str) -> Option<&'static str> {
    SETTINGS
        .iter()
        .map(|s| (edit_distance(key, s.key), s.key))
        .filter(|(distance, known)| *distance <= 2.max(known.len() / 5))
        .min()
        .map(|(_, known)| known)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_variables_are_each_named_once() {
        for (i, a) in SETTINGS.iter().enumerate() {
            for b in &SETTINGS[i + 1..] {
                assert_ne!(a.key, b.key);
                assert_ne!(a.variable, b.variable);
            }
            assert!(a.variable.starts_with("HOTSWAP_"), "{}", a.variable);
        }
    }

    #[test]
    fn a_misspelt_key_finds_the_one_meant() {
        assert_eq!(nearest("databse.url"), Some("database.url"));
        assert_eq!(nearest("engine.worker"), Some("engine.workers"));
        assert_eq!(nearest("something.else"), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
