//! The sign-in throttle's record: each attempt is written before its password
//! is checked and finished after, so every replica and every parallel request
//! counts the same guesses.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::domain::throttle::{Attempt, AttemptOutcome, ThrottlePolicy, PER_ACCOUNT, PER_ADDRESS};
use crate::entities::login_attempts;
use crate::services::ServiceError;

/// Enough history for the longest wait (16 doublings past the free ones).
const LOOK_BACK: u64 = 200;

/// Attempts are kept this long, far beyond any throttle window.
const KEPT_FOR: Duration = Duration::days(1);

/// A password check takes well under a second: an attempt unfinished after
/// this was abandoned (a crash), and stops counting.
const ABANDONED_AFTER: Duration = Duration::minutes(1);

/// The key an address is counted under: IPv4 addresses whole, IPv6 ones by
/// their /64, which one client usually holds entirely.
pub fn address_key(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// One attempt in flight.
#[derive(Debug, Clone, Copy)]
pub struct AttemptId(i64);

/// Records that an attempt has begun.
pub async fn begin(
    db: &DatabaseConnection,
    username: &str,
    source_ip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<AttemptId, ServiceError> {
    let row = login_attempts::ActiveModel {
        username: Set(username.to_string()),
        source_ip: Set(source_ip.map(str::to_string)),
        started_at: Set(now),
        outcome: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(AttemptId(row.id))
}

/// How long this attempt must wait, counting every other recent attempt on
/// the same account, and from the same address. Each attempt is committed
/// before it counts, so of two attempts at once the later to count sees the
/// other, on either database.
pub async fn wait(
    db: &DatabaseConnection,
    attempt: AttemptId,
    username: &str,
    source_ip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Duration>, ServiceError> {
    let mut wait = wait_for(
        db,
        attempt,
        &PER_ACCOUNT,
        login_attempts::Column::Username,
        username,
        now,
    )
    .await?;
    if let Some(ip) = source_ip {
        let by_address = wait_for(
            db,
            attempt,
            &PER_ADDRESS,
            login_attempts::Column::SourceIp,
            ip,
            now,
        )
        .await?;
        wait = wait.max(by_address);
    }
    Ok(wait)
}

async fn wait_for(
    db: &DatabaseConnection,
    attempt: AttemptId,
    policy: &ThrottlePolicy,
    column: login_attempts::Column,
    value: &str,
    now: DateTime<Utc>,
) -> Result<Option<Duration>, ServiceError> {
    let earlier: Vec<Attempt> = login_attempts::Entity::find()
        .filter(column.eq(value))
        .filter(login_attempts::Column::Id.ne(attempt.0))
        .filter(login_attempts::Column::StartedAt.gte(now - policy.window))
        // Refused attempts are left out here, not after the limit, so a
        // flood of them cannot push real failures out of view.
        .filter(
            Condition::any()
                .add(login_attempts::Column::Outcome.is_in(["failure", "success"]))
                .add(
                    Condition::all()
                        .add(login_attempts::Column::Outcome.is_null())
                        .add(login_attempts::Column::StartedAt.gte(now - ABANDONED_AFTER)),
                ),
        )
        .order_by_desc(login_attempts::Column::Id)
        .limit(LOOK_BACK)
        .all(db)
        .await?
        .into_iter()
        .map(|row| Attempt {
            at: row.started_at,
            outcome: AttemptOutcome::parse(row.outcome.as_deref()),
        })
        .collect();
    Ok(policy.wait_after(&earlier, now))
}

/// Records how the attempt ended.
pub async fn finish(
    db: &DatabaseConnection,
    attempt: AttemptId,
    outcome: AttemptOutcome,
) -> Result<(), ServiceError> {
    login_attempts::Entity::update_many()
        .col_expr(
            login_attempts::Column::Outcome,
            sea_orm::sea_query::Expr::value(outcome.as_str()),
        )
        .filter(login_attempts::Column::Id.eq(attempt.0))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes attempts older than a day.
pub async fn purge_old(db: &DatabaseConnection) -> Result<(), ServiceError> {
    login_attempts::Entity::delete_many()
        .filter(login_attempts::Column::StartedAt.lt(Utc::now() - KEPT_FOR))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::address_key;

    #[test]
    fn ipv6_clients_are_counted_by_their_slash_64() {
        let a = address_key("2001:db8:1:2:aaaa::1".parse().expect("ip"));
        let b = address_key("2001:db8:1:2:bbbb::9".parse().expect("ip"));
        assert_eq!(a, b);
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(
            address_key("::ffff:10.0.0.1".parse().expect("ip")),
            "10.0.0.1"
        );
        assert_eq!(address_key("10.0.0.1".parse().expect("ip")), "10.0.0.1");
    }
}
