//! One feed's refresh, as a sequence of named steps: fetch the feed, read the response into a
//! typed record, run the body through the [`pipeline`](crate::pipeline) (fetching the article
//! pages a full-text feed's draft asks for), schedule the next check, report, and store.
//!
//! Owns what a refresh records about its feed (outcome, error kind, validators, hints) and the
//! conversion of that record to the store's `FeedUpdate` (the stored strings come from the enums'
//! `as_str`). Never fails: every problem is recorded against the feed. Never parses, normalizes,
//! tags or writes SQL itself: the pipeline and the store do.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use tracing::{debug, error, info_span, warn, Instrument};

use super::{host_of, jitter, App, FeedResult, Live};
use crate::budget::Budget;
use crate::fetch::{FetchOutcome, Fetched, Validators};
use crate::model::{rfc3339, ErrorKind, Feed, FeedStatus, Outcome, Story};
use crate::pipeline::{Draft, Origin, Output, PageApplied, PageBytes, PageRequest};
use crate::schedule::{self, Hints};
use crate::service::metrics::Write;
use crate::store::{FeedUpdate, StoreError};

/// A finished refresh: its result, the feed state still to write (refreshes that brought no
/// stories are written in batches), and whether its host asked to be left alone.
pub(super) struct Refreshed {
    pub(super) result: FeedResult,
    pub(super) pending: Option<FeedUpdate>,
    pub(super) throttle_host: Option<Option<DateTime<Utc>>>,
    /// Whether a request was started (and so holds a host slot to give back).
    pub(super) started: bool,
}

/// What one refresh learned about its feed, typed; [`Record::update`] turns it into the store's
/// row values.
struct Record {
    outcome: Outcome,
    http_status: Option<u16>,
    /// Why it failed; `None` when healthy.
    error: Option<ErrorKind>,
    /// The failure, or a note on a healthy refresh (items skipped).
    message: Option<String>,
    /// Validators to keep (already merged with the previous ones).
    validators: Validators,
    /// Hash of the last body parsed.
    body_hash: Option<String>,
    status: FeedStatus,
    moved_to: Option<String>,
    /// The title the document carries.
    title: Option<String>,
    bytes: i64,
    items: i64,
    /// What the server said about when to come back.
    hints: Hints,
    /// The feed's publishing rate, from the stories' dates.
    rate: Option<chrono::Duration>,
    /// The host asked to be left alone (until this instant, if it said).
    throttle_host: Option<Option<DateTime<Utc>>>,
}

impl Record {
    /// A refresh that has learned nothing yet: an error that keeps the feed's stored state.
    fn new(feed: &Feed) -> Record {
        Record {
            outcome: Outcome::Error,
            http_status: None,
            error: None,
            message: None,
            validators: Validators {
                etag: feed.etag.clone(),
                last_modified: feed.last_modified.clone(),
            },
            body_hash: feed.body_hash.clone(),
            status: FeedStatus::Active,
            moved_to: None,
            title: None,
            bytes: 0,
            items: 0,
            hints: Hints::default(),
            rate: None,
            throttle_host: None,
        }
    }

    fn fail(&mut self, kind: ErrorKind, message: String) {
        self.error = Some(kind);
        self.message = Some(message);
    }

    /// The store's row values; the schedule fields are filled in by [`App::schedule`].
    fn update(&self, feed: &Feed, now: DateTime<Utc>, duration_ms: i64) -> FeedUpdate {
        FeedUpdate {
            feed_id: feed.id,
            source_id: feed.source_id,
            now,
            outcome: self.outcome.as_str(),
            http_status: self.http_status,
            error_kind: self.error.map(ErrorKind::as_str),
            error_message: self.message.clone(),
            etag: self.validators.etag.clone(),
            last_modified: self.validators.last_modified.clone(),
            body_hash: self.body_hash.clone(),
            consecutive_errors: 0,
            status: self.status.as_str(),
            next_check_at: now,
            interval_secs: 0,
            moved_to: self.moved_to.clone(),
            title: self.title.clone(),
            duration_ms,
            bytes: self.bytes,
            items: self.items,
        }
    }
}

/// How the body of a response went through the pipeline.
enum Processed {
    /// Byte-identical to the last body read: not parsed again.
    Unchanged,
    /// Parsed and normalized: the stories to store.
    Stories(Output),
    /// Not a readable feed (or the parser failed).
    Failed(ErrorKind, String),
}

impl App {
    /// One refresh of one feed: fetch, pipeline, schedule, report, store (when it brought
    /// stories). Never fails: every problem is recorded against the feed.
    pub(super) async fn refresh(&self, feed: Feed) -> Refreshed {
        let span = info_span!("refresh", feed_id = feed.id.0);
        self.refresh_steps(feed).instrument(span).await
    }

    async fn refresh_steps(&self, feed: Feed) -> Refreshed {
        let live = self.live();
        let started = Instant::now();
        let mut record = Record::new(&feed);
        let body = self.fetch_feed(&live, &feed, &mut record).await;
        let now = Utc::now();
        let output = match body {
            Some(fetched) => self.process(&live, &feed, fetched, &mut record, now).await,
            None => None,
        };
        let duration_ms = started.elapsed().as_millis().min(i64::MAX as u128) as i64;
        let mut update = record.update(&feed, now, duration_ms);
        self.schedule(
            &live,
            &feed,
            &mut update,
            record.outcome,
            record.error,
            record.rate,
            &record.hints,
        );
        let result = self.report(&feed, &record, &update);
        match output {
            Some(output) if !output.incoming.is_empty() => {
                self.store_stories(&live, &feed, update, record, result, output)
                    .await
            }
            _ => Refreshed {
                result,
                pending: Some(update),
                throttle_host: record.throttle_host,
                started: true,
            },
        }
    }

    /// Step 1: one conditional GET of the feed, read into `record`. Returns the response when it
    /// carries a body to process.
    async fn fetch_feed(&self, live: &Live, feed: &Feed, record: &mut Record) -> Option<Fetched> {
        let outcome = live.fetcher.fetch(&feed.url, &record.validators).await;
        match outcome {
            FetchOutcome::NotModified {
                validators: fresh,
                hints,
                moved_to,
            } => {
                record.outcome = Outcome::NotModified;
                record.http_status = Some(304);
                // A 304 may refresh the validators; what it leaves out stays.
                let old = std::mem::take(&mut record.validators);
                record.validators = Validators {
                    etag: fresh.etag.or(old.etag),
                    last_modified: fresh.last_modified.or(old.last_modified),
                };
                record.moved_to = moved_to;
                record.hints.retry_after = hints.retry_after;
                record.hints.fresh_until = hints.fresh_until;
                None
            }
            FetchOutcome::Fetched(f) => {
                record.http_status = Some(f.status);
                record.bytes = f.body.len() as i64;
                record.moved_to = f.moved_to.clone();
                record.hints.retry_after = f.hints.retry_after;
                record.hints.fresh_until = f.hints.fresh_until;
                Some(f)
            }
            FetchOutcome::Gone { status } => {
                record.outcome = Outcome::Gone;
                record.http_status = Some(status);
                record.fail(
                    ErrorKind::Gone,
                    "HTTP 410 Gone: polling stopped (status `gone`)".to_owned(),
                );
                record.status = FeedStatus::Gone;
                None
            }
            FetchOutcome::RateLimited { status, hints } => {
                record.outcome = Outcome::RateLimited;
                record.http_status = Some(status);
                record.fail(
                    ErrorKind::RateLimited,
                    match hints.retry_after {
                        Some(t) => format!("HTTP {status}; Retry-After until {}", rfc3339(t)),
                        None => format!("HTTP {status}"),
                    },
                );
                record.hints.retry_after = hints.retry_after;
                record.throttle_host = Some(hints.retry_after);
                None
            }
            FetchOutcome::Failed(e) => {
                record.http_status = e.status;
                record.fail(e.kind, e.message);
                None
            }
        }
    }

    /// Step 2: a body through the pipeline (unless it is the one read last time), with the
    /// article pages of a full-text feed. Returns the stories to store.
    async fn process(
        &self,
        live: &Arc<Live>,
        feed: &Feed,
        fetched: Fetched,
        record: &mut Record,
        now: DateTime<Utc>,
    ) -> Option<Output> {
        let hash = blake3::hash(&fetched.body).to_hex()[..32].to_owned();
        let processed = if feed.body_hash.as_deref() == Some(hash.as_str()) {
            Processed::Unchanged
        } else {
            self.run_pipeline(live, feed, &fetched).await
        };
        match processed {
            Processed::Unchanged => {
                record.outcome = Outcome::Unchanged;
                record.validators = fetched.validators;
                None
            }
            Processed::Failed(kind, message) => {
                // Validators and hash are not kept, so the next poll reads it again.
                record.fail(kind, message);
                None
            }
            Processed::Stories(output) => {
                record.hints.ttl_mins = output.ttl_mins;
                record.title = output.title.clone();
                record.outcome = Outcome::Fetched;
                record.items = output.items as i64;
                record.body_hash = Some(hash);
                record.validators = fetched.validators;
                if let Some(first) = output.skipped.first() {
                    warn!(
                        skipped = output.skipped.len(),
                        first_reason = %first.reason,
                        "items skipped"
                    );
                    record.message = Some(format!(
                        "skipped {} of {} items; first: {}",
                        output.skipped.len(),
                        output.items,
                        first.reason
                    ));
                }
                let dates: Vec<DateTime<Utc>> = output
                    .incoming
                    .iter()
                    .filter_map(|i| i.story.published)
                    .collect();
                record.rate = schedule::publishing_interval(&dates, now);
                Some(output)
            }
        }
    }

    /// The pipeline's stages, off the async workers (they are CPU work). A full-text feed stops
    /// after normalization for its article pages, then finishes.
    async fn run_pipeline(&self, live: &Arc<Live>, feed: &Feed, fetched: &Fetched) -> Processed {
        let over =
            |e: crate::budget::OverBudget| Processed::Failed(ErrorKind::OverBudget, e.to_string());
        let mut budget = Budget::new(live.timings.document_budget);
        let snapshot = live.clone();
        let (source, is_wire, full_text) = (feed.source.clone(), feed.is_wire, feed.full_text);
        let body = fetched.body.clone();
        let charset = fetched.charset.clone();
        let url = fetched.final_url.clone();
        let drafted = tokio::task::spawn_blocking(move || {
            let origin = Origin {
                base_url: Some(&url),
                source: Some(&source),
                is_wire,
            };
            let pipeline = snapshot.pipeline();
            let r = budget.run(|| {
                let draft = pipeline.document(&body, charset.as_deref(), &origin)?;
                Ok::<_, crate::parse::ParseError>(if full_text && !draft.stories.is_empty() {
                    Err(draft)
                } else {
                    Ok(pipeline.finish(draft, &origin))
                })
            });
            (r, budget)
        })
        .await;
        let (mut draft, budget) = match drafted {
            Ok((Ok(Ok(Ok(output))), _)) => return Processed::Stories(output),
            Ok((Ok(Ok(Err(draft))), budget)) => (draft, budget),
            Ok((Ok(Err(e)), _)) => return Processed::Failed(e.error_kind(), e.to_string()),
            Ok((Err(e), _)) => return over(e),
            Err(e) => {
                return Processed::Failed(ErrorKind::Parse, format!("the parser failed: {e}"))
            }
        };
        // Each article page is a document of its own, with its own budget (see `apply_page`).
        self.fetch_pages(live, feed, &mut draft).await;
        let mut budget = budget;
        let snapshot = live.clone();
        let (source, is_wire) = (feed.source.clone(), feed.is_wire);
        let url = fetched.final_url.clone();
        let finished = tokio::task::spawn_blocking(move || {
            let origin = Origin {
                base_url: Some(&url),
                source: Some(&source),
                is_wire,
            };
            budget.run(|| snapshot.pipeline().finish(draft, &origin))
        })
        .await;
        match finished {
            Ok(Ok(output)) => Processed::Stories(output),
            Ok(Err(e)) => over(e),
            Err(e) => Processed::Failed(ErrorKind::Parse, format!("the pipeline failed: {e}")),
        }
    }

    /// Step 2b: fetches the article pages a full-text feed's draft asks for (new and changed
    /// items, at most `fetch.full_text_per_refresh`) and hands each to the pipeline. Pages go
    /// through the same fetcher (address guard, size cap, timeouts) and the same host budgets as
    /// feeds; a page that fails, or whose host will not be free within the fetch timeout, leaves
    /// the feed's text.
    async fn fetch_pages(&self, live: &Arc<Live>, feed: &Feed, draft: &mut Draft) {
        let keys: Vec<String> = draft.stories.iter().map(|s| s.key.clone()).collect();
        let known = match self.inner.store.story_hashes(feed.id, &keys).await {
            Ok(k) => k,
            Err(e) => {
                warn!(error = %e, "cannot read stored stories; full text skipped this time");
                return;
            }
        };
        let requests = draft.page_requests(&known, live.config.fetch.full_text_per_refresh);
        let feed_host = host_of(&feed.url);
        // Pages must not keep the refresh past half its lease (another daemon could take it).
        let deadline = Instant::now() + live.timings.lease / 2;
        for request in requests {
            if Instant::now() >= deadline {
                debug!("article pages: out of time for this refresh");
                break;
            }
            let Some(page) = self.fetch_page(live, &request.url, &feed_host).await else {
                continue;
            };
            let Some(story) = draft.stories.get(request.story) else {
                continue;
            };
            let applied = self
                .apply_page(live, feed, story.clone(), &draft.recurring, &request, page)
                .await;
            if let Some(story) = applied {
                draft.stories[request.story] = story;
            }
        }
    }

    /// One article page, within its host's budget. `None` when the host is busy past the fetch
    /// timeout or the request did not bring a page.
    async fn fetch_page(&self, live: &Live, url: &str, feed_host: &str) -> Option<Fetched> {
        let host = host_of(url);
        let same_host = host == feed_host;
        let max_wait = crate::config::Timings::delta(live.timings.fetch_timeout);
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
            return None;
        }
        let outcome = live.fetcher.fetch(url, &Validators::default()).await;
        if !same_host {
            self.hosts().finish(&host);
        }
        match outcome {
            FetchOutcome::Fetched(f) => Some(f),
            FetchOutcome::Failed(e) => {
                debug!(url = %url, error = %e.message, "article page failed");
                None
            }
            _ => {
                debug!(url = %url, "article page not fetched");
                None
            }
        }
    }

    /// Hands a fetched page to the pipeline (off the async workers) for a copy of its story;
    /// returns the story to keep, or `None` when the feed's stays.
    async fn apply_page(
        &self,
        live: &Arc<Live>,
        feed: &Feed,
        mut story: Story,
        recurring: &[String],
        request: &PageRequest,
        page: Fetched,
    ) -> Option<Story> {
        let snapshot = live.clone();
        let (source, is_wire) = (feed.source.clone(), feed.is_wire);
        let recurring = recurring.to_vec();
        let mut budget = Budget::new(live.timings.document_budget);
        let applied = tokio::task::spawn_blocking(move || {
            let origin = Origin {
                base_url: Some(&page.final_url),
                source: Some(&source),
                is_wire,
            };
            let bytes = PageBytes {
                body: &page.body,
                charset: page.charset.as_deref(),
                final_url: &page.final_url,
            };
            budget
                .run(|| {
                    snapshot
                        .pipeline()
                        .apply_page(&mut story, &recurring, bytes, &origin)
                })
                .map(|applied| (story, applied))
        })
        .await;
        let url = &request.url;
        match applied {
            Ok(Err(e)) => {
                warn!(url = %url, error = %e, "article page over budget; the feed's text stays");
                None
            }
            Ok(Ok((_, PageApplied::NoText))) => {
                debug!(url = %url, "no article text found on the page");
                None
            }
            Ok(Ok((story, applied))) => {
                debug!(url = %url, replaced = applied == PageApplied::Replaced, "article page applied");
                Some(story)
            }
            Err(e) => {
                warn!(url = %url, error = %e, "article extraction failed");
                None
            }
        }
    }

    /// Step 3: fills in the error count, interval and next check of an update.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn schedule(
        &self,
        live: &Live,
        feed: &Feed,
        update: &mut FeedUpdate,
        outcome: Outcome,
        error: Option<ErrorKind>,
        rate: Option<chrono::Duration>,
        hints: &Hints,
    ) {
        let result = match (error, outcome) {
            (Some(_), _) => {
                update.consecutive_errors = feed.consecutive_errors.saturating_add(1);
                schedule::Result::Failed {
                    consecutive_errors: update.consecutive_errors,
                }
            }
            (None, Outcome::Fetched) => schedule::Result::Fetched { rate },
            (None, _) => schedule::Result::Unchanged,
        };
        if error.is_none() {
            update.consecutive_errors = 0;
        }
        let previous = feed.interval_secs.map(chrono::Duration::seconds);
        let next = schedule::next_check(
            &live.policy,
            result,
            previous,
            hints,
            jitter(feed.id, update.now),
            update.now,
        );
        update.next_check_at = next.at;
        update.interval_secs = next.interval.num_seconds();
    }

    /// Step 4: counts the fetch and logs how it ended.
    fn report(&self, feed: &Feed, record: &Record, update: &FeedUpdate) -> FeedResult {
        self.inner.metrics.fetch(
            record.outcome,
            update.http_status,
            update.duration_ms,
            update.bytes,
        );
        if let Some(kind) = record.error {
            self.inner.metrics.error(kind);
        }
        match record.error {
            None => debug!(
                outcome = record.outcome.as_str(),
                ms = update.duration_ms,
                "refreshed"
            ),
            Some(kind) => warn!(
                outcome = record.outcome.as_str(),
                error_kind = kind.as_str(),
                status = update.http_status,
                detail = update.error_message.as_deref().unwrap_or(""),
                "feed failed"
            ),
        }
        FeedResult {
            feed_id: feed.id,
            outcome: record.outcome,
            error_kind: record.error,
            new_stories: 0,
        }
    }

    /// Step 5: writes the stories with the feed's state in one transaction. A failure is
    /// recorded on the feed (through the batch path) so it backs off instead of being fetched
    /// again at once.
    async fn store_stories(
        &self,
        live: &Live,
        feed: &Feed,
        mut update: FeedUpdate,
        record: Record,
        mut result: FeedResult,
        output: Output,
    ) -> Refreshed {
        let inner = &self.inner;
        match inner
            .store
            .record_refresh(&inner.owner, &update, &output.incoming, &inner.matcher)
            .await
        {
            Ok(w) => {
                inner.metrics.writes.ok(Write::Stories);
                inner
                    .metrics
                    .stored(w.new_stories, w.updated_stories, w.reprints, w.tags);
                inner.metrics.merged(w.merges);
                result.new_stories = w.new_stories;
                debug!(new = w.new_stories, updated = w.updated_stories, "stored");
                Refreshed {
                    result,
                    pending: None,
                    throttle_host: record.throttle_host,
                    started: true,
                }
            }
            Err(e) => {
                error!(error = %e, "cannot store refresh");
                inner.metrics.database_error();
                // A lost race with another daemon is not a storage fault.
                if !matches!(e, StoreError::Conflict(_)) {
                    inner.metrics.writes.failed(Write::Stories, &e.to_string());
                }
                update.outcome = Outcome::Error.as_str();
                update.error_kind = Some(ErrorKind::Database.as_str());
                update.error_message = Some(e.to_string());
                update.body_hash = feed.body_hash.clone();
                update.etag = feed.etag.clone();
                update.last_modified = feed.last_modified.clone();
                self.schedule(
                    live,
                    feed,
                    &mut update,
                    Outcome::Error,
                    Some(ErrorKind::Database),
                    None,
                    &record.hints,
                );
                result.outcome = Outcome::Error;
                result.error_kind = Some(ErrorKind::Database);
                Refreshed {
                    result,
                    pending: Some(update),
                    throttle_host: record.throttle_host,
                    started: true,
                }
            }
        }
    }
}
