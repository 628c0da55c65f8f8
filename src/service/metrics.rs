//! The daemon's counters, rendered in the Prometheus text format under `wirefeed_`.
//!
//! Label sets are small and fixed: fetch outcome (7 values), HTTP status class (6 values) and
//! error kind (the [`ErrorKind`] spellings). Counters are atomics bumped by the daemon; gauges
//! that live in the database (feeds by state, scheduler lag) are read when scraped. The same
//! counters feed the daemon's periodic summary line, as differences between two [`Snapshot`]s.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::model::{ErrorKind, Outcome};

/// Fetch outcomes, the label values of `wirefeed_fetches_total`: every [`Outcome`], so each has
/// its own counter (none can fall into another's).
pub const OUTCOMES: [Outcome; 7] = [
    Outcome::Fetched,
    Outcome::Unchanged,
    Outcome::NotModified,
    Outcome::Gone,
    Outcome::RateLimited,
    Outcome::Error,
    Outcome::Deferred,
];

/// The counter row of an outcome. The match is exhaustive: a new outcome does not compile until
/// it has a row.
fn row(outcome: Outcome) -> usize {
    match outcome {
        Outcome::Fetched => 0,
        Outcome::Unchanged => 1,
        Outcome::NotModified => 2,
        Outcome::Gone => 3,
        Outcome::RateLimited => 4,
        Outcome::Error => 5,
        Outcome::Deferred => 6,
    }
}

/// HTTP status classes; `none` when no response came.
const CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "none"];

/// Upper bounds of the fetch-duration histogram, in seconds.
const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// What the daemon counts.
#[derive(Debug, Default)]
pub struct Metrics {
    fetches: [[AtomicU64; CLASSES.len()]; OUTCOMES.len()],
    duration_buckets: [AtomicU64; BUCKETS.len()],
    duration_count: AtomicU64,
    duration_sum_ms: AtomicU64,
    bytes: AtomicU64,
    stories_new: AtomicU64,
    stories_updated: AtomicU64,
    reprints: AtomicU64,
    merges: AtomicU64,
    tags: AtomicU64,
    database_errors: AtomicU64,
    /// Failed refreshes by kind, in [`ErrorKind::ALL`] order.
    errors: [AtomicU64; ErrorKind::ALL.len()],
    /// Unix milliseconds of the scheduler loop's last turn (0: not started).
    pub loop_at_ms: AtomicI64,
    /// Whether the daemon's writes succeed.
    pub writes: WriteHealth,
}

/// The daemon's kinds of write, each of which can fail on its own (a full disk fails them all;
/// a lock conflict only one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// A refresh's stories and feed state.
    Stories,
    /// The batched states of finished feeds.
    FeedStates,
    /// Claiming due feeds (the scheduler's own write).
    Claims,
}

impl Write {
    const ALL: [Write; 3] = [Write::Stories, Write::FeedStates, Write::Claims];

    fn name(self) -> &'static str {
        match self {
            Write::Stories => "storing stories",
            Write::FeedStates => "storing feed states",
            Write::Claims => "claiming feeds",
        }
    }
}

/// The outcome of each kind of write's last attempt: a write that failed stays failed until
/// one of its kind succeeds again, so health reports a full disk or a lost database for as long
/// as it lasts, and recovers by itself.
#[derive(Debug, Default)]
pub struct WriteHealth {
    /// Per kind: Unix milliseconds of the first failure of the current run of failures (0: the
    /// last attempt succeeded).
    failing_since_ms: [AtomicI64; 3],
    /// Per kind: the last failure's message.
    last_error: std::sync::Mutex<[Option<String>; 3]>,
}

impl WriteHealth {
    /// A write of this kind succeeded.
    pub fn ok(&self, kind: Write) {
        self.failing_since_ms[kind as usize].store(0, Ordering::Relaxed);
    }

    /// A write of this kind failed with `error`.
    pub fn failed(&self, kind: Write, error: &str) {
        let now = chrono::Utc::now().timestamp_millis().max(1);
        let _ = self.failing_since_ms[kind as usize].compare_exchange(
            0,
            now,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        self.last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)[kind as usize] =
            Some(error.to_owned());
    }

    /// `Err` with what fails and since when while any kind's last attempt failed.
    pub fn check(&self) -> Result<(), String> {
        let errors = self
            .last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let now = chrono::Utc::now().timestamp_millis();
        let failing: Vec<String> = Write::ALL
            .iter()
            .filter_map(|k| {
                let since = self.failing_since_ms[*k as usize].load(Ordering::Relaxed);
                (since != 0).then(|| {
                    format!(
                        "{} fails (for {} s): {}",
                        k.name(),
                        (now - since).max(0) / 1000,
                        errors[*k as usize].as_deref().unwrap_or("unknown error")
                    )
                })
            })
            .collect();
        if failing.is_empty() {
            Ok(())
        } else {
            Err(failing.join("; "))
        }
    }
}

/// The database's gauges, owned by the store (which reads them) and re-exported here.
pub use crate::store::DbGauges;

impl Metrics {
    /// One fetch (or deferral) ended.
    pub fn fetch(&self, outcome: Outcome, status: Option<u16>, duration_ms: i64, bytes: i64) {
        let o = row(outcome);
        let c = match status {
            Some(s @ 100..=599) => usize::from(s / 100) - 1,
            _ => 5,
        };
        self.fetches[o][c].fetch_add(1, Ordering::Relaxed);
        if outcome == Outcome::Deferred {
            return;
        }
        let secs = duration_ms.max(0) as f64 / 1000.0;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.duration_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.duration_count.fetch_add(1, Ordering::Relaxed);
        self.duration_sum_ms
            .fetch_add(duration_ms.max(0) as u64, Ordering::Relaxed);
        self.bytes.fetch_add(bytes.max(0) as u64, Ordering::Relaxed);
    }

    /// A refresh's stories were written.
    pub fn stored(&self, new: u64, updated: u64, reprints: u64, tags: u64) {
        self.stories_new.fetch_add(new, Ordering::Relaxed);
        self.stories_updated.fetch_add(updated, Ordering::Relaxed);
        self.reprints.fetch_add(reprints, Ordering::Relaxed);
        self.tags.fetch_add(tags, Ordering::Relaxed);
    }

    /// Stored clusters merged into another (a new story bridged them).
    pub fn merged(&self, n: u64) {
        self.merges.fetch_add(n, Ordering::Relaxed);
    }

    /// A refresh's write failed (counted as an error of kind `database` too).
    pub fn database_error(&self) {
        self.database_errors.fetch_add(1, Ordering::Relaxed);
        self.error(ErrorKind::Database);
    }

    /// A refresh failed with this kind of error.
    pub fn error(&self, kind: ErrorKind) {
        self.errors[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The counters the summary line reports, as they stand now.
    pub fn snapshot(&self) -> Snapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let outcome = |o: Outcome| self.fetches[row(o)].iter().map(get).sum::<u64>();
        Snapshot {
            polled: OUTCOMES
                .iter()
                .filter(|o| **o != Outcome::Deferred)
                .map(|o| outcome(*o))
                .sum(),
            fetched: outcome(Outcome::Fetched),
            unchanged: outcome(Outcome::Unchanged) + outcome(Outcome::NotModified),
            deferred: outcome(Outcome::Deferred),
            stories_new: get(&self.stories_new),
            stories_updated: get(&self.stories_updated),
            errors: ErrorKind::ALL
                .iter()
                .map(|k| (*k, get(&self.errors[*k as usize])))
                .collect(),
        }
    }

    /// New stories stored since start.
    pub fn stories_new(&self) -> u64 {
        self.stories_new.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition.
    pub fn render(&self, db: &DbGauges, ready: bool) -> String {
        let mut out = String::with_capacity(4096);
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        out.push_str("# HELP wirefeed_fetches_total Feed fetches by outcome and HTTP status class.\n# TYPE wirefeed_fetches_total counter\n");
        for (o, outcome) in OUTCOMES.iter().enumerate() {
            for (c, class) in CLASSES.iter().enumerate() {
                let n = get(&self.fetches[o][c]);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "wirefeed_fetches_total{{outcome=\"{outcome}\",status_class=\"{class}\"}} {n}"
                    );
                }
            }
        }
        let total = |pred: &dyn Fn(usize) -> bool| -> u64 {
            (0..OUTCOMES.len())
                .filter(|o| pred(*o))
                .map(|o| self.fetches[o].iter().map(get).sum::<u64>())
                .sum()
        };
        let polled = total(&|o| OUTCOMES[o] != Outcome::Deferred);
        let not_modified = total(&|o| OUTCOMES[o] == Outcome::NotModified);
        out.push_str("# HELP wirefeed_not_modified_ratio Share of polls answered 304 Not Modified since start.\n# TYPE wirefeed_not_modified_ratio gauge\n");
        let ratio = if polled == 0 {
            0.0
        } else {
            not_modified as f64 / polled as f64
        };
        let _ = writeln!(out, "wirefeed_not_modified_ratio {ratio}");
        out.push_str("# HELP wirefeed_fetch_duration_seconds Time per feed refresh before its stories are stored: fetch, parse, normalize, article pages.\n# TYPE wirefeed_fetch_duration_seconds histogram\n");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "wirefeed_fetch_duration_seconds_bucket{{le=\"{b}\"}} {}",
                get(&self.duration_buckets[i])
            );
        }
        let count = get(&self.duration_count);
        let _ = writeln!(
            out,
            "wirefeed_fetch_duration_seconds_bucket{{le=\"+Inf\"}} {count}\nwirefeed_fetch_duration_seconds_sum {}\nwirefeed_fetch_duration_seconds_count {count}",
            get(&self.duration_sum_ms) as f64 / 1000.0
        );
        let counters = [
            (
                "fetch_bytes_total",
                "Bytes of feed bodies received (after decompression).",
                get(&self.bytes),
            ),
            (
                "stories_stored_total",
                "New stories stored.",
                get(&self.stories_new),
            ),
            (
                "stories_updated_total",
                "Stories updated in place (a new version).",
                get(&self.stories_updated),
            ),
            (
                "reprints_found_total",
                "New stories that joined an existing reprint cluster.",
                get(&self.reprints),
            ),
            (
                "cluster_merges_total",
                "Reprint clusters merged into another because a new story bridged them.",
                get(&self.merges),
            ),
            (
                "tags_written_total",
                "Country, region and topic tags written.",
                get(&self.tags),
            ),
            (
                "database_errors_total",
                "Refreshes whose database write failed.",
                get(&self.database_errors),
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP wirefeed_{name} {help}\n# TYPE wirefeed_{name} counter\nwirefeed_{name} {v}"
            );
        }
        out.push_str("# HELP wirefeed_fetch_errors_total Failed refreshes by error kind.\n# TYPE wirefeed_fetch_errors_total counter\n");
        for kind in ErrorKind::ALL {
            let n = get(&self.errors[*kind as usize]);
            if n > 0 {
                let _ = writeln!(out, "wirefeed_fetch_errors_total{{kind=\"{kind}\"}} {n}");
            }
        }
        let _ = writeln!(
            out,
            "# HELP wirefeed_ready 1 when /readyz would answer 200: the database answers, writes succeed, the scheduler turns.\n# TYPE wirefeed_ready gauge\nwirefeed_ready {}",
            u8::from(ready)
        );
        out.push_str("# HELP wirefeed_feeds Feeds by state.\n# TYPE wirefeed_feeds gauge\n");
        for (state, n) in &db.feeds_by_state {
            let _ = writeln!(out, "wirefeed_feeds{{state=\"{state}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP wirefeed_scheduler_lag_seconds How long the most overdue active feed has waited past its check time.\n# TYPE wirefeed_scheduler_lag_seconds gauge\nwirefeed_scheduler_lag_seconds {}",
            db.scheduler_lag_secs
        );
        out
    }
}

/// The counters a summary line reports, at one instant; [`Snapshot::since`] gives what happened
/// between two of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Feeds polled (every outcome but deferred).
    pub polled: u64,
    /// Polls that read a new body.
    pub fetched: u64,
    /// Polls answered 304, or with the body already read.
    pub unchanged: u64,
    /// Feeds held back by their host's budget.
    pub deferred: u64,
    pub stories_new: u64,
    pub stories_updated: u64,
    /// Failed refreshes by kind, every kind listed.
    pub errors: Vec<(ErrorKind, u64)>,
}

impl Snapshot {
    /// What happened since `earlier`.
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        let errors = self
            .errors
            .iter()
            .map(|(k, n)| {
                let before = earlier
                    .errors
                    .iter()
                    .find(|(e, _)| e == k)
                    .map_or(0, |(_, n)| *n);
                (*k, n.saturating_sub(before))
            })
            .collect();
        Snapshot {
            polled: self.polled.saturating_sub(earlier.polled),
            fetched: self.fetched.saturating_sub(earlier.fetched),
            unchanged: self.unchanged.saturating_sub(earlier.unchanged),
            deferred: self.deferred.saturating_sub(earlier.deferred),
            stories_new: self.stories_new.saturating_sub(earlier.stories_new),
            stories_updated: self.stories_updated.saturating_sub(earlier.stories_updated),
            errors,
        }
    }

    /// Failed refreshes of every kind.
    pub fn error_count(&self) -> u64 {
        self.errors.iter().map(|(_, n)| n).sum()
    }

    /// The kinds that occurred, most frequent first: `timeout=3 dns=1`, or `none`.
    pub fn errors_by_kind(&self) -> String {
        let mut seen: Vec<&(ErrorKind, u64)> = self.errors.iter().filter(|(_, n)| *n > 0).collect();
        seen.sort_by_key(|e| std::cmp::Reverse(e.1));
        if seen.is_empty() {
            return "none".to_owned();
        }
        seen.iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_health_fails_until_the_same_kind_succeeds() {
        let h = WriteHealth::default();
        assert!(h.check().is_ok());
        h.failed(Write::Stories, "database or disk is full");
        h.failed(Write::Claims, "pool timed out");
        let e = h.check().expect_err("failing");
        assert!(e.contains("storing stories fails"), "{e}");
        assert!(e.contains("database or disk is full"), "{e}");
        // Another kind succeeding does not hide the failure.
        h.ok(Write::FeedStates);
        h.ok(Write::Claims);
        assert!(h.check().is_err());
        h.ok(Write::Stories);
        assert!(h.check().is_ok());
    }

    #[test]
    fn every_outcome_has_its_own_row() {
        for (i, o) in OUTCOMES.iter().enumerate() {
            assert_eq!(row(*o), i, "{o}");
        }
        assert_eq!(OUTCOMES.len(), Outcome::ALL.len());
        let m = Metrics::default();
        m.fetch(Outcome::Gone, Some(410), 10, 0);
        let text = m.render(&DbGauges::default(), false);
        assert!(text.contains("wirefeed_fetches_total{outcome=\"gone\",status_class=\"4xx\"} 1"));
        assert!(!text.contains("outcome=\"error\""), "{text}");
    }

    #[test]
    fn renders_counters_with_fixed_labels() {
        let m = Metrics::default();
        m.fetch(Outcome::Fetched, Some(200), 120, 5000);
        m.fetch(Outcome::NotModified, Some(304), 20, 0);
        m.fetch(Outcome::Error, None, 30_000, 0);
        m.fetch(Outcome::Deferred, None, 0, 0);
        m.stored(3, 1, 2, 9);
        m.error(ErrorKind::Timeout);
        m.database_error();
        let text = m.render(
            &DbGauges {
                feeds_by_state: vec![("active".to_owned(), 4)],
                scheduler_lag_secs: 1.5,
                most_overdue: None,
            },
            true,
        );
        for line in [
            "wirefeed_ready 1",
            "wirefeed_fetches_total{outcome=\"fetched\",status_class=\"2xx\"} 1",
            "wirefeed_fetches_total{outcome=\"error\",status_class=\"none\"} 1",
            "wirefeed_not_modified_ratio 0.3333333333333333",
            "wirefeed_fetch_duration_seconds_count 3",
            "wirefeed_fetch_bytes_total 5000",
            "wirefeed_stories_stored_total 3",
            "wirefeed_reprints_found_total 2",
            "wirefeed_tags_written_total 9",
            "wirefeed_feeds{state=\"active\"} 4",
            "wirefeed_scheduler_lag_seconds 1.5",
            "wirefeed_fetch_errors_total{kind=\"timeout\"} 1",
            "wirefeed_fetch_errors_total{kind=\"database\"} 1",
            "wirefeed_database_errors_total 1",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }

    #[test]
    fn a_snapshot_difference_is_what_happened_in_between() {
        let m = Metrics::default();
        m.fetch(Outcome::Fetched, Some(200), 10, 100);
        m.error(ErrorKind::Dns);
        let first = m.snapshot();
        assert_eq!(first.polled, 1);
        assert_eq!(first.errors_by_kind(), "dns=1");
        let quiet = m.snapshot().since(&first);
        assert_eq!(quiet.polled, 0);
        assert_eq!(quiet.error_count(), 0);
        assert_eq!(quiet.errors_by_kind(), "none");

        m.fetch(Outcome::NotModified, Some(304), 10, 0);
        m.fetch(Outcome::Unchanged, Some(200), 10, 0);
        m.fetch(Outcome::Deferred, None, 0, 0);
        m.fetch(Outcome::Error, None, 10, 0);
        m.fetch(Outcome::Error, None, 10, 0);
        m.fetch(Outcome::Error, Some(500), 10, 0);
        m.error(ErrorKind::Timeout);
        m.error(ErrorKind::Timeout);
        m.error(ErrorKind::Http5xx);
        m.stored(4, 2, 0, 0);
        let d = m.snapshot().since(&first);
        assert_eq!(d.polled, 5, "deferred feeds were not polled");
        assert_eq!(d.fetched, 0);
        assert_eq!(d.unchanged, 2);
        assert_eq!(d.deferred, 1);
        assert_eq!((d.stories_new, d.stories_updated), (4, 2));
        assert_eq!(d.error_count(), 3);
        assert_eq!(d.errors_by_kind(), "timeout=2 http_5xx=1");
    }
}
