//! The database: connecting, migrating, and every read and write wirefeed makes.
//!
//! Owns all SQL. PostgreSQL (`postgres.rs`) is the production store; SQLite (`sqlite.rs`) is the
//! zero-setup default. Both implement the same logical model from `migrations/`, and the methods here
//! dispatch to one or the other. Writes for one feed refresh happen in one transaction, idempotently:
//! unique keys, not application checks, keep rows single. Never: makes a network call while a
//! transaction is open, or lets a sqlx type leave this module.

mod postgres;
mod sqlite;

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

use crate::config::{redact_url, DatabaseConfig};
use crate::dedup::{Arrival, Fingerprint, Matcher, Placement};
use crate::model::{Feed, FeedId, Story};

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither postgres:// nor sqlite:.
    #[error("unsupported database URL `{0}`")]
    UnsupportedUrl(String),
    /// Could not connect.
    #[error("cannot connect to {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// Another daemon holds the SQLite file.
    #[error("{0}")]
    Locked(String),
}

/// Proof that this process is the only daemon on a SQLite file; released on drop.
#[derive(Debug)]
pub struct DaemonLock {
    _file: std::fs::File,
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
    fn as_str(self) -> &'static str {
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

/// What a refresh changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub new_stories: u64,
    pub updated_stories: u64,
    /// New stories that joined an existing cluster.
    pub reprints: u64,
    /// Tag rows written.
    pub tags: u64,
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
    pub moved_from: Option<String>,
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
                (SELECT count(*) FROM stories st WHERE st.feed_id = f.id) AS stories
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

/// The `story_tags` rows of the stories written (story id, index into the refresh's stories):
/// (story id, kind, value, score, primary).
fn tag_rows(
    written: &[(i64, usize)],
    stories: &[Incoming],
) -> Vec<(i64, &'static str, String, f64, bool)> {
    let mut rows = Vec::new();
    for (id, i) in written {
        let t = &stories[*i].tags;
        for c in &t.countries {
            rows.push((*id, "country", c.code.clone(), c.score, c.primary));
        }
        for r in &t.regions {
            rows.push((*id, "region", r.slug.clone(), r.score, false));
        }
        let mut topics: Vec<&String> = t.topics.iter().collect();
        topics.sort();
        topics.dedup();
        for name in topics {
            rows.push((*id, "topic", name.clone(), 1.0, false));
        }
    }
    rows
}

/// The head of the tag insert; rows follow.
const INSERT_TAGS: &str = "INSERT INTO story_tags (story_id, kind, value, score, is_primary) ";

/// Rows per tag insert (5 binds a row).
const TAG_BATCH: usize = 2000;

/// Unix seconds of a story's instant for matching: its publication, else now.
fn matching_instant(s: &Story, now: DateTime<Utc>) -> i64 {
    s.published.unwrap_or(now).timestamp()
}

/// Where each new story of a refresh goes: `new` holds (story id, index into the refresh's
/// stories) in matching order (published order, then document order).
fn place_new(
    matcher: &Matcher,
    incoming: &[Incoming],
    new: &mut [(i64, usize)],
    now: DateTime<Utc>,
) -> Vec<Placement> {
    new.sort_by_key(|(id, i)| (matching_instant(&incoming[*i].story, now), *id));
    let arrivals: Vec<Arrival<'_>> = new
        .iter()
        .map(|(_, i)| Arrival {
            at: matching_instant(&incoming[*i].story, now),
            fingerprint: &incoming[*i].fingerprint,
        })
        .collect();
    matcher.place(&arrivals)
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

/// Placements into clusters that no longer exist (their stories were removed or pruned since
/// the matcher saw them) become new clusters, one per vanished cluster.
fn replace_vanished(placements: &mut [Placement], existing: &std::collections::HashSet<i64>) {
    let mut next = placements
        .iter()
        .filter_map(|p| match p {
            Placement::New(n) => Some(n + 1),
            Placement::Existing(_) => None,
        })
        .max()
        .unwrap_or(0);
    let mut renamed: HashMap<i64, usize> = HashMap::new();
    for p in placements.iter_mut() {
        if let Placement::Existing(c) = *p {
            if !existing.contains(&c) {
                let n = *renamed.entry(c).or_insert_with(|| {
                    next += 1;
                    next - 1
                });
                *p = Placement::New(n);
            }
        }
    }
    // New clusters are numbered in order of first appearance (the first member is the origin).
    let mut order: HashMap<usize, usize> = HashMap::new();
    for p in placements.iter_mut() {
        if let Placement::New(n) = *p {
            let k = order.len();
            *p = Placement::New(*order.entry(n).or_insert(k));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placements_into_vanished_clusters_become_new_ones_numbered_in_order() {
        let mut p = vec![
            Placement::Existing(5),
            Placement::New(0),
            Placement::Existing(7),
            Placement::Existing(5),
            Placement::New(0),
        ];
        replace_vanished(&mut p, &[7].into_iter().collect());
        assert_eq!(
            p,
            vec![
                Placement::New(0),
                Placement::New(1),
                Placement::Existing(7),
                Placement::New(0),
                Placement::New(1),
            ]
        );
    }
}

/// Placements into stored clusters whose ids are not in `existing` (gone since the matcher saw
/// them): the matcher forgets them and the stories start new clusters instead.
fn settle_vanished(
    matcher: &Matcher,
    placements: &mut [Placement],
    joined: &[i64],
    existing: &std::collections::HashSet<i64>,
) {
    if existing.len() < joined.len() {
        let vanished: Vec<i64> = joined
            .iter()
            .copied()
            .filter(|c| !existing.contains(c))
            .collect();
        matcher.forget_clusters(&vanished);
        replace_vanished(placements, existing);
    }
}

/// The clusters a batch creates, in `Placement::New` order: (origin story id, its instant). The
/// first story of each new cluster is its origin.
fn new_cluster_origins(
    placements: &[Placement],
    new: &[(i64, usize)],
    stories: &[Incoming],
    now: DateTime<Utc>,
) -> Vec<(i64, DateTime<Utc>)> {
    let mut origins = Vec::new();
    for (p, (id, i)) in placements.iter().zip(new) {
        if let Placement::New(n) = p {
            if *n == origins.len() {
                origins.push((*id, stories[*i].story.published.unwrap_or(now)));
            }
        }
    }
    origins
}

/// Where a batch's new stories went, once the new clusters have ids.
struct Assigned {
    /// (story id, cluster id).
    pairs: Vec<(i64, i64)>,
    /// What the matcher takes in after commit: (story, cluster, instant, fingerprint).
    placed: Vec<(i64, i64, i64, Fingerprint)>,
    /// Clusters whose origin, size and times must be recomputed (sorted, unique): stored ones
    /// joined, and new ones that got a second member. A new cluster of one is already right.
    touched: Vec<i64>,
    /// New stories that joined a stored cluster.
    reprints: u64,
}

/// Resolves placements to cluster ids; `created` maps each new cluster's origin story id to
/// the cluster id the database gave it.
fn assign_clusters(
    placements: &[Placement],
    new: &[(i64, usize)],
    stories: &[Incoming],
    now: DateTime<Utc>,
    origins: &[(i64, DateTime<Utc>)],
    created: &HashMap<i64, i64>,
) -> Assigned {
    let mut a = Assigned {
        pairs: Vec::with_capacity(new.len()),
        placed: Vec::with_capacity(new.len()),
        touched: Vec::new(),
        reprints: 0,
    };
    for (p, (id, i)) in placements.iter().zip(new) {
        let cluster = match p {
            Placement::Existing(c) => {
                a.reprints += 1;
                a.touched.push(*c);
                *c
            }
            Placement::New(n) => {
                let (origin, _) = origins[*n];
                let c = created[&origin];
                if origin != *id {
                    a.touched.push(c);
                }
                c
            }
        };
        let inc = &stories[*i];
        a.pairs.push((*id, cluster));
        a.placed.push((
            *id,
            cluster,
            matching_instant(&inc.story, now),
            inc.fingerprint.clone(),
        ));
    }
    a.touched.sort_unstable();
    a.touched.dedup();
    a
}

/// The clusters of `placements` that are stored.
fn joined_clusters(placements: &[Placement]) -> Vec<i64> {
    let mut v: Vec<i64> = placements
        .iter()
        .filter_map(|p| match p {
            Placement::Existing(c) => Some(*c),
            Placement::New(_) => None,
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
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
const MARK_REPRINTS: &str = "UPDATE stories SET is_reprint = (id <> (SELECT c.origin_story_id
        FROM clusters c WHERE c.id = stories.cluster_id))
    WHERE cluster_id IN {ids}";

/// Clusters left without an origin (its story was deleted) but with members.
const ORIGINLESS_CLUSTERS: &str = "SELECT id FROM clusters WHERE origin_story_id IS NULL";

/// Stories deleted per statement when pruning, so no transaction holds locks for long.
const PRUNE_BATCH: i64 = 5000;

/// Stories the matcher has not seen yet, oldest id first.
const UNSYNCED_FINGERPRINTS: &str =
    "SELECT id, cluster_id, coalesce(published_at, first_seen_at) AS t, fingerprint
    FROM stories WHERE id > {after} AND cluster_id IS NOT NULL AND fingerprint IS NOT NULL
    ORDER BY id";

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
        let connect_err = |source| StoreError::Connect {
            url: redact_url(url),
            source,
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = postgres::connect(url, cfg.max_connections)
                .await
                .map_err(connect_err)?;
            Ok(Store::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let pool = sqlite::connect(url, cfg.max_connections)
                .await
                .map_err(connect_err)?;
            Ok(Store::Sqlite(pool))
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
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
    pub async fn sync_config_feeds(
        &self,
        feeds: &[crate::config::FeedConfig],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut keep = Vec::with_capacity(feeds.len());
        for f in feeds {
            self.upsert_feed(
                &NewFeed {
                    url: &f.url,
                    source: &f.source,
                    is_wire: f.wire,
                    full_text: f.full_text,
                    defined_in: DefinedIn::Config,
                },
                now,
            )
            .await?;
            keep.push(f.url.clone());
        }
        dispatch!(self, p => pause_config_feeds_except(p, &keep))
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
    /// New stories are placed in reprint clusters by `matcher` while the transaction holds the
    /// database's cluster lock (PostgreSQL: an advisory lock, so daemons sharing the database
    /// place stories one refresh at a time; SQLite: its single writer), after the matcher caught
    /// up with stories other daemons stored. A story whose canonical URL another feed of the same
    /// source already stored is that story, updated in place.
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
            Store::Sqlite(p) => sqlite::lock_for_daemon(p).map(Some),
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

    /// Feeds by state and the scheduler's lag, for metrics and STATUS lines.
    pub async fn feed_gauges(&self) -> Result<crate::service::metrics::DbGauges, StoreError> {
        dispatch!(self, p => feed_gauges(p))
    }

    /// Stored stories, newest first.
    pub async fn stories(&self, q: &StoryQuery) -> Result<Vec<StoredStory>, StoreError> {
        dispatch!(self, p => stories(p, q))
    }
}
