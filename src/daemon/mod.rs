//! The running service: builds the app from a config, and runs the scheduler loop.
//!
//! Owns the shell around the pure core: the config snapshot a reload swaps (`Live`), claiming due
//! feeds under leases, the per-host budgets, the loop and its batching of feed states, `run
//! --once`, and shutdown (stop claiming, let in-flight refreshes finish within the grace period,
//! abandon the rest: an abandoned refresh's transaction never commits). One feed's refresh is
//! [`refresh`]; retention and index eviction are [`retention`]. One bad feed, item or date never
//! stops the loop. Never: parses, normalizes, tags or writes SQL itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

mod refresh;
mod retention;

use crate::config::{Config, Timings};
use crate::dedup::Matcher;
use crate::fetch::{FetchError, Fetcher};
use crate::model::{ErrorKind, FeedId, Outcome};
use crate::normalize::Rules;
use crate::pipeline::Pipeline;
use crate::schedule::{HostBudget, SchedulePolicy};
use crate::service::metrics::Write;
use crate::store::{Claim, FeedUpdate, Store, StoreError};
use refresh::Refreshed;

/// Why the app could not start. Each message carries its cause once (none is also offered as
/// `source()`, which would print it a second time in an error chain).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("HTTP client: {0}")]
    Fetch(FetchError),
    #[error("tagging: {0}")]
    Tag(crate::tag::TagError),
}

impl From<FetchError> for StartError {
    fn from(e: FetchError) -> StartError {
        StartError::Fetch(e)
    }
}

impl From<crate::tag::TagError> for StartError {
    fn from(e: crate::tag::TagError) -> StartError {
        StartError::Tag(e)
    }
}

/// One section of a config, for comparison.
fn section(c: &Config, name: &str) -> Option<serde_json::Value> {
    serde_json::to_value(c).ok()?.get(name).cloned()
}

/// How one refresh ended, for summaries and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedResult {
    pub feed_id: FeedId,
    pub outcome: Outcome,
    /// Why it failed; `None` when healthy.
    pub error_kind: Option<ErrorKind>,
    pub new_stories: u64,
}

/// Totals of `run --once`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub feeds: usize,
    pub fetched: usize,
    pub not_modified: usize,
    pub failed: usize,
    /// Held back by their host's budget (a throttled host): not fetched, not an error.
    pub deferred: usize,
    pub new_stories: u64,
    /// Active feeds the pass did not poll, each with the reason (a live daemon's lease, a host
    /// that takes no request within the pass's bound).
    pub skipped: Vec<(String, String)>,
}

impl RunSummary {
    fn add(&mut self, r: &FeedResult) {
        self.feeds += 1;
        self.new_stories += r.new_stories;
        match r.outcome {
            Outcome::Fetched => self.fetched += 1,
            Outcome::Unchanged | Outcome::NotModified => self.not_modified += 1,
            Outcome::Deferred => self.deferred += 1,
            Outcome::Gone | Outcome::RateLimited | Outcome::Error => self.failed += 1,
        }
    }
}

/// State writes are batched up to this many feeds...
const FLUSH_ROWS: usize = 256;
/// ...or this long.
const FLUSH_AFTER: Duration = Duration::from_millis(50);
/// Feed states kept for a later flush while the database fails writes; past this, the oldest
/// are dropped (their leases run out and those feeds are polled again then).
const MAX_PENDING: usize = 16 * FLUSH_ROWS;
/// How long the loop waits for a claim: a database that stops answering mid-query must not
/// stop the loop (and with it the watchdog).
const CLAIM_WITHIN: Duration = Duration::from_secs(15);
/// How long `run --once` waits, by default, for hosts' spacing and other daemons' leases.
pub const ONCE_MAX_WAIT: Duration = Duration::from_secs(300);

/// What a config reload replaces: the config and everything compiled from it. A refresh works on
/// one snapshot from start to end.
struct Live {
    config: Arc<Config>,
    fetcher: Fetcher,
    policy: SchedulePolicy,
    /// Normalization rules, compiled once per config.
    rules: Rules,
    /// Countries, regions and topics.
    tagger: crate::tag::Tagger,
    /// The config's durations.
    timings: Timings,
}

impl Live {
    fn new(config: Config) -> Result<Live, StartError> {
        Ok(Live {
            timings: Timings::of(&config),
            fetcher: Fetcher::new(&config.fetch)?,
            policy: SchedulePolicy::from(&config.schedule),
            rules: Rules::new(&config.normalize),
            tagger: crate::tag::Tagger::new(&config.regions, &config.topics)?,
            config: Arc::new(config),
        })
    }

    /// The document pipeline of this snapshot.
    fn pipeline(&self) -> Pipeline<'_> {
        Pipeline {
            rules: &self.rules,
            tagger: &self.tagger,
            max_items: self.config.fetch.max_items_per_feed,
        }
    }
}

/// Config sections a reload cannot apply to a running daemon.
const RESTART_SECTIONS: &[&str] = &["database", "log", "admin"];

struct Inner {
    live: std::sync::RwLock<Arc<Live>>,
    store: Store,
    hosts: Mutex<HostBudget>,
    /// This process's name on the leases it takes.
    owner: String,
    /// Reprint detection over recent stories (shared with other daemons through the database).
    matcher: Matcher,
    /// What the admin listener's /metrics shows.
    metrics: crate::service::metrics::Metrics,
    /// A retention round is under way.
    retention_running: std::sync::atomic::AtomicBool,
}

/// The wirefeed application: config, database and HTTP client, cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

/// The host part of a feed URL, lowercased (the key of the politeness budget).
fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default()
}

/// A draw in [0, 1) from the feed and the instant: jitter without a random number generator.
fn jitter(feed: FeedId, now: DateTime<Utc>) -> f64 {
    let mut h = blake3::Hasher::new();
    h.update(&feed.0.to_le_bytes());
    h.update(&now.timestamp_micros().to_le_bytes());
    let bytes = h.finalize();
    let mut x = [0u8; 8];
    x.copy_from_slice(&bytes.as_bytes()[..8]);
    (u64::from_le_bytes(x) >> 11) as f64 / (1u64 << 53) as f64
}

/// Says, for each config feed a permanent redirect moved, which line of the config file still
/// names the old address (the feed is polled at the new one meanwhile).
fn warn_moved(config: &Config, moved: &[crate::store::MovedFeed]) {
    for m in moved {
        let line = config.line_of(&m.config_url);
        let at = match (&config.path, line) {
            (Some(p), Some(n)) => format!("config {} line {n}", p.display()),
            (Some(p), None) => format!("config {}", p.display()),
            (None, _) => "config".to_owned(),
        };
        let when = m
            .moved_at
            .map_or_else(String::new, |t| format!(" on {}", t.format("%Y-%m-%d")));
        warn!(
            old_url = %m.config_url,
            new_url = %m.url,
            config_line = line,
            "{at}: feed {} moved to {} (permanent redirect{when}); update the url",
            m.config_url,
            m.url
        );
    }
}

impl App {
    /// Connects to the database, applies migrations and syncs the config's feeds.
    pub async fn build(config: Config) -> Result<App, StartError> {
        let store = Store::connect(&config.database).await?;
        store.migrate().await?;
        let moved = store.sync_config_feeds(&config.feeds, Utc::now()).await?;
        warn_moved(&config, &moved);
        let hosts = Mutex::new(HostBudget::new(&config.politeness));
        let matcher = Matcher::new(crate::dedup::MatchRules::from(&config.dedup));
        let since = Utc::now() - chrono::Duration::seconds(2 * matcher.rules().window_secs);
        let loaded = store.load_matcher(&matcher, since).await?;
        debug!(stories = loaded, "reprint index loaded");
        let owner = format!(
            "{}:{}:{:08x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "wirefeed".to_owned()),
            std::process::id(),
            (jitter(FeedId(0), Utc::now()) * f64::from(u32::MAX)) as u32
        );
        let live = std::sync::RwLock::new(Arc::new(Live::new(config)?));
        Ok(App {
            inner: Arc::new(Inner {
                live,
                store,
                hosts,
                owner,
                matcher,
                metrics: crate::service::metrics::Metrics::default(),
                retention_running: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }

    /// The database this app writes.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The configuration it runs on now.
    pub fn config(&self) -> Arc<Config> {
        self.live().config.clone()
    }

    fn live(&self) -> Arc<Live> {
        // A reload swaps the Arc whole; a poisoned lock still holds a complete one.
        self.inner
            .live
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Applies a new, validated configuration without a restart: feeds are synced (added ones
    /// polled, removed ones paused), and fetching, scheduling, politeness, normalization, tagging,
    /// reprint rules, retention and daemon timings take effect from the next refresh. Returns the
    /// changed sections that need a restart (database, log, admin listener).
    pub async fn reload(&self, new: Config) -> Result<Vec<String>, StartError> {
        let live = Live::new(new.clone())?;
        let moved = self
            .inner
            .store
            .sync_config_feeds(&new.feeds, Utc::now())
            .await?;
        warn_moved(&new, &moved);
        let old = self.config();
        let later: Vec<String> = RESTART_SECTIONS
            .iter()
            .filter(|s| section(&old, s) != section(&new, s))
            .map(|s| (*s).to_owned())
            .collect();
        self.hosts().set_limits(&new.politeness);
        self.inner
            .matcher
            .set_rules(crate::dedup::MatchRules::from(&new.dedup));
        *self
            .inner
            .live
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(live);
        Ok(later)
    }

    /// This process's name on the leases it takes.
    pub fn owner(&self) -> &str {
        &self.inner.owner
    }

    /// Its counters.
    pub fn metrics(&self) -> &crate::service::metrics::Metrics {
        &self.inner.metrics
    }

    /// The durations of the configuration it runs on now.
    pub fn timings(&self) -> Timings {
        self.live().timings
    }

    fn claim(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        pass_start: Option<DateTime<Utc>>,
    ) -> Claim<'_> {
        let lease = Timings::delta(self.live().timings.lease);
        Claim {
            owner: &self.inner.owner,
            now,
            due_by: if pass_start.is_some() {
                None
            } else {
                Some(now)
            },
            not_fetched_since: pass_start,
            lease_until: now + lease,
            limit: limit as i64,
        }
    }

    /// Polls every active feed once, due or not, and returns the totals; waits up to
    /// [`ONCE_MAX_WAIT`] for hosts' spacing and other daemons' leases (see
    /// [`App::run_once_within`]).
    pub async fn run_once(&self) -> Result<RunSummary, StoreError> {
        self.run_once_within(ONCE_MAX_WAIT).await
    }

    /// Polls every active feed once, due or not, and returns the totals. Host budgets
    /// (concurrency, spacing) apply: a feed whose host is busy waits its turn, up to `max_wait`
    /// from the start of the pass. A feed another daemon holds is waited for up to that bound
    /// (a crashed daemon's lease runs out and the feed is taken over; one another pass is
    /// polling is done when it is stored); what is still held at the bound is listed in
    /// `skipped` with the reason, as is a feed whose host takes no request within the bound (it
    /// asked to be left alone longer). Fails only when the database
    /// cannot be read or written; a failing feed is counted, not raised.
    pub async fn run_once_within(&self, max_wait: Duration) -> Result<RunSummary, StoreError> {
        let start = Utc::now();
        let deadline = start + Timings::delta(max_wait);
        let concurrency = self.config().fetch.concurrency;
        let mut summary = RunSummary::default();
        let mut tasks: JoinSet<Refreshed> = JoinSet::new();
        let mut running: HashMap<tokio::task::Id, (FeedId, String)> = HashMap::new();
        let mut pending: Vec<FeedUpdate> = Vec::new();
        loop {
            let free = concurrency.saturating_sub(tasks.len());
            let feeds = if free > 0 {
                self.inner
                    .store
                    .claim(&self.claim(Utc::now(), free, Some(start)))
                    .await?
            } else {
                Vec::new()
            };
            if feeds.is_empty() && tasks.is_empty() {
                // Every state stored first: a feed this pass still holds is then one it
                // deferred.
                self.flush_or_fail(&mut pending).await?;
                let now = Utc::now();
                let held = self.inner.store.leased(start, now).await?;
                let owner = &self.inner.owner;
                // Within the bound, wait for every lease that may still free its feed: another
                // daemon's (in flight, or a crashed one's running out) and a deferral of an
                // earlier pass that ends in time. Re-read at least every second: a feed another
                // daemon polls leaves the list when it is done.
                let next = held
                    .iter()
                    .filter(|l| &l.owner != owner || l.until <= deadline)
                    .map(|l| l.until.min(deadline))
                    .min();
                if let (Some(t), true) = (next, now < deadline) {
                    let wait = (t - now).to_std().unwrap_or_default() + Duration::from_millis(20);
                    tokio::time::sleep(wait.min(Duration::from_secs(1))).await;
                    continue;
                }
                for l in held {
                    let why = if &l.owner != owner {
                        format!(
                            "leased by daemon {} until {} (past this pass's bound of {} s)",
                            l.owner,
                            crate::model::rfc3339(l.until),
                            max_wait.as_secs()
                        )
                    } else {
                        format!(
                            "its host takes no request before {} (past this pass's bound of {} s)",
                            crate::model::rfc3339(l.until),
                            max_wait.as_secs()
                        )
                    };
                    summary.skipped.push((l.url, why));
                }
                break;
            }
            for feed in feeds {
                let host = host_of(&feed.url);
                let app = self.clone();
                let h = host.clone();
                let id = feed.id;
                let handle = tasks.spawn(async move {
                    match app.wait_for_host(&h, deadline).await {
                        Ok(()) => app.refresh(feed).await,
                        Err(at) => app.deferred(feed.id, at).await,
                    }
                });
                running.insert(handle.id(), (id, host));
            }
            if let Some(done) = tasks.join_next_with_id().await {
                if let Some(r) = self.finished(&mut running, &mut pending, done, false) {
                    summary.add(&r);
                }
            }
            if pending.len() >= FLUSH_ROWS {
                self.flush(&mut pending).await;
            }
        }
        Ok(summary)
    }

    /// Waits until `host`'s budget lets one more request start (used by `run --once`). A host
    /// that will not be ready by `deadline` (it asked to be left alone) is not waited for: the
    /// instant it will be ready is returned instead.
    async fn wait_for_host(
        &self,
        host: &str,
        deadline: DateTime<Utc>,
    ) -> Result<(), DateTime<Utc>> {
        loop {
            let now = Utc::now();
            let slot = self.hosts().try_start(host, now);
            match slot {
                Ok(()) => return Ok(()),
                Err(at) if at > deadline => return Err(at),
                Err(at) => {
                    let wait = (at - now).to_std().unwrap_or_default();
                    tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
                }
            }
        }
    }

    /// Gives a claimed feed back, due at `at`, without fetching it (its host is throttled).
    async fn deferred(&self, feed: FeedId, at: DateTime<Utc>) -> Refreshed {
        self.inner.metrics.fetch(Outcome::Deferred, None, 0, 0);
        if let Err(e) = self
            .inner
            .store
            .defer(&self.inner.owner, &[(feed, at)])
            .await
        {
            error!(error = %e, "cannot defer feed");
        }
        Refreshed {
            result: FeedResult {
                feed_id: feed,
                outcome: Outcome::Deferred,
                error_kind: None,
                new_stories: 0,
            },
            pending: None,
            throttle_host: None,
            started: false,
        }
    }

    fn hosts(&self) -> std::sync::MutexGuard<'_, HostBudget> {
        // The budget holds no invariant a panic could break halfway; recover from poisoning.
        self.inner
            .hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Books a finished task: frees its host slot, throttles the host if asked (and if
    /// `throttle`), queues its state. A `run --once` pass does not throttle: it was asked to poll
    /// every feed now; the Retry-After is still kept in the feed's next check, and the daemon
    /// throttles the host.
    fn finished(
        &self,
        running: &mut HashMap<tokio::task::Id, (FeedId, String)>,
        pending: &mut Vec<FeedUpdate>,
        done: Result<(tokio::task::Id, Refreshed), tokio::task::JoinError>,
        throttle: bool,
    ) -> Option<FeedResult> {
        let id = match &done {
            Ok((id, _)) => *id,
            Err(e) => e.id(),
        };
        let host = running.remove(&id).map(|(_, h)| h);
        let started = match &done {
            Ok((_, r)) => r.started,
            // A task that failed may or may not have started; give the slot back either way.
            Err(_) => true,
        };
        if let (Some(h), true) = (&host, started) {
            self.hosts().finish(h);
        }
        match done {
            Ok((_, r)) => {
                if let (Some(until), Some(h), true) = (r.throttle_host, &host, throttle) {
                    self.hosts().throttle(h, until, Utc::now());
                }
                pending.extend(r.pending);
                Some(r.result)
            }
            Err(e) => {
                // A panicking refresh is a bug. Its lease runs out and the feed is retried then,
                // not in a tight loop.
                error!(error = %e, "a feed refresh task failed");
                None
            }
        }
    }

    /// Writes queued feed states in one transaction; true when they are stored (or there were
    /// none). On failure they stay queued for the next flush (the oldest dropped past
    /// [`MAX_PENDING`]: their leases run out and those feeds are polled again then).
    async fn flush(&self, pending: &mut Vec<FeedUpdate>) -> bool {
        if pending.is_empty() {
            return true;
        }
        let writes = &self.inner.metrics.writes;
        match self
            .inner
            .store
            .record_updates(&self.inner.owner, pending)
            .await
        {
            Ok(()) => {
                writes.ok(Write::FeedStates);
                pending.clear();
                true
            }
            Err(e) => {
                let e = self.inner.store.explain(e).await;
                error!(error = %e, feeds = pending.len(), "cannot store feed states");
                writes.failed(Write::FeedStates, &e.to_string());
                if pending.len() > MAX_PENDING {
                    let drop = pending.len() - MAX_PENDING;
                    warn!(feeds = drop, "dropping the oldest unstored feed states");
                    pending.drain(..drop);
                }
                false
            }
        }
    }

    /// [`App::flush`] for `run --once`, which reports a failure instead of keeping states.
    async fn flush_or_fail(&self, pending: &mut Vec<FeedUpdate>) -> Result<(), StoreError> {
        if pending.is_empty() {
            return Ok(());
        }
        let r = self
            .inner
            .store
            .record_updates(&self.inner.owner, pending)
            .await;
        pending.clear();
        r
    }

    /// The daemon loop: claims feeds as they fall due, within the global and per-host budgets,
    /// until `shutdown` turns true; then drains.
    pub async fn run_until_stopped(&self, mut shutdown: watch::Receiver<bool>) {
        let mut tasks: JoinSet<Refreshed> = JoinSet::new();
        let mut running: HashMap<tokio::task::Id, (FeedId, String)> = HashMap::new();
        let mut pending: Vec<FeedUpdate> = Vec::new();
        let mut pending_since = Instant::now();
        let mut last_prune = Instant::now();
        let mut last_retention: Option<Instant> = None;
        debug!(
            backend = self.inner.store.backend(),
            owner = %self.inner.owner,
            "scheduler started"
        );
        // `[log]` applies at the next restart, like the rest of the section.
        // A set, so that the task ends with this loop however the loop ends.
        let mut summaries = JoinSet::new();
        let every = self.config().log.summary_interval_secs;
        if every > 0 {
            let app = self.clone();
            summaries.spawn(async move { app.log_summaries(Duration::from_secs(every)).await });
        }
        while !*shutdown.borrow() {
            // Read each turn: a reload may have changed them.
            let live = self.live();
            let tick = live.timings.tick;
            let concurrency = live.config.fetch.concurrency;
            let now = Utc::now();
            self.inner
                .metrics
                .loop_at_ms
                .store(now.timestamp_millis(), std::sync::atomic::Ordering::Relaxed);
            let free = concurrency.saturating_sub(tasks.len());
            let mut database_down = false;
            if free > 0 {
                let claimed = tokio::time::timeout(
                    CLAIM_WITHIN,
                    self.inner.store.claim(&self.claim(now, free, None)),
                )
                .await
                .unwrap_or_else(|_| {
                    Err(StoreError::Conflict(format!(
                        "no answer from the database within {} s",
                        CLAIM_WITHIN.as_secs()
                    )))
                });
                // The loop has turned whatever the database said: it is alive, and waiting.
                self.inner.metrics.loop_at_ms.store(
                    Utc::now().timestamp_millis(),
                    std::sync::atomic::Ordering::Relaxed,
                );
                match claimed {
                    Ok(feeds) => {
                        self.inner.metrics.writes.ok(Write::Claims);
                        let mut deferred = Vec::new();
                        for feed in feeds {
                            // One refresh per feed: a refresh that outlived its lease is still
                            // running here; the new lease simply covers it.
                            if running.values().any(|(id, _)| *id == feed.id) {
                                debug!(feed = %feed.url, "still refreshing; not starting it again");
                                continue;
                            }
                            let host = host_of(&feed.url);
                            let slot = self.hosts().try_start(&host, now);
                            match slot {
                                Ok(()) => {
                                    let app = self.clone();
                                    let id = feed.id;
                                    let handle =
                                        tasks.spawn(async move { app.refresh(feed).await });
                                    running.insert(handle.id(), (id, host));
                                }
                                Err(at) => deferred.push((feed.id, at)),
                            }
                        }
                        if !deferred.is_empty() {
                            debug!(feeds = deferred.len(), "deferred by host budgets");
                        }
                        for _ in &deferred {
                            self.inner.metrics.fetch(Outcome::Deferred, None, 0, 0);
                        }
                        if let Err(e) = self.inner.store.defer(&self.inner.owner, &deferred).await {
                            error!(error = %e, "cannot defer feeds");
                        }
                    }
                    Err(e) => {
                        database_down = true;
                        let e = self.inner.store.explain(e).await;
                        error!(error = %e, "cannot claim due feeds");
                        self.inner
                            .metrics
                            .writes
                            .failed(Write::Claims, &e.to_string());
                    }
                }
            }
            // While the database fails, wait a tick and try again, without asking it when the
            // next feed is due or writing states it would refuse too.
            let mut wait = if database_down {
                tick
            } else {
                self.wait_for_next(tick).await
            };
            if !pending.is_empty() && !database_down {
                wait = wait.min(FLUSH_AFTER);
            }
            tokio::select! {
                _ = shutdown.changed() => {}
                Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    if pending.is_empty() {
                        pending_since = Instant::now();
                    }
                    self.finished(&mut running, &mut pending, done, true);
                }
                _ = tokio::time::sleep(wait) => {}
            }
            while let Some(done) = tasks.try_join_next_with_id() {
                self.finished(&mut running, &mut pending, done, true);
            }
            if !database_down
                && (pending.len() >= FLUSH_ROWS
                    || (!pending.is_empty() && pending_since.elapsed() >= FLUSH_AFTER))
            {
                self.flush(&mut pending).await;
            }
            if last_prune.elapsed() >= retention::PRUNE_EVERY {
                self.hosts().prune(Utc::now());
                self.evict_old_stories();
                last_prune = Instant::now();
            }
            // Retention runs beside the loop, never in it: a long first prune must not stop the
            // scheduler (and with it the watchdog).
            if last_retention.is_none_or(|t| t.elapsed() >= retention::RETENTION_EVERY)
                && !self
                    .inner
                    .retention_running
                    .swap(true, std::sync::atomic::Ordering::AcqRel)
            {
                let app = self.clone();
                tokio::spawn(async move {
                    app.apply_retention().await;
                    app.inner
                        .retention_running
                        .store(false, std::sync::atomic::Ordering::Release);
                });
                last_retention = Some(Instant::now());
            }
        }
        let grace = self.live().timings.shutdown_grace;
        info!(
            in_flight = tasks.len(),
            grace_secs = grace.as_secs(),
            "stopping: draining in-flight refreshes"
        );
        let deadline = tokio::time::Instant::now() + grace;
        while !tasks.is_empty() {
            match tokio::time::timeout_at(deadline, tasks.join_next_with_id()).await {
                Ok(Some(done)) => {
                    self.finished(&mut running, &mut pending, done, true);
                }
                Ok(None) => break,
                Err(_) => {
                    warn!(
                        abandoned = tasks.len(),
                        "grace period over: abandoning refreshes (nothing of theirs is written)"
                    );
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                    // Hand the abandoned feeds back at once rather than when their leases end.
                    let now = Utc::now();
                    let back: Vec<(FeedId, DateTime<Utc>)> =
                        running.values().map(|(id, _)| (*id, now)).collect();
                    if let Err(e) = self.inner.store.defer(&self.inner.owner, &back).await {
                        error!(error = %e, "cannot release abandoned feeds");
                    }
                    break;
                }
            }
        }
        self.flush(&mut pending).await;
        summaries.abort_all();
        info!("stopped");
    }

    /// Writes the summary line every `every`, until aborted: feeds polled since the last one,
    /// stories new and updated, errors by kind, and the most overdue active feed. A healthy
    /// daemon writes nothing else at INFO.
    async fn log_summaries(&self, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        let mut last = self.inner.metrics.snapshot();
        let mut last_at = Instant::now();
        loop {
            ticks.tick().await;
            let now = self.inner.metrics.snapshot();
            let period = last_at.elapsed();
            let gauges = tokio::time::timeout(CLAIM_WITHIN, self.inner.store.feed_gauges()).await;
            let overdue = match &gauges {
                Ok(Ok(g)) => g
                    .most_overdue
                    .as_ref()
                    .map(|url| (url.clone(), g.scheduler_lag_secs)),
                _ => None,
            };
            let most_overdue = match (&gauges, &overdue) {
                (Ok(Ok(_)), Some((url, _))) => url.clone(),
                (Ok(Ok(_)), None) => "none".to_owned(),
                _ => "unknown (the database did not answer)".to_owned(),
            };
            summary_line(
                &now.since(&last),
                period,
                &most_overdue,
                overdue.map_or(0, |(_, lag)| lag.round() as u64),
            );
            last = now;
            last_at = Instant::now();
        }
    }

    /// How long to sleep before claiming again: until the next feed can be claimed, at most a
    /// tick.
    async fn wait_for_next(&self, tick: Duration) -> Duration {
        let now = Utc::now();
        match tokio::time::timeout(CLAIM_WITHIN, self.inner.store.next_due()).await {
            Ok(Ok(Some(t))) => (t - now)
                .to_std()
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(10), tick),
            _ => tick,
        }
    }
}

/// One summary line: what happened in the last `period` (`d`), and the most overdue feed.
/// Says "no polls" when none were made, rather than a line of zeros that reads like activity.
fn summary_line(
    d: &crate::service::metrics::Snapshot,
    period: Duration,
    most_overdue: &str,
    overdue_secs: u64,
) {
    let period_secs = period.as_secs_f64().round() as u64;
    let errors = d.errors_by_kind();
    if d.polled == 0 {
        info!(
            period_secs,
            deferred = d.deferred,
            most_overdue,
            overdue_secs,
            "summary: no polls"
        );
    } else {
        info!(
            period_secs,
            polled = d.polled,
            fetched = d.fetched,
            unchanged = d.unchanged,
            failed = d.error_count(),
            deferred = d.deferred,
            new_stories = d.stories_new,
            updated_stories = d.stories_updated,
            errors = %errors,
            most_overdue,
            overdue_secs,
            "summary"
        );
    }
}

impl crate::service::Observed for App {
    fn counters(&self) -> &crate::service::metrics::Metrics {
        &self.inner.metrics
    }

    fn tick(&self) -> Duration {
        self.live().timings.tick
    }

    async fn ping(&self) -> Result<(), String> {
        self.inner.store.ping().await.map_err(|e| e.to_string())
    }

    async fn gauges(&self) -> Result<crate::service::metrics::DbGauges, String> {
        self.inner
            .store
            .feed_gauges()
            .await
            .map_err(|e| e.to_string())
    }
}
