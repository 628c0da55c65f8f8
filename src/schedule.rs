//! When a feed is checked next: pure rules over the refresh result, the policy and `now`.
//!
//! Owns the next-check arithmetic (normal interval, exponential error backoff up to a cap, server
//! hints such as Retry-After and `<ttl>` as lower bounds). Never: reads the clock, the config file or
//! the database; `now` and the policy are arguments.

use chrono::{DateTime, Duration, Utc};

use crate::config::ScheduleConfig;

/// The schedule tunables, in the units the arithmetic needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulePolicy {
    pub interval: Duration,
    pub max_backoff: Duration,
}

impl From<&ScheduleConfig> for SchedulePolicy {
    fn from(c: &ScheduleConfig) -> Self {
        Self {
            interval: Duration::seconds(c.interval_secs as i64),
            max_backoff: Duration::seconds(c.max_backoff_secs as i64),
        }
    }
}

/// What the refresh that just ended means for the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Result {
    /// The feed answered (200 or 304).
    Healthy,
    /// The feed failed; `consecutive_errors` counts this failure too.
    Failed { consecutive_errors: u32 },
}

/// Server-side lower bounds on the next check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hints {
    /// Retry-After as an instant.
    pub retry_after: Option<DateTime<Utc>>,
    /// RSS `<ttl>`, in minutes.
    pub ttl_mins: Option<u32>,
}

/// Longest any server hint may push a check out: a week.
const MAX_HINT: i64 = 7 * 86400;

/// The next time to check a feed.
pub fn next_check(
    policy: &SchedulePolicy,
    result: Result,
    hints: &Hints,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let base = match result {
        Result::Healthy => policy.interval,
        Result::Failed { consecutive_errors } => {
            let doublings = consecutive_errors.saturating_sub(1).min(30);
            let secs = policy
                .interval
                .num_seconds()
                .saturating_mul(1i64 << doublings);
            Duration::seconds(secs.min(policy.max_backoff.num_seconds()))
        }
    };
    let mut next = now + base;
    if let Some(ttl) = hints.ttl_mins {
        let ttl = Duration::seconds((i64::from(ttl) * 60).min(MAX_HINT));
        next = next.max(now + ttl);
    }
    if let Some(ra) = hints.retry_after {
        next = next.max(ra.min(now + Duration::seconds(MAX_HINT)));
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[test]
    fn next_check_table() {
        let policy = SchedulePolicy {
            interval: Duration::minutes(15),
            max_backoff: Duration::hours(6),
        };
        let now = at("2024-01-01T00:00:00Z");
        let none = Hints::default();
        let cases: &[(Result, Hints, &str)] = &[
            (Result::Healthy, none, "2024-01-01T00:15:00Z"),
            (
                Result::Failed {
                    consecutive_errors: 1,
                },
                none,
                "2024-01-01T00:15:00Z",
            ),
            (
                Result::Failed {
                    consecutive_errors: 3,
                },
                none,
                "2024-01-01T01:00:00Z",
            ),
            (
                Result::Failed {
                    consecutive_errors: 50,
                },
                none,
                "2024-01-01T06:00:00Z",
            ),
            (
                Result::Healthy,
                Hints {
                    ttl_mins: Some(60),
                    retry_after: None,
                },
                "2024-01-01T01:00:00Z",
            ),
            (
                Result::Failed {
                    consecutive_errors: 1,
                },
                Hints {
                    ttl_mins: None,
                    retry_after: Some(at("2024-01-01T02:00:00Z")),
                },
                "2024-01-01T02:00:00Z",
            ),
            (
                Result::Healthy,
                Hints {
                    ttl_mins: Some(u32::MAX),
                    retry_after: None,
                },
                "2024-01-08T00:00:00Z",
            ),
        ];
        for (result, hints, want) in cases {
            assert_eq!(
                next_check(&policy, *result, hints, now),
                at(want),
                "{result:?} {hints:?}"
            );
        }
    }
}
