//! Slowing down and then locking out repeated failed sign-ins.

use chrono::{DateTime, Duration, Utc};

/// How a sign-in attempt ended, or that it has not ended yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The password is still being checked: counted as a failure, so guesses
    /// sent in parallel cannot all slip through before any is recorded.
    Pending,
    Failure,
    Success,
    /// Refused before the password was checked; not held against anyone, so
    /// an attacker hammering an account cannot keep its owner locked out.
    Throttled,
}

impl AttemptOutcome {
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            Self::Pending => None,
            Self::Failure => Some("failure"),
            Self::Success => Some("success"),
            Self::Throttled => Some("throttled"),
        }
    }

    pub fn parse(stored: Option<&str>) -> Self {
        match stored {
            None => Self::Pending,
            Some("success") => Self::Success,
            Some("throttled") => Self::Throttled,
            // Anything else, including a value from a newer release, counts.
            Some(_) => Self::Failure,
        }
    }
}

/// An earlier attempt, as the throttle sees it.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub outcome: AttemptOutcome,
}

/// How many failures are free, and how the wait grows after them.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub free_failures: usize,
    pub first_wait: Duration,
    pub longest_wait: Duration,
    /// Failures older than this are forgotten.
    pub window: Duration,
    /// Whether a success wipes the failures before it. True for an account
    /// (its owner got in); false for an address, or an attacker with an
    /// account of their own could sign in between guesses to reset it.
    pub forgiven_by_success: bool,
}

/// Per account: five tries, then 30 s, 1 min, 2 min… up to a 15-minute lock.
pub const PER_ACCOUNT: ThrottlePolicy = ThrottlePolicy {
    free_failures: 5,
    first_wait: Duration::seconds(30),
    longest_wait: Duration::minutes(15),
    window: Duration::minutes(15),
    forgiven_by_success: true,
};

/// Per source address: generous enough for an office behind one NAT.
pub const PER_ADDRESS: ThrottlePolicy = ThrottlePolicy {
    free_failures: 20,
    first_wait: Duration::seconds(30),
    longest_wait: Duration::minutes(15),
    window: Duration::minutes(15),
    forgiven_by_success: false,
};

impl ThrottlePolicy {
    /// How long an attempt must wait, given the attempts begun before it,
    /// newest first.
    pub fn wait_after(&self, earlier: &[Attempt], now: DateTime<Utc>) -> Option<Duration> {
        let failures: Vec<_> = earlier
            .iter()
            .take_while(|a| !(self.forgiven_by_success && a.outcome == AttemptOutcome::Success))
            .filter(|a| matches!(a.outcome, AttemptOutcome::Pending | AttemptOutcome::Failure))
            .map(|a| a.at)
            .collect();
        self.wait(&failures, now)
    }

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

    fn attempts(now: DateTime<Utc>, outcomes: &[AttemptOutcome]) -> Vec<Attempt> {
        outcomes
            .iter()
            .enumerate()
            .map(|(i, &outcome)| Attempt {
                at: now - Duration::seconds(i as i64),
                outcome,
            })
            .collect()
    }

    #[test]
    fn attempts_still_being_checked_count_as_failures() {
        let now = Utc::now();
        let earlier = attempts(now, &[AttemptOutcome::Pending; 5]);
        assert_eq!(
            PER_ACCOUNT.wait_after(&earlier, now),
            Some(Duration::seconds(30))
        );
    }

    #[test]
    fn a_success_forgives_the_account_but_not_the_address() {
        use AttemptOutcome::{Failure, Success};
        let now = Utc::now();
        let mut outcomes = vec![Success];
        outcomes.extend([Failure; 25]);
        let earlier = attempts(now, &outcomes);
        assert_eq!(PER_ACCOUNT.wait_after(&earlier, now), None);
        assert!(PER_ADDRESS.wait_after(&earlier, now).is_some());
    }

    #[test]
    fn refused_attempts_do_not_extend_a_lock() {
        use AttemptOutcome::{Failure, Throttled};
        let now = Utc::now();
        let mut outcomes = vec![Throttled; 50];
        outcomes.extend([Failure; 4]);
        assert_eq!(PER_ACCOUNT.wait_after(&attempts(now, &outcomes), now), None);
    }
}
