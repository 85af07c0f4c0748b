//! Human-readable times, computed from data rather than the clock so server
//! and browser render identical text.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// "just now", "3 min ago", "5 h ago", "2 d ago".
pub fn relative(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds();
    match secs {
        s if s < 45 => "just now".to_string(),
        s if s < 3_600 => format!("{} min ago", (s + 30) / 60),
        s if s < 86_400 => format!("{} h ago", s / 3_600),
        s => format!("{} d ago", s / 86_400),
    }
}

/// "42 s", "3 min 5 s", "1 h 2 min".
pub fn duration(secs: f64) -> String {
    let secs = secs.max(0.0).round() as i64;
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3_600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3_600, (s % 3_600) / 60),
    }
}

/// "2026-11-24 15:04:05 UTC", for tooltips. Built by hand: chrono's
/// formatter would add its format-string parser to the browser bundle.
pub fn absolute(at: DateTime<Utc>) -> String {
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        date(at),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// "2026-11-24".
pub fn date(at: DateTime<Utc>) -> String {
    format!("{:04}-{:02}-{:02}", at.year(), at.month(), at.day())
}

/// "2026-11-24 15:04".
pub fn minute(at: DateTime<Utc>) -> String {
    format!("{} {:02}:{:02}", date(at), at.hour(), at.minute())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn relative_times_read_like_a_person_would_say_them() {
        let now = Utc::now();
        assert_eq!(relative(now - Duration::seconds(10), now), "just now");
        assert_eq!(relative(now - Duration::seconds(180), now), "3 min ago");
        assert_eq!(relative(now - Duration::hours(5), now), "5 h ago");
        assert_eq!(relative(now - Duration::days(2), now), "2 d ago");
    }

    #[test]
    fn absolute_times_are_unambiguous() {
        let at = DateTime::parse_from_rfc3339("2026-03-04T05:06:07Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(absolute(at), "2026-03-04 05:06:07 UTC");
        assert_eq!(minute(at), "2026-03-04 05:06");
    }

    #[test]
    fn durations_use_the_largest_sensible_unit() {
        assert_eq!(duration(42.4), "42 s");
        assert_eq!(duration(185.0), "3 min 5 s");
        assert_eq!(duration(3_720.0), "1 h 2 min");
    }
}
