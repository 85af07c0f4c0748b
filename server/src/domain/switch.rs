//! The blue-green switch hook an environment names: checked when it is set,
//! run by the engine (`engine/switch.rs`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::outbound::OutboundPolicy;

/// What a switch hook looks like, for error messages.
pub const SHAPE: &str = "either {\"command\": \"<name of a switch command the operator configured>\"} or {\"webhook\": \"https://…\"}";

/// Checks a hook document as an Admin sends it: a command must be one the
/// operator configured, a webhook an address the outgoing policy allows.
pub fn validate(
    hook: &Value,
    commands: &BTreeMap<String, String>,
    policy: &OutboundPolicy,
) -> Result<(), String> {
    let Value::Object(map) = hook else {
        return if hook.is_null() {
            Ok(())
        } else {
            Err(SHAPE.into())
        };
    };
    match (map.get("command"), map.get("webhook"), map.len()) {
        (Some(Value::String(name)), None, 1) => {
            if commands.contains_key(name) {
                Ok(())
            } else if commands.is_empty() {
                Err("commands are set by the server's operator (HOTSWAP_SWITCH_COMMANDS), and none are configured; use a webhook".into())
            } else {
                let names: Vec<&str> = commands.keys().map(String::as_str).collect();
                Err(format!(
                    "no switch command named {name:?}; the operator configured: {}",
                    names.join(", ")
                ))
            }
        }
        (None, Some(Value::String(url)), 1) => policy
            .check_url(url)
            .map(|_| ())
            .map_err(|e| format!("webhook: {e}")),
        _ => Err(SHAPE.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn commands() -> BTreeMap<String, String> {
        BTreeMap::from([("reload-lb".to_string(), "true".to_string())])
    }

    #[test]
    fn only_named_operator_commands_and_allowed_webhooks_pass() {
        let policy = OutboundPolicy::default();
        let ok = |v: Value| validate(&v, &commands(), &policy);
        assert!(ok(json!(null)).is_ok());
        assert!(ok(json!({"command": "reload-lb"})).is_ok());
        assert!(ok(json!({"webhook": "https://lb.example.com/switch"})).is_ok());
        for bad in [
            json!({"command": "touch /tmp/pwned"}),
            json!({"command": "reload-lb", "webhook": "https://lb.example.com/"}),
            json!({"webhook": "http://127.0.0.1:8080/"}),
            json!({"webhook": "http://169.254.169.254/"}),
            json!({"command": 7}),
            json!("reload-lb"),
        ] {
            assert!(ok(bad.clone()).is_err(), "{bad}");
        }
        let none = validate(&json!({"command": "x"}), &BTreeMap::new(), &policy).unwrap_err();
        assert!(none.contains("HOTSWAP_SWITCH_COMMANDS"), "{none}");
    }
}
