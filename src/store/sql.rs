// The store's one implementation: every query, for both databases. It is compiled twice, inside
// `store::postgres` and `store::sqlite`, each of which names its dialect (`dialect.rs`) `d`; all
// SQL here uses `$n` placeholders (SQLite reads `$1` as parameter 1) and leaves what differs
// (instants, lists, transaction start, the cluster lock, claiming) to `d`. See `mod.rs` for the
// contract of each function.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row};

use super::{
    attach_tags, stored_new, tag_rows, Claim, DbGauges, FeedInfo, FeedUpdate, Incoming, Leased,
    MovedFeed, NewFeed,
    RetagProgress, RetagStory, StoreError, StoredStory, StoryQuery, TagRow, Targets, Written,
    INSERT_TAGS, TAG_BATCH,
};
use crate::dedup::plan::{
    assign_clusters, follow, joined_clusters, new_cluster_origins, place_new, settle_vanished,
    Stored,
};
use crate::dedup::{Fingerprint, Matcher, Merge};
use crate::model::{rfc3339_opt, Feed, FeedId};

pub(super) use d::{connect, Pool};

type DbRow = <d::Db as sqlx::Database>::Row;

/// What the matcher takes in after a placement commits: (story, cluster, instant, fingerprint).
type Placed = Vec<(i64, i64, i64, Fingerprint)>;

/// A stored instant as `stories` and `feeds list` print it.
fn show(t: Option<d::Time>) -> Option<String> {
    rfc3339_opt(d::read_time(t))
}

pub(super) async fn ping(p: &Pool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(p).await?;
    Ok(())
}

pub(super) async fn upsert_feed(
    p: &Pool,
    f: &NewFeed<'_>,
    now: DateTime<Utc>,
) -> Result<FeedId, StoreError> {
    let mut tx = d::begin(p).await?;
    let source: i64 = sqlx::query_scalar(
        "INSERT INTO sources (name, is_wire, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET is_wire = sources.is_wire OR excluded.is_wire
         RETURNING id",
    )
    .bind(f.source)
    .bind(f.is_wire)
    .bind(d::time(now))
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO feeds (url, source_id, defined_in, next_check_at, created_at, full_text, title)
         VALUES ($1, $2, $3, $4, $4, $5, $6)
         ON CONFLICT (url) DO UPDATE SET source_id = excluded.source_id,
             full_text = excluded.full_text,
             title = coalesce(excluded.title, feeds.title),
             defined_in = CASE WHEN excluded.defined_in = 'config' OR feeds.status = 'paused'
                 THEN excluded.defined_in ELSE feeds.defined_in END,
             status = CASE WHEN feeds.status = 'paused' THEN 'active' ELSE feeds.status END
         RETURNING id",
    )
    .bind(f.url)
    .bind(source)
    .bind(f.defined_in.as_str())
    .bind(d::time(now))
    .bind(f.full_text)
    .bind(f.title)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(FeedId(id))
}

pub(super) async fn moved_feed(p: &Pool, old_url: &str) -> Result<Option<MovedFeed>, StoreError> {
    // Every address the feed left, then (for moves recorded before `feed_moves`) the last one.
    let row: Option<(String, Option<d::Time>)> = sqlx::query_as(
        "SELECT f.url, m.moved_at FROM feed_moves m JOIN feeds f ON f.id = m.feed_id
         WHERE m.from_url = $1 AND f.url <> $1
         UNION ALL
         SELECT url, moved_at FROM (SELECT url, moved_at FROM feeds
             WHERE moved_from = $1 AND url <> $1 ORDER BY id LIMIT 1) AS last
         LIMIT 1",
    )
    .bind(old_url)
    .fetch_optional(p)
    .await?;
    Ok(row.map(|(url, at)| MovedFeed {
        config_url: old_url.to_owned(),
        url,
        moved_at: d::read_time(at),
    }))
}

pub(super) async fn pause_feed(p: &Pool, url: &str) -> Result<bool, StoreError> {
    let n = sqlx::query("UPDATE feeds SET status = 'paused' WHERE url = $1 AND status = 'active'")
        .bind(url)
        .execute(p)
        .await?
        .rows_affected();
    Ok(n > 0)
}

pub(super) async fn pause_config_feeds_except(p: &Pool, keep: &[String]) -> Result<(), StoreError> {
    let sql = format!(
        "UPDATE feeds SET status = 'paused'
         WHERE defined_in = 'config' AND status = 'active' AND NOT ({})",
        d::in_list("url", 1)
    );
    sqlx::query(&sql).bind(d::list(keep)).execute(p).await?;
    Ok(())
}

pub(super) async fn story_hashes(
    p: &Pool,
    feed: FeedId,
    keys: &[String],
) -> Result<HashMap<String, String>, StoreError> {
    let sql = format!(
        "SELECT key, content_hash FROM stories WHERE feed_id = $1 AND {}",
        d::in_list("key", 2)
    );
    let rows: Vec<(String, String)> = sqlx::query_as(&sql)
        .bind(feed.0)
        .bind(d::list(keys))
        .fetch_all(p)
        .await?;
    Ok(rows.into_iter().collect())
}

pub(super) async fn remove_feed(p: &Pool, url: &str) -> Result<bool, StoreError> {
    let mut tx = d::begin(p).await?;
    // Clusters change: hold the cluster lock, as placements do.
    d::lock_clusters(&mut tx).await?;
    let touched: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT s.cluster_id FROM stories s JOIN feeds f ON f.id = s.feed_id
         WHERE f.url = $1 AND s.cluster_id IS NOT NULL",
    )
    .bind(url)
    .fetch_all(&mut *tx)
    .await?;
    // Clusters whose origin goes away lose it (ON DELETE SET NULL); stories and logs cascade.
    let n = sqlx::query("DELETE FROM feeds WHERE url = $1")
        .bind(url)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    heal_clusters(&mut tx, &touched).await?;
    tx.commit().await?;
    Ok(n > 0)
}

pub(super) async fn list_feeds(p: &Pool) -> Result<Vec<FeedInfo>, StoreError> {
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
                last_status: r.try_get::<Option<i32>, _>("last_status")?.map(i64::from),
                last_error: r.try_get("last_error")?,
                last_error_message: r.try_get("last_error_message")?,
                consecutive_errors: i64::from(r.try_get::<i32, _>("consecutive_errors")?),
                last_fetched_at: show(r.try_get("last_fetched_at")?),
                next_check_at: show(r.try_get("next_check_at")?).unwrap_or_default(),
                etag: r.try_get("etag")?,
                last_modified: r.try_get("last_modified")?,
                interval_secs: r.try_get::<Option<i32>, _>("interval_secs")?.map(i64::from),
                moved_from: r.try_get("moved_from")?,
                moved_at: show(r.try_get("moved_at")?),
                title: r.try_get("title")?,
                stories: r.try_get("stories")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

fn feed_from_row(r: &DbRow) -> Result<Feed, sqlx::Error> {
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
        consecutive_errors: r.try_get::<i32, _>("consecutive_errors")?.max(0) as u32,
        interval_secs: r.try_get::<Option<i32>, _>("interval_secs")?.map(i64::from),
    })
}

pub(super) async fn claim(p: &Pool, c: &Claim<'_>) -> Result<Vec<Feed>, StoreError> {
    let mut tx = d::begin(p).await?;
    let lease = format!(
        "UPDATE feeds SET lease_owner = $1, lease_expires_at = $2
         WHERE id IN (
             SELECT id FROM feeds
             WHERE status = 'active'
               AND ($3 IS NULL OR next_check_at <= $3)
               AND ($4 IS NULL OR last_fetched_at IS NULL OR last_fetched_at < $4)
               AND (lease_expires_at IS NULL OR lease_expires_at < $5)
             ORDER BY next_check_at, id
             LIMIT $6{})
         RETURNING id",
        d::SKIP_LOCKED
    );
    let ids: Vec<i64> = sqlx::query_scalar(&lease)
        .bind(c.owner)
        .bind(d::time(c.lease_until))
        .bind(c.due_by.map(d::time))
        .bind(c.not_fetched_since.map(d::time))
        .bind(d::time(c.now))
        .bind(c.limit)
        .fetch_all(&mut *tx)
        .await?;
    let sql = format!(
        "WITH c AS (SELECT * FROM feeds WHERE {}) {} ORDER BY c.next_check_at, c.id",
        d::in_list("id", 1),
        super::CLAIMED_FEEDS
    );
    let rows = sqlx::query(&sql)
        .bind(d::list(&ids))
        .fetch_all(&mut *tx)
        .await?;
    let feeds = rows
        .iter()
        .map(feed_from_row)
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    tx.commit().await?;
    Ok(feeds)
}

pub(super) async fn leased(
    p: &Pool,
    not_fetched_since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<Leased>, StoreError> {
    let rows: Vec<(String, Option<String>, Option<d::Time>)> = sqlx::query_as(
        "SELECT url, lease_owner, lease_expires_at FROM feeds
         WHERE status = 'active'
           AND (last_fetched_at IS NULL OR last_fetched_at < $1)
           AND lease_expires_at IS NOT NULL AND lease_expires_at >= $2
         ORDER BY lease_expires_at, id",
    )
    .bind(d::time(not_fetched_since))
    .bind(d::time(now))
    .fetch_all(p)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(url, owner, until)| {
            Some(Leased {
                url,
                owner: owner.unwrap_or_default(),
                until: d::read_time(until)?,
            })
        })
        .collect())
}

pub(super) async fn defer(
    p: &Pool,
    owner: &str,
    feeds: &[(FeedId, DateTime<Utc>)],
) -> Result<(), StoreError> {
    let mut tx = d::begin(p).await?;
    for chunk in feeds.chunks(d::BATCH_ROWS) {
        let mut qb = QueryBuilder::new(
            "UPDATE feeds SET next_check_at = u.at, lease_expires_at = u.at
             FROM (SELECT v.column1 AS id, v.column2 AS at FROM (",
        );
        qb.push_values(chunk, |mut b, (id, at)| {
            b.push_bind(id.0).push_bind(d::time(*at));
        });
        qb.push(") AS v) AS u WHERE feeds.id = u.id AND feeds.lease_owner = ");
        qb.push_bind(owner);
        qb.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn next_due(p: &Pool) -> Result<Option<DateTime<Utc>>, StoreError> {
    let sql = format!(
        "SELECT min({}(next_check_at, coalesce(lease_expires_at, next_check_at)))
         FROM feeds WHERE status = 'active'",
        d::GREATEST
    );
    let t: Option<d::Time> = sqlx::query_scalar(&sql).fetch_one(p).await?;
    Ok(d::read_time(t))
}

/// Writes feed states and fetch log lines for a batch, inside `tx`; `new_stories` holds each
/// update's count of new stories.
async fn write_updates(
    tx: &mut d::Conn,
    owner: &str,
    updates: &[FeedUpdate],
    new_stories: &[i64],
) -> Result<(), sqlx::Error> {
    let small = |v: i64| v.clamp(0, i64::from(i32::MAX)) as i32;
    for (chunk, counts) in updates
        .chunks(d::BATCH_ROWS)
        .zip(new_stories.chunks(d::BATCH_ROWS))
    {
        let mut qb = QueryBuilder::new(
            "UPDATE feeds SET etag = u.etag, last_modified = u.last_modified,
                 body_hash = u.body_hash, last_status = u.http_status, last_error = u.error_kind,
                 last_error_message = u.error_message, consecutive_errors = u.errors,
                 last_fetched_at = u.now,
                 last_success_at = CASE WHEN u.error_kind IS NULL THEN u.now
                                        ELSE feeds.last_success_at END,
                 next_check_at = u.next, interval_secs = u.interval, status = u.status,
                 title = coalesce(u.title, feeds.title), fetch_count = feeds.fetch_count + 1, lease_owner = NULL, lease_expires_at = NULL
             FROM (SELECT v.column1 AS id, v.column2 AS etag, v.column3 AS last_modified,
                          v.column4 AS body_hash, v.column5 AS http_status,
                          v.column6 AS error_kind, v.column7 AS error_message,
                          v.column8 AS errors, v.column9 AS now, v.column10 AS next,
                          v.column11 AS interval, v.column12 AS status, v.column13 AS title
                   FROM (",
        );
        qb.push_values(chunk, |mut b, u| {
            b.push_bind(u.feed_id.0)
                .push_bind(&u.etag)
                .push_bind(&u.last_modified)
                .push_bind(&u.body_hash)
                .push_bind(u.http_status.map(i32::from))
                .push_bind(u.error_kind)
                .push_bind(&u.error_message)
                .push_bind(u.consecutive_errors.min(i32::MAX as u32) as i32)
                .push_bind(d::time(u.now))
                .push_bind(d::time(u.next_check_at))
                .push_bind(small(u.interval_secs))
                .push_bind(u.status)
                .push_bind(&u.title);
        });
        qb.push(") AS v) AS u WHERE feeds.id = u.id AND feeds.lease_owner = ");
        qb.push_bind(owner);
        qb.push(" RETURNING feeds.id");
        let kept: HashSet<i64> = qb
            .build_query_scalar::<i64>()
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        // Feeds whose lease this daemon lost get neither a log line nor a move.
        let logged: Vec<(&FeedUpdate, i64)> = chunk
            .iter()
            .zip(counts.iter().copied())
            .filter(|(u, _)| kept.contains(&u.feed_id.0))
            .collect();
        if logged.is_empty() {
            continue;
        }
        let mut qb = QueryBuilder::new(format!(
            "INSERT INTO fetches ({})
             SELECT u.id, f.fetch_count % {}, u.now, u.outcome, u.http_status, u.error_kind,
                    u.error_message, u.duration_ms, u.bytes, u.items, u.new_stories
             FROM (SELECT v.column1 AS id, v.column2 AS now, v.column3 AS outcome,
                          v.column4 AS http_status, v.column5 AS error_kind,
                          v.column6 AS error_message, v.column7 AS duration_ms,
                          v.column8 AS bytes, v.column9 AS items, v.column10 AS new_stories
                   FROM (",
            super::LOG_FETCH_COLUMNS,
            super::FETCH_LOG_PER_FEED,
        ));
        qb.push_values(&logged, |mut b, (u, n)| {
            b.push_bind(u.feed_id.0)
                .push_bind(d::time(u.now))
                .push_bind(u.outcome)
                .push_bind(u.http_status.map(i32::from))
                .push_bind(u.error_kind)
                .push_bind(&u.error_message)
                .push_bind(small(u.duration_ms))
                .push_bind(u.bytes)
                .push_bind(small(u.items))
                .push_bind(small(*n));
        });
        // `WHERE true` keeps SQLite from reading the upsert's ON as a join's.
        qb.push(") AS v) AS u JOIN feeds f ON f.id = u.id WHERE true");
        qb.push(super::ON_FETCH_SLOT);
        qb.build().execute(&mut *tx).await?;
        for (u, _) in &logged {
            if let Some(to) = &u.moved_to {
                // A confirmed permanent redirect moves the feed, unless another feed is there.
                let moved = sqlx::query(
                    "UPDATE feeds SET moved_from = url, url = $2, moved_at = $3
                     WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM feeds o WHERE o.url = $2)",
                )
                .bind(u.feed_id.0)
                .bind(to)
                .bind(d::time(u.now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if moved > 0 {
                    sqlx::query(
                        "INSERT INTO feed_moves (from_url, feed_id, moved_at)
                         SELECT moved_from, id, $2 FROM feeds WHERE id = $1
                         ON CONFLICT (from_url) DO UPDATE SET feed_id = excluded.feed_id,
                             moved_at = excluded.moved_at",
                    )
                    .bind(u.feed_id.0)
                    .bind(d::time(u.now))
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
    }
    Ok(())
}

pub(super) async fn record_updates(
    p: &Pool,
    owner: &str,
    updates: &[FeedUpdate],
) -> Result<(), StoreError> {
    let mut tx = d::begin(p).await?;
    write_updates(&mut tx, owner, updates, &vec![0; updates.len()]).await?;
    tx.commit().await?;
    Ok(())
}

/// Hands stored rows (id, cluster, instant, fingerprint, placement number) to the matcher and
/// returns the highest placement number seen (at least `upto`).
fn load_rows(matcher: &Matcher, rows: &[DbRow], upto: i64) -> Result<i64, sqlx::Error> {
    let mut loaded = Vec::with_capacity(rows.len());
    let mut upto = upto;
    for r in rows {
        let t = d::read_time(r.try_get("t")?).map_or(0, |t| t.timestamp());
        let fp: Vec<u8> = r.try_get("fingerprint")?;
        upto = upto.max(r.try_get::<Option<i64>, _>("placed")?.unwrap_or(0));
        loaded.push((r.try_get("id")?, r.try_get("cluster_id")?, t, fp));
    }
    matcher.load(
        loaded.iter().map(|(i, c, t, f)| (*i, *c, *t, f.as_slice())),
        upto,
    );
    Ok(upto)
}

/// Brings the matcher up to date with placements other daemons (or refreshes) committed since
/// it last looked (call under the cluster lock).
async fn sync_matcher(tx: &mut d::Conn, matcher: &Matcher) -> Result<(), sqlx::Error> {
    let sql = super::UNSYNCED_FINGERPRINTS.replace("{after}", "$1");
    let rows = sqlx::query(&sql)
        .bind(matcher.synced())
        .fetch_all(&mut *tx)
        .await?;
    if !rows.is_empty() {
        load_rows(matcher, &rows, matcher.synced())?;
    }
    Ok(())
}

/// Stored fingerprints handed to the matcher at a time when loading.
const LOAD_BATCH: usize = 10_000;

pub(super) async fn load_matcher(
    p: &Pool,
    matcher: &Matcher,
    since: DateTime<Utc>,
) -> Result<usize, StoreError> {
    use futures::TryStreamExt;
    let max: Option<i64> = sqlx::query_scalar(super::MAX_PLACED)
        .fetch_optional(p)
        .await?;
    // Streamed in batches: memory stays at the index, not the index plus every row.
    let mut rows = sqlx::query(
        "SELECT id, cluster_id, coalesce(published_at, first_seen_at) AS t, fingerprint, placed
         FROM stories WHERE first_seen_at >= $1 AND cluster_id IS NOT NULL
           AND fingerprint IS NOT NULL",
    )
    .bind(d::time(since))
    .fetch(p);
    let mut batch: Vec<DbRow> = Vec::with_capacity(LOAD_BATCH);
    let mut total = 0;
    while let Some(r) = rows.try_next().await? {
        batch.push(r);
        if batch.len() == LOAD_BATCH {
            total += batch.len();
            load_rows(matcher, &batch, 0)?;
            batch.clear();
        }
    }
    total += batch.len();
    load_rows(matcher, &batch, max.unwrap_or(0))?;
    Ok(total)
}

pub(super) async fn record_refresh(
    p: &Pool,
    owner: &str,
    update: &FeedUpdate,
    stories: &[Incoming],
    matcher: &Matcher,
) -> Result<Written, StoreError> {
    // On PostgreSQL story rows are written before the cluster lock is taken, so a placement
    // holding the lock can (rarely) wait on a story row this refresh holds while it waits for
    // the lock: PostgreSQL breaks that deadlock by failing one transaction, run again whole.
    // Two refreshes of feeds of one source can also both store the same item (same canonical
    // URL) as new when neither saw the other's row: the one placing second sees it committed,
    // gives up its transaction, and runs again, finding the row this time.
    for _ in 0..REFRESH_ATTEMPTS {
        match write_refresh(p, owner, update, stories, matcher).await {
            Err(StoreError::Query(e)) if d::is_retryable(&e) => continue,
            Ok(None) => continue,
            Ok(Some(w)) => return Ok(w),
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict(format!(
        "feed {}: the refresh raced other writers {REFRESH_ATTEMPTS} times; nothing was written",
        update.feed_id.0
    )))
}

/// Runs of one refresh before it gives up on a race (see `record_refresh`).
const REFRESH_ATTEMPTS: usize = 5;

/// The stories a refresh wrote: (story id, index into its stories).
#[derive(Default)]
struct Rows {
    new: Vec<(i64, usize)>,
    changed: Vec<(i64, usize)>,
}

/// One refresh in one transaction: story rows, old versions, tags and the feed's state first;
/// then, under the cluster lock held to the commit, the placement of its new stories. `None`:
/// it raced another refresh of its source and was rolled back.
async fn write_refresh(
    p: &Pool,
    owner: &str,
    update: &FeedUpdate,
    stories: &[Incoming],
    matcher: &Matcher,
) -> Result<Option<Written>, StoreError> {
    let mut tx = d::begin_refresh(p).await?;
    let targets = targets(&mut tx, update, stories).await?;
    // Two items written to one row (the same canonical URL, or the same key twice) would make
    // one upsert touch a row twice: the first wins.
    let deduped;
    let stories = match targets.unique(stories) {
        Some(kept) => {
            deduped = kept;
            deduped.as_slice()
        }
        None => stories,
    };
    let rows = write_stories(&mut tx, update, &targets, stories).await?;
    let mut written = Written {
        new_stories: rows.new.len() as u64,
        updated_stories: rows.changed.len() as u64,
        ..Written::default()
    };
    written.tags = write_tags(&mut tx, &rows.new, &rows.changed, stories).await?;
    let n = i64::try_from(written.new_stories).unwrap_or(i64::MAX);
    write_updates(&mut tx, owner, std::slice::from_ref(update), &[n]).await?;
    if rows.new.is_empty() {
        tx.commit().await?;
        return Ok(Some(written));
    }
    d::lock_clusters(&mut tx).await?;
    if raced(&mut tx, update, &rows.new, stories).await? {
        return Ok(None);
    }
    sync_matcher(&mut tx, matcher).await?;
    let mut new = stored_new(&rows.new, stories, update.now);
    let (placed, reprints, seq, merges) =
        place_in_clusters(&mut tx, &mut new, matcher, update.now).await?;
    written.reprints = reprints;
    written.merges = merges.len() as u64;
    tx.commit().await?;
    matcher.commit(placed, seq);
    matcher.commit_merges(&merges);
    Ok(Some(written))
}

/// Whether another feed of the source committed, since this refresh looked, a story with the
/// canonical URL of one this refresh stored as new (call under the cluster lock, which every
/// refresh storing a new story takes before its commit, so the other's rows are visible).
async fn raced(
    tx: &mut d::Conn,
    update: &FeedUpdate,
    new: &[(i64, usize)],
    stories: &[Incoming],
) -> Result<bool, sqlx::Error> {
    let urls: Vec<&str> = new
        .iter()
        .filter_map(|(_, i)| stories[*i].story.canonical_url.as_deref())
        .collect();
    if urls.is_empty() {
        return Ok(false);
    }
    let ids: Vec<i64> = new.iter().map(|(id, _)| *id).collect();
    // The lookup of `targets`, run again: a row it would now find (and this feed held no story
    // of that URL before this refresh) was committed since.
    let sql = format!(
        "SELECT count(*) FROM stories s
         WHERE s.source_id = $1 AND s.feed_id <> $2 AND {} AND NOT ({})
           AND NOT EXISTS (SELECT 1 FROM stories t
                           WHERE t.feed_id = $2 AND t.canonical_url = s.canonical_url
                             AND NOT ({}))",
        d::in_list("s.canonical_url", 3),
        d::in_list("s.id", 4),
        d::in_list("t.id", 4)
    );
    let n: i64 = sqlx::query_scalar(&sql)
        .bind(update.source_id)
        .bind(update.feed_id.0)
        .bind(d::list(&urls))
        .bind(d::list(&ids))
        .fetch_one(&mut *tx)
        .await?;
    Ok(n > 0)
}

/// Where each story goes: the same item reached through another feed of the same source (by
/// canonical URL) is that story, written to its row.
async fn targets(
    tx: &mut d::Conn,
    update: &FeedUpdate,
    stories: &[Incoming],
) -> Result<Targets, sqlx::Error> {
    let feed_id = update.feed_id.0;
    let urls: Vec<&str> = stories
        .iter()
        .filter_map(|i| i.story.canonical_url.as_deref())
        .collect();
    let elsewhere = if urls.is_empty() {
        HashMap::new()
    } else {
        let sql = format!(
            "SELECT s.canonical_url, s.feed_id, s.key, s.url FROM stories s
             WHERE s.id IN (
                 SELECT min(s2.id) FROM stories s2
                 WHERE s2.source_id = $1 AND s2.feed_id <> $2 AND {}
                   AND NOT EXISTS (SELECT 1 FROM stories t
                                   WHERE t.feed_id = $2 AND t.canonical_url = s2.canonical_url)
                 GROUP BY s2.canonical_url)",
            d::in_list("s2.canonical_url", 3)
        );
        sqlx::query_as::<_, (String, i64, String, Option<String>)>(&sql)
            .bind(update.source_id)
            .bind(feed_id)
            .bind(d::list(&urls))
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|(c, f, k, u)| (c, (f, k, u)))
            .collect()
    };
    Ok(Targets { feed_id, elsewhere })
}

/// Upserts the story rows (keeping the text a changed story had before, with its version
/// number) and tells new rows from changed ones.
async fn write_stories(
    tx: &mut d::Conn,
    update: &FeedUpdate,
    targets: &Targets,
    stories: &[Incoming],
) -> Result<Rows, sqlx::Error> {
    let now = update.now;
    let hashes: Vec<String> = stories.iter().map(|i| targets.hash(&i.story)).collect();
    let prints: Vec<Vec<u8>> = stories.iter().map(|i| i.fingerprint.to_bytes()).collect();
    let mut out = Rows::default();
    for (c, chunk) in stories.chunks(d::BATCH_ROWS).enumerate() {
        let base = c * d::BATCH_ROWS;
        let rows = || {
            chunk
                .iter()
                .enumerate()
                .map(|(j, inc)| (base + j, inc, targets.of(&inc.story)))
        };
        let mut qb = QueryBuilder::new("WITH n(feed_id, key, hash) AS (");
        qb.push_values(rows(), |mut b, (i, _, (f, k, _))| {
            b.push_bind(f).push_bind(k).push_bind(&hashes[i]);
        });
        qb.push(
            ") INSERT INTO story_versions (story_id, version, title, body, content_hash, replaced_at)
             SELECT s.id, s.version, s.title, s.body, s.content_hash, ",
        );
        qb.push_bind(d::time(now));
        qb.push(
            " FROM stories s JOIN n ON s.feed_id = n.feed_id AND s.key = n.key
             WHERE s.content_hash <> n.hash ON CONFLICT DO NOTHING",
        );
        qb.build().execute(&mut *tx).await?;

        let mut qb = QueryBuilder::new(super::INSERT_STORIES);
        qb.push_values(rows(), |mut b, (i, inc, (f, k, url))| {
            let s = &inc.story;
            b.push_bind(f)
                .push_bind(update.source_id)
                .push_bind(k)
                .push_bind(url)
                .push_bind(&s.canonical_url)
                .push_bind(&s.title)
                .push_bind(&s.body)
                .push_bind(&s.body_html)
                .push_bind(sqlx::types::Json(&s.authors))
                .push_bind(s.published.map(d::time))
                .push_bind(s.updated.map(d::time))
                .push_bind(&s.language)
                .push_bind(&s.wire_service)
                .push_bind(&s.dateline)
                .push_bind(&hashes[i])
                .push_bind(d::time(now))
                .push_bind(d::time(now))
                .push_bind(&prints[i])
                .push_bind(inc.wire_copy);
        });
        qb.push(super::ON_STORY_CONFLICT);
        let rows: Vec<(i64, i32, i64, String)> = qb.build_query_as().fetch_all(&mut *tx).await?;
        let position = targets.positions(chunk, base);
        for (id, version, f, k) in rows {
            let Some(&i) = position.get(&(f, k.as_str())) else {
                continue;
            };
            if version == 1 {
                out.new.push((id, i));
            } else {
                out.changed.push((id, i));
            }
        }
    }
    Ok(out)
}

/// Replaces the tags of changed stories and writes those of new ones.
async fn write_tags(
    tx: &mut d::Conn,
    new: &[(i64, usize)],
    changed: &[(i64, usize)],
    stories: &[Incoming],
) -> Result<u64, sqlx::Error> {
    if !changed.is_empty() {
        let ids: Vec<i64> = changed.iter().map(|(id, _)| *id).collect();
        let sql = format!("DELETE FROM story_tags WHERE {}", d::in_list("story_id", 1));
        sqlx::query(&sql)
            .bind(d::list(&ids))
            .execute(&mut *tx)
            .await?;
    }
    let mut all = new.to_vec();
    all.extend_from_slice(changed);
    let rows = tag_rows(all.iter().map(|(id, i)| (*id, &stories[*i].tags)));
    insert_tags(tx, &rows).await?;
    Ok(rows.len() as u64)
}

/// Inserts `story_tags` rows in batches.
async fn insert_tags(
    tx: &mut d::Conn,
    rows: &[(i64, &'static str, String, f64, bool)],
) -> Result<(), sqlx::Error> {
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
    Ok(())
}

/// Places a refresh's new stories in clusters (call under the cluster lock): new clusters are
/// created, members assigned, every touched cluster's origin recomputed, and the stored clusters
/// the batch bridges merged. Returns what the matcher takes in, the reprints, the batch's
/// placement number and the merges applied (for the matcher, after commit).
async fn place_in_clusters(
    tx: &mut d::Conn,
    new: &mut [Stored<'_>],
    matcher: &Matcher,
    now: DateTime<Utc>,
) -> Result<(Placed, u64, i64, Vec<Merge>), sqlx::Error> {
    let (mut placements, mut merges) = place_new(matcher, new);
    let mut joined = joined_clusters(&placements);
    // The ids a merge names may be stale too (another daemon, or a refresh of this one that
    // committed first, merged them away): they are followed below like placements.
    let placed_into = joined.clone();
    joined.extend(merges.iter().flat_map(|m| [m.from, m.into]));
    joined.sort_unstable();
    joined.dedup();
    if !joined.is_empty() {
        let sql = format!("SELECT id FROM clusters WHERE {}", d::in_list("id", 1));
        let existing: HashSet<i64> = sqlx::query_scalar::<_, i64>(&sql)
            .bind(d::list(&joined))
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        let mut merged = HashMap::new();
        if existing.len() < joined.len() {
            let gone: Vec<i64> = joined
                .iter()
                .copied()
                .filter(|c| !existing.contains(c))
                .collect();
            // Records point straight at the surviving cluster (see `MERGE_STEPS`).
            let sql = format!(
                "SELECT m.from_cluster_id, m.into_cluster_id FROM cluster_merges m
                 JOIN clusters c ON c.id = m.into_cluster_id WHERE {}",
                d::in_list("m.from_cluster_id", 1)
            );
            merged = sqlx::query_as::<_, (i64, i64)>(&sql)
                .bind(d::list(&gone))
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        }
        settle_vanished(matcher, &mut placements, &placed_into, &existing, &merged);
        for m in merges.iter_mut() {
            m.from = follow(&merged, m.from).unwrap_or(m.from);
            m.into = follow(&merged, m.into).unwrap_or(m.into);
        }
        merges.retain(|m| m.from != m.into);
    }
    let origins = new_cluster_origins(&placements, new);
    let mut created: HashMap<i64, i64> = HashMap::new();
    for chunk in origins.chunks(d::BATCH_ROWS) {
        let mut qb = QueryBuilder::new(
            "INSERT INTO clusters (origin_story_id, first_seen_at, last_seen_at, size) ",
        );
        qb.push_values(chunk, |mut b, (id, t)| {
            b.push_bind(*id)
                .push_bind(d::time(*t))
                .push_bind(d::time(*t))
                .push_bind(1i32);
        });
        qb.push(" RETURNING origin_story_id, id");
        let rows: Vec<(i64, i64)> = qb.build_query_as().fetch_all(&mut *tx).await?;
        created.extend(rows);
    }
    let a = assign_clusters(&placements, new, &origins, &created);
    let last: Option<i64> = sqlx::query_scalar(super::MAX_PLACED)
        .fetch_optional(&mut *tx)
        .await?;
    let seq = last.unwrap_or(0) + 1;
    for chunk in a.pairs.chunks(d::BATCH_ROWS) {
        let mut qb = QueryBuilder::new("UPDATE stories SET cluster_id = u.c, placed = ");
        qb.push_bind(seq);
        qb.push(" FROM (SELECT v.column1 AS id, v.column2 AS c FROM (");
        qb.push_values(chunk, |mut b, (id, c)| {
            b.push_bind(*id).push_bind(*c);
        });
        qb.push(") AS v) AS u WHERE stories.id = u.id");
        qb.build().execute(&mut *tx).await?;
    }
    recompute(tx, &a.touched).await?;
    let pairs: Vec<(i64, i64)> = merges.iter().map(|m| (m.from, m.into)).collect();
    let applied = apply_merges(tx, &pairs, now)
        .await?
        .into_iter()
        .map(|(from, into)| Merge { from, into })
        .collect();
    Ok((a.placed, a.reprints, seq, applied))
}

/// Recomputes the origin, size, times and reprint marks of clusters whose members changed.
async fn recompute(tx: &mut d::Conn, ids: &[i64]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let list = format!("(SELECT id FROM clusters WHERE {})", d::in_list("id", 1));
    for sql in [super::RECOMPUTE_CLUSTERS, super::MARK_REPRINTS] {
        sqlx::query(&sql.replace("{ids}", &list))
            .bind(d::list(ids))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Applies cluster merges in order (call under the cluster lock): see `Store::merge_clusters`.
/// Returns the merges applied, each `into` followed to the cluster that survived; a merge whose
/// clusters are not both stored any more is skipped.
async fn apply_merges(
    tx: &mut d::Conn,
    merges: &[(i64, i64)],
    now: DateTime<Utc>,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let mut done: HashMap<i64, i64> = HashMap::new();
    let mut applied = Vec::new();
    let mut into_ids = Vec::new();
    for &(from, into) in merges {
        let into = follow(&done, into).unwrap_or(into);
        let both: i64 = sqlx::query_scalar("SELECT count(*) FROM clusters WHERE id IN ($1, $2)")
            .bind(from)
            .bind(into)
            .fetch_one(&mut *tx)
            .await?;
        if from == into || both < 2 {
            continue;
        }
        for (sql, binds) in super::MERGE_STEPS {
            let mut q = sqlx::query(sql).bind(from);
            if binds > 1 {
                q = q.bind(into);
            }
            if binds > 2 {
                q = q.bind(d::time(now));
            }
            q.execute(&mut *tx).await?;
        }
        done.insert(from, into);
        applied.push((from, into));
        into_ids.push(into);
    }
    into_ids.retain(|c| !done.contains_key(c));
    into_ids.sort_unstable();
    into_ids.dedup();
    recompute(tx, &into_ids).await?;
    Ok(applied)
}

pub(super) async fn merge_clusters(
    p: &Pool,
    merges: &[(i64, i64)],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut tx = d::begin(p).await?;
    d::lock_clusters(&mut tx).await?;
    let n = apply_merges(&mut tx, merges, now).await?.len() as u64;
    tx.commit().await?;
    Ok(n)
}

/// After stories were deleted from the `touched` clusters: clusters left empty go, those that
/// lost their origin get the next one, and every touched one gets its size, times and reprint
/// marks recomputed.
async fn heal_clusters(tx: &mut d::Conn, touched: &[i64]) -> Result<(), sqlx::Error> {
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
    recompute(tx, &ids).await
}

pub(super) async fn prune(
    p: &Pool,
    fetches_before: Option<DateTime<Utc>>,
    stories_before: Option<DateTime<Utc>>,
) -> Result<(u64, u64), StoreError> {
    let mut fetches = 0;
    if let Some(t) = fetches_before {
        fetches = sqlx::query("DELETE FROM fetches WHERE fetched_at < $1")
            .bind(d::time(t))
            .execute(p)
            .await?
            .rows_affected();
    }
    let mut stories = 0;
    if let Some(t) = stories_before {
        loop {
            let mut tx = d::begin(p).await?;
            // The cluster lock: no placement may join a cluster while its stories go.
            d::lock_clusters(&mut tx).await?;
            let touched: Vec<Option<i64>> = sqlx::query_scalar(
                "DELETE FROM stories WHERE id IN (SELECT id FROM stories
                 WHERE first_seen_at < $1 LIMIT $2) RETURNING cluster_id",
            )
            .bind(d::time(t))
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

pub(super) async fn feed_gauges(p: &Pool) -> Result<DbGauges, StoreError> {
    let feeds_by_state: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM feeds GROUP BY status ORDER BY status")
            .fetch_all(p)
            .await?;
    let now = Utc::now();
    let oldest: Option<(String, d::Time)> = sqlx::query_as(
        "SELECT url, next_check_at FROM feeds
         WHERE status = 'active' AND (lease_expires_at IS NULL OR lease_expires_at < $1)
         ORDER BY next_check_at, id LIMIT 1",
    )
    .bind(d::time(now))
    .fetch_optional(p)
    .await?;
    let (url, at) = oldest.unzip();
    let lag = d::read_time(at).map_or(0.0, |t| (now - t).num_milliseconds() as f64 / 1000.0);
    Ok(DbGauges {
        feeds_by_state,
        scheduler_lag_secs: lag.max(0.0),
        most_overdue: url.filter(|_| lag > 0.0),
    })
}

pub(super) async fn stories(p: &Pool, q: &StoryQuery) -> Result<Vec<StoredStory>, StoreError> {
    let rows = sqlx::query(
        "SELECT st.id, st.key, f.url AS feed_url, so.name AS source, st.url, st.canonical_url,
                st.title,
                st.published_at, st.updated_at, st.authors, st.language, st.wire_service,
                st.dateline, st.body, st.cluster_id, c.origin_story_id, st.is_reprint, st.version
         FROM stories st
         JOIN feeds f ON f.id = st.feed_id
         JOIN sources so ON so.id = st.source_id
         LEFT JOIN clusters c ON c.id = st.cluster_id
         WHERE ($1 IS NULL OR coalesce(st.published_at, st.first_seen_at) >= $1)
           AND ($3 IS NULL OR st.cluster_id = $3)
           AND ($4 IS NULL OR lower(so.name) = lower($4))
           AND ($5 IS NULL OR EXISTS (SELECT 1 FROM story_tags t WHERE t.story_id = st.id
                AND t.kind = 'country' AND t.value = upper($5)))
           AND ($6 IS NULL OR EXISTS (SELECT 1 FROM story_tags t WHERE t.story_id = st.id
                AND t.kind = 'region' AND t.value = $6))
           AND ($7 IS NULL OR EXISTS (SELECT 1 FROM story_tags t WHERE t.story_id = st.id
                AND t.kind = 'topic' AND t.value = $7))
         ORDER BY coalesce(st.published_at, st.first_seen_at) DESC, st.id DESC
         LIMIT $2",
    )
    .bind(q.since.map(d::time))
    .bind(q.limit)
    .bind(q.cluster)
    .bind(q.source.as_deref())
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
                published: show(r.try_get("published_at")?),
                updated: show(r.try_get("updated_at")?),
                authors: r.try_get::<sqlx::types::Json<Vec<String>>, _>("authors")?.0,
                language: r.try_get("language")?,
                wire_service: r.try_get("wire_service")?,
                dateline: r.try_get("dateline")?,
                body: r.try_get("body")?,
                cluster: r.try_get("cluster_id")?,
                origin: r.try_get("origin_story_id")?,
                is_reprint: r.try_get("is_reprint")?,
                version: i64::from(r.try_get::<i32, _>("version")?),
                countries: Vec::new(),
                regions: Vec::new(),
                topics: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let ids: Vec<i64> = out.iter().filter_map(|s| s.id).collect();
    let sql = format!(
        "SELECT story_id, kind, value, score, is_primary FROM story_tags
         WHERE {} ORDER BY story_id, kind, score DESC, value",
        d::in_list("story_id", 1)
    );
    let tags = sqlx::query(&sql)
        .bind(d::list(&ids))
        .fetch_all(p)
        .await?
        .iter()
        .map(|r| {
            Ok(TagRow {
                story_id: r.try_get("story_id")?,
                kind: r.try_get("kind")?,
                value: r.try_get("value")?,
                score: f64::from(r.try_get::<f32, _>("score")?),
                is_primary: r.try_get("is_primary")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    attach_tags(&mut out, tags);
    Ok(out)
}

pub(super) async fn retag_progress(p: &Pool) -> Result<Option<RetagProgress>, StoreError> {
    let row: Option<(Option<d::Time>, i64, Option<d::Time>)> = sqlx::query_as(
        "SELECT since_at, last_story_id, started_at FROM retag_progress WHERE id = 1",
    )
    .fetch_optional(p)
    .await?;
    Ok(row.map(|(since, last, started)| RetagProgress {
        since: d::read_time(since),
        last_story_id: last,
        started_at: d::read_time(started).unwrap_or_else(Utc::now),
    }))
}

pub(super) async fn retag_remaining(p: &Pool, run: &RetagProgress) -> Result<i64, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM stories WHERE id > $1 AND ($2 IS NULL OR first_seen_at >= $2)",
    )
    .bind(run.last_story_id)
    .bind(run.since.map(d::time))
    .fetch_one(p)
    .await?;
    Ok(n)
}

pub(super) async fn retag_batch(
    p: &Pool,
    run: &RetagProgress,
    limit: i64,
) -> Result<Vec<RetagStory>, StoreError> {
    let rows: Vec<(i64, String, Option<String>, String, String)> = sqlx::query_as(
        "SELECT id, title, dateline, body, content_hash FROM stories
         WHERE id > $1 AND ($2 IS NULL OR first_seen_at >= $2) ORDER BY id LIMIT $3",
    )
    .bind(run.last_story_id)
    .bind(run.since.map(d::time))
    .bind(limit)
    .fetch_all(p)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, title, dateline, body, content_hash)| RetagStory {
            id,
            title,
            dateline,
            body,
            content_hash,
        })
        .collect())
}

pub(super) async fn write_retag(
    p: &Pool,
    tagged: &[(&RetagStory, crate::tag::Tags)],
    run: &RetagProgress,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    // A deadlock with a refresh (both lock story rows) fails one of them: run the batch again.
    for _ in 0..REFRESH_ATTEMPTS {
        match try_write_retag(p, tagged, run, now).await {
            Err(StoreError::Query(e)) if d::is_retryable(&e) => continue,
            other => return other,
        }
    }
    Err(StoreError::Conflict(
        "re-tagging raced the daemon's writes too often; nothing of this batch was written"
            .to_owned(),
    ))
}

async fn try_write_retag(
    p: &Pool,
    tagged: &[(&RetagStory, crate::tag::Tags)],
    run: &RetagProgress,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut tx = d::begin(p).await?;
    let mut ids: Vec<i64> = tagged.iter().map(|(s, _)| s.id).collect();
    ids.sort_unstable();
    let mut written = 0;
    if !ids.is_empty() {
        // Lock the stories (a refresh rewriting one locks its row before its tags, so the two
        // take turns), and keep only those unchanged since they were read: a story the daemon
        // changed meanwhile already has tags from its new text. A story deleted meanwhile
        // (retention, `feeds remove`) is gone from the answer too.
        let sql = format!(
            "SELECT id, content_hash FROM stories WHERE {} ORDER BY id{}",
            d::in_list("id", 1),
            d::FOR_UPDATE
        );
        let current: HashMap<i64, String> = sqlx::query_as::<_, (i64, String)>(&sql)
            .bind(d::list(&ids))
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        let keep: Vec<(i64, &crate::tag::Tags)> = tagged
            .iter()
            .filter(|(s, _)| current.get(&s.id) == Some(&s.content_hash))
            .map(|(s, t)| (s.id, t))
            .collect();
        let keep_ids: Vec<i64> = keep.iter().map(|(id, _)| *id).collect();
        if !keep_ids.is_empty() {
            let sql = format!("DELETE FROM story_tags WHERE {}", d::in_list("story_id", 1));
            sqlx::query(&sql)
                .bind(d::list(&keep_ids))
                .execute(&mut *tx)
                .await?;
            insert_tags(&mut tx, &tag_rows(keep)).await?;
        }
        written = keep_ids.len() as u64;
    }
    sqlx::query(
        "INSERT INTO retag_progress (id, since_at, last_story_id, started_at, updated_at)
         VALUES (1, $1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET since_at = excluded.since_at,
             last_story_id = excluded.last_story_id, started_at = excluded.started_at,
             updated_at = excluded.updated_at",
    )
    .bind(run.since.map(d::time))
    .bind(run.last_story_id)
    .bind(d::time(run.started_at))
    .bind(d::time(now))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(written)
}

pub(super) async fn finish_retag(p: &Pool) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM retag_progress")
        .execute(p)
        .await?;
    Ok(())
}
