//! Configuration, read once at start from `HOTSWAP_*` environment variables
//! and an optional TOML file (`--config FILE` or `HOTSWAP_CONFIG`; each key
//! is listed in [`settings`], the example is `hotswap.example.toml`). A
//! variable wins over the file, a command-line flag over both.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `HOTSWAP_ADDR` (`--addr`) | `127.0.0.1:3000` | address and port to listen on |
//! | `HOTSWAP_DATA_DIR` (`--data-dir`) | `./hotswap-data` | where the embedded SQLite database lives |
//! | `HOTSWAP_DATABASE_URL` | `sqlite://<data dir>/hotswap.db` | `sqlite://…` or `postgres://…` |
//! | `HOTSWAP_DB_MAX_CONNECTIONS` | `4` on SQLite, `10` on PostgreSQL | size of the database connection pool |
//! | `HOTSWAP_SITE_ROOT` | `target/site` | the built front end (`pkg/` with WASM, JS and CSS) |
//! | `HOTSWAP_ADMIN_PASSWORD` | generated | password of the first-run `admin` user |
//! | `HOTSWAP_LOG` | `info` (quieter for SQL) | log filter, in `tracing` `EnvFilter` syntax |
//! | `HOTSWAP_LOG_FORMAT` | `text` | `text` or `json` |
//! | `HOTSWAP_PUBLIC_URL` | `http://<addr>` | the address people use; cookies are `Secure` when it is https |
//! | `HOTSWAP_OIDC_ISSUER` | unset | OpenID provider; set it to offer single sign-on |
//! | `HOTSWAP_OIDC_CLIENT_ID` | required with an issuer | this application's client id there |
//! | `HOTSWAP_OIDC_CLIENT_SECRET` | unset (public client) | its client secret |
//! | `HOTSWAP_OIDC_NAME` | `single sign-on` | shown as "Sign in with …" |
//! | `HOTSWAP_OIDC_ROLES_CLAIM` | `groups` | the ID-token claim listing the user's groups |
//! | `HOTSWAP_OIDC_ROLE_MAP` | empty | `group=tenant:role,…` |
//! | `HOTSWAP_OIDC_DEFAULT_ROLE` | `viewer` | role in the default tenant without a matching group; `none` refuses |
//! | `HOTSWAP_OIDC_DEFAULT_TENANT` | `default` | where the default role applies |
//! | `HOTSWAP_WORKERS` (`--workers`) | `2` | orchestration workers in this process |
//! | `HOTSWAP_JOB_LEASE` | `30s` | how long a worker's claim on a deployment lasts unrenewed |
//! | `HOTSWAP_NODE_TIMEOUT` | `15s` | a node silent this long is offline |
//! | `HOTSWAP_STEP_TIMEOUT` | `10m` | a swap unanswered this long fails |
//! | `HOTSWAP_APPROVAL_SWEEP_INTERVAL` | `5m` | how often overdue approval requests are expired |
//! | `HOTSWAP_PURGE_INTERVAL` | `10m` | how often expired sessions and day-old sign-in attempts are deleted |
//! | `HOTSWAP_MAX_BODY_BYTES` | `10485760` (10 MiB) | the largest request body accepted (413 beyond) |
//! | `HOTSWAP_DEPLOY_RATE_LIMIT` | `10` | deployments one member may request per minute (429 beyond) |
//! | `HOTSWAP_ALLOW_PRIVATE_TARGETS` | `false` | `true`, or CIDR ranges, that webhooks, switch webhooks and Prometheus may reach although internal (loopback, private, link-local) |
//! | `HOTSWAP_SWITCH_COMMANDS` | none | JSON object of blue-green switch commands by name, e.g. `{"reload-lb": "systemctl reload haproxy"}`; environments refer to them by name |
//!
//! A value that does not parse stops the start with a message naming the variable.

mod file;
pub mod settings;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use file::ConfigFile;
use settings::{Exposure, SETTINGS};

/// The operations guide's request body limit: 10 MiB.
const DEFAULT_MAX_BODY_BYTES: usize = 10 << 20;

/// Quiet about each applied migration and each SQL statement unless asked.
const DEFAULT_LOG_FILTER: &str = "info,sea_orm_migration=warn,sqlx=warn";

/// Flags given on the command line; they win over the environment.
#[derive(Debug, Default)]
pub struct Overrides {
    pub addr: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub workers: Option<usize>,
}

#[derive(Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub public_url: String,
    pub oidc: Option<OidcConfig>,
    pub site_root: PathBuf,
    pub admin_password: Option<String>,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub engine: crate::engine::EngineConfig,
    /// How often expired sessions and old sign-in attempts are deleted.
    pub purge_interval: std::time::Duration,
    /// The largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
}

/// Single sign-on through an OpenID provider.
#[derive(Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub display_name: String,
    pub roles_claim: String,
    pub roles: crate::domain::oidc_roles::RolePolicy,
}

#[derive(Clone)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub filter: String,
    pub json: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{variable}={value:?} is not valid: {reason}")]
    Invalid {
        variable: &'static str,
        value: String,
        reason: String,
    },
    #[error("{path}:{line}: {message}")]
    File {
        path: String,
        line: usize,
        message: String,
    },
    #[error("could not read the configuration file {path}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("could not create the data directory {path}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
}

/// Where the configuration comes from: the environment and, when one is
/// named, a file.
pub struct Sources<E> {
    env: E,
    file: Option<ConfigFile>,
}

impl Sources<fn(&str) -> Option<String>> {
    /// The process environment, and the file `path` names, or else
    /// `HOTSWAP_CONFIG`.
    pub fn from_env(path: Option<&Path>) -> Result<Self, ConfigError> {
        fn env(key: &str) -> Option<String> {
            std::env::var(key).ok()
        }
        Self::new(env, path)
    }
}

impl<E: Fn(&str) -> Option<String>> Sources<E> {
    pub fn new(env: E, path: Option<&Path>) -> Result<Self, ConfigError> {
        let named = path
            .map(Path::to_path_buf)
            .or_else(|| set(&env, "HOTSWAP_CONFIG").map(PathBuf::from));
        let file = named.as_deref().map(ConfigFile::read).transpose()?;
        Ok(Self { env, file })
    }

    /// The configuration these sources give; a value the file gave that is
    /// refused names the file and its line.
    pub fn config(&self, overrides: Overrides) -> Result<Config, ConfigError> {
        // A flag's value is the flag's fault, whatever the file says.
        let flagged = [
            ("HOTSWAP_ADDR", overrides.addr.is_some()),
            ("HOTSWAP_DATA_DIR", overrides.data_dir.is_some()),
            ("HOTSWAP_WORKERS", overrides.workers.is_some()),
        ];
        let from_file = |variable: &str| {
            set(&self.env, variable).is_none()
                && !flagged.iter().any(|(v, given)| *given && *v == variable)
        };
        Config::from_lookup(|key| self.value(key).map(|(value, _)| value), overrides).map_err(
            |error| match (&error, &self.file) {
                (
                    ConfigError::Invalid {
                        variable,
                        value,
                        reason,
                    },
                    Some(file),
                ) if from_file(variable) && file.value(variable).is_some() => {
                    match settings::by_variable(variable) {
                        Some(setting) => file.refused(setting, value, reason),
                        None => error,
                    }
                }
                _ => error,
            },
        )
    }

    /// The value of `variable` and where it came from.
    fn value(&self, variable: &str) -> Option<(String, String)> {
        if let Some(value) = set(&self.env, variable) {
            return Some((value, format!("environment {variable}")));
        }
        let file = self.file.as_ref()?;
        let value = file.value(variable).filter(|v| !v.trim().is_empty())?;
        let line = file.line(variable).unwrap_or(1);
        Some((
            value.to_string(),
            format!("{}:{line}", file.path().display()),
        ))
    }

    /// Every setting, its effective value (secrets hidden) and its source,
    /// as `hotswap config check` prints them: TOML, a default as a comment.
    pub fn describe(&self) -> Vec<String> {
        SETTINGS
            .iter()
            .map(|setting| match self.value(setting.variable) {
                Some((value, source)) => {
                    let shown = match setting.exposure {
                        Exposure::Plain => value,
                        Exposure::Url => redact_url(&value),
                        Exposure::Names => names_of(&value),
                        Exposure::Secret => "(set, hidden)".into(),
                    };
                    format!("{} = {shown:?}  # {source}", setting.key)
                }
                None => format!("# {}: default, {}", setting.key, setting.default),
            })
            .collect()
    }
}

/// The names of a JSON object of commands, not the commands (they may hold
/// credentials).
fn names_of(value: &str) -> String {
    let names: Vec<String> =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(value)
            .map(|object| object.keys().cloned().collect())
            .unwrap_or_default();
    format!("{} (commands hidden)", names.join(", "))
}

/// A variable's value, unless unset or blank.
fn set(env: &impl Fn(&str) -> Option<String>, key: &str) -> Option<String> {
    env(key).filter(|v| !v.trim().is_empty())
}

impl Config {
    /// Reads the process environment, and the configuration file `path`
    /// names (or `HOTSWAP_CONFIG`).
    pub fn from_env(path: Option<&Path>, overrides: Overrides) -> Result<Self, ConfigError> {
        Sources::from_env(path)?.config(overrides)
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        overrides: Overrides,
    ) -> Result<Self, ConfigError> {
        let var = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());

        let addr_text = overrides
            .addr
            .or_else(|| var("HOTSWAP_ADDR"))
            .unwrap_or_else(|| "127.0.0.1:3000".into());
        let addr = addr_text
            .parse::<SocketAddr>()
            .map_err(|e| invalid("HOTSWAP_ADDR", &addr_text, e))?;

        let data_dir = overrides
            .data_dir
            .or_else(|| var("HOTSWAP_DATA_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("hotswap-data"));

        let url = match var("HOTSWAP_DATABASE_URL") {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => url,
            Some(url) if url.starts_with("sqlite:") => url,
            Some(url) => {
                return Err(invalid(
                    "HOTSWAP_DATABASE_URL",
                    &redact_url(&url),
                    "expected a sqlite://… or postgres://… URL",
                ))
            }
            None => {
                std::fs::create_dir_all(&data_dir).map_err(|source| ConfigError::DataDir {
                    path: data_dir.display().to_string(),
                    source,
                })?;
                format!(
                    "sqlite://{}?mode=rwc",
                    data_dir.join("hotswap.db").display()
                )
            }
        };

        let max_connections = match var("HOTSWAP_DB_MAX_CONNECTIONS") {
            // SQLite has one writer whatever the pool, and each connection
            // keeps its own page cache (about 3 MiB each at 100,000
            // deployments): more connections bought no throughput.
            None if url.starts_with("sqlite:") => 4,
            None => 10,
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => {
                    return Err(invalid(
                        "HOTSWAP_DB_MAX_CONNECTIONS",
                        &text,
                        "expected a whole number from 1 to 1000",
                    ))
                }
            },
        };

        let json = match var("HOTSWAP_LOG_FORMAT").as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                return Err(invalid(
                    "HOTSWAP_LOG_FORMAT",
                    other,
                    "expected `text` or `json`",
                ))
            }
        };

        let filter = var("HOTSWAP_LOG").unwrap_or_else(|| DEFAULT_LOG_FILTER.into());
        tracing_subscriber::EnvFilter::try_new(&filter)
            .map_err(|e| invalid("HOTSWAP_LOG", &filter, e))?;

        let admin_password = lookup("HOTSWAP_ADMIN_PASSWORD");
        if let Some(password) = &admin_password {
            if password.chars().count() < 12 {
                return Err(invalid(
                    "HOTSWAP_ADMIN_PASSWORD",
                    "(hidden)",
                    "must be at least 12 characters long",
                ));
            }
        }

        let public_url = var("HOTSWAP_PUBLIC_URL").unwrap_or_else(|| format!("http://{addr}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(invalid(
                "HOTSWAP_PUBLIC_URL",
                &public_url,
                "expected an http:// or https:// URL",
            ));
        }
        let public_url = public_url.trim_end_matches('/').to_string();
        let oidc = oidc_config(&var)?;

        let mut engine = crate::engine::EngineConfig::default();
        let workers_text = overrides
            .workers
            .map(|w| w.to_string())
            .or_else(|| var("HOTSWAP_WORKERS"));
        if let Some(text) = workers_text {
            engine.workers = text
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= 64)
                .ok_or_else(|| invalid("HOTSWAP_WORKERS", &text, "expected 0 to 64"))?;
        }
        let duration = |key: &'static str,
                        default: chrono::Duration|
         -> Result<chrono::Duration, ConfigError> {
            match var(key) {
                None => Ok(default),
                Some(text) => humantime::parse_duration(text.trim())
                    .ok()
                    .and_then(|d| chrono::Duration::from_std(d).ok())
                    .filter(|d| *d >= chrono::Duration::seconds(1))
                    .ok_or_else(|| invalid(key, &text, "expected a duration such as 30s or 5m")),
            }
        };
        engine.lease = duration("HOTSWAP_JOB_LEASE", engine.lease)?;
        engine.node_timeout = duration("HOTSWAP_NODE_TIMEOUT", engine.node_timeout)?;
        engine.step_timeout = duration("HOTSWAP_STEP_TIMEOUT", engine.step_timeout)?;
        engine.approval_sweep = duration("HOTSWAP_APPROVAL_SWEEP_INTERVAL", engine.approval_sweep)?;
        let purge_interval = duration("HOTSWAP_PURGE_INTERVAL", chrono::Duration::minutes(10))?
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(600));
        if let Some(text) = var("HOTSWAP_DEPLOY_RATE_LIMIT") {
            engine.deploy_rate_per_minute = text
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    invalid(
                        "HOTSWAP_DEPLOY_RATE_LIMIT",
                        &text,
                        "expected a whole number, 1 or more",
                    )
                })?;
        }

        let max_body_bytes = match var("HOTSWAP_MAX_BODY_BYTES") {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(text) => text
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1024..=1 << 30).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "HOTSWAP_MAX_BODY_BYTES",
                        &text,
                        "expected a number of bytes from 1024 to 1073741824",
                    )
                })?,
        };

        if let Some(text) = var("HOTSWAP_ALLOW_PRIVATE_TARGETS") {
            engine.outbound = crate::outbound::OutboundPolicy::parse(&text)
                .map_err(|e| invalid("HOTSWAP_ALLOW_PRIVATE_TARGETS", &text, &e))?;
        }
        if let Some(text) = var("HOTSWAP_SWITCH_COMMANDS") {
            engine.switch_commands = switch_commands(&text)
                .map_err(|e| invalid("HOTSWAP_SWITCH_COMMANDS", "(commands hidden)", &e))?;
        }

        Ok(Config {
            addr,
            public_url,
            oidc,
            site_root: var("HOTSWAP_SITE_ROOT")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("target/site")),
            admin_password,
            database: DatabaseConfig {
                url,
                max_connections,
            },
            log: LogConfig { filter, json },
            engine,
            purge_interval,
            max_body_bytes,
        })
    }
}

/// `{"name": "command", …}`: names are short words, commands non-empty.
fn switch_commands(text: &str) -> Result<std::collections::BTreeMap<String, String>, String> {
    let commands: std::collections::BTreeMap<String, String> = serde_json::from_str(text)
        .map_err(|_| "expected a JSON object of names to commands".to_string())?;
    for (name, command) in &commands {
        let word = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !word {
            return Err(format!("{name:?}: a name is letters, digits, - and _"));
        }
        if command.trim().is_empty() {
            return Err(format!("{name:?}: the command is empty"));
        }
    }
    Ok(commands)
}

fn oidc_config(var: &dyn Fn(&str) -> Option<String>) -> Result<Option<OidcConfig>, ConfigError> {
    use crate::domain::oidc_roles::{parse_rules, RolePolicy};

    let Some(issuer) = var("HOTSWAP_OIDC_ISSUER") else {
        return Ok(None);
    };
    if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
        return Err(invalid(
            "HOTSWAP_OIDC_ISSUER",
            &issuer,
            "expected an https:// URL",
        ));
    }
    let client_id = var("HOTSWAP_OIDC_CLIENT_ID").ok_or_else(|| {
        invalid(
            "HOTSWAP_OIDC_CLIENT_ID",
            "",
            "required when HOTSWAP_OIDC_ISSUER is set",
        )
    })?;
    let rules = match var("HOTSWAP_OIDC_ROLE_MAP") {
        Some(text) => {
            parse_rules(&text).map_err(|reason| invalid("HOTSWAP_OIDC_ROLE_MAP", &text, reason))?
        }
        None => Vec::new(),
    };
    let default_role = match var("HOTSWAP_OIDC_DEFAULT_ROLE").as_deref() {
        None => Some(app::model::role::Role::Viewer),
        Some("none") => None,
        Some(text) => Some(app::model::role::Role::parse(text).ok_or_else(|| {
            invalid(
                "HOTSWAP_OIDC_DEFAULT_ROLE",
                text,
                "expected viewer, deployer, admin or none",
            )
        })?),
    };
    Ok(Some(OidcConfig {
        issuer,
        client_id,
        client_secret: var("HOTSWAP_OIDC_CLIENT_SECRET"),
        display_name: var("HOTSWAP_OIDC_NAME").unwrap_or_else(|| "single sign-on".into()),
        roles_claim: var("HOTSWAP_OIDC_ROLES_CLAIM").unwrap_or_else(|| "groups".into()),
        roles: RolePolicy {
            rules,
            default_role,
            default_tenant: var("HOTSWAP_OIDC_DEFAULT_TENANT").unwrap_or_else(|| "default".into()),
        },
    }))
}

fn invalid(variable: &'static str, value: &str, reason: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        variable,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// A database URL with its password replaced, fit for logs and error
/// messages: the one before `@`, and a `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let redacted = redact_credentials(url);
    match redacted.split_once('?') {
        Some((base, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_string(),
                })
                .collect();
            format!("{base}?{}", query.join("&"))
        }
        None => redacted,
    }
}

fn redact_credentials(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

// Secrets stay out of debug output.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("public_url", &self.public_url)
            .field(
                "oidc",
                &self.oidc.as_ref().map(|o| (&o.issuer, &o.client_id)),
            )
            .field("site_root", &self.site_root)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "***"),
            )
            .field("database", &self.database)
            .field("log", &self.log)
            .finish()
    }
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("display_name", &self.display_name)
            .field("roles_claim", &self.roles_claim)
            .field("roles", &self.roles)
            .finish()
    }
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)], overrides: Overrides) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| vars.get(k).cloned(), overrides)
    }

    fn error_text(result: Result<Config, ConfigError>) -> String {
        match result {
            Ok(_) => panic!("expected a configuration error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn no_configuration_serves_locally_on_an_embedded_database() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let cfg = config(
            &[],
            Overrides {
                addr: None,
                data_dir: Some(data.clone()),
                workers: None,
            },
        )
        .expect("defaults are valid");
        assert_eq!(cfg.addr.to_string(), "127.0.0.1:3000");
        assert!(cfg.database.url.starts_with("sqlite://"));
        assert!(cfg.database.url.contains("hotswap.db"));
        assert!(data.is_dir(), "the data directory is created");
        assert_eq!(cfg.database.max_connections, 4, "SQLite: a small pool");
    }

    #[test]
    fn the_pool_is_sized_for_its_database_unless_set() {
        let pool = |vars: &[(&str, &str)]| {
            config(vars, Overrides::default())
                .expect("valid")
                .database
                .max_connections
        };
        assert_eq!(pool(&[("HOTSWAP_DATABASE_URL", "postgres://x/y")]), 10);
        assert_eq!(pool(&[("HOTSWAP_DATABASE_URL", "sqlite::memory:")]), 4);
        assert_eq!(
            pool(&[
                ("HOTSWAP_DATABASE_URL", "sqlite::memory:"),
                ("HOTSWAP_DB_MAX_CONNECTIONS", "12")
            ]),
            12
        );
    }

    #[test]
    fn command_line_flags_win_over_the_environment() {
        let cfg = config(
            &[
                ("HOTSWAP_ADDR", "127.0.0.1:4000"),
                ("HOTSWAP_DATABASE_URL", "postgres://u:p@localhost/db"),
            ],
            Overrides {
                addr: Some("0.0.0.0:5000".into()),
                data_dir: None,
                workers: None,
            },
        )
        .expect("valid");
        assert_eq!(cfg.addr.to_string(), "0.0.0.0:5000");
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let text = error_text(config(
            &[("HOTSWAP_ADDR", "localhost")],
            Overrides::default(),
        ));
        assert!(text.contains("HOTSWAP_ADDR"), "{text}");

        let text = error_text(config(
            &[("HOTSWAP_DATABASE_URL", "mysql://root:secret@db/x")],
            Overrides::default(),
        ));
        assert!(text.contains("HOTSWAP_DATABASE_URL"), "{text}");
        assert!(
            !text.contains("secret"),
            "the password is not echoed: {text}"
        );

        let text = error_text(config(
            &[
                ("HOTSWAP_DATABASE_URL", "postgres://x/y"),
                ("HOTSWAP_DB_MAX_CONNECTIONS", "zero"),
            ],
            Overrides::default(),
        ));
        assert!(text.contains("HOTSWAP_DB_MAX_CONNECTIONS"), "{text}");

        let text = error_text(config(
            &[
                ("HOTSWAP_DATABASE_URL", "postgres://x/y"),
                ("HOTSWAP_ADMIN_PASSWORD", "short"),
            ],
            Overrides::default(),
        ));
        assert!(text.contains("HOTSWAP_ADMIN_PASSWORD"), "{text}");
        assert!(!text.contains("short"), "{text}");
    }

    const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../hotswap.example.toml");

    /// Sources of the environment `vars` and the file `text`.
    fn sources(
        vars: &[(&str, &str)],
        text: &str,
    ) -> (tempfile::TempDir, Sources<impl Fn(&str) -> Option<String>>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("hotswap.toml");
        std::fs::write(&path, text).expect("written");
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let sources = Sources::new(move |k: &str| vars.get(k).cloned(), Some(&path)).expect("read");
        (dir, sources)
    }

    #[test]
    fn the_example_file_documents_every_setting_sets_no_secret_and_is_valid() {
        let text = std::fs::read_to_string(EXAMPLE).expect("readable");
        let sources = Sources::new(|_: &str| None, Some(Path::new(EXAMPLE))).expect("parses");
        let described = sources.describe();
        for (setting, line) in SETTINGS.iter().zip(&described) {
            assert!(
                text.contains(setting.variable),
                "{} is not documented",
                setting.variable
            );
            if setting.exposure == Exposure::Secret {
                assert!(line.starts_with('#'), "the example sets a secret: {line}");
            }
        }
        let cfg = sources
            .config(Overrides::default())
            .expect("the example is valid");
        assert_eq!(cfg.addr.to_string(), "127.0.0.1:3000");
        assert!(
            cfg.database.url.contains("hotswap-data"),
            "{}",
            cfg.database.url
        );
        assert_eq!(cfg.engine.lease, chrono::Duration::seconds(30));
        assert!(cfg.oidc.is_none(), "single sign-on is off by default");
    }

    /// Every variable the configuration reads has a key in the file.
    #[test]
    fn every_variable_read_has_a_key() {
        let source = include_str!("config.rs");
        let mut rest = source;
        while let Some(at) = rest.find("\"HOTSWAP_") {
            let name: String = rest[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            rest = &rest[at + 1 + name.len()..];
            if name == "HOTSWAP_CONFIG" || name == "HOTSWAP_" {
                continue; // names the file itself
            }
            assert!(settings::by_variable(&name).is_some(), "{name} has no key");
        }
    }

    #[test]
    fn the_body_limit_is_bounded() {
        let limit = |text: &str| {
            config(
                &[
                    ("HOTSWAP_DATABASE_URL", "sqlite::memory:"),
                    ("HOTSWAP_MAX_BODY_BYTES", text),
                ],
                Overrides::default(),
            )
            .map(|c| c.max_body_bytes)
        };
        assert_eq!(limit("").expect("default"), 10 << 20);
        assert_eq!(limit("2048").expect("valid"), 2048);
        for bad in ["0", "1023", "1073741825", "10MB", "-1"] {
            assert!(limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_flag_is_blamed_for_its_own_bad_value() {
        let (_dir, sources) = sources(&[], "[engine]\nworkers = 2\n");
        let text = error_text(sources.config(Overrides {
            workers: Some(100),
            ..Overrides::default()
        }));
        assert!(text.starts_with("HOTSWAP_WORKERS=\"100\""), "{text}");
    }

    #[test]
    fn secrets_in_refused_file_values_stay_hidden() {
        for text in [
            "admin_password = \"short-pw\"\n",
            "[database]\nurl = \"mysql://root:short-pw@db/x\"\n",
            "[database]\nurl = \"mysql://db/x?password=short-pw\"\n",
        ] {
            let (_dir, sources) = sources(&[], text);
            let error = error_text(sources.config(Overrides::default()));
            assert!(error.contains("hotswap.toml:"), "{error}");
            assert!(!error.contains("short-pw"), "{error}");
        }
        assert_eq!(
            redact_url("postgres://db/x?sslmode=require&password=pw"),
            "postgres://db/x?sslmode=require&password=***"
        );
    }

    #[test]
    fn the_environment_wins_over_the_file_and_the_file_over_defaults() {
        let (_dir, sources) = sources(
            &[("HOTSWAP_ADDR", "127.0.0.1:4100")],
            "addr = \"127.0.0.1:4000\"\n[engine]\nworkers = 5\n[database]\nurl = \"sqlite::memory:\"\n",
        );
        let cfg = sources.config(Overrides::default()).expect("valid");
        assert_eq!(cfg.addr.to_string(), "127.0.0.1:4100");
        assert_eq!(cfg.engine.workers, 5);
        assert_eq!(cfg.engine.lease, chrono::Duration::seconds(30));
        let described = sources.describe();
        assert!(
            described
                .contains(&"addr = \"127.0.0.1:4100\"  # environment HOTSWAP_ADDR".to_string()),
            "{described:?}"
        );
        assert!(
            described
                .iter()
                .any(|l| l.ends_with("hotswap.toml:3") && l.starts_with("engine.workers = \"5\"")),
            "{described:?}"
        );
        assert!(
            described.contains(&"# engine.job_lease: default, 30s".to_string()),
            "{described:?}"
        );
    }

    #[test]
    fn a_bad_value_in_the_file_names_the_file_its_line_and_key() {
        let (dir, sources) = sources(
            &[],
            "addr = \"127.0.0.1:3000\"\n\n[database]\nmax_connections = 0\n",
        );
        let text = error_text(sources.config(Overrides::default()));
        let path = dir.path().join("hotswap.toml");
        assert!(
            text.starts_with(&format!(
                "{}:4: database.max_connections = \"0\" is not valid",
                path.display()
            )),
            "{text}"
        );
        // The same value from the environment is the environment's fault.
        let (_dir, sources) = sources_with_env_bad();
        let text = error_text(sources.config(Overrides::default()));
        assert!(text.starts_with("HOTSWAP_WORKERS="), "{text}");
    }

    fn sources_with_env_bad() -> (tempfile::TempDir, Sources<impl Fn(&str) -> Option<String>>) {
        sources(&[("HOTSWAP_WORKERS", "lots")], "[engine]\nworkers = 3\n")
    }

    #[test]
    fn secrets_are_never_described() {
        let (_dir, sources) = sources(
            &[
                ("HOTSWAP_ADMIN_PASSWORD", "correct horse battery"),
                ("HOTSWAP_OIDC_CLIENT_SECRET", "client-s3cret"),
            ],
            "[database]\nurl = \"postgres://hotswap:hunter2@db/hotswap\"\n\
             [switch_commands]\nlb = \"curl -H 'Authorization: Bearer tok123' http://lb\"\n",
        );
        let described = sources.describe().join("\n");
        let debug = format!("{:?}", sources.file);
        for secret in ["correct horse", "client-s3cret", "hunter2", "tok123"] {
            assert!(!described.contains(secret), "{described}");
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(
            described.contains("switch_commands = \"lb (commands hidden)\""),
            "{described}"
        );
        assert!(
            described.contains("admin_password = \"(set, hidden)\""),
            "{described}"
        );
        assert!(
            described.contains("postgres://hotswap:***@db/hotswap"),
            "{described}"
        );
    }

    #[test]
    fn hotswap_config_names_the_file_when_no_flag_does() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("from-env.toml");
        std::fs::write(&path, "[engine]\nworkers = 7\n").expect("written");
        let named = path.display().to_string();
        let env = move |k: &str| (k == "HOTSWAP_CONFIG").then(|| named.clone());
        let cfg = Sources::new(env, None)
            .expect("read")
            .config(Overrides::default())
            .expect("valid");
        assert_eq!(cfg.engine.workers, 7);
        let missing = Sources::new(|_: &str| None, Some(&dir.path().join("absent.toml")));
        assert!(matches!(missing, Err(ConfigError::Unreadable { .. })));
    }

    #[test]
    fn database_passwords_are_redacted_in_debug_output() {
        let cfg = config(
            &[(
                "HOTSWAP_DATABASE_URL",
                "postgres://hotswap:hunter2@db:5432/hotswap",
            )],
            Overrides::default(),
        )
        .expect("valid");
        let debug = format!("{cfg:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(
            debug.contains("postgres://hotswap:***@db:5432/hotswap"),
            "{debug}"
        );
    }
}
