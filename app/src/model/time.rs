//! Human-readable times, computed from data rather than the clock so server
//! and browser render identical text.

use chrono::{DateTime, Utc};

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

/// ISO 8601 for `<time datetime>` and tooltips.
pub fn absolute(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
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
    fn durations_use_the_largest_sensible_unit() {
        assert_eq!(duration(42.4), "42 s");
        assert_eq!(duration(185.0), "3 min 5 s");
        assert_eq!(duration(3_720.0), "1 h 2 min");
    }
}
