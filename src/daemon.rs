//! The running service: builds the app from a config, refreshes feeds, and runs the scheduler loop.
//!
//! Owns the shell around the pure core: one refresh is fetch → parse → normalize → store, with the
//! next check from `schedule`. One bad feed, item or date never stops the loop: it is recorded on the
//! feed row, in the fetch log and in the log, and the loop goes on. Shutdown stops claiming work,
//! lets in-flight refreshes finish within the grace period, and abandons the rest (an abandoned
//! refresh's transaction never commits). Never: parses, normalizes or writes SQL itself.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, error, info, info_span, warn, Instrument};

use crate::config::Config;
use crate::fetch::{FetchError, FetchOutcome, Fetcher, Validators};
use crate::model::{Feed, FeedId};
use crate::normalize::normalize_document;
use crate::parse;
use crate::schedule::{self, Hints, SchedulePolicy};
use crate::store::{Refresh, Store, StoreError};

/// Why the app could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("HTTP client: {0}")]
    Fetch(#[from] FetchError),
}

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
    pub new_stories: u64,
}

struct Inner {
    config: Config,
    store: Store,
    fetcher: Fetcher,
    policy: SchedulePolicy,
}

/// The wirefeed application: config, database and HTTP client, cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

impl App {
    /// Connects to the database, applies migrations and syncs the config's feeds.
    pub async fn build(config: Config) -> Result<App, StartError> {
        let store = Store::connect(&config.database).await?;
        store.migrate().await?;
        store.sync_config_feeds(&config.feeds, Utc::now()).await?;
        let fetcher = Fetcher::new(&config.fetch)?;
        let policy = SchedulePolicy::from(&config.schedule);
        Ok(App {
            inner: Arc::new(Inner {
                config,
                store,
                fetcher,
                policy,
            }),
        })
    }

    /// The database this app writes.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Polls every active feed once, due or not, and returns the totals. Fails only when the
    /// database cannot be read; a failing feed is counted, not raised.
    pub async fn run_once(&self) -> Result<RunSummary, StoreError> {
        let feeds = self.inner.store.due_feeds(None, i64::MAX).await?;
        let mut summary = RunSummary {
            feeds: feeds.len(),
            ..RunSummary::default()
        };
        let results: Vec<FeedResult> = futures::stream::iter(feeds)
            .map(|feed| self.refresh(feed))
            .buffer_unordered(self.inner.config.fetch.concurrency)
            .collect()
            .await;
        for r in results {
            summary.new_stories += r.new_stories;
            match r.outcome {
                "fetched" => summary.fetched += 1,
                "unchanged" | "not_modified" => summary.not_modified += 1,
                _ => summary.failed += 1,
            }
        }
        Ok(summary)
    }

    /// The daemon loop: refreshes feeds as they fall due until `shutdown` turns true, then drains.
    pub async fn run_until_stopped(&self, mut shutdown: watch::Receiver<bool>) {
        let cfg = &self.inner.config;
        let tick = Duration::from_secs(cfg.daemon.tick_secs);
        let concurrency = cfg.fetch.concurrency;
        let mut in_flight: HashSet<FeedId> = HashSet::new();
        let mut tasks: JoinSet<FeedResult> = JoinSet::new();
        info!(
            backend = self.inner.store.backend(),
            feeds = cfg.feeds.len(),
            "scheduler started"
        );
        while !*shutdown.borrow() {
            let free = concurrency.saturating_sub(in_flight.len());
            if free > 0 {
                let limit = (free + in_flight.len()) as i64;
                match self.inner.store.due_feeds(Some(Utc::now()), limit).await {
                    Ok(due) => {
                        let fresh: Vec<Feed> = due
                            .into_iter()
                            .filter(|f| !in_flight.contains(&f.id))
                            .take(free)
                            .collect();
                        for feed in fresh {
                            in_flight.insert(feed.id);
                            let app = self.clone();
                            tasks.spawn(async move { app.refresh(feed).await });
                        }
                    }
                    Err(e) => error!(error = %e, "cannot read due feeds"),
                }
            }
            let wait = self.wait_for_next(tick).await;
            tokio::select! {
                _ = shutdown.changed() => {}
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    Self::finished(&mut in_flight, done);
                }
                _ = tokio::time::sleep(wait) => {}
            }
        }
        let grace = Duration::from_secs(cfg.daemon.shutdown_grace_secs);
        info!(
            in_flight = tasks.len(),
            grace_secs = grace.as_secs(),
            "stopping: draining in-flight refreshes"
        );
        let drained = tokio::time::timeout(grace, async {
            while let Some(done) = tasks.join_next().await {
                Self::finished(&mut in_flight, done);
            }
        })
        .await;
        if drained.is_err() {
            warn!(
                abandoned = tasks.len(),
                "grace period over: abandoning refreshes (nothing of theirs is written)"
            );
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
        info!("stopped");
    }

    fn finished(in_flight: &mut HashSet<FeedId>, done: Result<FeedResult, tokio::task::JoinError>) {
        match done {
            Ok(r) => {
                in_flight.remove(&r.feed_id);
            }
            Err(e) => {
                // A panicking refresh is a bug; its feed stays claimed until restart rather than
                // being hammered in a loop.
                error!(error = %e, "a feed refresh task failed");
            }
        }
    }

    /// How long to sleep before looking for due feeds again: until the next due time, at most a tick.
    async fn wait_for_next(&self, tick: Duration) -> Duration {
        match self.inner.store.next_due().await {
            Ok(Some(t)) => (t - Utc::now())
                .to_std()
                .unwrap_or(Duration::from_millis(200))
                .clamp(Duration::from_millis(200), tick),
            _ => tick,
        }
    }

    /// One refresh of one feed: fetch, parse, normalize, store, schedule. Never fails: every
    /// problem is recorded against the feed.
    pub async fn refresh(&self, feed: Feed) -> FeedResult {
        let span = info_span!("refresh", feed_id = feed.id.0);
        self.refresh_inner(feed).instrument(span).await
    }

    async fn refresh_inner(&self, feed: Feed) -> FeedResult {
        let inner = &self.inner;
        let started = Instant::now();
        let validators = Validators {
            etag: feed.etag.clone(),
            last_modified: feed.last_modified.clone(),
        };
        let outcome = inner.fetcher.fetch(&feed.url, &validators).await;
        let now = Utc::now();
        let mut refresh = Refresh {
            feed: &feed,
            now,
            outcome: "error",
            http_status: None,
            error_kind: None,
            error_message: None,
            validators: None,
            body_hash: None,
            status: None,
            next_check_at: now,
            duration_ms: 0,
            bytes: 0,
            items: 0,
            stories: &[],
        };
        let mut hints = Hints::default();
        let normalized;
        match outcome {
            FetchOutcome::NotModified {
                validators: fresh,
                hints: h,
            } => {
                refresh.outcome = "not_modified";
                refresh.http_status = Some(304);
                refresh.validators = Some((
                    fresh.etag.or(validators.etag),
                    fresh.last_modified.or(validators.last_modified),
                ));
                hints.retry_after = h.retry_after;
            }
            FetchOutcome::Fetched(f) => {
                refresh.http_status = Some(f.status);
                refresh.bytes = f.body.len() as i64;
                hints.retry_after = f.hints.retry_after;
                let hash = blake3::hash(&f.body).to_hex()[..32].to_owned();
                if feed.body_hash.as_deref() == Some(hash.as_str()) {
                    refresh.outcome = "unchanged";
                    refresh.validators = Some((f.validators.etag, f.validators.last_modified));
                } else {
                    match parse::parse(&f.body, f.charset.as_deref(), Some(&f.final_url)) {
                        Ok(parsed) => {
                            hints.ttl_mins = parsed.ttl_mins;
                            normalized = normalize_document(
                                &parsed,
                                Some(&f.final_url),
                                inner.config.fetch.max_items_per_feed,
                            );
                            refresh.outcome = "fetched";
                            refresh.items = normalized.items as i64;
                            refresh.stories = &normalized.stories;
                            refresh.body_hash = Some(hash);
                            refresh.validators =
                                Some((f.validators.etag, f.validators.last_modified));
                            if let Some(first) = normalized.skipped.first() {
                                warn!(
                                    skipped = normalized.skipped.len(),
                                    first_reason = %first.reason,
                                    "items skipped"
                                );
                                refresh.error_message = Some(format!(
                                    "skipped {} of {} items; first: {}",
                                    normalized.skipped.len(),
                                    normalized.items,
                                    first.reason
                                ));
                            }
                        }
                        Err(e) => {
                            // Validators are not kept, so the next poll fetches and reports again.
                            refresh.error_kind = Some(e.kind());
                            refresh.error_message = Some(e.to_string());
                        }
                    }
                }
            }
            FetchOutcome::Gone { status } => {
                refresh.outcome = "gone";
                refresh.http_status = Some(status);
                refresh.error_kind = Some("gone");
                refresh.error_message =
                    Some("HTTP 410 Gone: polling stopped (status `gone`)".to_owned());
                refresh.status = Some("gone");
            }
            FetchOutcome::RateLimited { status, hints: h } => {
                refresh.outcome = "rate_limited";
                refresh.http_status = Some(status);
                refresh.error_kind = Some("rate_limited");
                refresh.error_message = Some(format!("HTTP {status}"));
                hints.retry_after = h.retry_after;
            }
            FetchOutcome::Failed(e) => {
                refresh.http_status = e.status;
                refresh.error_kind = Some(e.kind.as_str());
                refresh.error_message = Some(e.message);
            }
        }
        let result = match refresh.error_kind {
            None => schedule::Result::Healthy,
            Some(_) => schedule::Result::Failed {
                consecutive_errors: feed.consecutive_errors.saturating_add(1),
            },
        };
        refresh.next_check_at = schedule::next_check(&inner.policy, result, &hints, now);
        refresh.duration_ms = started.elapsed().as_millis().min(i64::MAX as u128) as i64;
        let mut out = FeedResult {
            feed_id: feed.id,
            outcome: refresh.outcome,
            error_kind: refresh.error_kind,
            new_stories: 0,
        };
        match inner.store.record_refresh(&refresh).await {
            Ok(w) => {
                out.new_stories = w.new_stories;
                match refresh.error_kind {
                    None => debug!(
                        outcome = refresh.outcome,
                        new = w.new_stories,
                        updated = w.updated_stories,
                        ms = refresh.duration_ms,
                        "refreshed"
                    ),
                    Some(kind) => warn!(
                        outcome = refresh.outcome,
                        error_kind = kind,
                        status = refresh.http_status,
                        detail = refresh.error_message.as_deref().unwrap_or(""),
                        "feed failed"
                    ),
                }
            }
            Err(e) => {
                error!(error = %e, "cannot store refresh");
                out.outcome = "error";
                out.error_kind = Some("database");
            }
        }
        out
    }
}
