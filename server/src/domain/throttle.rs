//! Slowing down and then locking out repeated failed sign-ins.

use chrono::{DateTime, Duration, Utc};

/// How many failures are free, and how the wait grows after them.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub free_failures: usize,
    pub first_wait: Duration,
    pub longest_wait: Duration,
    /// Failures older than this are forgotten.
    pub window: Duration,
}

/// Per account: five tries, then 30 s, 1 min, 2 min… up to a 15-minute lock.
pub const PER_ACCOUNT: ThrottlePolicy = ThrottlePolicy {
    free_failures: 5,
    first_wait: Duration::seconds(30),
    longest_wait: Duration::minutes(15),
    window: Duration::minutes(15),
};

/// Per source address: generous enough for an office behind one NAT.
pub const PER_ADDRESS: ThrottlePolicy = ThrottlePolicy {
    free_failures: 20,
    first_wait: Duration::seconds(30),
    longest_wait: Duration::minutes(15),
    window: Duration::minutes(15),
};

impl ThrottlePolicy {
    /// How long the next attempt must wait, given the times of the failures
    /// since the last success; `None` when it may go ahead now.
    pub fn wait(&self, failures: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<Duration> {
        let recent: Vec<_> = failures
            .iter()
            .filter(|t| now - **t < self.window)
            .collect();
        let over = recent.len().checked_sub(self.free_failures)?;
        let last = **recent.iter().max()?;
        let doublings = over.min(16) as i32;
        let wait = (self.first_wait * 2i32.pow(doublings as u32)).min(self.longest_wait);
        let until = last + wait;
        (until > now).then(|| until - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures(now: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        (0..count)
            .map(|i| now - Duration::seconds(i as i64))
            .collect()
    }

    #[test]
    fn the_first_failures_are_free() {
        let now = Utc::now();
        assert_eq!(PER_ACCOUNT.wait(&failures(now, 4), now), None);
    }

    #[test]
    fn the_wait_doubles_and_then_locks() {
        let now = Utc::now();
        assert_eq!(
            PER_ACCOUNT.wait(&failures(now, 5), now),
            Some(Duration::seconds(30))
        );
        assert_eq!(
            PER_ACCOUNT.wait(&failures(now, 6), now),
            Some(Duration::seconds(60))
        );
        assert_eq!(
            PER_ACCOUNT.wait(&failures(now, 9), now),
            Some(Duration::minutes(8))
        );
        assert_eq!(
            PER_ACCOUNT.wait(&failures(now, 12), now),
            Some(Duration::minutes(15))
        );
    }

    #[test]
    fn waiting_it_out_or_old_failures_lift_the_throttle() {
        let now = Utc::now();
        let five = failures(now, 5);
        assert_eq!(PER_ACCOUNT.wait(&five, now + Duration::seconds(31)), None);
        let old: Vec<_> = five.iter().map(|t| *t - Duration::minutes(20)).collect();
        assert_eq!(PER_ACCOUNT.wait(&old, now), None);
    }
}
