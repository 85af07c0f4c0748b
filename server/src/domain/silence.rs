//! When a silent node may be called offline. Its heartbeats reach the
//! database through whichever replica it is connected to; while the database
//! is unreachable none are written, and once it is back the replicas need a
//! moment to write the ones they kept. So a node's silence only counts while
//! the database has been reachable: a sweep calls nodes offline only after a
//! whole node timeout of reachability.

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone)]
pub struct SilenceClock {
    node_timeout: Duration,
    reachable_since: Option<DateTime<Utc>>,
}

impl SilenceClock {
    pub fn new(node_timeout: Duration) -> Self {
        Self {
            node_timeout,
            reachable_since: None,
        }
    }

    /// Records a probe of the database that began at `started` and ended at
    /// `ended`, successfully or not.
    pub fn probed(&mut self, started: DateTime<Utc>, ended: DateTime<Utc>, reached: bool) {
        self.reachable_since = match (reached, self.reachable_since) {
            (false, _) => None,
            // A probe that took half a node timeout may have waited out an
            // outage: it proves the database reachable only from its return.
            // (Merely slow answers must not keep dead nodes online.)
            (true, _) if ended - started > self.node_timeout / 2 => Some(ended),
            (true, Some(since)) => Some(since),
            (true, None) => Some(started),
        };
    }

    /// Nodes whose last heartbeat is older than this are offline; `None`
    /// while the database has not been reachable for a whole node timeout.
    pub fn cutoff(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let since = self.reachable_since?;
        (now - since >= self.node_timeout).then(|| now - self.node_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(secs)
    }

    fn fast(clock: &mut SilenceClock, secs: i64, reached: bool) {
        clock.probed(at(secs), at(secs) + Duration::milliseconds(5), reached);
    }

    #[test]
    fn nobody_is_offline_before_a_whole_timeout_of_reachability() {
        let mut clock = SilenceClock::new(Duration::seconds(15));
        fast(&mut clock, 0, true);
        assert_eq!(clock.cutoff(at(14)), None);
        assert_eq!(clock.cutoff(at(15)), Some(at(0)));
        assert_eq!(clock.cutoff(at(40)), Some(at(25)));
    }

    #[test]
    fn an_outage_restarts_the_clock() {
        let mut clock = SilenceClock::new(Duration::seconds(15));
        fast(&mut clock, 0, true);
        fast(&mut clock, 20, false);
        assert_eq!(clock.cutoff(at(22)), None);
        fast(&mut clock, 40, true);
        assert_eq!(
            clock.cutoff(at(50)),
            None,
            "heartbeats are still being written"
        );
        assert_eq!(clock.cutoff(at(55)), Some(at(40)));
    }

    #[test]
    fn a_probe_that_waited_out_an_outage_counts_from_its_return() {
        let mut clock = SilenceClock::new(Duration::seconds(15));
        fast(&mut clock, 0, true);
        clock.probed(at(20), at(30), true);
        assert_eq!(clock.cutoff(at(40)), None);
        assert_eq!(clock.cutoff(at(45)), Some(at(30)));
    }

    #[test]
    fn slow_answers_do_not_keep_dead_nodes_online() {
        let mut clock = SilenceClock::new(Duration::seconds(15));
        for tick in 0..20 {
            let start = at(tick * 2);
            clock.probed(start, start + Duration::seconds(3), true);
        }
        assert_eq!(clock.cutoff(at(40)), Some(at(25)));
    }
}
