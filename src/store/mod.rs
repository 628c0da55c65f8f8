//! The database: connecting, migrating, and every read and write wirefeed makes.
//!
//! Owns all SQL. PostgreSQL is the production store; SQLite is the zero-setup default. Both run
//! one implementation (`sql.rs`, compiled once per database as `postgres` and `sqlite`), with
//! what differs between them (instants, list parameters, transaction start, the cluster lock,
//! claiming) in `dialect.rs`; the methods here dispatch to one or the other. Writes for one feed
//! refresh happen in one transaction, idempotently: unique keys, not application checks, keep
//! rows single. Story rows, versions, tags and the feed's state are written before the cluster
//! lock is taken; the lock covers only the placement of new stories (decided by
//! `dedup::plan`, executed here) and cluster merges. Never: makes a network call while a
//! transaction is open, decides where a story is placed, or lets a sqlx type leave this module.

mod dialect;
pub mod open;

/// PostgreSQL: the store's one implementation (`sql.rs`) over its dialect.
mod postgres {
    use super::dialect::pg as d;
    include!("sql.rs");
}

/// SQLite: the store's one implementation (`sql.rs`) over its dialect.
mod sqlite {
    use super::dialect::lite as d;
    include!("sql.rs");
}

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

use crate::config::{redact_url, DatabaseConfig};
use crate::dedup::plan::Stored;
use crate::dedup::{Fingerprint, Matcher};
use crate::model::{Feed, FeedId, Story};

/// A database failure.
///
/// Each variant's message carries its cause once, in words (see [`open`] for connections):
/// the driver's error is kept for callers that branch on it, but not offered as `source()`,
/// which would print the same cause again in every error chain.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither postgres:// nor sqlite:.
    #[error("unsupported database URL `{0}`")]
    UnsupportedUrl(String),
    /// Could not connect; `reason` names the cause (refused, unknown host, authentication, TLS,
    /// a missing database, directory or file, permissions).
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        url: String,
        reason: String,
        cause: sqlx::Error,
    },
    /// A migration failed.
    #[error("migration failed: {}", describe_migrate(.0))]
    Migrate(sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {}", describe(.0))]
    Query(sqlx::Error),
    /// Another daemon holds the SQLite file.
    #[error("{0}")]
    Locked(String),
    /// A refresh kept racing another refresh of the same source for the same stories; nothing
    /// of it was written, and the next poll tries again.
    #[error("{0}")]
    Conflict(String),
    /// A read command found no SQLite file at this (absolute) path; it never creates one.
    #[error("no database file at {}", .0.display())]
    Missing(std::path::PathBuf),
    /// The database has no wirefeed schema, or an older one than this wirefeed reads.
    #[error("{0}; run `wirefeed migrate` (or start the daemon) first")]
    NotMigrated(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        StoreError::Query(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> StoreError {
        StoreError::Migrate(e)
    }
}

/// A driver error in words, its cause once: the database's own message without sqlx's
/// "error returned from database:" and "error communicating with database:" prefixes.
fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_owned(),
        sqlx::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// A migration error in words, its cause once.
fn describe_migrate(e: &sqlx::migrate::MigrateError) -> String {
    use sqlx::migrate::MigrateError;
    match e {
        MigrateError::Execute(e) => describe(e),
        MigrateError::ExecuteMigration(e, version) => {
            format!("migration {version}: {}", describe(e))
        }
        other => other.to_string(),
    }
}

impl StoreError {
    /// True when the database cannot be reached or is going away (refused, reset, timed out,
    /// shutting down, too many connections): a fault to wait out, not a bad request or a bug.
    pub fn is_unreachable(&self) -> bool {
        let e = match self {
            StoreError::Connect { cause, .. } | StoreError::Query(cause) => cause,
            StoreError::Migrate(sqlx::migrate::MigrateError::Execute(cause)) => cause,
            _ => return false,
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(d) => d.code().is_some_and(|c| {
                c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
            }),
            _ => false,
        }
    }
}

/// Proof that this process is the only daemon on a SQLite file; released on drop.
///
/// The lock is a `flock` on the database file itself. Its descriptor is unlocked on drop but
/// never closed: closing any descriptor of a file drops every POSIX (`fcntl`) lock the process
/// holds on it, and SQLite's own locks on the same file are POSIX locks. One descriptor per
/// daemon start is what this costs.
#[derive(Debug)]
pub struct DaemonLock {
    file: std::mem::ManuallyDrop<std::fs::File>,
}

impl DaemonLock {
    fn new(file: std::fs::File) -> DaemonLock {
        DaemonLock {
            file: std::mem::ManuallyDrop::new(file),
        }
    }
}

impl Drop for DaemonLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// For a daemon on SQLite: an exclusive lock on the database file, taken before anything
/// connects, migrates or writes, so a second daemon on the same file (under any path, symlink
/// or hard link) is refused before it changes anything. `None` on PostgreSQL, where leases let
/// several daemons share the work, and for an in-memory database.
pub fn lock_for_daemon(cfg: &DatabaseConfig) -> Result<Option<DaemonLock>, StoreError> {
    let url = cfg.url.as_str();
    if !url.starts_with("sqlite:") {
        return Ok(None);
    }
    let file = dialect::lite::file_of_url(url).map_err(|cause| StoreError::Connect {
        url: redact_url(url),
        reason: format!("invalid database URL: {}", describe(&cause)),
        cause,
    })?;
    file.map(|f| dialect::lite::lock_file(&f)).transpose()
}

/// Where a feed was defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefinedIn {
    /// `[[feeds]]` in the config file (synced at start).
    Config,
    /// `wirefeed feeds add` (or an OPML import).
    Cli,
}

impl DefinedIn {
    pub fn as_str(self) -> &'static str {
        match self {
            DefinedIn::Config => "config",
            DefinedIn::Cli => "cli",
        }
    }
}

/// A feed to add or keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFeed<'a> {
    pub url: &'a str,
    pub source: &'a str,
    pub is_wire: bool,
    /// Fetch each new item's article page for its full text.
    pub full_text: bool,
    pub defined_in: DefinedIn,
    /// The feed's own title, when known (an OPML outline's); `None` keeps the stored one.
    pub title: Option<&'a str>,
}

/// A config file's feed whose address moved: a permanent redirect took the feed from
/// `config_url` (what the config file still says) to `url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedFeed {
    pub config_url: String,
    pub url: String,
    /// When the redirect moved it (unknown for moves recorded before wirefeed kept the time).
    pub moved_at: Option<DateTime<Utc>>,
}

/// The new state of a feed after one refresh, and its line in the fetch log.
#[derive(Debug, Clone)]
pub struct FeedUpdate {
    pub feed_id: FeedId,
    /// The feed's publisher (`sources` row), for the stories it brought.
    pub source_id: i64,
    pub now: DateTime<Utc>,
    /// `fetched`, `not_modified`, `unchanged`, `gone`, `rate_limited` or `error`.
    pub outcome: &'static str,
    pub http_status: Option<u16>,
    /// Stable error kind; `None` when healthy.
    pub error_kind: Option<&'static str>,
    pub error_message: Option<String>,
    /// Validators to keep (already merged with the previous ones).
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Hash of the last body parsed.
    pub body_hash: Option<String>,
    pub consecutive_errors: u32,
    /// `active` or `gone`.
    pub status: &'static str,
    pub next_check_at: DateTime<Utc>,
    pub interval_secs: i64,
    /// The feed's new address after a confirmed permanent redirect.
    pub moved_to: Option<String>,
    /// The title the document carries (`None` keeps the stored one).
    pub title: Option<String>,
    pub duration_ms: i64,
    pub bytes: i64,
    pub items: i64,
}

/// Which feeds a daemon claims, and for how long.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    /// Who claims: one value per daemon process.
    pub owner: &'a str,
    pub now: DateTime<Utc>,
    /// Only feeds due at or before this instant (`None`: due or not).
    pub due_by: Option<DateTime<Utc>>,
    /// Only feeds not fetched since this instant (`run --once` passes its start).
    pub not_fetched_since: Option<DateTime<Utc>>,
    pub lease_until: DateTime<Utc>,
    pub limit: i64,
}

/// An active feed a lease holds: not claimable until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leased {
    pub url: String,
    /// The daemon holding it (this one, for a feed it deferred).
    pub owner: String,
    pub until: DateTime<Utc>,
}

/// What a refresh changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub new_stories: u64,
    pub updated_stories: u64,
    /// New stories that joined an existing cluster.
    pub reprints: u64,
    /// Stored clusters merged into another because a new story bridged them.
    pub merges: u64,
    /// Tag rows written.
    pub tags: u64,
}

/// A `wirefeed retag` run: which stories it covers and how far it got.
#[derive(Debug, Clone, PartialEq)]
pub struct RetagProgress {
    /// Only stories first seen at or after this instant (fixed when the run starts).
    pub since: Option<DateTime<Utc>>,
    /// The last story re-tagged (stories go in id order).
    pub last_story_id: i64,
    pub started_at: DateTime<Utc>,
}

/// What `retag` reads of a stored story: what the tagger reads.
#[derive(Debug, Clone)]
pub struct RetagStory {
    pub id: i64,
    pub title: String,
    pub dateline: Option<String>,
    pub body: String,
    /// Its content hash when read: tags are written only if it is unchanged.
    pub content_hash: String,
}

/// Feed counts by state and the scheduler's lag, read from the database when scraped.
#[derive(Debug, Clone, Default)]
pub struct DbGauges {
    pub feeds_by_state: Vec<(String, i64)>,
    /// How long the most overdue active feed has waited past its check time, in seconds.
    pub scheduler_lag_secs: f64,
    /// That feed's URL; `None` when no feed is overdue.
    pub most_overdue: Option<String>,
}

/// A feed as `feeds list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FeedInfo {
    pub id: i64,
    pub url: String,
    pub source: String,
    pub wire: bool,
    pub full_text: bool,
    pub defined_in: String,
    pub status: String,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_message: Option<String>,
    pub consecutive_errors: i64,
    pub last_fetched_at: Option<String>,
    pub next_check_at: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub interval_secs: Option<i64>,
    /// The address a permanent redirect moved the feed from, and when.
    pub moved_from: Option<String>,
    pub moved_at: Option<String>,
    /// The title the feed carries itself (its channel title, or the OPML outline's).
    pub title: Option<String>,
    pub stories: i64,
}

/// Filters for `stories`.
#[derive(Debug, Clone, Default)]
pub struct StoryQuery {
    /// Only stories published (or first seen) at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only the stories of this reprint cluster.
    pub cluster: Option<i64>,
    /// Only stories of this source (its name, case-insensitive).
    pub source: Option<String>,
    /// Only stories tagged with this country (ISO 3166-1 alpha-2).
    pub country: Option<String>,
    /// Only stories tagged with this region (its slug; a parent region includes its parts).
    pub region: Option<String>,
    /// Only stories with this topic.
    pub topic: Option<String>,
    pub limit: i64,
}

/// A stored story as `stories --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct StoredStory {
    /// Null for a story not stored (what `inspect` prints).
    pub id: Option<i64>,
    pub key: String,
    pub feed_url: String,
    /// The publisher; null only in `inspect` without `--source`.
    pub source: Option<String>,
    pub url: Option<String>,
    pub canonical_url: Option<String>,
    pub title: String,
    pub published: Option<String>,
    pub updated: Option<String>,
    pub authors: Vec<String>,
    pub language: Option<String>,
    pub wire_service: Option<String>,
    pub dateline: Option<String>,
    pub body: String,
    pub cluster: Option<i64>,
    pub origin: Option<i64>,
    pub is_reprint: bool,
    pub version: i64,
    pub countries: Vec<serde_json::Value>,
    pub regions: Vec<serde_json::Value>,
    pub topics: Vec<String>,
}

impl StoredStory {
    /// A story as it would be stored, before the database gives it an id and a cluster.
    pub fn unstored(s: &Story, feed_url: &str, source: Option<&str>) -> StoredStory {
        StoredStory {
            id: None,
            key: s.key.clone(),
            feed_url: feed_url.to_owned(),
            source: source.map(str::to_owned),
            url: s.url.clone(),
            canonical_url: s.canonical_url.clone(),
            title: s.title.clone(),
            published: crate::model::rfc3339_opt(s.published),
            updated: crate::model::rfc3339_opt(s.updated),
            authors: s.authors.clone(),
            language: s.language.clone(),
            wire_service: s.wire_service.clone(),
            dateline: s.dateline.clone(),
            body: s.body.clone(),
            cluster: None,
            origin: None,
            is_reprint: false,
            version: 1,
            countries: Vec::new(),
            regions: Vec::new(),
            topics: Vec::new(),
        }
    }
}

impl StoredStory {
    /// Shows tags computed but not stored (`inspect`), in the stored shape.
    pub fn set_tags(&mut self, tags: &crate::tag::Tags) {
        self.countries = tags
            .countries
            .iter()
            .map(|c| serde_json::json!({"code": c.code, "score": c.score, "primary": c.primary}))
            .collect();
        self.regions = tags
            .regions
            .iter()
            .map(|r| serde_json::json!({"slug": r.slug, "score": r.score}))
            .collect();
        self.topics = tags.topics.clone();
    }
}

/// One tag row, as read back.
#[derive(Debug, Clone)]
pub(crate) struct TagRow {
    pub story_id: i64,
    pub kind: String,
    pub value: String,
    pub score: f64,
    pub is_primary: bool,
}

/// Attaches tag rows to the stories they belong to.
pub(crate) fn attach_tags(stories: &mut [StoredStory], tags: Vec<TagRow>) {
    let index: std::collections::HashMap<i64, usize> = stories
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.id.map(|id| (id, i)))
        .collect();
    for t in tags {
        let Some(&i) = index.get(&t.story_id) else {
            continue;
        };
        let s = &mut stories[i];
        match t.kind.as_str() {
            "country" => s.countries.push(serde_json::json!({
                "code": t.value, "score": t.score, "primary": t.is_primary
            })),
            "region" => s
                .regions
                .push(serde_json::json!({ "slug": t.value, "score": t.score })),
            _ => s.topics.push(t.value),
        }
    }
}

// SQL that both databases speak alike.

/// Every feed with its source and story count, for `feeds list`.
const LIST_FEEDS: &str =
    "SELECT f.id, f.url, s.name AS source, s.is_wire, f.full_text, f.defined_in, f.status, f.last_status,
                f.last_error, f.last_error_message, f.consecutive_errors, f.last_fetched_at,
                f.next_check_at, f.etag, f.last_modified, f.interval_secs, f.moved_from,
                f.moved_at, f.title, (SELECT count(*) FROM stories st WHERE st.feed_id = f.id) AS stories
         FROM feeds f JOIN sources s ON s.id = f.source_id ORDER BY f.id";

/// Claimed feeds with their source, from the claim's `c` CTE.
const CLAIMED_FEEDS: &str =
    " SELECT c.id, c.url, c.source_id, s.name AS source, s.is_wire, c.full_text, c.etag,
        c.last_modified, c.body_hash, c.consecutive_errors, c.interval_secs
    FROM c JOIN sources s ON s.id = c.source_id";

/// A refresh's line in the fetch log, written into the feed's ring slot (run after the feed's
/// `fetch_count` was advanced).
const LOG_FETCH_COLUMNS: &str = "feed_id, slot, fetched_at, outcome, http_status, error_kind,
    error_message, duration_ms, bytes, items, new_stories";
const ON_FETCH_SLOT: &str = " ON CONFLICT (feed_id, slot) DO UPDATE SET fetched_at = excluded.fetched_at,
    outcome = excluded.outcome, http_status = excluded.http_status, error_kind = excluded.error_kind,
    error_message = excluded.error_message, duration_ms = excluded.duration_ms,
    bytes = excluded.bytes, items = excluded.items, new_stories = excluded.new_stories";

/// Clusters left with no origin and no stories after a feed is removed.
const DELETE_ORPHAN_CLUSTERS: &str = "DELETE FROM clusters WHERE origin_story_id IS NULL AND NOT EXISTS (SELECT 1 FROM stories s WHERE s.cluster_id = clusters.id)";

/// The head of the multi-row story upsert; rows follow.
const INSERT_STORIES: &str =
    "INSERT INTO stories (feed_id, source_id, key, url, canonical_url, title, body, body_html, authors, published_at,
                updated_at, language, wire_service, dateline, content_hash, first_seen_at,
                last_changed_at, fingerprint, wire_copy) ";

/// The tail of the story upsert: a row changes (and its version rises) only when its content hash does.
const ON_STORY_CONFLICT: &str = " ON CONFLICT (feed_id, key) DO UPDATE SET url = excluded.url,
                canonical_url = excluded.canonical_url, title = excluded.title,
                body = excluded.body, body_html = excluded.body_html, authors = excluded.authors,
                published_at = excluded.published_at, updated_at = excluded.updated_at,
                language = excluded.language, wire_service = excluded.wire_service,
                dateline = excluded.dateline, content_hash = excluded.content_hash,
                last_changed_at = excluded.last_changed_at, fingerprint = excluded.fingerprint,
                wire_copy = stories.wire_copy OR excluded.wire_copy, version = stories.version + 1
             WHERE stories.content_hash <> excluded.content_hash
             RETURNING id, version, feed_id, key";

/// How many rows of the fetch log are kept per feed (a ring: slot = fetch_count % this).
pub const FETCH_LOG_PER_FEED: i64 = 50;

/// A story to store, with what reprint detection needs.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub story: Story,
    /// The fingerprint of its matching body.
    pub fingerprint: Fingerprint,
    /// The wire service's own copy (from a wire feed, or credited to its own source): preferred
    /// as its cluster's origin.
    pub wire_copy: bool,
    /// Its countries, regions and topics.
    pub tags: crate::tag::Tags,
}

/// The `story_tags` rows of tagged stories (story id, its tags): (story id, kind, value, score,
/// primary).
fn tag_rows<'a>(
    tagged: impl IntoIterator<Item = (i64, &'a crate::tag::Tags)>,
) -> Vec<(i64, &'static str, String, f64, bool)> {
    let mut rows = Vec::new();
    for (id, t) in tagged {
        for c in &t.countries {
            rows.push((id, "country", c.code.clone(), c.score, c.primary));
        }
        for r in &t.regions {
            rows.push((id, "region", r.slug.clone(), r.score, false));
        }
        let mut topics: Vec<&String> = t.topics.iter().collect();
        topics.sort();
        topics.dedup();
        for name in topics {
            rows.push((id, "topic", name.clone(), 1.0, false));
        }
    }
    rows
}

/// The head of the tag insert; rows follow.
const INSERT_TAGS: &str = "INSERT INTO story_tags (story_id, kind, value, score, is_primary) ";

/// Rows per tag insert (5 binds a row).
const TAG_BATCH: usize = 2000;

/// The new stories of a refresh (story id, index into its stories) as the placement plan
/// takes them: each at its publication, else `now`.
fn stored_new<'a>(
    new: &[(i64, usize)],
    stories: &'a [Incoming],
    now: DateTime<Utc>,
) -> Vec<Stored<'a>> {
    new.iter()
        .map(|(id, i)| Stored {
            id: *id,
            instant: stories[*i].story.published.unwrap_or(now),
            fingerprint: &stories[*i].fingerprint,
        })
        .collect()
}

/// Which row each story of a refresh is written to: its own feed's, or, when another feed of
/// the same source already stored it (same canonical URL), that story's.
struct Targets {
    feed_id: i64,
    /// Canonical URL → (feed id, key, url) of the story stored through another feed.
    elsewhere: HashMap<String, (i64, String, Option<String>)>,
}

impl Targets {
    fn redirect(&self, s: &Story) -> Option<&(i64, String, Option<String>)> {
        s.canonical_url.as_ref().and_then(|u| self.elsewhere.get(u))
    }

    /// (feed id, key, url) of the row a story is written to.
    fn of<'a>(&'a self, s: &'a Story) -> (i64, &'a str, Option<&'a str>) {
        match self.redirect(s) {
            Some((f, k, u)) => (*f, k.as_str(), u.as_deref()),
            None => (self.feed_id, s.key.as_str(), s.url.as_deref()),
        }
    }

    /// The content hash of a story as its row will hold it: a story written to another feed's
    /// row keeps that row's key and link, so only a change of content makes a new version.
    fn hash(&self, s: &Story) -> String {
        match self.redirect(s) {
            Some((_, k, u)) => {
                let mut moved = s.clone();
                moved.key = k.clone();
                moved.url = u.clone();
                moved.content_hash()
            }
            None => s.content_hash(),
        }
    }

    /// The stories with one row each, when some share a row; `None` when all are distinct.
    fn unique(&self, stories: &[Incoming]) -> Option<Vec<Incoming>> {
        let mut seen = std::collections::HashSet::new();
        let keep: Vec<bool> = stories
            .iter()
            .map(|i| {
                let (f, k, _) = self.of(&i.story);
                seen.insert((f, k.to_owned()))
            })
            .collect();
        if keep.iter().all(|k| *k) {
            return None;
        }
        Some(
            stories
                .iter()
                .zip(keep)
                .filter(|(_, k)| *k)
                .map(|(i, _)| i.clone())
                .collect(),
        )
    }

    /// (feed id, key) → index into the refresh's stories, for a chunk starting at `base`.
    fn positions<'a>(
        &'a self,
        chunk: &'a [Incoming],
        base: usize,
    ) -> HashMap<(i64, &'a str), usize> {
        chunk
            .iter()
            .enumerate()
            .map(|(j, inc)| {
                let (f, k, _) = self.of(&inc.story);
                ((f, k), base + j)
            })
            .collect()
    }
}

/// Clusters whose members changed get their origin (the wire's own copy if any, else the
/// earliest appearance), size and time span recomputed; `{ids}` is replaced by the backend's
/// list expression.
const RECOMPUTE_CLUSTERS: &str = "UPDATE clusters SET
    origin_story_id = (SELECT s.id FROM stories s WHERE s.cluster_id = clusters.id
        ORDER BY s.wire_copy DESC, coalesce(s.published_at, s.first_seen_at), s.id LIMIT 1),
    size = (SELECT count(*) FROM stories s WHERE s.cluster_id = clusters.id),
    first_seen_at = (SELECT min(coalesce(s.published_at, s.first_seen_at)) FROM stories s
        WHERE s.cluster_id = clusters.id),
    last_seen_at = (SELECT max(coalesce(s.published_at, s.first_seen_at)) FROM stories s
        WHERE s.cluster_id = clusters.id)
    WHERE id IN {ids}";

/// Members of changed clusters: a reprint is any member that is not the origin.
/// Only rows whose mark changes are written, so the placement step never waits on a story row
/// that a refresh outside the lock holds.
const MARK_REPRINTS: &str = "UPDATE stories SET is_reprint = (id <> (SELECT c.origin_story_id
        FROM clusters c WHERE c.id = stories.cluster_id))
    WHERE cluster_id IN {ids} AND is_reprint <> (id <> (SELECT c.origin_story_id
        FROM clusters c WHERE c.id = stories.cluster_id))";

/// Clusters left without an origin (its story was deleted) but with members.
const ORIGINLESS_CLUSTERS: &str = "SELECT id FROM clusters WHERE origin_story_id IS NULL";

/// Stories deleted per statement when pruning, so no transaction holds locks for long.
const PRUNE_BATCH: i64 = 5000;

/// Stories placed since the matcher last caught up (`placed` above its watermark), in placement
/// order. Story ids are given out before the cluster lock, so they do not follow commit order;
/// the placement sequence, taken under the lock, does.
const UNSYNCED_FINGERPRINTS: &str =
    "SELECT id, cluster_id, coalesce(published_at, first_seen_at) AS t, fingerprint, placed
    FROM stories WHERE placed > {after} AND cluster_id IS NOT NULL AND fingerprint IS NOT NULL
    ORDER BY placed, id";

/// The highest placement number (none before the first placement): one step down the partial
/// index `stories_placed` on both databases (SQLite uses a partial index only when the query
/// says `placed IS NOT NULL`). Placement takes the next number under the cluster lock; a loaded
/// matcher has caught up with this one.
const MAX_PLACED: &str =
    "SELECT placed FROM stories WHERE placed IS NOT NULL ORDER BY placed DESC LIMIT 1";

/// Cluster merges, one statement each (with how many of `$1` = from, `$2` = into, `$3` = when it
/// binds), in order: members move, records that pointed at `from` point at `into` (one hop for a
/// reader), the merge is recorded, and `from` goes (after its members left, so no story points
/// at it).
const MERGE_STEPS: [(&str, usize); 4] = [
    ("UPDATE stories SET cluster_id = $2 WHERE cluster_id = $1", 2),
    ("UPDATE cluster_merges SET into_cluster_id = $2 WHERE into_cluster_id = $1", 2),
    ("INSERT INTO cluster_merges (from_cluster_id, into_cluster_id, merged_at) VALUES ($1, $2, $3)
     ON CONFLICT (from_cluster_id) DO UPDATE SET into_cluster_id = excluded.into_cluster_id,
         merged_at = excluded.merged_at", 3),
    ("DELETE FROM clusters WHERE id = $1", 1),
];

/// A connection pool to one of the two databases.
#[derive(Clone)]
pub enum Store {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

macro_rules! dispatch {
    ($self:ident, $db:ident => $f:ident($($arg:expr),*)) => {
        match $self {
            Store::Postgres($db) => postgres::$f($($arg),*).await,
            Store::Sqlite($db) => sqlite::$f($($arg),*).await,
        }
    };
}

impl Store {
    /// Connects (creating a SQLite file if missing).
    pub async fn connect(cfg: &DatabaseConfig) -> Result<Store, StoreError> {
        let url = cfg.url.as_str();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = postgres::connect(url, cfg.max_connections).await?;
            Ok(Store::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let pool = sqlite::connect(url, cfg.max_connections).await?;
            Ok(Store::Sqlite(pool))
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    /// `e` with its cause named, when it says only that the database went away: the pool
    /// retries a refused connection until its timeout and then reports that it timed out, and
    /// a connection cut mid-query reports the cut. One direct connection to PostgreSQL then
    /// tells what is wrong now ("connection refused by host:port", "unknown host", ...). Any
    /// other error, and one the direct connection does not explain (the database answers
    /// again), is returned as it is.
    pub async fn explain(&self, e: StoreError) -> StoreError {
        match self {
            Store::Postgres(p) if e.is_unreachable() && matches!(e, StoreError::Query(_)) => {
                dialect::pg::diagnose(p).await.unwrap_or(e)
            }
            _ => e,
        }
    }

    /// Opens the database for the read commands (`stories`, `feeds list`, `feeds export`):
    /// read-only and never created (SQLite: `SQLITE_OPEN_READONLY`, no pragma that writes;
    /// PostgreSQL: `default_transaction_read_only`), never migrated. A missing SQLite file is
    /// [`StoreError::Missing`]; a database without the current schema is
    /// [`StoreError::NotMigrated`].
    pub async fn open_read_only(cfg: &DatabaseConfig) -> Result<Store, StoreError> {
        let url = cfg.url.as_str();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = dialect::pg::connect_read_only(url, cfg.max_connections).await?;
            let store = Store::Postgres(pool);
            store.check_schema().await?;
            Ok(store)
        } else if url.starts_with("sqlite:") {
            let file = dialect::lite::file_of_url(url).map_err(|cause| StoreError::Connect {
                url: redact_url(url),
                reason: format!("invalid database URL: {}", describe(&cause)),
                cause,
            })?;
            if let Some(file) = &file {
                if !file.exists() {
                    return Err(StoreError::Missing(
                        std::path::absolute(file).unwrap_or_else(|_| file.clone()),
                    ));
                }
            }
            let pool = dialect::lite::connect_read_only(url, cfg.max_connections, false).await?;
            let store = Store::Sqlite(pool.clone());
            match (store.check_schema().await, &file) {
                (Err(StoreError::Query(e)), Some(f)) if dialect::lite::needs_immutable(&e, f) => {
                    pool.close().await;
                    let pool =
                        dialect::lite::connect_read_only(url, cfg.max_connections, true).await?;
                    let store = Store::Sqlite(pool);
                    store.check_schema().await?;
                    Ok(store)
                }
                (r, _) => r.map(|()| store),
            }
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    /// Fails with [`StoreError::NotMigrated`] unless every migration this wirefeed knows has
    /// been applied (a database a newer wirefeed migrated further is read as it is).
    async fn check_schema(&self) -> Result<(), StoreError> {
        const APPLIED: &str = "SELECT max(version) FROM _sqlx_migrations WHERE success";
        let (known, has_table): (Option<i64>, bool) = match self {
            Store::Postgres(p) => (
                sqlx::migrate!("./migrations/postgres")
                    .iter()
                    .map(|m| m.version)
                    .max(),
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(p)
                    .await?,
            ),
            Store::Sqlite(p) => (
                sqlx::migrate!("./migrations/sqlite")
                    .iter()
                    .map(|m| m.version)
                    .max(),
                sqlx::query_scalar(
                    "SELECT count(*) > 0 FROM sqlite_master
                     WHERE type = 'table' AND name = '_sqlx_migrations'",
                )
                .fetch_one(p)
                .await?,
            ),
        };
        if !has_table {
            return Err(StoreError::NotMigrated(
                "the database has no wirefeed schema".to_owned(),
            ));
        }
        let applied: Option<i64> = match self {
            Store::Postgres(p) => sqlx::query_scalar(APPLIED).fetch_one(p).await?,
            Store::Sqlite(p) => sqlx::query_scalar(APPLIED).fetch_one(p).await?,
        };
        match (applied, known) {
            (Some(a), Some(k)) if a >= k => Ok(()),
            (a, k) => Err(StoreError::NotMigrated(format!(
                "the database schema is at migration {}, this wirefeed reads migration {}",
                a.map_or("none".to_owned(), |v| v.to_string()),
                k.unwrap_or(0)
            ))),
        }
    }

    /// `postgres` or `sqlite`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Postgres(_) => "postgres",
            Store::Sqlite(_) => "sqlite",
        }
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Store::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await?,
            Store::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p).await?,
        }
        Ok(())
    }

    /// Answers when the database does.
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, p => ping(p))
    }

    /// Adds a feed, or updates its source and wire flag; reactivates a paused config feed.
    pub async fn upsert_feed(
        &self,
        feed: &NewFeed<'_>,
        now: DateTime<Utc>,
    ) -> Result<FeedId, StoreError> {
        dispatch!(self, p => upsert_feed(p, feed, now))
    }

    /// Makes the `feeds` table agree with the config file: its feeds are added or updated, and
    /// config feeds no longer in the file are paused (their stories stay).
    ///
    /// A config URL that a permanent redirect moved away from is the moved feed: it is updated
    /// and kept active at its new address, not added again at the old one (a feed a past
    /// start re-added at the old address is paused). Returns those moves, for the caller to say
    /// which line of the config file to update.
    pub async fn sync_config_feeds(
        &self,
        feeds: &[crate::config::FeedConfig],
        now: DateTime<Utc>,
    ) -> Result<Vec<MovedFeed>, StoreError> {
        let mut keep = Vec::with_capacity(feeds.len());
        let mut moved = Vec::new();
        for f in feeds {
            let url = match self.moved_feed(&f.url).await? {
                Some(m) => {
                    let url = m.url.clone();
                    moved.push(m);
                    url
                }
                None => f.url.clone(),
            };
            self.upsert_feed(
                &NewFeed {
                    url: &url,
                    source: &f.source,
                    is_wire: f.wire,
                    full_text: f.full_text,
                    defined_in: DefinedIn::Config,
                    title: None,
                },
                now,
            )
            .await?;
            keep.push(url);
        }
        dispatch!(self, p => pause_config_feeds_except(p, &keep))?;
        Ok(moved)
    }

    /// The feed a permanent redirect moved away from `old_url`, if any.
    pub async fn moved_feed(&self, old_url: &str) -> Result<Option<MovedFeed>, StoreError> {
        dispatch!(self, p => moved_feed(p, old_url))
    }

    /// Pauses an active feed (it keeps its stories; `feeds add` or the config resumes it).
    /// Returns whether it was active.
    pub async fn pause_feed(&self, url: &str) -> Result<bool, StoreError> {
        dispatch!(self, p => pause_feed(p, url))
    }

    /// Removes a feed and its stories. Returns whether it existed.
    pub async fn remove_feed(&self, url: &str) -> Result<bool, StoreError> {
        dispatch!(self, p => remove_feed(p, url))
    }

    /// Every feed, for `feeds list`.
    pub async fn list_feeds(&self) -> Result<Vec<FeedInfo>, StoreError> {
        dispatch!(self, p => list_feeds(p))
    }

    /// Claims active feeds that nobody holds a lease on, soonest due first, and leases them to
    /// `claim.owner`. On PostgreSQL several daemons claim concurrently (`FOR UPDATE SKIP LOCKED`):
    /// each feed goes to one of them.
    pub async fn claim(&self, claim: &Claim<'_>) -> Result<Vec<Feed>, StoreError> {
        dispatch!(self, p => claim(p, claim))
    }

    /// Active feeds not fetched since `not_fetched_since` whose lease still holds at `now`
    /// (what `run --once` could not claim), soonest free first.
    pub async fn leased(
        &self,
        not_fetched_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Leased>, StoreError> {
        dispatch!(self, p => leased(p, not_fetched_since, now))
    }

    /// Gives claimed feeds back unfetched, each due again at the given instant (a host's budget
    /// held them back; that is not an error). The lease is kept until then, so the same pass does
    /// not claim them again.
    pub async fn defer(
        &self,
        owner: &str,
        feeds: &[(FeedId, DateTime<Utc>)],
    ) -> Result<(), StoreError> {
        if feeds.is_empty() {
            return Ok(());
        }
        dispatch!(self, p => defer(p, owner, feeds))
    }

    /// The earliest instant an active feed can next be claimed: its next check, or the end of its
    /// lease if that is later.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        dispatch!(self, p => next_due(p))
    }

    /// Writes one refresh that brought stories: the stories, clusters for new ones, the feed's
    /// state and its fetch log line, in one transaction. The feed state is written only while
    /// `owner` still holds the feed's lease.
    ///
    /// Story rows, old versions, tags and the feed's state are written first; then new stories
    /// are placed in reprint clusters by `matcher` under the database's cluster lock, held from
    /// there to the commit (PostgreSQL: an advisory lock, so daemons sharing the database place
    /// stories one batch at a time; SQLite: its single writer), after the matcher caught up with
    /// placements other daemons committed. A placement into a cluster merged away since the
    /// matcher saw it follows the merge; one into a cluster that vanished starts a new cluster.
    /// A story whose canonical URL another feed of the same source already stored is that story,
    /// updated in place. Any failure rolls the whole refresh back.
    pub async fn record_refresh(
        &self,
        owner: &str,
        update: &FeedUpdate,
        stories: &[Incoming],
        matcher: &Matcher,
    ) -> Result<Written, StoreError> {
        dispatch!(self, p => record_refresh(p, owner, update, stories, matcher))
    }

    /// Loads the fingerprints of stories first seen since `since` into `matcher`, and marks it
    /// caught up with every story stored so far: what a starting daemon matches against.
    pub async fn load_matcher(
        &self,
        matcher: &Matcher,
        since: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        dispatch!(self, p => load_matcher(p, matcher, since))
    }

    /// Writes the state of many refreshes that brought no stories (304s, errors), in one
    /// transaction.
    pub async fn record_updates(
        &self,
        owner: &str,
        updates: &[FeedUpdate],
    ) -> Result<(), StoreError> {
        if updates.is_empty() {
            return Ok(());
        }
        dispatch!(self, p => record_updates(p, owner, updates))
    }

    /// For a daemon on SQLite: an exclusive lock on the database file, held as long as the value
    /// lives, so a second daemon on the same file is refused with a clear message. `None` on
    /// PostgreSQL, where leases let several daemons share the work.
    pub fn lock_for_daemon(&self) -> Result<Option<DaemonLock>, StoreError> {
        match self {
            Store::Postgres(_) => Ok(None),
            Store::Sqlite(p) => dialect::lite::lock_file(&dialect::lite::file(p)).map(Some),
        }
    }

    /// The content hashes of the stories a feed already holds, of those keyed in `keys`: what a
    /// `full_text` refresh has no need to fetch again.
    pub async fn story_hashes(
        &self,
        feed: FeedId,
        keys: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        dispatch!(self, p => story_hashes(p, feed, keys))
    }

    /// Deletes fetch-log lines older than `fetches_before` and stories older than
    /// `stories_before` (with their versions and tags; clusters that lose their origin get a new
    /// one, clusters left empty go). Returns (log lines, stories) deleted.
    pub async fn prune(
        &self,
        fetches_before: Option<DateTime<Utc>>,
        stories_before: Option<DateTime<Utc>>,
    ) -> Result<(u64, u64), StoreError> {
        dispatch!(self, p => prune(p, fetches_before, stories_before))
    }

    /// The unfinished `retag` run, if one was interrupted.
    pub async fn retag_progress(&self) -> Result<Option<RetagProgress>, StoreError> {
        dispatch!(self, p => retag_progress(p))
    }

    /// Stories a `retag` run has still to do.
    pub async fn retag_remaining(&self, run: &RetagProgress) -> Result<i64, StoreError> {
        dispatch!(self, p => retag_remaining(p, run))
    }

    /// The next `limit` stories of a `retag` run (after its last story, first seen at or after
    /// its `since`), in id order.
    pub async fn retag_batch(
        &self,
        run: &RetagProgress,
        limit: i64,
    ) -> Result<Vec<RetagStory>, StoreError> {
        dispatch!(self, p => retag_batch(p, run, limit))
    }

    /// Replaces the tags of a batch of stories and records the run's progress (`run` with its
    /// `last_story_id` moved past the batch), in one short transaction, so an interrupted run
    /// resumes after the last batch written and a daemon writing meanwhile waits at most for
    /// one batch. A story changed or deleted since it was read is left as the daemon wrote it.
    /// Returns the stories whose tags were replaced.
    pub async fn write_retag(
        &self,
        tagged: &[(&RetagStory, crate::tag::Tags)],
        run: &RetagProgress,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        dispatch!(self, p => write_retag(p, tagged, run, now))
    }

    /// Forgets a finished `retag` run.
    pub async fn finish_retag(&self) -> Result<(), StoreError> {
        dispatch!(self, p => finish_retag(p))
    }

    /// Feeds by state and the scheduler's lag, for metrics and STATUS lines.
    pub async fn feed_gauges(&self) -> Result<DbGauges, StoreError> {
        dispatch!(self, p => feed_gauges(p))
    }

    /// Stored stories, newest first. A cluster id that a merge removed is followed to the
    /// cluster it went into.
    pub async fn stories(&self, q: &StoryQuery) -> Result<Vec<StoredStory>, StoreError> {
        let mut q = q.clone();
        if let Some(c) = q.cluster {
            q.cluster = Some(self.current_cluster(c).await?);
        }
        let q = &q;
        dispatch!(self, p => stories(p, q))
    }

    /// Where cluster `id` is now: itself, or the cluster a merge moved its stories into.
    pub async fn current_cluster(&self, id: i64) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT into_cluster_id FROM cluster_merges WHERE from_cluster_id = $1";
        let mut at = id;
        // Records point one hop to a surviving cluster; the bound only guards a damaged table.
        for _ in 0..64 {
            let next: Option<i64> = match self {
                Store::Postgres(p) => sqlx::query_scalar(SQL).bind(at).fetch_optional(p).await?,
                Store::Sqlite(p) => sqlx::query_scalar(SQL).bind(at).fetch_optional(p).await?,
            };
            match next {
                Some(n) if n != id => at = n,
                _ => break,
            }
        }
        Ok(at)
    }

    /// Merges clusters under the cluster lock, in order: for each `(from, into)` (stored cluster
    /// ids), every member of `from` moves to `into`, whose origin is re-chosen by the usual rule
    /// (the wire's own copy, else the earliest appearance) and whose size, times and reprint
    /// marks are recomputed; `from` is removed and the merge recorded in `cluster_merges`, so
    /// `stories --cluster FROM` still finds the stories. A merge whose `into` was merged away
    /// earlier in the list follows it; one naming a cluster that does not exist is skipped.
    /// Returns how many merges were applied.
    pub async fn merge_clusters(
        &self,
        merges: &[(i64, i64)],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        if merges.is_empty() {
            return Ok(0);
        }
        dispatch!(self, p => merge_clusters(p, merges, now))
    }
}
