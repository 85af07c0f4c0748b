//! The optional configuration file (`--config FILE`, `HOTSWAP_CONFIG`): TOML
//! whose keys are the settings of [`super::settings`], each read as the text
//! its environment variable would hold. Every value keeps its line, so a
//! refusal names it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::settings::{self, Setting, Shape};
use super::ConfigError;

#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
    /// By environment variable: the value as text, and its line.
    values: BTreeMap<&'static str, (String, usize)>,
}

impl ConfigFile {
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let mut file = Self {
            path: path.to_path_buf(),
            values: BTreeMap::new(),
        };
        let root = DeTable::parse(text).map_err(|e| {
            let line = e.span().map_or(1, |span| line_of(text, span.start));
            file.error(line, e.message().trim().to_string())
        })?;
        file.read_table("", root.get_ref(), text)?;
        Ok(file)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The value the file gives the setting read from `variable`.
    pub fn value(&self, variable: &str) -> Option<&str> {
        self.values.get(variable).map(|(text, _)| text.as_str())
    }

    /// The line of the file that sets `variable`.
    pub fn line(&self, variable: &str) -> Option<usize> {
        self.values.get(variable).map(|(_, line)| *line)
    }

    /// A value the file gave that the configuration then refused.
    pub fn refused(&self, setting: &Setting, value: &str, reason: &str) -> ConfigError {
        let line = self.line(setting.variable).unwrap_or(1);
        self.error(
            line,
            format!("{} = {value:?} is not valid: {reason}", setting.key),
        )
    }

    fn error(&self, line: usize, message: String) -> ConfigError {
        ConfigError::File {
            path: self.path.display().to_string(),
            line,
            message,
        }
    }

    fn read_table(&mut self, prefix: &str, table: &DeTable, text: &str) -> Result<(), ConfigError> {
        for (name, value) in table.iter() {
            let key = format!("{prefix}{}", name.get_ref());
            let line = line_of(text, name.span().start);
            match (settings::by_key(&key), value.get_ref()) {
                (None, DeValue::Table(inner))
                    if prefix.is_empty() && settings::is_section(&key) =>
                {
                    self.read_table(&format!("{key}."), inner, text)?;
                }
                (None, _) => {
                    let hint = settings::nearest(&key)
                        .map(|known| format!(" (did you mean `{known}`?)"))
                        .unwrap_or_default();
                    return Err(self.error(line, format!("unknown key `{key}`{hint}")));
                }
                (Some(setting), _) => {
                    let value_line = line_of(text, value.span().start);
                    let as_text = as_text(setting, value).map_err(|expected| {
                        self.error(value_line, format!("{key}: expected {expected}"))
                    })?;
                    self.values.insert(setting.variable, (as_text, line));
                }
            }
        }
        Ok(())
    }
}

/// A file value as the text its environment variable would hold, or what
/// was expected instead.
fn as_text(setting: &Setting, value: &Spanned<DeValue>) -> Result<String, &'static str> {
    match (setting.shape, value.get_ref()) {
        (Shape::Table, DeValue::Table(table)) => {
            let mut object = serde_json::Map::new();
            for (name, item) in table.iter() {
                let DeValue::String(text) = item.get_ref() else {
                    return Err("a table of strings");
                };
                object.insert(name.get_ref().to_string(), text.to_string().into());
            }
            Ok(serde_json::Value::Object(object).to_string())
        }
        (Shape::Table, _) => Err("a table of strings"),
        (Shape::List, DeValue::Array(items)) => items
            .iter()
            .map(|item| scalar(item.get_ref()).ok_or("an array of strings"))
            .collect::<Result<Vec<_>, _>>()
            .map(|items| items.join(",")),
        (_, other) => scalar(other).ok_or(match setting.shape {
            Shape::List => "a value or an array of values",
            _ => "a string, a number or true/false",
        }),
    }
}

fn scalar(value: &DeValue) -> Option<String> {
    match value {
        DeValue::String(text) => Some(text.to_string()),
        DeValue::Integer(n) => i64::from_str_radix(n.as_str(), n.radix())
            .ok()
            .map(|n| n.to_string()),
        DeValue::Boolean(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile, String> {
        ConfigFile::parse(Path::new("hotswap.toml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn values_are_read_as_their_variables_would_hold_them() {
        let file = parse(
            r#"
addr = "0.0.0.0:8080"

[database]
max_connections = 12

[oidc]
role_map = ["ops=default:admin", "devs=default:deployer"]

[outbound]
allow_private_targets = true

[switch_commands]
reload-lb = "systemctl reload haproxy"
"#,
        )
        .expect("valid");
        assert_eq!(file.value("HOTSWAP_ADDR"), Some("0.0.0.0:8080"));
        assert_eq!(file.line("HOTSWAP_ADDR"), Some(2));
        assert_eq!(file.value("HOTSWAP_DB_MAX_CONNECTIONS"), Some("12"));
        assert_eq!(file.line("HOTSWAP_DB_MAX_CONNECTIONS"), Some(5));
        assert_eq!(
            file.value("HOTSWAP_OIDC_ROLE_MAP"),
            Some("ops=default:admin,devs=default:deployer")
        );
        assert_eq!(file.value("HOTSWAP_ALLOW_PRIVATE_TARGETS"), Some("true"));
        assert_eq!(
            file.value("HOTSWAP_SWITCH_COMMANDS"),
            Some(r#"{"reload-lb":"systemctl reload haproxy"}"#)
        );
        assert_eq!(file.value("HOTSWAP_LOG"), None);
    }

    #[test]
    fn a_typo_is_refused_with_its_line_and_the_key_meant() {
        let error = parse("addr = \"127.0.0.1:3000\"\n\n[database]\nurll = \"sqlite::memory:\"\n")
            .expect_err("unknown key");
        assert_eq!(
            error,
            "hotswap.toml:4: unknown key `database.urll` (did you mean `database.url`?)"
        );
        let error = parse("[engine]\nworkers = 2\n[nonsense]\nx = 1\n").expect_err("unknown");
        assert!(
            error.starts_with("hotswap.toml:3: unknown key `nonsense`"),
            "{error}"
        );
    }

    #[test]
    fn a_value_of_the_wrong_kind_or_bad_toml_names_its_line() {
        let error = parse("addr = \"x\"\nsite_root = [1, 2]\n").expect_err("wrong kind");
        assert!(
            error.starts_with("hotswap.toml:2: site_root: expected"),
            "{error}"
        );
        let error = parse("addr = \"x\"\n\nlog = { filter = \"info\" \n").expect_err("bad TOML");
        assert!(error.starts_with("hotswap.toml:3:"), "{error}");
        let error = parse("addr = \"a\"\naddr = \"b\"\n").expect_err("duplicate");
        assert!(error.starts_with("hotswap.toml:2:"), "{error}");
    }
}
