//! Per-host politeness: how many requests one host may have in flight, how far apart their starts
//! must be, and whether the host asked to be left alone (429/503).
//!
//! Pure bookkeeping over `now`: the daemon asks `try_start` before fetching and calls `finish`
//! after; a feed whose host has no room is deferred to the instant `try_start` names, which is not
//! an error. Never: sleeps, reads the clock or touches the network.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use crate::config::PolitenessConfig;

/// One host's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLimits {
    pub concurrency: usize,
    pub min_spacing: Duration,
}

#[derive(Debug, Clone)]
struct HostState {
    in_flight: usize,
    /// Earliest start of the next request.
    next_start: DateTime<Utc>,
    /// Deferred feeds are handed successive slots from here, so they do not all return at once.
    reserved_until: DateTime<Utc>,
    throttled_until: Option<DateTime<Utc>>,
}

/// The budgets of every host the daemon talks to.
#[derive(Debug, Clone)]
pub struct HostBudget {
    default: HostLimits,
    overrides: HashMap<String, HostLimits>,
    hosts: HashMap<String, HostState>,
    throttle: Duration,
}

/// Shortest wait handed to a feed deferred because its host is at its concurrency limit.
const BUSY_RETRY: Duration = Duration::milliseconds(500);

impl HostBudget {
    /// Budgets from `[politeness]`.
    pub fn new(cfg: &PolitenessConfig) -> Self {
        let ms = |v: u64| Duration::milliseconds(v.min(i64::MAX as u64 / 4) as i64);
        let default = HostLimits {
            concurrency: cfg.per_host_concurrency.max(1),
            min_spacing: ms(cfg.per_host_min_spacing_ms),
        };
        let overrides = cfg
            .hosts
            .iter()
            .map(|h| {
                (
                    h.host.to_ascii_lowercase(),
                    HostLimits {
                        concurrency: h.concurrency.unwrap_or(default.concurrency).max(1),
                        min_spacing: h.min_spacing_ms.map_or(default.min_spacing, ms),
                    },
                )
            })
            .collect();
        Self {
            default,
            overrides,
            hosts: HashMap::new(),
            throttle: Duration::seconds(cfg.throttle_secs.min(366 * 86400) as i64),
        }
    }

    /// Takes new limits (a config reload); in-flight counts and throttles are kept.
    pub fn set_limits(&mut self, cfg: &PolitenessConfig) {
        let fresh = HostBudget::new(cfg);
        self.default = fresh.default;
        self.overrides = fresh.overrides;
        self.throttle = fresh.throttle;
    }

    /// The limits that apply to `host`.
    pub fn limits(&self, host: &str) -> HostLimits {
        self.overrides.get(host).copied().unwrap_or(self.default)
    }

    /// Starts a request to `host` if its budget allows; otherwise the instant the caller should
    /// try again (a reserved slot: successive refusals get successive slots).
    pub fn try_start(&mut self, host: &str, now: DateTime<Utc>) -> Result<(), DateTime<Utc>> {
        let limits = self.limits(host);
        let st = self.hosts.entry(host.to_owned()).or_insert(HostState {
            in_flight: 0,
            next_start: now,
            reserved_until: now,
            throttled_until: None,
        });
        let blocked_until = match st.throttled_until {
            Some(t) if t > now => Some(t),
            _ => {
                if st.in_flight >= limits.concurrency {
                    Some(now + limits.min_spacing.max(BUSY_RETRY))
                } else if st.next_start > now {
                    Some(st.next_start)
                } else {
                    None
                }
            }
        };
        match blocked_until {
            None => {
                st.in_flight += 1;
                st.next_start = now + limits.min_spacing;
                st.reserved_until = st.reserved_until.max(st.next_start);
                Ok(())
            }
            Some(t) => {
                let slot = st.reserved_until.max(t);
                st.reserved_until = slot + limits.min_spacing.max(Duration::milliseconds(1));
                Err(slot)
            }
        }
    }

    /// Books one more request under a slot the caller already holds on `host` (an article page
    /// fetched by the refresh of a feed on the same host): returns when it may start, after the
    /// host's spacing and any throttle, and moves the host's next start past it.
    pub fn next_under_held_slot(&mut self, host: &str, now: DateTime<Utc>) -> DateTime<Utc> {
        let limits = self.limits(host);
        let st = self.hosts.entry(host.to_owned()).or_insert(HostState {
            in_flight: 1,
            next_start: now,
            reserved_until: now,
            throttled_until: None,
        });
        let mut at = st.next_start.max(now);
        if let Some(t) = st.throttled_until.filter(|t| *t > at) {
            at = t;
        }
        st.next_start = at + limits.min_spacing;
        st.reserved_until = st.reserved_until.max(st.next_start);
        at
    }

    /// A request to `host` ended.
    pub fn finish(&mut self, host: &str) {
        if let Some(st) = self.hosts.get_mut(host) {
            st.in_flight = st.in_flight.saturating_sub(1);
        }
    }

    /// The host asked to be left alone (429/503): until `until`, or for `throttle_secs` when it
    /// did not say.
    pub fn throttle(&mut self, host: &str, until: Option<DateTime<Utc>>, now: DateTime<Utc>) {
        let until = until.unwrap_or(now + self.throttle);
        if let Some(st) = self.hosts.get_mut(host) {
            st.throttled_until = Some(st.throttled_until.map_or(until, |t| t.max(until)));
        }
    }

    /// Forgets idle hosts whose budget no longer matters, so memory follows the hosts in use.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        self.hosts.retain(|_, st| {
            st.in_flight > 0
                || st.reserved_until > now
                || st.throttled_until.is_some_and(|t| t > now)
        });
    }

    /// Hosts currently tracked.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// True when no host is tracked.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HostOverride;

    #[test]
    fn requests_under_a_held_slot_keep_the_spacing() {
        let mut b = budget();
        assert_eq!(b.try_start("h", t(0)), Ok(()));
        let spacing = b.limits("h").min_spacing;
        let first = b.next_under_held_slot("h", t(0));
        assert_eq!(first, t(0) + spacing);
        let second = b.next_under_held_slot("h", t(0));
        assert_eq!(second, first + spacing);
        // The held slot is still the only one in flight.
        b.finish("h");
        assert!(b.try_start("h", second + spacing).is_ok());
    }

    fn t(ms: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::milliseconds(ms)
    }

    fn budget() -> HostBudget {
        HostBudget::new(&PolitenessConfig {
            per_host_concurrency: 2,
            per_host_min_spacing_ms: 1000,
            throttle_secs: 60,
            hosts: vec![HostOverride {
                host: "fast.test".into(),
                concurrency: Some(10),
                min_spacing_ms: Some(0),
            }],
        })
    }

    #[test]
    fn spacing_and_concurrency_per_host() {
        let mut b = budget();
        assert_eq!(b.try_start("a.test", t(0)), Ok(()));
        // Too soon: the next slot is a spacing away, and the one after another spacing.
        assert_eq!(b.try_start("a.test", t(10)), Err(t(1000)));
        assert_eq!(b.try_start("a.test", t(20)), Err(t(2000)));
        // Other hosts are not affected.
        assert_eq!(b.try_start("b.test", t(20)), Ok(()));
        assert_eq!(b.try_start("a.test", t(3000)), Ok(()));
        // Two in flight: at the limit even though spacing has passed.
        assert!(b.try_start("a.test", t(5000)).is_err());
        b.finish("a.test");
        assert_eq!(b.try_start("a.test", t(7000)), Ok(()));
    }

    #[test]
    fn overrides_apply_to_their_host() {
        let mut b = budget();
        for i in 0..10 {
            assert_eq!(b.try_start("fast.test", t(i)), Ok(()), "request {i}");
        }
        assert!(b.try_start("fast.test", t(11)).is_err());
        assert_eq!(b.limits("fast.test").concurrency, 10);
        assert_eq!(b.limits("other.test").concurrency, 2);
    }

    #[test]
    fn throttled_hosts_wait_for_retry_after_or_the_default() {
        let mut b = budget();
        assert_eq!(b.try_start("a.test", t(0)), Ok(()));
        b.finish("a.test");
        b.throttle("a.test", Some(t(120_000)), t(0));
        assert_eq!(b.try_start("a.test", t(5000)), Err(t(120_000)));
        assert_eq!(b.try_start("a.test", t(121_000)), Ok(()));
        b.finish("a.test");
        b.throttle("a.test", None, t(121_000));
        assert!(b.try_start("a.test", t(122_000)).is_err());
        assert_eq!(b.try_start("a.test", t(190_000)), Ok(()));
    }

    #[test]
    fn prune_forgets_idle_hosts() {
        let mut b = budget();
        assert_eq!(b.try_start("a.test", t(0)), Ok(()));
        b.finish("a.test");
        b.prune(t(500));
        assert_eq!(b.len(), 1, "still inside its spacing");
        b.prune(t(5000));
        assert!(b.is_empty());
    }
}
