//! Durations people type — `90` (seconds), `30s`, `10m`, `2h`, `7d`, `1w`,
//! or units from largest to smallest like `1h30m` — parsed the same way by
//! the browser and the server, and always inside the bounds of what they
//! set, so no time computed from one can overflow.

use serde::{Deserialize, Serialize};

/// Whole seconds, within the [`Bounds`] it was parsed with. `u32` holds
/// 136 years, and every bound is far below that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BoundedDuration(u32);

/// The range a setting allows, and how to say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub min_secs: u32,
    pub max_secs: u32,
    pub range: &'static str,
}

const DAY: u32 = 86_400;

/// How long a canary phase watches its nodes.
pub const PHASE: Bounds = Bounds {
    min_secs: 0,
    max_secs: 7 * DAY,
    range: "from 0s to 7 days",
};
/// How long a deployment may wait for approval.
pub const APPROVAL_TIMEOUT: Bounds = Bounds {
    min_secs: 1,
    max_secs: 30 * DAY,
    range: "from 1s to 30 days",
};
/// How often a canary is judged.
pub const ANALYSIS_INTERVAL: Bounds = Bounds {
    min_secs: 1,
    max_secs: 3_600,
    range: "from 1s to 1 hour",
};
/// How long an API token lives.
pub const TOKEN_LIFETIME: Bounds = Bounds {
    min_secs: 60,
    max_secs: 3650 * DAY,
    range: "from 1 minute to 10 years",
};
/// How long an unused enrollment token stays valid.
pub const ENROLLMENT_LIFETIME: Bounds = Bounds {
    min_secs: 60,
    max_secs: 30 * DAY,
    range: "from 1 minute to 30 days",
};

const UNITS: &[(&[&str], u64)] = &[
    (&["w", "week", "weeks"], 7 * 86_400),
    (&["d", "day", "days"], 86_400),
    (&["h", "hour", "hours"], 3_600),
    (&["m", "min", "mins", "minute", "minutes"], 60),
    (&["s", "sec", "secs", "second", "seconds"], 1),
];

impl BoundedDuration {
    /// Parses text such as `10m` or `1h30m` and checks it against `bounds`.
    pub fn parse(text: &str, bounds: &Bounds) -> Result<Self, String> {
        let secs = seconds_of(text.trim()).ok_or_else(|| {
            format!("{text:?} is not a duration; write e.g. 30s, 10m, 2h or 1h30m")
        })?;
        Self::checked(secs, bounds)
    }

    /// A duration from JSON: whole seconds (`300`) or text (`"5m"`).
    pub fn from_json(value: &serde_json::Value, bounds: &Bounds) -> Result<Self, String> {
        match value {
            serde_json::Value::Number(n) => match n.as_u64() {
                Some(secs) => Self::checked(secs, bounds),
                None => Err(format!("a duration {}", bounds.range)),
            },
            serde_json::Value::String(text) => Self::parse(text, bounds),
            _ => Err("a duration is whole seconds or text like \"10m\"".into()),
        }
    }

    fn checked(secs: u64, bounds: &Bounds) -> Result<Self, String> {
        if (u64::from(bounds.min_secs)..=u64::from(bounds.max_secs)).contains(&secs) {
            Ok(Self(secs as u32))
        } else {
            Err(format!("a duration {}", bounds.range))
        }
    }

    pub fn secs(self) -> u64 {
        u64::from(self.0)
    }

    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.secs())
    }

    /// Cannot panic: every value fits a `TimeDelta` many times over.
    pub fn to_chrono(self) -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(i64::from(self.0))
    }
}

/// Seconds written the way [`BoundedDuration::parse`] reads them back:
/// `1h30m`, `10m`, `45s`.
pub fn text(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

/// Bare digits are seconds; otherwise number-unit pairs with no spaces,
/// each unit smaller than the one before (so `1h1h` and `5 m` are refused).
fn seconds_of(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return if text.len() <= 10 {
            text.parse().ok()
        } else {
            None
        };
    }
    let mut rest = text;
    let mut total: u64 = 0;
    let mut smallest_so_far = u64::MAX;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 10 {
            return None;
        }
        let (number, after) = rest.split_at(digits);
        let letters = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(letters);
        let factor = UNITS
            .iter()
            .find(|(names, _)| names.contains(&unit))
            .map(|(_, factor)| *factor)?;
        if factor >= smallest_so_far {
            return None;
        }
        smallest_so_far = factor;
        total = total.checked_add(number.parse::<u64>().ok()?.checked_mul(factor)?)?;
        rest = after;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_durations_read_back_as_the_same_seconds() {
        for secs in [1, 45, 60, 300, 600, 5400, 3600, 86_399, 604_800] {
            let written = text(secs);
            assert_eq!(seconds_of(&written), Some(secs), "{written}");
        }
        assert_eq!(text(5400), "1h30m");
        assert_eq!(text(600), "10m");
    }

    #[test]
    fn plain_durations_parse() {
        let secs = |t: &str| BoundedDuration::parse(t, &TOKEN_LIFETIME).map(BoundedDuration::secs);
        assert_eq!(secs("90"), Ok(90));
        assert_eq!(secs("90s"), Ok(90));
        assert_eq!(secs("15m"), Ok(900));
        assert_eq!(secs("2h"), Ok(7200));
        assert_eq!(secs(" 30d "), Ok(30 * 86_400));
        assert_eq!(secs("1w"), Ok(7 * 86_400));
        assert_eq!(secs("1h30m"), Ok(5400));
        assert_eq!(secs("2days"), Ok(2 * 86_400));
    }

    #[test]
    fn loose_or_odd_text_is_refused() {
        for text in [
            "",
            "x",
            "1h1h",
            "30m1h",
            "5 m",
            "1h 30m",
            "1y",
            "2months",
            "300ms",
            "-5s",
            "1.5h",
            "5m\0",
            "99999999999s",
            "18446744073709551616",
        ] {
            assert!(
                BoundedDuration::parse(text, &TOKEN_LIFETIME).is_err(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn bounds_hold_for_text_and_numbers() {
        assert!(BoundedDuration::parse("300000w", &ANALYSIS_INTERVAL).is_err());
        assert!(BoundedDuration::parse("2h", &ANALYSIS_INTERVAL).is_err());
        assert!(BoundedDuration::parse("0s", &ANALYSIS_INTERVAL).is_err());
        assert!(BoundedDuration::parse("0s", &PHASE).is_ok());
        assert!(BoundedDuration::parse("8d", &PHASE).is_err());
        let json = |v: serde_json::Value| BoundedDuration::from_json(&v, &APPROVAL_TIMEOUT);
        assert_eq!(
            json(serde_json::json!(60)).map(BoundedDuration::secs),
            Ok(60)
        );
        assert!(json(serde_json::json!(10_000_000_000_000u64)).is_err());
        assert!(json(serde_json::json!(-1)).is_err());
        assert!(json(serde_json::json!(1.5)).is_err());
        assert!(json(serde_json::json!(true)).is_err());
        let longest = BoundedDuration::parse("3650d", &TOKEN_LIFETIME).expect("in bounds");
        assert_eq!(longest.to_chrono(), chrono::TimeDelta::days(3650));
    }
}
