//! When a feed is checked next: pure rules over the refresh result, the policy and `now`.
//!
//! Owns the interval arithmetic: a feed is polled about as often as it publishes (from the dates of
//! its newest items), within the configured minimum and maximum; a quiet feed (304s) slowly stretches
//! towards the maximum; errors back off exponentially up to a cap and recover on success; server
//! hints (`<ttl>`, Cache-Control max-age, Expires, Retry-After) are lower bounds; jitter spreads feeds
//! apart. Never: reads the clock, randomness, the config file or the database; `now`, the policy and
//! the jitter draw are arguments.

mod hosts;

pub use hosts::{HostBudget, HostLimits};

use chrono::{DateTime, Duration, Utc};

use crate::config::ScheduleConfig;

/// The schedule tunables, in the units the arithmetic needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulePolicy {
    /// Interval of a feed whose rate is unknown.
    pub interval: Duration,
    pub min_interval: Duration,
    pub max_interval: Duration,
    pub max_backoff: Duration,
    /// Extra delay of up to this percentage of the interval.
    pub jitter_percent: u32,
}

impl From<&ScheduleConfig> for SchedulePolicy {
    fn from(c: &ScheduleConfig) -> Self {
        let secs = |s: u64| Duration::seconds(s.min(i64::MAX as u64 / 1000) as i64);
        Self {
            interval: secs(c.interval_secs),
            min_interval: secs(c.min_interval_secs),
            max_interval: secs(c.max_interval_secs),
            max_backoff: secs(c.max_backoff_secs),
            jitter_percent: c.jitter_percent,
        }
    }
}

/// What the refresh that just ended means for the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Result {
    /// A new document was read; `rate` is the interval its items' dates suggest, if they tell.
    Fetched { rate: Option<Duration> },
    /// 304, or a 200 with the same bytes as last time.
    Unchanged,
    /// The feed failed; `consecutive_errors` counts this failure too.
    Failed { consecutive_errors: u32 },
}

/// Server-side lower bounds on the next check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hints {
    /// Retry-After as an instant.
    pub retry_after: Option<DateTime<Utc>>,
    /// Cache-Control max-age or Expires, as an instant.
    pub fresh_until: Option<DateTime<Utc>>,
    /// RSS `<ttl>`, in minutes.
    pub ttl_mins: Option<u32>,
}

/// The decision: when to check, and the interval to remember for next time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Next {
    pub at: DateTime<Utc>,
    pub interval: Duration,
}

/// Longest any server hint may push a check out: a week.
const MAX_HINT: Duration = Duration::days(7);

/// A quiet feed's interval grows by this factor (in percent) per unchanged poll.
const QUIET_STRETCH_PERCENT: i64 = 125;

/// The interval the dates of a document's items suggest: the mean gap between its newest items
/// (at most 20, only those no later than `now`), or `None` with fewer than two distinct dates.
pub fn publishing_interval(dates: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<Duration> {
    let mut d: Vec<DateTime<Utc>> = dates.iter().copied().filter(|t| *t <= now).collect();
    d.sort_unstable_by(|a, b| b.cmp(a));
    d.dedup();
    d.truncate(20);
    if d.len() < 2 {
        return None;
    }
    let span = *d.first()? - *d.last()?;
    Some(span / (d.len() as i32 - 1))
}

/// The next check of a feed. `previous` is the interval remembered from the last refresh;
/// `jitter` is a draw in `[0, 1)`.
pub fn next_check(
    policy: &SchedulePolicy,
    result: Result,
    previous: Option<Duration>,
    hints: &Hints,
    jitter: f64,
    now: DateTime<Utc>,
) -> Next {
    let clamp = |d: Duration| d.clamp(policy.min_interval, policy.max_interval);
    let current = previous.map_or(policy.interval, clamp);
    let (interval, wait) = match result {
        Result::Fetched { rate } => {
            let i = rate.map_or(current, clamp);
            (i, i)
        }
        Result::Unchanged => {
            let i = clamp(current * QUIET_STRETCH_PERCENT as i32 / 100);
            (i, i)
        }
        Result::Failed { consecutive_errors } => {
            let doublings = consecutive_errors.saturating_sub(1).min(20);
            let backoff = current
                .checked_mul(1 << doublings)
                .unwrap_or(policy.max_backoff)
                .min(policy.max_backoff);
            (
                current,
                backoff.max(policy.min_interval.min(policy.max_backoff)),
            )
        }
    };
    let jitter = jitter.clamp(0.0, 1.0);
    let extra_ms =
        (wait.num_milliseconds() as f64 * f64::from(policy.jitter_percent) / 100.0 * jitter) as i64;
    let mut at = now + wait + Duration::milliseconds(extra_ms);
    let limit = now + MAX_HINT;
    if let Some(ttl) = hints.ttl_mins {
        at = at.max((now + Duration::minutes(i64::from(ttl))).min(limit));
    }
    for bound in [hints.fresh_until, hints.retry_after].into_iter().flatten() {
        at = at.max(bound.min(limit));
    }
    Next { at, interval }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid")
            .with_timezone(&Utc)
    }

    fn policy() -> SchedulePolicy {
        SchedulePolicy {
            interval: Duration::minutes(15),
            min_interval: Duration::minutes(5),
            max_interval: Duration::hours(24),
            max_backoff: Duration::hours(6),
            jitter_percent: 0,
        }
    }

    #[test]
    fn next_check_table() {
        let now = at("2024-01-01T00:00:00Z");
        let none = Hints::default();
        let h = Duration::hours;
        let m = Duration::minutes;
        // (result, previous interval, hints, expected next check, expected interval)
        let cases: &[(Result, Option<Duration>, Hints, &str, Duration)] = &[
            // Unknown rate: the default interval.
            (
                Result::Fetched { rate: None },
                None,
                none,
                "2024-01-01T00:15:00Z",
                m(15),
            ),
            // A busy feed: as often as it publishes, but not below the minimum.
            (
                Result::Fetched { rate: Some(m(10)) },
                None,
                none,
                "2024-01-01T00:10:00Z",
                m(10),
            ),
            (
                Result::Fetched { rate: Some(m(1)) },
                None,
                none,
                "2024-01-01T00:05:00Z",
                m(5),
            ),
            // A quiet feed: capped at the maximum.
            (
                Result::Fetched { rate: Some(h(72)) },
                None,
                none,
                "2024-01-02T00:00:00Z",
                h(24),
            ),
            // Unchanged: the interval stretches slowly, up to the maximum.
            (
                Result::Unchanged,
                Some(h(2)),
                none,
                "2024-01-01T02:30:00Z",
                Duration::minutes(150),
            ),
            (
                Result::Unchanged,
                Some(h(24)),
                none,
                "2024-01-02T00:00:00Z",
                h(24),
            ),
            // Errors: doubling from the current interval, capped, interval kept for recovery.
            (
                Result::Failed {
                    consecutive_errors: 1,
                },
                Some(m(30)),
                none,
                "2024-01-01T00:30:00Z",
                m(30),
            ),
            (
                Result::Failed {
                    consecutive_errors: 3,
                },
                Some(m(30)),
                none,
                "2024-01-01T02:00:00Z",
                m(30),
            ),
            (
                Result::Failed {
                    consecutive_errors: 40,
                },
                Some(m(30)),
                none,
                "2024-01-01T06:00:00Z",
                m(30),
            ),
            // Hints are lower bounds, capped at a week.
            (
                Result::Fetched { rate: None },
                None,
                Hints {
                    ttl_mins: Some(60),
                    ..none
                },
                "2024-01-01T01:00:00Z",
                m(15),
            ),
            (
                Result::Failed {
                    consecutive_errors: 1,
                },
                None,
                Hints {
                    retry_after: Some(at("2024-01-01T02:00:00Z")),
                    ..none
                },
                "2024-01-01T02:00:00Z",
                m(15),
            ),
            (
                Result::Unchanged,
                None,
                Hints {
                    fresh_until: Some(at("2024-01-01T03:00:00Z")),
                    ..none
                },
                "2024-01-01T03:00:00Z",
                Duration::seconds(1125),
            ),
            (
                Result::Fetched { rate: None },
                None,
                Hints {
                    ttl_mins: Some(u32::MAX),
                    ..none
                },
                "2024-01-08T00:00:00Z",
                m(15),
            ),
            (
                Result::Fetched { rate: None },
                None,
                Hints {
                    retry_after: Some(at("2030-01-01T00:00:00Z")),
                    ..none
                },
                "2024-01-08T00:00:00Z",
                m(15),
            ),
        ];
        for (result, previous, hints, want_at, want_interval) in cases {
            let next = next_check(&policy(), *result, *previous, hints, 0.0, now);
            assert_eq!(next.at, at(want_at), "{result:?} {previous:?} {hints:?}");
            assert_eq!(next.interval, *want_interval, "{result:?} {previous:?}");
        }
    }

    #[test]
    fn jitter_adds_at_most_its_share() {
        let mut p = policy();
        p.jitter_percent = 10;
        let now = at("2024-01-01T00:00:00Z");
        let r = Result::Fetched { rate: None };
        let lo = next_check(&p, r, None, &Hints::default(), 0.0, now).at;
        let hi = next_check(&p, r, None, &Hints::default(), 0.999, now).at;
        assert_eq!(lo, at("2024-01-01T00:15:00Z"));
        assert!(hi > lo && hi <= at("2024-01-01T00:16:30Z"), "{hi}");
    }

    #[test]
    fn publishing_interval_from_item_dates() {
        let now = at("2024-01-01T12:00:00Z");
        let dates = [
            at("2024-01-01T11:00:00Z"),
            at("2024-01-01T10:00:00Z"),
            at("2024-01-01T09:00:00Z"),
            at("2024-01-01T09:00:00Z"),
            at("2030-01-01T00:00:00Z"),
        ];
        assert_eq!(publishing_interval(&dates, now), Some(Duration::hours(1)));
        assert_eq!(publishing_interval(&dates[..1], now), None);
        assert_eq!(publishing_interval(&[], now), None);
    }
}
