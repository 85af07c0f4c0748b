//! Freeze windows: times when an environment takes no new roll-outs, either
//! one-off (a sale, a holiday) or every week (Friday evenings). Times are UTC.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    Once {
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    },
    /// From `from_minute` on `day` for `length_minutes` (may run into the next day).
    Weekly {
        day: u32,
        from_minute: u32,
        length_minutes: u32,
    },
}

const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FreezeError {
    pub field: &'static str,
    pub message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> FreezeError {
    FreezeError {
        field,
        message: message.into(),
    }
}

/// "16:30" → minutes after midnight; "24:00" ends a day.
fn clock(text: &str, field: &'static str) -> Result<u32, FreezeError> {
    let (h, m) = text
        .trim()
        .split_once(':')
        .ok_or_else(|| bad(field, "a time of day like 16:00 (UTC)"))?;
    match (h.parse::<u32>(), m.parse::<u32>()) {
        (Ok(h), Ok(m)) if (h < 24 && m < 60) || (h == 24 && m == 0) => Ok(h * 60 + m),
        _ => Err(bad(field, "a time of day like 16:00 (UTC)")),
    }
}

impl Schedule {
    /// From the API's shape: `{starts_at, ends_at}` (RFC 3339) or
    /// `{weekly: {day: "friday", from: "16:00", to: "23:59"}}`.
    pub fn parse(body: &Value) -> Result<Self, FreezeError> {
        if let Some(weekly) = body.get("weekly") {
            let day = weekly["day"]
                .as_str()
                .map(|d| d.trim().to_lowercase())
                .and_then(|d| DAYS.iter().position(|n| *n == d || n[..3] == d))
                .ok_or_else(|| bad("weekly.day", "a day of the week, e.g. friday"))?;
            let from = clock(weekly["from"].as_str().unwrap_or(""), "weekly.from")?;
            let to = clock(weekly["to"].as_str().unwrap_or(""), "weekly.to")?;
            if to % 1440 == from % 1440 {
                return Err(bad(
                    "weekly.to",
                    "the window must end at another time than it starts",
                ));
            }
            let length = if to > from {
                to - from
            } else {
                to + 24 * 60 - from
            };
            return Ok(Schedule::Weekly {
                day: day as u32,
                from_minute: from,
                length_minutes: length,
            });
        }
        let time = |field: &'static str| -> Result<DateTime<Utc>, FreezeError> {
            body[field]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| bad(field, "a time like 2026-11-27T00:00:00Z"))
        };
        let starts_at = time("starts_at")?;
        let ends_at = time("ends_at")?;
        if ends_at <= starts_at {
            return Err(bad("ends_at", "the window must end after it starts"));
        }
        Ok(Schedule::Once { starts_at, ends_at })
    }

    /// True while the window is in force.
    pub fn covers(&self, at: DateTime<Utc>) -> bool {
        match self {
            Schedule::Once { starts_at, ends_at } => *starts_at <= at && at < *ends_at,
            Schedule::Weekly {
                day,
                from_minute,
                length_minutes,
            } => {
                // Minutes since Monday 00:00; the window may run over Sunday
                // night into the next week, hence the modulo.
                let week = 7 * 1440;
                let now = at.weekday().num_days_from_monday() * 1440 + at.hour() * 60 + at.minute();
                let start = day * 1440 + from_minute;
                (now + week - start) % week < *length_minutes
            }
        }
    }

    /// Whether the window can still matter: a one-off that ended is history.
    pub fn is_over(&self, at: DateTime<Utc>) -> bool {
        matches!(self, Schedule::Once { ends_at, .. } if *ends_at <= at)
    }

    /// "2026-11-27 00:00 → 2026-11-30 00:00 UTC", "every friday 16:00–23:59 UTC".
    pub fn describe(&self) -> String {
        let at = |t: &DateTime<Utc>| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute()
            )
        };
        match self {
            Schedule::Once { starts_at, ends_at } => {
                format!("{} → {} UTC", at(starts_at), at(ends_at))
            }
            Schedule::Weekly {
                day,
                from_minute,
                length_minutes,
            } => {
                let end = (from_minute + length_minutes) % 1440;
                format!(
                    "every {} {:02}:{:02}–{:02}:{:02} UTC",
                    DAYS[*day as usize % 7],
                    from_minute / 60,
                    from_minute % 60,
                    end / 60,
                    end % 60
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a time")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_one_off_window_covers_its_range_only() {
        let w = Schedule::parse(
            &json!({"starts_at": "2026-11-27T00:00:00Z", "ends_at": "2026-11-30T00:00:00Z"}),
        )
        .expect("valid");
        assert!(!w.covers(at("2026-11-26T23:59:59Z")));
        assert!(w.covers(at("2026-11-27T00:00:00Z")));
        assert!(!w.covers(at("2026-11-30T00:00:00Z")));
        assert!(w.is_over(at("2026-12-01T00:00:00Z")));
        assert_eq!(w.describe(), "2026-11-27 00:00 → 2026-11-30 00:00 UTC");
    }

    #[test]
    fn a_weekly_window_recurs_and_may_cross_midnight_and_the_week() {
        // 2026-11-27 is a Friday.
        let friday =
            Schedule::parse(&json!({"weekly": {"day": "friday", "from": "16:00", "to": "23:59"}}))
                .expect("valid");
        assert!(friday.covers(at("2026-11-27T16:00:00Z")));
        assert!(friday.covers(at("2026-12-04T20:30:00Z")));
        assert!(!friday.covers(at("2026-11-27T15:59:00Z")));
        assert!(!friday.covers(at("2026-11-28T00:00:00Z")));
        assert_eq!(friday.describe(), "every friday 16:00–23:59 UTC");

        let sunday_night =
            Schedule::parse(&json!({"weekly": {"day": "sun", "from": "22:00", "to": "02:00"}}))
                .expect("valid");
        assert!(sunday_night.covers(at("2026-11-29T23:00:00Z")));
        assert!(
            sunday_night.covers(at("2026-11-30T01:59:00Z")),
            "Monday early morning"
        );
        assert!(!sunday_night.covers(at("2026-11-30T02:00:00Z")));
        assert!(!sunday_night.is_over(at("2030-01-01T00:00:00Z")));
    }

    #[test]
    fn bad_windows_name_the_field() {
        let field = |body: Value| Schedule::parse(&body).expect_err("invalid").field;
        assert_eq!(field(json!({"starts_at": "tomorrow"})), "starts_at");
        assert_eq!(
            field(json!({"starts_at": "2026-11-27T00:00:00Z", "ends_at": "2026-11-26T00:00:00Z"})),
            "ends_at"
        );
        assert_eq!(field(json!({"weekly": {"day": "caturday"}})), "weekly.day");
        assert_eq!(
            field(json!({"weekly": {"day": "friday", "from": "25:00", "to": "1:00"}})),
            "weekly.from"
        );
        assert_eq!(
            field(json!({"weekly": {"day": "friday", "from": "10:00", "to": "10:00"}})),
            "weekly.to"
        );
    }
}
