//! The running service: builds the app from a config, refreshes feeds, and runs the scheduler loop.
//!
//! Owns the shell around the pure core: one refresh is fetch → parse → normalize → store, with the
//! next check from `schedule`. One bad feed, item or date never stops the loop: it is recorded on the
//! feed row, in the fetch log and in the log, and the loop goes on. Shutdown stops claiming work,
//! lets in-flight refreshes finish within the grace period, and abandons the rest (an abandoned
//! refresh's transaction never commits). Never: parses, normalizes or writes SQL itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, error, info, info_span, warn, Instrument};

use crate::config::Config;
use crate::dedup::Matcher;
use crate::fetch::{FetchError, FetchOutcome, Fetcher, Validators};
use crate::model::{rfc3339, Feed, FeedId};
use crate::normalize::credit::wire_in_credit;
use crate::normalize::{apply_page, normalize_document, DocContext, Page, Rules};
use crate::parse;
use crate::schedule::{self, Hints, HostBudget, SchedulePolicy};
use crate::store::{Claim, FeedUpdate, Incoming, Store, StoreError};

/// Why the app could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("HTTP client: {0}")]
    Fetch(#[from] FetchError),
    #[error("tagging: {0}")]
    Tag(#[from] crate::tag::TagError),
}

/// One section of a config, for comparison.
fn section(c: &Config, name: &str) -> Option<serde_json::Value> {
    serde_json::to_value(c).ok()?.get(name).cloned()
}

/// How often `[retention]` runs.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// How one refresh ended, for summaries and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedResult {
    pub feed_id: FeedId,
    /// `fetched`, `unchanged`, `not_modified`, `gone`, `rate_limited` or `error`.
    pub outcome: &'static str,
    pub error_kind: Option<&'static str>,
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
}

impl RunSummary {
    fn add(&mut self, r: &FeedResult) {
        self.feeds += 1;
        self.new_stories += r.new_stories;
        match r.outcome {
            "fetched" => self.fetched += 1,
            "unchanged" | "not_modified" => self.not_modified += 1,
            "deferred" => self.deferred += 1,
            _ => self.failed += 1,
        }
    }
}

/// A finished refresh: its result, the feed state still to write (refreshes that brought no
/// stories are written in batches), and whether its host asked to be left alone.
struct Refreshed {
    result: FeedResult,
    pending: Option<FeedUpdate>,
    throttle_host: Option<Option<DateTime<Utc>>>,
    /// Whether a request was started (and so holds a host slot to give back).
    started: bool,
}

/// State writes are batched up to this many feeds...
const FLUSH_ROWS: usize = 256;
/// ...or this long.
const FLUSH_AFTER: Duration = Duration::from_millis(50);

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
}

impl Live {
    fn new(config: Config) -> Result<Live, StartError> {
        Ok(Live {
            fetcher: Fetcher::new(&config.fetch)?,
            policy: SchedulePolicy::from(&config.schedule),
            rules: Rules::new(&config.normalize),
            tagger: crate::tag::Tagger::new(&config.regions, &config.topics)?,
            config: Arc::new(config),
        })
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

impl App {
    /// Connects to the database, applies migrations and syncs the config's feeds.
    pub async fn build(config: Config) -> Result<App, StartError> {
        let store = Store::connect(&config.database).await?;
        store.migrate().await?;
        store.sync_config_feeds(&config.feeds, Utc::now()).await?;
        let hosts = Mutex::new(HostBudget::new(&config.politeness));
        let matcher = Matcher::new(config.dedup.rules());
        let since = Utc::now() - chrono::Duration::seconds(2 * matcher.rules().window_secs);
        let loaded = store.load_matcher(&matcher, since).await?;
        info!(stories = loaded, "reprint index loaded");
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
        self.inner
            .store
            .sync_config_feeds(&new.feeds, Utc::now())
            .await?;
        let old = self.config();
        let later: Vec<String> = RESTART_SECTIONS
            .iter()
            .filter(|s| section(&old, s) != section(&new, s))
            .map(|s| (*s).to_owned())
            .collect();
        self.hosts().set_limits(&new.politeness);
        self.inner.matcher.set_rules(new.dedup.rules());
        *self
            .inner
            .live
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(live);
        Ok(later)
    }

    /// Its counters.
    pub fn metrics(&self) -> &crate::service::metrics::Metrics {
        &self.inner.metrics
    }

    fn claim(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        pass_start: Option<DateTime<Utc>>,
    ) -> Claim<'_> {
        let lease = chrono::Duration::seconds(self.config().daemon.lease_secs as i64);
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

    /// Polls every active feed once, due or not, and returns the totals. Fails only when the
    /// database cannot be read; a failing feed is counted, not raised. Host budgets (concurrency,
    /// spacing) apply: a feed whose host is busy waits its turn.
    pub async fn run_once(&self) -> Result<RunSummary, StoreError> {
        let start = Utc::now();
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
                break;
            }
            for feed in feeds {
                let host = host_of(&feed.url);
                let app = self.clone();
                let h = host.clone();
                let id = feed.id;
                let handle = tasks.spawn(async move {
                    match app.wait_for_host(&h).await {
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
        self.flush(&mut pending).await;
        Ok(summary)
    }

    /// Waits until `host`'s budget lets one more request start (used by `run --once`). A host
    /// that will not be ready within the fetch timeout (it asked to be left alone) is not waited
    /// for: the instant it will be ready is returned instead.
    async fn wait_for_host(&self, host: &str) -> Result<(), DateTime<Utc>> {
        let max_wait = chrono::Duration::seconds(self.config().fetch.timeout_secs as i64);
        loop {
            let now = Utc::now();
            let slot = self.hosts().try_start(host, now);
            match slot {
                Ok(()) => return Ok(()),
                Err(at) if at - now > max_wait => return Err(at),
                Err(at) => {
                    let wait = (at - now).to_std().unwrap_or_default();
                    tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
                }
            }
        }
    }

    /// Gives a claimed feed back, due at `at`, without fetching it (its host is throttled).
    async fn deferred(&self, feed: FeedId, at: DateTime<Utc>) -> Refreshed {
        self.inner.metrics.fetch("deferred", None, 0, 0);
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
                outcome: "deferred",
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

    /// Writes queued feed states in one transaction. On failure they are dropped: their leases
    /// run out and the feeds are polled again then.
    async fn flush(&self, pending: &mut Vec<FeedUpdate>) {
        if pending.is_empty() {
            return;
        }
        if let Err(e) = self
            .inner
            .store
            .record_updates(&self.inner.owner, pending)
            .await
        {
            error!(error = %e, feeds = pending.len(), "cannot store feed states");
        }
        pending.clear();
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
        info!(
            backend = self.inner.store.backend(),
            owner = %self.inner.owner,
            "scheduler started"
        );
        while !*shutdown.borrow() {
            // Read each turn: a reload may have changed them.
            let cfg = self.config();
            let tick = Duration::from_secs(cfg.daemon.tick_secs);
            let concurrency = cfg.fetch.concurrency;
            let now = Utc::now();
            self.inner
                .metrics
                .loop_at_ms
                .store(now.timestamp_millis(), std::sync::atomic::Ordering::Relaxed);
            let free = concurrency.saturating_sub(tasks.len());
            if free > 0 {
                match self.inner.store.claim(&self.claim(now, free, None)).await {
                    Ok(feeds) => {
                        let mut deferred = Vec::new();
                        for feed in feeds {
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
                            self.inner.metrics.fetch("deferred", None, 0, 0);
                        }
                        if let Err(e) = self.inner.store.defer(&self.inner.owner, &deferred).await {
                            error!(error = %e, "cannot defer feeds");
                        }
                    }
                    Err(e) => error!(error = %e, "cannot claim due feeds"),
                }
            }
            let mut wait = self.wait_for_next(tick).await;
            if !pending.is_empty() {
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
            if pending.len() >= FLUSH_ROWS
                || (!pending.is_empty() && pending_since.elapsed() >= FLUSH_AFTER)
            {
                self.flush(&mut pending).await;
            }
            if last_prune.elapsed() >= Duration::from_secs(60) {
                self.hosts().prune(Utc::now());
                self.evict_old_stories();
                last_prune = Instant::now();
            }
            // Retention runs beside the loop, never in it: a long first prune must not stop the
            // scheduler (and with it the watchdog).
            if last_retention.is_none_or(|t| t.elapsed() >= RETENTION_EVERY)
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
        let grace = Duration::from_secs(self.config().daemon.shutdown_grace_secs);
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
        info!("stopped");
    }

    /// Deletes what `[retention]` says is too old. Failures are logged; the next round retries.
    async fn apply_retention(&self) {
        let config = self.config();
        let r = &config.retention;
        let days = |d: u64| (d > 0).then(|| Utc::now() - chrono::Duration::days(d as i64));
        let (fetches, stories) = (days(r.fetch_log_days), days(r.stories_days));
        if fetches.is_none() && stories.is_none() {
            return;
        }
        match self.inner.store.prune(fetches, stories).await {
            Ok((f, s)) => {
                if let Some(t) = stories {
                    // Pruned stories leave the reprint index too.
                    self.inner.matcher.evict_before(t.timestamp());
                }
                if f + s > 0 {
                    info!(fetch_log = f, stories = s, "retention: deleted old rows");
                }
            }
            Err(e) => error!(error = %e, "retention failed"),
        }
    }

    /// Drops stories from the reprint index once no new story can be in their window.
    fn evict_old_stories(&self) {
        let m = &self.inner.matcher;
        m.evict_before(Utc::now().timestamp() - 2 * m.rules().window_secs);
    }

    /// How long to sleep before claiming again: until the next feed can be claimed, at most a
    /// tick.
    async fn wait_for_next(&self, tick: Duration) -> Duration {
        let now = Utc::now();
        match self.inner.store.next_due().await {
            Ok(Some(t)) => (t - now)
                .to_std()
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(10), tick),
            _ => tick,
        }
    }

    /// One refresh of one feed: fetch, parse, normalize, store (when it brought stories),
    /// schedule. Never fails: every problem is recorded against the feed.
    async fn refresh(&self, feed: Feed) -> Refreshed {
        let span = info_span!("refresh", feed_id = feed.id.0);
        self.refresh_inner(feed).instrument(span).await
    }

    async fn refresh_inner(&self, feed: Feed) -> Refreshed {
        let inner = &self.inner;
        let live = self.live();
        let started = Instant::now();
        let validators = Validators {
            etag: feed.etag.clone(),
            last_modified: feed.last_modified.clone(),
        };
        let outcome = live.fetcher.fetch(&feed.url, &validators).await;
        let now = Utc::now();
        let mut update = FeedUpdate {
            feed_id: feed.id,
            source_id: feed.source_id,
            now,
            outcome: "error",
            http_status: None,
            error_kind: None,
            error_message: None,
            etag: feed.etag.clone(),
            last_modified: feed.last_modified.clone(),
            body_hash: feed.body_hash.clone(),
            consecutive_errors: 0,
            status: "active",
            next_check_at: now,
            interval_secs: 0,
            moved_to: None,
            duration_ms: 0,
            bytes: 0,
            items: 0,
        };
        let mut hints = Hints::default();
        let mut stories = Vec::new();
        let mut recurring = Vec::new();
        let mut rate = None;
        let mut throttle_host = None;
        match outcome {
            FetchOutcome::NotModified {
                validators: fresh,
                hints: h,
                moved_to,
            } => {
                update.outcome = "not_modified";
                update.http_status = Some(304);
                // A 304 may refresh the validators; what it leaves out stays.
                update.etag = fresh.etag.or(validators.etag);
                update.last_modified = fresh.last_modified.or(validators.last_modified);
                update.moved_to = moved_to;
                hints.retry_after = h.retry_after;
                hints.fresh_until = h.fresh_until;
            }
            FetchOutcome::Fetched(f) => {
                update.http_status = Some(f.status);
                update.bytes = f.body.len() as i64;
                update.moved_to = f.moved_to.clone();
                hints.retry_after = f.hints.retry_after;
                hints.fresh_until = f.hints.fresh_until;
                let hash = blake3::hash(&f.body).to_hex()[..32].to_owned();
                if feed.body_hash.as_deref() == Some(hash.as_str()) {
                    update.outcome = "unchanged";
                    update.etag = f.validators.etag;
                    update.last_modified = f.validators.last_modified;
                } else {
                    let snapshot = live.clone();
                    let (source, is_wire) = (feed.source.clone(), feed.is_wire);
                    // Parsing is CPU work: keep it off the async workers.
                    let parsed = tokio::task::spawn_blocking(move || {
                        let ctx = DocContext {
                            base_url: Some(&f.final_url),
                            source: Some(&source),
                            source_is_wire: is_wire,
                            rules: &snapshot.rules,
                        };
                        parse::parse(&f.body, f.charset.as_deref(), Some(&f.final_url)).map(
                            |parsed| {
                                (
                                    normalize_document(
                                        &parsed,
                                        &ctx,
                                        snapshot.config.fetch.max_items_per_feed,
                                    ),
                                    parsed.ttl_mins,
                                )
                            },
                        )
                    })
                    .await;
                    match parsed {
                        Ok(Ok((normalized, ttl))) => {
                            hints.ttl_mins = ttl;
                            update.outcome = "fetched";
                            update.items = normalized.items as i64;
                            update.body_hash = Some(hash);
                            update.etag = f.validators.etag;
                            update.last_modified = f.validators.last_modified;
                            if let Some(first) = normalized.skipped.first() {
                                warn!(
                                    skipped = normalized.skipped.len(),
                                    first_reason = %first.reason,
                                    "items skipped"
                                );
                                update.error_message = Some(format!(
                                    "skipped {} of {} items; first: {}",
                                    normalized.skipped.len(),
                                    normalized.items,
                                    first.reason
                                ));
                            }
                            let dates: Vec<DateTime<Utc>> = normalized
                                .stories
                                .iter()
                                .filter_map(|s| s.published)
                                .collect();
                            rate = schedule::publishing_interval(&dates, now);
                            stories = normalized.stories;
                            recurring = normalized.recurring;
                        }
                        Ok(Err(e)) => {
                            // Validators and hash are not kept, so the next poll reads it again.
                            update.error_kind = Some(e.kind());
                            update.error_message = Some(e.to_string());
                        }
                        Err(e) => {
                            update.error_kind = Some("parse");
                            update.error_message = Some(format!("the parser failed: {e}"));
                        }
                    }
                }
            }
            FetchOutcome::Gone { status } => {
                update.outcome = "gone";
                update.http_status = Some(status);
                update.error_kind = Some("gone");
                update.error_message =
                    Some("HTTP 410 Gone: polling stopped (status `gone`)".to_owned());
                update.status = "gone";
            }
            FetchOutcome::RateLimited { status, hints: h } => {
                update.outcome = "rate_limited";
                update.http_status = Some(status);
                update.error_kind = Some("rate_limited");
                update.error_message = Some(match h.retry_after {
                    Some(t) => format!("HTTP {status}; Retry-After until {}", rfc3339(t)),
                    None => format!("HTTP {status}"),
                });
                hints.retry_after = h.retry_after;
                throttle_host = Some(h.retry_after);
            }
            FetchOutcome::Failed(e) => {
                update.http_status = e.status;
                update.error_kind = Some(e.kind.as_str());
                update.error_message = Some(e.message);
            }
        }
        if feed.full_text && !stories.is_empty() {
            self.fetch_pages(&feed, &mut stories, &recurring).await;
        }
        self.schedule(&feed, &mut update, rate, &hints);
        update.duration_ms = started.elapsed().as_millis().min(i64::MAX as u128) as i64;
        inner.metrics.fetch(
            update.outcome,
            update.http_status,
            update.duration_ms,
            update.bytes,
        );
        let mut result = FeedResult {
            feed_id: feed.id,
            outcome: update.outcome,
            error_kind: update.error_kind,
            new_stories: 0,
        };
        match update.error_kind {
            None => debug!(
                outcome = update.outcome,
                ms = update.duration_ms,
                "refreshed"
            ),
            Some(kind) => warn!(
                outcome = update.outcome,
                error_kind = kind,
                status = update.http_status,
                detail = update.error_message.as_deref().unwrap_or(""),
                "feed failed"
            ),
        }
        if stories.is_empty() {
            return Refreshed {
                result,
                pending: Some(update),
                throttle_host,
                started: true,
            };
        }
        let incoming: Vec<Incoming> = stories
            .into_iter()
            .map(|story| {
                let fingerprint = crate::dedup::fingerprint(&story.body);
                let wire_copy = feed.is_wire
                    || (story.wire_service.is_some()
                        && story.wire_service.as_deref() == wire_in_credit(&feed.source));
                let tags = live.tagger.tag(crate::tag::Text {
                    title: &story.title,
                    dateline: story.dateline.as_deref(),
                    body: &story.body,
                });
                Incoming {
                    story,
                    fingerprint,
                    wire_copy,
                    tags,
                }
            })
            .collect();
        match inner
            .store
            .record_refresh(&inner.owner, &update, &incoming, &inner.matcher)
            .await
        {
            Ok(w) => {
                inner
                    .metrics
                    .stored(w.new_stories, w.updated_stories, w.reprints, w.tags);
                result.new_stories = w.new_stories;
                debug!(new = w.new_stories, updated = w.updated_stories, "stored");
                Refreshed {
                    result,
                    pending: None,
                    throttle_host,
                    started: true,
                }
            }
            Err(e) => {
                // Record the failure on the feed (through the batch path) so it backs off
                // instead of being fetched again at once.
                error!(error = %e, "cannot store refresh");
                inner.metrics.database_error();
                update.outcome = "error";
                update.error_kind = Some("database");
                update.error_message = Some(e.to_string());
                update.body_hash = feed.body_hash.clone();
                update.etag = feed.etag.clone();
                update.last_modified = feed.last_modified.clone();
                self.schedule(&feed, &mut update, None, &hints);
                result.outcome = "error";
                result.error_kind = Some("database");
                Refreshed {
                    result,
                    pending: Some(update),
                    throttle_host,
                    started: true,
                }
            }
        }
    }

    /// Fetches the article pages of a `full_text` feed's new and changed items (at most
    /// `fetch.full_text_per_refresh`) and applies each to its story. Pages go through the same
    /// fetcher (address guard, size cap, timeouts) and the same host budgets as feeds; a page that
    /// fails, or whose host will not be free within the fetch timeout, leaves the feed's text.
    /// The story keeps the feed version's hash, so it counts as changed only when the feed's
    /// version changes.
    async fn fetch_pages(
        &self,
        feed: &Feed,
        stories: &mut [crate::model::Story],
        recurring: &[String],
    ) {
        let inner = &self.inner;
        let live = self.live();
        let keys: Vec<String> = stories.iter().map(|s| s.key.clone()).collect();
        let known = match inner.store.story_hashes(feed.id, &keys).await {
            Ok(k) => k,
            Err(e) => {
                warn!(error = %e, "cannot read stored stories; full text skipped this time");
                return;
            }
        };
        let feed_host = host_of(&feed.url);
        let max_wait = chrono::Duration::seconds(live.config.fetch.timeout_secs as i64);
        // Pages must not keep the refresh past half its lease (another daemon could take it).
        let deadline = Instant::now() + Duration::from_secs(live.config.daemon.lease_secs / 2);
        let mut fetched = 0;
        for story in stories.iter_mut() {
            if Instant::now() >= deadline {
                debug!("article pages: out of time for this refresh");
                break;
            }
            let hash = story.content_hash();
            if known.get(&story.key) == Some(&hash) {
                continue;
            }
            let Some(url) = story.url.clone() else {
                continue;
            };
            if fetched >= live.config.fetch.full_text_per_refresh {
                break;
            }
            fetched += 1;
            story.feed_hash = Some(hash);
            let host = host_of(&url);
            let same_host = host == feed_host;
            // The refresh holds a slot on the feed's host: pages there only keep the spacing.
            // Pages elsewhere take a slot of their own.
            let start = Utc::now();
            let ready = loop {
                let now = Utc::now();
                let at = if same_host {
                    self.hosts().next_under_held_slot(&host, now)
                } else {
                    match self.hosts().try_start(&host, now) {
                        Ok(()) => now,
                        Err(at) => at,
                    }
                };
                if at <= now {
                    break true;
                }
                if at - start > max_wait {
                    break false;
                }
                tokio::time::sleep((at - now).to_std().unwrap_or_default()).await;
                if same_host {
                    break true;
                }
            };
            if !ready {
                debug!(url = %url, "article page skipped: its host is busy");
                continue;
            }
            let outcome = live.fetcher.fetch(&url, &Validators::default()).await;
            if !same_host {
                self.hosts().finish(&host);
            }
            let page = match outcome {
                FetchOutcome::Fetched(f) => f,
                FetchOutcome::Failed(e) => {
                    debug!(url = %url, error = %e.message, "article page failed");
                    continue;
                }
                _ => {
                    debug!(url = %url, "article page not fetched");
                    continue;
                }
            };
            let snapshot = live.clone();
            let (source, is_wire) = (feed.source.clone(), feed.is_wire);
            let mut s = story.clone();
            let recurring = recurring.to_vec();
            let applied = tokio::task::spawn_blocking(move || {
                let text = crate::extract::decode_page(&page.body, page.charset.as_deref());
                let extracted = crate::extract::extract(&text, Some(&page.final_url))?;
                let ctx = DocContext {
                    base_url: Some(&page.final_url),
                    source: Some(&source),
                    source_is_wire: is_wire,
                    rules: &snapshot.rules,
                };
                let page = Page {
                    text: &extracted.text,
                    canonical_url: extracted.canonical_url.as_deref(),
                    url: &page.final_url,
                };
                let replaced = apply_page(&mut s, page, &ctx, &recurring);
                Some((s, replaced))
            })
            .await;
            match applied {
                Ok(Some((s, replaced))) => {
                    debug!(url = %url, replaced, "article page applied");
                    *story = s;
                }
                Ok(None) => debug!(url = %url, "no article text found on the page"),
                Err(e) => warn!(url = %url, error = %e, "article extraction failed"),
            }
        }
    }

    /// Fills in the error count, interval and next check of an update.
    fn schedule(
        &self,
        feed: &Feed,
        update: &mut FeedUpdate,
        rate: Option<chrono::Duration>,
        hints: &Hints,
    ) {
        let result = match (update.error_kind, update.outcome) {
            (Some(_), _) => {
                update.consecutive_errors = feed.consecutive_errors.saturating_add(1);
                schedule::Result::Failed {
                    consecutive_errors: update.consecutive_errors,
                }
            }
            (None, "fetched") => schedule::Result::Fetched { rate },
            (None, _) => schedule::Result::Unchanged,
        };
        if update.error_kind.is_none() {
            update.consecutive_errors = 0;
        }
        let previous = feed.interval_secs.map(chrono::Duration::seconds);
        let next = schedule::next_check(
            &self.live().policy,
            result,
            previous,
            hints,
            jitter(feed.id, update.now),
            update.now,
        );
        update.next_check_at = next.at;
        update.interval_secs = next.interval.num_seconds();
    }
}
