//! Outgoing webhooks: which events people can subscribe to, the body and its
//! signature, and when a failed delivery is tried again.

use std::time::Duration;

pub use app::model::event::WebhookTopic;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// Attempts before a delivery is given up as failed.
pub const MAX_ATTEMPTS: i32 = 6;

/// What a deployment is, for a message.
#[derive(Debug, Clone)]
pub struct Subject {
    pub id: i64,
    pub module: String,
    pub version: String,
    pub environment: String,
    pub url: String,
}

/// The body sent: JSON for programs, or Slack's `{text}`.
pub fn body(
    format: &str,
    event: WebhookTopic,
    subject: &Subject,
    detail: &Value,
    event_id: i64,
) -> Value {
    let headline = format!(
        "#{} {} {} → {}",
        subject.id, subject.module, subject.version, subject.environment
    );
    match format {
        "slack" => {
            let what = match event {
                WebhookTopic::Pending => "waits for approval",
                WebhookTopic::Approved => "was approved",
                WebhookTopic::Rejected => "was rejected",
                WebhookTopic::Expired => "expired without a decision",
                WebhookTopic::Succeeded => "succeeded",
                WebhookTopic::Failed => "failed",
                WebhookTopic::RolledBack => "was rolled back",
            };
            let why = detail["outcome"]
                .as_str()
                .or(detail["comment"].as_str())
                .map(|t| format!(": {t}"))
                .unwrap_or_default();
            json!({ "text": format!("Hotswap: {headline} {what}{why} <{}|open>", subject.url) })
        }
        _ => json!({
            "event": event.as_str(),
            "event_id": event_id,
            "deployment": {
                "id": subject.id,
                "module": subject.module,
                "version": subject.version,
                "environment": subject.environment,
                "url": subject.url,
            },
            "detail": detail,
        }),
    }
}

/// `sha256=<hex HMAC-SHA256 of the body>`, sent as `X-Hotswap-Signature`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The wait before attempt `attempts + 1`: 1 s, 2 s, 4 s … up to 5 min.
pub fn backoff(attempts: i32) -> Duration {
    Duration::from_secs((1u64 << attempts.clamp(0, 16)).min(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn slack_gets_a_line_of_text() {
        let subject = Subject {
            id: 7,
            module: "shop".into(),
            version: "2.0.0".into(),
            environment: "production".into(),
            url: "https://hotswap.example/deployments/7".into(),
        };
        let text = body(
            "slack",
            WebhookTopic::RolledBack,
            &subject,
            &json!({"outcome": "error rate 5%"}),
            1,
        );
        assert_eq!(
            text["text"],
            "Hotswap: #7 shop 2.0.0 → production was rolled back: error rate 5% <https://hotswap.example/deployments/7|open>"
        );
        let json_body = body("json", WebhookTopic::Succeeded, &subject, &json!({}), 9);
        assert_eq!(json_body["deployment"]["module"], "shop");
        assert_eq!(json_body["event_id"], 9);
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(20), Duration::from_secs(300));
    }
}
