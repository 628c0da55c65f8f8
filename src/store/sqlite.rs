//! SQLite implementation of the store (see `mod.rs` for the contract).
//!
//! Instants are stored as fixed-width RFC 3339 text in UTC with milliseconds and a `Z`
//! (`model::db_time`), one format everywhere, so text order is time order and SQLite's date
//! functions read them; they are printed back in the common `model::rfc3339` form.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, SqlitePool};

use super::{
    assign_clusters, attach_tags, joined_clusters, new_cluster_origins, place_new, settle_vanished,
    tag_rows, Claim, DaemonLock, FeedInfo, FeedUpdate, Incoming, NewFeed, StoreError, StoredStory,
    StoryQuery, TagRow, Targets, Written, INSERT_TAGS, TAG_BATCH,
};
use crate::dedup::Matcher;
use crate::model::{db_time, db_time_opt, display_time, Feed, FeedId};

/// Rows per multi-row INSERT: 17 binds a row stays below SQLite's 32,766-bind limit.
const BATCH_ROWS: usize = 1000;

// Every write transaction here begins IMMEDIATE: a deferred one that reads first and then writes
// gets SQLITE_BUSY at once (no busy wait) when another writer is active.

pub(super) async fn connect(url: &str, max: u32) -> Result<SqlitePool, sqlx::Error> {
    let opts = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(opts)
        .await
}

pub(super) async fn ping(p: &SqlitePool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(p).await?;
    Ok(())
}

pub(super) async fn upsert_feed(
    p: &SqlitePool,
    f: &NewFeed<'_>,
    now: DateTime<Utc>,
) -> Result<FeedId, StoreError> {
    let now = db_time(now);
    let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
    let source: i64 = sqlx::query_scalar(
        "INSERT INTO sources (name, is_wire, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET is_wire = sources.is_wire OR excluded.is_wire
         RETURNING id",
    )
    .bind(f.source)
    .bind(f.is_wire)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO feeds (url, source_id, defined_in, next_check_at, created_at, full_text)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5)
         ON CONFLICT (url) DO UPDATE SET source_id = excluded.source_id,
             full_text = excluded.full_text,
             defined_in = CASE WHEN excluded.defined_in = 'config' THEN 'config' ELSE feeds.defined_in END,
             status = CASE WHEN feeds.status = 'paused' THEN 'active' ELSE feeds.status END
         RETURNING id",
    )
    .bind(f.url)
    .bind(source)
    .bind(f.defined_in.as_str())
    .bind(&now)
    .bind(f.full_text)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(FeedId(id))
}

pub(super) async fn pause_config_feeds_except(
    p: &SqlitePool,
    keep: &[String],
) -> Result<(), StoreError> {
    let keep = json(keep);
    sqlx::query(
        "UPDATE feeds SET status = 'paused'
         WHERE defined_in = 'config' AND status = 'active'
           AND url NOT IN (SELECT value FROM json_each(?1))",
    )
    .bind(keep)
    .execute(p)
    .await?;
    Ok(())
}

pub(super) async fn story_hashes(
    p: &SqlitePool,
    feed: FeedId,
    keys: &[String],
) -> Result<HashMap<String, String>, StoreError> {
    let keys = json(keys);
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT key, content_hash FROM stories
         WHERE feed_id = ?1 AND key IN (SELECT value FROM json_each(?2))",
    )
    .bind(feed.0)
    .bind(keys)
    .fetch_all(p)
    .await?;
    Ok(rows.into_iter().collect())
}

pub(super) async fn remove_feed(p: &SqlitePool, url: &str) -> Result<bool, StoreError> {
    let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
    let touched: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT s.cluster_id FROM stories s JOIN feeds f ON f.id = s.feed_id
         WHERE f.url = ?1 AND s.cluster_id IS NOT NULL",
    )
    .bind(url)
    .fetch_all(&mut *tx)
    .await?;
    let n = sqlx::query("DELETE FROM feeds WHERE url = ?1")
        .bind(url)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    heal_clusters(&mut tx, &touched).await?;
    tx.commit().await?;
    Ok(n > 0)
}

pub(super) async fn list_feeds(p: &SqlitePool) -> Result<Vec<FeedInfo>, StoreError> {
    let rows = sqlx::query(super::LIST_FEEDS).fetch_all(p).await?;
    rows.iter()
        .map(|r| {
            Ok(FeedInfo {
                id: r.try_get("id")?,
                url: r.try_get("url")?,
                source: r.try_get("source")?,
                wire: r.try_get("is_wire")?,
                full_text: r.try_get("full_text")?,
                defined_in: r.try_get("defined_in")?,
                status: r.try_get("status")?,
                last_status: r.try_get("last_status")?,
                last_error: r.try_get("last_error")?,
                last_error_message: r.try_get("last_error_message")?,
                consecutive_errors: r.try_get("consecutive_errors")?,
                last_fetched_at: display_time(r.try_get("last_fetched_at")?),
                next_check_at: display_time(r.try_get("next_check_at")?).unwrap_or_default(),
                etag: r.try_get("etag")?,
                last_modified: r.try_get("last_modified")?,
                interval_secs: r.try_get("interval_secs")?,
                moved_from: r.try_get("moved_from")?,
                stories: r.try_get("stories")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

fn feed_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<Feed, sqlx::Error> {
    Ok(Feed {
        id: FeedId(r.try_get("id")?),
        url: r.try_get("url")?,
        source_id: r.try_get("source_id")?,
        source: r.try_get("source")?,
        is_wire: r.try_get("is_wire")?,
        full_text: r.try_get("full_text")?,
        etag: r.try_get("etag")?,
        last_modified: r.try_get("last_modified")?,
        body_hash: r.try_get("body_hash")?,
        consecutive_errors: r.try_get::<i64, _>("consecutive_errors")?.clamp(0, 1 << 30) as u32,
        interval_secs: r.try_get("interval_secs")?,
    })
}

pub(super) async fn claim(p: &SqlitePool, c: &Claim<'_>) -> Result<Vec<Feed>, StoreError> {
    // One daemon per SQLite file (see `lock_for_daemon`), so no row locking is needed.
    let sql = format!(
        "WITH c AS (SELECT * FROM feeds WHERE id IN (
             SELECT id FROM feeds
             WHERE status = 'active'
               AND (?3 IS NULL OR next_check_at <= ?3)
               AND (?4 IS NULL OR last_fetched_at IS NULL OR last_fetched_at < ?4)
               AND (lease_expires_at IS NULL OR lease_expires_at < ?5)
             ORDER BY next_check_at, id
             LIMIT ?6))
         {}",
        super::CLAIMED_FEEDS
    );
    let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
    let rows = sqlx::query(&sql)
        .bind(c.owner)
        .bind(db_time(c.lease_until))
        .bind(db_time_opt(c.due_by))
        .bind(db_time_opt(c.not_fetched_since))
        .bind(db_time(c.now))
        .bind(c.limit)
        .fetch_all(&mut *tx)
        .await?;
    let feeds = rows
        .iter()
        .map(feed_from_row)
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let ids = json(&feeds.iter().map(|f| f.id.0).collect::<Vec<_>>());
    sqlx::query(
        "UPDATE feeds SET lease_owner = ?1, lease_expires_at = ?2
         WHERE id IN (SELECT value FROM json_each(?3))",
    )
    .bind(c.owner)
    .bind(db_time(c.lease_until))
    .bind(ids)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(feeds)
}

pub(super) async fn defer(
    p: &SqlitePool,
    owner: &str,
    feeds: &[(FeedId, DateTime<Utc>)],
) -> Result<(), StoreError> {
    let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
    for (id, at) in feeds {
        sqlx::query(
            "UPDATE feeds SET next_check_at = ?2, lease_expires_at = ?2
             WHERE id = ?1 AND lease_owner = ?3",
        )
        .bind(id.0)
        .bind(db_time(*at))
        .bind(owner)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn next_due(p: &SqlitePool) -> Result<Option<DateTime<Utc>>, StoreError> {
    let t: Option<String> = sqlx::query_scalar(
        "SELECT min(max(next_check_at, coalesce(lease_expires_at, next_check_at)))
         FROM feeds WHERE status = 'active'",
    )
    .fetch_one(p)
    .await?;
    Ok(t.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc)))
}

/// Writes feed states and fetch log lines for a batch, inside `tx`.
async fn write_updates(
    tx: &mut sqlx::SqliteConnection,
    owner: &str,
    updates: &[FeedUpdate],
    new_stories: &[i64],
) -> Result<(), sqlx::Error> {
    let log_sql = format!(
        "INSERT INTO fetches ({})
         SELECT id, fetch_count % {}, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 FROM feeds WHERE id = ?1
         {}",
        super::LOG_FETCH_COLUMNS,
        super::FETCH_LOG_PER_FEED,
        super::ON_FETCH_SLOT
    );
    for (u, new) in updates.iter().zip(new_stories) {
        let now = db_time(u.now);
        let changed = sqlx::query(
            "UPDATE feeds SET etag = ?2, last_modified = ?3, body_hash = ?4, last_status = ?5,
                 last_error = ?6, last_error_message = ?7, consecutive_errors = ?8,
                 last_fetched_at = ?9,
                 last_success_at = CASE WHEN ?6 IS NULL THEN ?9 ELSE last_success_at END,
                 next_check_at = ?10, interval_secs = ?11, status = ?12,
                 fetch_count = fetch_count + 1, lease_owner = NULL, lease_expires_at = NULL
             WHERE id = ?1 AND lease_owner = ?13",
        )
        .bind(u.feed_id.0)
        .bind(&u.etag)
        .bind(&u.last_modified)
        .bind(&u.body_hash)
        .bind(u.http_status.map(i64::from))
        .bind(u.error_kind)
        .bind(&u.error_message)
        .bind(i64::from(u.consecutive_errors))
        .bind(&now)
        .bind(db_time(u.next_check_at))
        .bind(u.interval_secs)
        .bind(u.status)
        .bind(owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            continue;
        }
        sqlx::query(&log_sql)
            .bind(u.feed_id.0)
            .bind(&now)
            .bind(u.outcome)
            .bind(u.http_status.map(i64::from))
            .bind(u.error_kind)
            .bind(&u.error_message)
            .bind(u.duration_ms)
            .bind(u.bytes)
            .bind(u.items)
            .bind(*new)
            .execute(&mut *tx)
            .await?;
        if let Some(to) = &u.moved_to {
            // A confirmed permanent redirect moves the feed, unless another feed is there already.
            sqlx::query(
                "UPDATE feeds SET moved_from = url, url = ?2
                 WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM feeds o WHERE o.url = ?2)",
            )
            .bind(u.feed_id.0)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

pub(super) async fn record_updates(
    p: &SqlitePool,
    owner: &str,
    updates: &[FeedUpdate],
) -> Result<(), StoreError> {
    let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
    write_updates(&mut tx, owner, updates, &vec![0; updates.len()]).await?;
    tx.commit().await?;
    Ok(())
}

/// Brings the matcher up to date with stories stored since it last looked (one daemon per file,
/// so these are its own; the call is cheap when there are none).
async fn sync_matcher(
    tx: &mut sqlx::SqliteConnection,
    matcher: &Matcher,
) -> Result<(), sqlx::Error> {
    let sql = super::UNSYNCED_FINGERPRINTS.replace("{after}", "?1");
    let rows = sqlx::query(&sql)
        .bind(matcher.synced())
        .fetch_all(&mut *tx)
        .await?;
    load_rows(matcher, &rows, matcher.synced())
}

fn load_rows(
    matcher: &Matcher,
    rows: &[sqlx::sqlite::SqliteRow],
    mut upto: i64,
) -> Result<(), sqlx::Error> {
    let mut loaded = Vec::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.try_get("id")?;
        let t: String = r.try_get("t")?;
        let t = DateTime::parse_from_rfc3339(&t).map_or(0, |d| d.timestamp());
        let fp: Vec<u8> = r.try_get("fingerprint")?;
        upto = upto.max(id);
        loaded.push((id, r.try_get::<i64, _>("cluster_id")?, t, fp));
    }
    matcher.load(
        loaded.iter().map(|(i, c, t, f)| (*i, *c, *t, f.as_slice())),
        upto,
    );
    Ok(())
}

pub(super) async fn load_matcher(
    p: &SqlitePool,
    matcher: &Matcher,
    since: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let max: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM stories")
        .fetch_one(p)
        .await?;
    let rows = sqlx::query(
        "SELECT id, cluster_id, coalesce(published_at, first_seen_at) AS t, fingerprint
         FROM stories WHERE first_seen_at >= ?1 AND cluster_id IS NOT NULL
           AND fingerprint IS NOT NULL",
    )
    .bind(db_time(since))
    .fetch_all(p)
    .await?;
    load_rows(matcher, &rows, max.unwrap_or(0))?;
    Ok(rows.len())
}

pub(super) async fn record_refresh(
    p: &SqlitePool,
    owner: &str,
    update: &FeedUpdate,
    stories: &[Incoming],
    matcher: &Matcher,
) -> Result<Written, StoreError> {
    let now = db_time(update.now);
    // The single writer is the cluster lock.
    let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
    let mut written = Written::default();
    let feed_id = update.feed_id.0;
    let source_id = update.source_id;
    sync_matcher(&mut tx, matcher).await?;

    // The same item reached through another feed of the same source (by canonical URL) is that
    // story: write to its row.
    let urls: Vec<&str> = stories
        .iter()
        .filter_map(|i| i.story.canonical_url.as_deref())
        .collect();
    let elsewhere: HashMap<String, (i64, String, Option<String>)> = if urls.is_empty() {
        HashMap::new()
    } else {
        sqlx::query_as::<_, (String, i64, String, Option<String>)>(
            "SELECT s.canonical_url, s.feed_id, s.key, s.url FROM stories s
             WHERE s.id IN (
                 SELECT min(s2.id) FROM stories s2
                 WHERE s2.source_id = ?1 AND s2.feed_id <> ?2
                   AND s2.canonical_url IN (SELECT value FROM json_each(?3))
                   AND NOT EXISTS (SELECT 1 FROM stories t
                                   WHERE t.feed_id = ?2 AND t.canonical_url = s2.canonical_url)
                 GROUP BY s2.canonical_url)",
        )
        .bind(source_id)
        .bind(feed_id)
        .bind(json(&urls))
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|(c, f, k, u)| (c, (f, k, u)))
        .collect()
    };
    let targets = Targets { feed_id, elsewhere };
    // Two items written to one row (the same canonical URL) would make one upsert touch a row
    // twice: the first wins.
    let deduped;
    let stories = match targets.unique(stories) {
        Some(kept) => {
            deduped = kept;
            deduped.as_slice()
        }
        None => stories,
    };

    let hashes: Vec<String> = stories.iter().map(|i| targets.hash(&i.story)).collect();
    let prints: Vec<Vec<u8>> = stories.iter().map(|i| i.fingerprint.to_bytes()).collect();
    let mut new: Vec<(i64, usize)> = Vec::new();
    let mut changed: Vec<(i64, usize)> = Vec::new();
    for (c, chunk) in stories.chunks(BATCH_ROWS).enumerate() {
        let base = c * BATCH_ROWS;
        let rows = || {
            chunk
                .iter()
                .enumerate()
                .map(|(j, inc)| (base + j, inc, targets.of(&inc.story)))
        };
        // Keep the text a changed story had before, with its version number.
        let mut qb = QueryBuilder::new("WITH n(feed_id, key, hash) AS (");
        qb.push_values(rows(), |mut b, (i, _, (f, k, _))| {
            b.push_bind(f).push_bind(k).push_bind(&hashes[i]);
        });
        qb.push(
            ") INSERT OR IGNORE INTO story_versions (story_id, version, title, body, content_hash, replaced_at)
             SELECT s.id, s.version, s.title, s.body, s.content_hash, ",
        );
        qb.push_bind(&now);
        qb.push(
            " FROM stories s JOIN n ON s.feed_id = n.feed_id AND s.key = n.key
             WHERE s.content_hash <> n.hash",
        );
        qb.build().execute(&mut *tx).await?;

        let mut qb = QueryBuilder::new(super::INSERT_STORIES);
        qb.push_values(rows(), |mut b, (i, inc, (f, k, url))| {
            let s = &inc.story;
            b.push_bind(f)
                .push_bind(source_id)
                .push_bind(k)
                .push_bind(url)
                .push_bind(&s.canonical_url)
                .push_bind(&s.title)
                .push_bind(&s.body)
                .push_bind(&s.body_html)
                .push_bind(sqlx::types::Json(&s.authors))
                .push_bind(db_time_opt(s.published))
                .push_bind(db_time_opt(s.updated))
                .push_bind(&s.language)
                .push_bind(&s.wire_service)
                .push_bind(&s.dateline)
                .push_bind(&hashes[i])
                .push_bind(&now)
                .push_bind(&now)
                .push_bind(&prints[i])
                .push_bind(inc.wire_copy);
        });
        qb.push(super::ON_STORY_CONFLICT);
        let rows: Vec<(i64, i64, i64, String)> = qb.build_query_as().fetch_all(&mut *tx).await?;
        let position = targets.positions(chunk, base);
        for (id, version, f, k) in rows {
            let i = position.get(&(f, k.as_str())).copied();
            if version == 1 {
                written.new_stories += 1;
                if let Some(i) = i {
                    new.push((id, i));
                }
            } else {
                written.updated_stories += 1;
                if let Some(i) = i {
                    changed.push((id, i));
                }
            }
        }
    }
    written.tags = write_tags(&mut tx, &new, &changed, stories).await?;
    let (placed, reprints) = if new.is_empty() {
        (Vec::new(), 0)
    } else {
        place_in_clusters(&mut tx, stories, &mut new, matcher, update.now).await?
    };
    written.reprints = reprints;
    let n = i64::try_from(written.new_stories).unwrap_or(i64::MAX);
    write_updates(&mut tx, owner, std::slice::from_ref(update), &[n]).await?;
    let upto: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM stories")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    matcher.commit(placed, upto);
    Ok(written)
}

/// Replaces the tags of changed stories and writes those of new ones.
async fn write_tags(
    tx: &mut sqlx::SqliteConnection,
    new: &[(i64, usize)],
    changed: &[(i64, usize)],
    stories: &[Incoming],
) -> Result<u64, sqlx::Error> {
    if !changed.is_empty() {
        let ids: Vec<i64> = changed.iter().map(|(id, _)| *id).collect();
        sqlx::query("DELETE FROM story_tags WHERE story_id IN (SELECT value FROM json_each(?1))")
            .bind(json(&ids))
            .execute(&mut *tx)
            .await?;
    }
    let mut all = new.to_vec();
    all.extend_from_slice(changed);
    let rows = tag_rows(&all, stories);
    for chunk in rows.chunks(TAG_BATCH) {
        let mut qb = QueryBuilder::new(INSERT_TAGS);
        qb.push_values(chunk, |mut b, (id, kind, value, score, primary)| {
            b.push_bind(*id)
                .push_bind(*kind)
                .push_bind(value)
                .push_bind(*score)
                .push_bind(*primary);
        });
        qb.build().execute(&mut *tx).await?;
    }
    Ok(rows.len() as u64)
}

/// Places the refresh's new stories (`new`: story id, index into `stories`) in clusters: new
/// clusters are created, members assigned, and every touched cluster's origin recomputed.
async fn place_in_clusters(
    tx: &mut sqlx::SqliteConnection,
    stories: &[Incoming],
    new: &mut [(i64, usize)],
    matcher: &Matcher,
    now: DateTime<Utc>,
) -> Result<(Vec<(i64, i64, i64, crate::dedup::Fingerprint)>, u64), sqlx::Error> {
    let mut placements = place_new(matcher, stories, new, now);
    let joined = joined_clusters(&placements);
    if !joined.is_empty() {
        let existing: std::collections::HashSet<i64> = sqlx::query_scalar::<_, i64>(
            "SELECT id FROM clusters WHERE id IN (SELECT value FROM json_each(?1))",
        )
        .bind(json(&joined))
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        settle_vanished(matcher, &mut placements, &joined, &existing);
    }
    let origins = new_cluster_origins(&placements, new, stories, now);
    let created: HashMap<i64, i64> = if origins.is_empty() {
        HashMap::new()
    } else {
        let rows: Vec<(i64, String)> = origins.iter().map(|(id, t)| (*id, db_time(*t))).collect();
        sqlx::query_as::<_, (i64, i64)>(
            "INSERT INTO clusters (origin_story_id, first_seen_at, last_seen_at, size)
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                    json_extract(value, '$[1]'), 1
             FROM json_each(?1) RETURNING origin_story_id, id",
        )
        .bind(json(&rows))
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect()
    };
    let a = assign_clusters(&placements, new, stories, now, &origins, &created);
    sqlx::query(
        "UPDATE stories SET cluster_id = m.c
         FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS c
               FROM json_each(?1)) AS m
         WHERE stories.id = m.id",
    )
    .bind(json(&a.pairs))
    .execute(&mut *tx)
    .await?;
    if !a.touched.is_empty() {
        let touched = json(&a.touched);
        for sql in [super::RECOMPUTE_CLUSTERS, super::MARK_REPRINTS] {
            sqlx::query(&sql.replace("{ids}", "(SELECT value FROM json_each(?1))"))
                .bind(&touched)
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok((a.placed, a.reprints))
}

/// A list as JSON, for `json_each` (SQLite has no array parameters).
fn json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned())
}

/// Locks `<database file>.lock` exclusively, without waiting.
pub(super) fn lock_for_daemon(p: &SqlitePool) -> Result<DaemonLock, StoreError> {
    let db = p.connect_options().get_filename().to_path_buf();
    let mut lock_path = db.clone().into_os_string();
    lock_path.push(".lock");
    let lock_path = std::path::PathBuf::from(lock_path);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| StoreError::Locked(format!("cannot open {}: {e}", lock_path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(DaemonLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked(format!(
            "another wirefeed daemon is using {} (it holds {}); SQLite serves one daemon at a \
             time: stop the other one, or use PostgreSQL to run several",
            db.display(),
            lock_path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Locked(format!(
            "cannot lock {}: {e}",
            lock_path.display()
        ))),
    }
}

/// After stories were deleted from the `touched` clusters: clusters left empty go, those that
/// lost their origin get the next one, and every touched one gets its size, times and reprint
/// marks recomputed.
async fn heal_clusters(
    tx: &mut sqlx::SqliteConnection,
    touched: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query(super::DELETE_ORPHAN_CLUSTERS)
        .execute(&mut *tx)
        .await?;
    let mut ids: Vec<i64> = sqlx::query_scalar(super::ORIGINLESS_CLUSTERS)
        .fetch_all(&mut *tx)
        .await?;
    // Clusters that lost members: their size and times change too.
    ids.extend_from_slice(touched);
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(());
    }
    let list = json(&ids);
    for sql in [super::RECOMPUTE_CLUSTERS, super::MARK_REPRINTS] {
        sqlx::query(&sql.replace("{ids}", "(SELECT value FROM json_each(?1))"))
            .bind(&list)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

pub(super) async fn prune(
    p: &SqlitePool,
    fetches_before: Option<DateTime<Utc>>,
    stories_before: Option<DateTime<Utc>>,
) -> Result<(u64, u64), StoreError> {
    let mut fetches = 0;
    if let Some(t) = fetches_before {
        fetches = sqlx::query("DELETE FROM fetches WHERE fetched_at < ?1")
            .bind(db_time(t))
            .execute(p)
            .await?
            .rows_affected();
    }
    let mut stories = 0;
    if let Some(t) = stories_before {
        loop {
            let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
            let touched: Vec<Option<i64>> = sqlx::query_scalar(
                "DELETE FROM stories WHERE id IN (SELECT id FROM stories
                 WHERE first_seen_at < ?1 LIMIT ?2) RETURNING cluster_id",
            )
            .bind(db_time(t))
            .bind(super::PRUNE_BATCH)
            .fetch_all(&mut *tx)
            .await?;
            let n = touched.len() as u64;
            let touched: Vec<i64> = touched.into_iter().flatten().collect();
            heal_clusters(&mut tx, &touched).await?;
            tx.commit().await?;
            stories += n;
            if n < super::PRUNE_BATCH as u64 {
                break;
            }
        }
    }
    Ok((fetches, stories))
}

pub(super) async fn feed_gauges(
    p: &SqlitePool,
) -> Result<crate::service::metrics::DbGauges, StoreError> {
    let feeds_by_state: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM feeds GROUP BY status ORDER BY status")
            .fetch_all(p)
            .await?;
    let now = db_time(Utc::now());
    let oldest: Option<String> = sqlx::query_scalar(
        "SELECT min(next_check_at) FROM feeds
         WHERE status = 'active' AND (lease_expires_at IS NULL OR lease_expires_at < ?1)",
    )
    .bind(&now)
    .fetch_one(p)
    .await?;
    let lag = oldest
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map_or(0.0, |t| {
            (Utc::now() - t.with_timezone(&Utc)).num_milliseconds() as f64 / 1000.0
        });
    Ok(crate::service::metrics::DbGauges {
        feeds_by_state,
        scheduler_lag_secs: lag.max(0.0),
    })
}

pub(super) async fn stories(
    p: &SqlitePool,
    q: &StoryQuery,
) -> Result<Vec<StoredStory>, StoreError> {
    // SQLite's lower() folds ASCII only: match the source's name case-insensitively here.
    let sources = match &q.source {
        None => None,
        Some(name) => {
            let want = name.to_lowercase();
            let all: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM sources")
                .fetch_all(p)
                .await?;
            let ids: Vec<i64> = all
                .into_iter()
                .filter(|(_, n)| n.to_lowercase() == want)
                .map(|(id, _)| id)
                .collect();
            Some(json(&ids))
        }
    };
    let rows = sqlx::query(
        "SELECT st.id, st.key, f.url AS feed_url, so.name AS source, st.url, st.canonical_url,
                st.title,
                st.published_at, st.updated_at, st.authors, st.language, st.wire_service,
                st.dateline, st.body, st.cluster_id, c.origin_story_id, st.is_reprint, st.version
         FROM stories st
         JOIN feeds f ON f.id = st.feed_id
         JOIN sources so ON so.id = st.source_id
         LEFT JOIN clusters c ON c.id = st.cluster_id
         WHERE (?1 IS NULL OR coalesce(st.published_at, st.first_seen_at) >= ?1)
           AND (?3 IS NULL OR st.cluster_id = ?3)
           AND (?4 IS NULL OR st.source_id IN (SELECT value FROM json_each(?4)))
           AND (?5 IS NULL OR EXISTS (SELECT 1 FROM story_tags t WHERE t.story_id = st.id
                AND t.kind = 'country' AND t.value = upper(?5)))
           AND (?6 IS NULL OR EXISTS (SELECT 1 FROM story_tags t WHERE t.story_id = st.id
                AND t.kind = 'region' AND t.value = lower(?6)))
           AND (?7 IS NULL OR EXISTS (SELECT 1 FROM story_tags t WHERE t.story_id = st.id
                AND t.kind = 'topic' AND t.value = ?7))
         ORDER BY coalesce(st.published_at, st.first_seen_at) DESC, st.id DESC
         LIMIT ?2",
    )
    .bind(db_time_opt(q.since))
    .bind(q.limit)
    .bind(q.cluster)
    .bind(sources.as_deref())
    .bind(q.country.as_deref())
    .bind(q.region.as_deref())
    .bind(q.topic.as_deref())
    .fetch_all(p)
    .await?;
    let mut out = rows
        .iter()
        .map(|r| {
            Ok(StoredStory {
                id: Some(r.try_get("id")?),
                key: r.try_get("key")?,
                feed_url: r.try_get("feed_url")?,
                source: Some(r.try_get("source")?),
                url: r.try_get("url")?,
                canonical_url: r.try_get("canonical_url")?,
                title: r.try_get("title")?,
                published: display_time(r.try_get("published_at")?),
                updated: display_time(r.try_get("updated_at")?),
                authors: r.try_get::<sqlx::types::Json<Vec<String>>, _>("authors")?.0,
                language: r.try_get("language")?,
                wire_service: r.try_get("wire_service")?,
                dateline: r.try_get("dateline")?,
                body: r.try_get("body")?,
                cluster: r.try_get("cluster_id")?,
                origin: r.try_get("origin_story_id")?,
                is_reprint: r.try_get("is_reprint")?,
                version: r.try_get("version")?,
                countries: Vec::new(),
                regions: Vec::new(),
                topics: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let ids = json(&out.iter().filter_map(|s| s.id).collect::<Vec<_>>());
    let tags = sqlx::query(
        "SELECT story_id, kind, value, score, is_primary FROM story_tags
         WHERE story_id IN (SELECT value FROM json_each(?1)) ORDER BY story_id, kind, score DESC, value",
    )
    .bind(ids)
    .fetch_all(p)
    .await?
    .iter()
    .map(|r| {
        Ok(TagRow {
            story_id: r.try_get("story_id")?,
            kind: r.try_get("kind")?,
            value: r.try_get("value")?,
            score: r.try_get("score")?,
            is_primary: r.try_get("is_primary")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    attach_tags(&mut out, tags);
    Ok(out)
}
