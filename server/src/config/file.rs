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

#[derive(Clone)]
pub struct ConfigFile {
    path: PathBuf,
    /// By environment variable: the value as text, and its line.
    values: BTreeMap<&'static str, (String, usize)>,
}

// The values may be secrets: the keys only.
impl std::fmt::Debug for ConfigFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigFile")
            .field("path", &self.path)
            .field("sets", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
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
            let line = line_of(text, name.span().start);
            // A quoted name with a dot in it is one key, not a path.
            let key = format!("{prefix}{}", name.get_ref());
            let known = (!name.get_ref().contains('.'))
                .then(|| settings::by_key(&key))
                .flatten();
            match (known, value.get_ref()) {
                (None, DeValue::Table(inner))
                    if prefix.is_empty() && settings::is_section(name.get_ref()) =>
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
                    let as_text = as_text(setting, value).map_err(|(offset, expected)| {
                        self.error(line_of(text, offset), format!("{key}: expected {expected}"))
                    })?;
                    if self
                        .values
                        .insert(setting.variable, (as_text, line))
                        .is_some()
                    {
                        return Err(self.error(line, format!("`{key}` is set twice")));
                    }
                }
            }
        }
        Ok(())
    }
}

/// A file value as the text its environment variable would hold, or where
/// it went wrong and what was expected instead.
fn as_text(setting: &Setting, value: &Spanned<DeValue>) -> Result<String, (usize, &'static str)> {
    let at = |item: &Spanned<DeValue>| item.span().start;
    match (setting.shape, value.get_ref()) {
        (Shape::Table, DeValue::Table(table)) => {
            let mut object = serde_json::Map::new();
            for (name, item) in table.iter() {
                let DeValue::String(text) = item.get_ref() else {
                    return Err((at(item), "a table of strings"));
                };
                object.insert(name.get_ref().to_string(), text.to_string().into());
            }
            Ok(serde_json::Value::Object(object).to_string())
        }
        (Shape::Table, _) => Err((at(value), "a table of strings")),
        // Items are joined with commas, so one may not hold a comma.
        (Shape::List, DeValue::Array(items)) => items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::String(text) if !text.contains(',') => Ok(text.to_string()),
                _ => Err((at(item), "an array of strings without commas")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|items| items.join(",")),
        (_, other) => scalar(other).ok_or((
            at(value),
            match setting.shape {
                Shape::List => "a value or an array of strings",
                _ => "a string, a whole number or true/false",
            },
        )),
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
    fn a_bad_item_inside_a_table_or_an_array_names_its_own_line() {
        let error = parse("[switch_commands]\nok = \"true\"\nbad = 3\n").expect_err("not a string");
        assert!(
            error.starts_with("hotswap.toml:3: switch_commands: expected a table of strings"),
            "{error}"
        );
        let error =
            parse("[oidc]\nrole_map = [\n  \"a=default:admin\",\n  \"b=x:admin,c=y:admin\",\n]\n")
                .expect_err("a comma inside an item");
        assert!(
            error.starts_with("hotswap.toml:4: oidc.role_map: expected an array of strings"),
            "{error}"
        );
    }

    #[test]
    fn a_key_set_twice_or_quoted_with_a_dot_is_refused() {
        let error = parse(
            "database.url = \"sqlite::memory:\"\n[database]\nmax_connections = 2\nurl = \"x\"\n",
        )
        .expect_err("twice");
        assert!(error.starts_with("hotswap.toml:"), "{error}");
        let error = parse("\"database.url\" = \"sqlite::memory:\"\n").expect_err("quoted");
        assert!(
            error.starts_with("hotswap.toml:1: unknown key `database.url`"),
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
