//! PostgreSQL implementation of the store (see `mod.rs` for the contract).

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{PgPool, QueryBuilder, Row};

use super::{
    assign_clusters, attach_tags, joined_clusters, new_cluster_origins, place_new, settle_vanished,
    tag_rows, Claim, FeedInfo, FeedUpdate, Incoming, NewFeed, StoreError, StoredStory, StoryQuery,
    TagRow, Targets, Written, INSERT_TAGS, TAG_BATCH,
};
use crate::dedup::Matcher;
use crate::model::{rfc3339, rfc3339_opt, Feed, FeedId};

/// Rows per multi-row INSERT: 17 binds a row stays far below PostgreSQL's 65,535-bind limit.
const BATCH_ROWS: usize = 1000;

pub(super) async fn connect(url: &str, max: u32) -> Result<PgPool, sqlx::Error> {
    let mut opts = PgConnectOptions::from_str(url)?;
    // sqlx defaults to sslmode=prefer, which negotiates TLS even on loopback and slows batched
    // writes; a loopback or Unix-socket connection gains nothing from TLS.
    if !url.contains("sslmode=") && is_local_host(opts.get_host()) {
        opts = opts.ssl_mode(PgSslMode::Disable);
    }
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(opts)
        .await
}

fn is_local_host(host: &str) -> bool {
    host.starts_with('/')
        || host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub(super) async fn ping(p: &PgPool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(p).await?;
    Ok(())
}

async fn source_id(
    tx: &mut sqlx::PgConnection,
    name: &str,
    is_wire: bool,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO sources (name, is_wire, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET is_wire = sources.is_wire OR excluded.is_wire
         RETURNING id",
    )
    .bind(name)
    .bind(is_wire)
    .bind(now)
    .fetch_one(tx)
    .await
}

pub(super) async fn upsert_feed(
    p: &PgPool,
    f: &NewFeed<'_>,
    now: DateTime<Utc>,
) -> Result<FeedId, StoreError> {
    let mut tx = p.begin().await?;
    let source = source_id(&mut tx, f.source, f.is_wire, now).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO feeds (url, source_id, defined_in, next_check_at, created_at, full_text)
         VALUES ($1, $2, $3, $4, $4, $5)
         ON CONFLICT (url) DO UPDATE SET source_id = excluded.source_id,
             full_text = excluded.full_text,
             defined_in = CASE WHEN excluded.defined_in = 'config' THEN 'config' ELSE feeds.defined_in END,
             status = CASE WHEN feeds.status = 'paused' THEN 'active' ELSE feeds.status END
         RETURNING id",
    )
    .bind(f.url)
    .bind(source)
    .bind(f.defined_in.as_str())
    .bind(now)
    .bind(f.full_text)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(FeedId(id))
}

pub(super) async fn pause_config_feeds_except(
    p: &PgPool,
    keep: &[String],
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE feeds SET status = 'paused'
         WHERE defined_in = 'config' AND status = 'active' AND NOT (url = ANY($1))",
    )
    .bind(keep)
    .execute(p)
    .await?;
    Ok(())
}

pub(super) async fn story_hashes(
    p: &PgPool,
    feed: FeedId,
    keys: &[String],
) -> Result<HashMap<String, String>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT key, content_hash FROM stories WHERE feed_id = $1 AND key = ANY($2)",
    )
    .bind(feed.0)
    .bind(keys)
    .fetch_all(p)
    .await?;
    Ok(rows.into_iter().collect())
}

pub(super) async fn remove_feed(p: &PgPool, url: &str) -> Result<bool, StoreError> {
    let mut tx = p.begin().await?;
    // Clusters change: hold the cluster lock, as placements do.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(CLUSTER_LOCK)
        .execute(&mut *tx)
        .await?;
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

pub(super) async fn list_feeds(p: &PgPool) -> Result<Vec<FeedInfo>, StoreError> {
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
                last_fetched_at: rfc3339_opt(r.try_get("last_fetched_at")?),
                next_check_at: rfc3339(r.try_get("next_check_at")?),
                etag: r.try_get("etag")?,
                last_modified: r.try_get("last_modified")?,
                interval_secs: r.try_get::<Option<i32>, _>("interval_secs")?.map(i64::from),
                moved_from: r.try_get("moved_from")?,
                stories: r.try_get("stories")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

fn feed_from_row(r: &sqlx::postgres::PgRow) -> Result<Feed, sqlx::Error> {
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

pub(super) async fn claim(p: &PgPool, c: &Claim<'_>) -> Result<Vec<Feed>, StoreError> {
    let sql = format!(
        "WITH c AS (
             UPDATE feeds f SET lease_owner = $1, lease_expires_at = $2
             WHERE f.id IN (
                 SELECT id FROM feeds
                 WHERE status = 'active'
                   AND ($3::timestamptz IS NULL OR next_check_at <= $3)
                   AND ($4::timestamptz IS NULL OR last_fetched_at IS NULL OR last_fetched_at < $4)
                   AND (lease_expires_at IS NULL OR lease_expires_at < $5)
                 ORDER BY next_check_at, id
                 LIMIT $6
                 FOR UPDATE SKIP LOCKED)
             RETURNING f.*)
         {}",
        super::CLAIMED_FEEDS
    );
    let rows = sqlx::query(&sql)
        .bind(c.owner)
        .bind(c.lease_until)
        .bind(c.due_by)
        .bind(c.not_fetched_since)
        .bind(c.now)
        .bind(c.limit)
        .fetch_all(p)
        .await?;
    rows.iter()
        .map(feed_from_row)
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

pub(super) async fn defer(
    p: &PgPool,
    owner: &str,
    feeds: &[(FeedId, DateTime<Utc>)],
) -> Result<(), StoreError> {
    let ids: Vec<i64> = feeds.iter().map(|(id, _)| id.0).collect();
    let at: Vec<DateTime<Utc>> = feeds.iter().map(|(_, t)| *t).collect();
    sqlx::query(
        "UPDATE feeds f SET next_check_at = u.at, lease_expires_at = u.at
         FROM unnest($1::bigint[], $2::timestamptz[]) AS u(id, at)
         WHERE f.id = u.id AND f.lease_owner = $3",
    )
    .bind(&ids)
    .bind(&at)
    .bind(owner)
    .execute(p)
    .await?;
    Ok(())
}

pub(super) async fn next_due(p: &PgPool) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT min(greatest(next_check_at, coalesce(lease_expires_at, next_check_at)))
         FROM feeds WHERE status = 'active'",
    )
    .fetch_one(p)
    .await?)
}

/// Writes feed states and fetch log lines for a batch, inside `tx`.
async fn write_updates(
    tx: &mut sqlx::PgConnection,
    owner: &str,
    updates: &[FeedUpdate],
    new_stories: &[i64],
) -> Result<(), sqlx::Error> {
    let col = |f: &dyn Fn(&FeedUpdate) -> Option<String>| -> Vec<Option<String>> {
        updates.iter().map(f).collect()
    };
    let ids: Vec<i64> = updates.iter().map(|u| u.feed_id.0).collect();
    let now: Vec<DateTime<Utc>> = updates.iter().map(|u| u.now).collect();
    let status_code: Vec<Option<i32>> = updates
        .iter()
        .map(|u| u.http_status.map(i32::from))
        .collect();
    let errors: Vec<i32> = updates
        .iter()
        .map(|u| u.consecutive_errors.min(i32::MAX as u32) as i32)
        .collect();
    let next: Vec<DateTime<Utc>> = updates.iter().map(|u| u.next_check_at).collect();
    let interval: Vec<i32> = updates
        .iter()
        .map(|u| u.interval_secs.clamp(0, i64::from(i32::MAX)) as i32)
        .collect();
    let updated = sqlx::query(
        "UPDATE feeds f SET etag = u.etag, last_modified = u.last_modified,
             body_hash = u.body_hash, last_status = u.http_status, last_error = u.error_kind,
             last_error_message = u.error_message, consecutive_errors = u.errors,
             last_fetched_at = u.now,
             last_success_at = CASE WHEN u.error_kind IS NULL THEN u.now ELSE f.last_success_at END,
             next_check_at = u.next, interval_secs = u.interval, status = u.status,
             fetch_count = f.fetch_count + 1, lease_owner = NULL, lease_expires_at = NULL
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[],
                     $7::text[], $8::int[], $9::timestamptz[], $10::timestamptz[], $11::int[],
                     $12::text[])
              AS u(id, etag, last_modified, body_hash, http_status, error_kind, error_message,
                   errors, now, next, interval, status)
         WHERE f.id = u.id AND f.lease_owner = $13
         RETURNING f.id",
    )
    .bind(&ids)
    .bind(col(&|u| u.etag.clone()))
    .bind(col(&|u| u.last_modified.clone()))
    .bind(col(&|u| u.body_hash.clone()))
    .bind(&status_code)
    .bind(col(&|u| u.error_kind.map(str::to_owned)))
    .bind(col(&|u| u.error_message.clone()))
    .bind(&errors)
    .bind(&now)
    .bind(&next)
    .bind(&interval)
    .bind(col(&|u| Some(u.status.to_owned())))
    .bind(owner)
    .fetch_all(&mut *tx)
    .await?;
    // Feeds whose lease this daemon lost get neither a log line nor a move.
    let kept: std::collections::HashSet<i64> = updated
        .iter()
        .map(|r: &sqlx::postgres::PgRow| r.get::<i64, _>(0))
        .collect();
    let sql = format!(
        "INSERT INTO fetches ({})
         SELECT u.id, f.fetch_count % {}, u.now, u.outcome, u.http_status, u.error_kind,
                u.error_message, u.duration_ms, u.bytes, u.items, u.new_stories
         FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::int[], $5::text[], $6::text[],
                     $7::int[], $8::bigint[], $9::int[], $10::int[])
              AS u(id, now, outcome, http_status, error_kind, error_message, duration_ms, bytes,
                   items, new_stories)
         JOIN feeds f ON f.id = u.id
         WHERE u.id = ANY($11)
         {}",
        super::LOG_FETCH_COLUMNS,
        super::FETCH_LOG_PER_FEED,
        super::ON_FETCH_SLOT
    );
    let small = |v: i64| v.clamp(0, i64::from(i32::MAX)) as i32;
    sqlx::query(&sql)
        .bind(&ids)
        .bind(&now)
        .bind(col(&|u| Some(u.outcome.to_owned())))
        .bind(&status_code)
        .bind(col(&|u| u.error_kind.map(str::to_owned)))
        .bind(col(&|u| u.error_message.clone()))
        .bind(
            updates
                .iter()
                .map(|u| small(u.duration_ms))
                .collect::<Vec<_>>(),
        )
        .bind(updates.iter().map(|u| u.bytes).collect::<Vec<_>>())
        .bind(updates.iter().map(|u| small(u.items)).collect::<Vec<_>>())
        .bind(new_stories.iter().map(|n| small(*n)).collect::<Vec<_>>())
        .bind(kept.iter().copied().collect::<Vec<i64>>())
        .execute(&mut *tx)
        .await?;
    for u in updates.iter().filter(|u| kept.contains(&u.feed_id.0)) {
        if let Some(to) = &u.moved_to {
            // A confirmed permanent redirect moves the feed, unless another feed is there already.
            sqlx::query(
                "UPDATE feeds SET moved_from = url, url = $2
                 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM feeds o WHERE o.url = $2)",
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
    p: &PgPool,
    owner: &str,
    updates: &[FeedUpdate],
) -> Result<(), StoreError> {
    let mut tx = p.begin().await?;
    write_updates(&mut tx, owner, updates, &vec![0; updates.len()]).await?;
    tx.commit().await?;
    Ok(())
}

/// The advisory lock every story write takes first, so daemons sharing the database place new
/// stories in clusters one refresh at a time (and story ids grow in commit order).
const CLUSTER_LOCK: i64 = 0x7769_7265_6665_6564; // "wirefeed"

/// Brings the matcher up to date with stories other daemons stored (call under the lock).
async fn sync_matcher(tx: &mut sqlx::PgConnection, matcher: &Matcher) -> Result<(), sqlx::Error> {
    let sql = super::UNSYNCED_FINGERPRINTS.replace("{after}", "$1");
    let rows = sqlx::query(&sql)
        .bind(matcher.synced())
        .fetch_all(&mut *tx)
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut loaded = Vec::with_capacity(rows.len());
    let mut upto = matcher.synced();
    for r in &rows {
        let id: i64 = r.try_get("id")?;
        let cluster: i64 = r.try_get("cluster_id")?;
        let t: DateTime<Utc> = r.try_get("t")?;
        let fp: Vec<u8> = r.try_get("fingerprint")?;
        upto = upto.max(id);
        loaded.push((id, cluster, t.timestamp(), fp));
    }
    matcher.load(
        loaded.iter().map(|(i, c, t, f)| (*i, *c, *t, f.as_slice())),
        upto,
    );
    Ok(())
}

pub(super) async fn load_matcher(
    p: &PgPool,
    matcher: &Matcher,
    since: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let max: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM stories")
        .fetch_one(p)
        .await?;
    // Streamed in batches: memory stays at the index, not the index plus every row.
    use futures::TryStreamExt;
    let mut rows = sqlx::query(
        "SELECT id, cluster_id, coalesce(published_at, first_seen_at) AS t, fingerprint
         FROM stories WHERE first_seen_at >= $1 AND cluster_id IS NOT NULL
           AND fingerprint IS NOT NULL",
    )
    .bind(since)
    .fetch(p);
    let mut batch: Vec<(i64, i64, i64, Vec<u8>)> = Vec::with_capacity(LOAD_BATCH);
    let mut total = 0;
    while let Some(r) = rows.try_next().await? {
        let t: DateTime<Utc> = r.try_get("t")?;
        batch.push((
            r.try_get("id")?,
            r.try_get("cluster_id")?,
            t.timestamp(),
            r.try_get("fingerprint")?,
        ));
        if batch.len() == LOAD_BATCH {
            total += batch.len();
            matcher.load(
                batch.iter().map(|(i, c, t, f)| (*i, *c, *t, f.as_slice())),
                0,
            );
            batch.clear();
        }
    }
    total += batch.len();
    matcher.load(
        batch.iter().map(|(i, c, t, f)| (*i, *c, *t, f.as_slice())),
        max.unwrap_or(0),
    );
    Ok(total)
}

/// Stored fingerprints handed to the matcher at a time when loading.
const LOAD_BATCH: usize = 10_000;

pub(super) async fn record_refresh(
    p: &PgPool,
    owner: &str,
    update: &FeedUpdate,
    stories: &[Incoming],
    matcher: &Matcher,
) -> Result<Written, StoreError> {
    let mut tx = p.begin().await?;
    let mut written = Written::default();
    let feed_id = update.feed_id.0;
    let source_id = update.source_id;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(CLUSTER_LOCK)
        .execute(&mut *tx)
        .await?;
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
            "SELECT DISTINCT ON (s.canonical_url) s.canonical_url, s.feed_id, s.key, s.url
             FROM stories s
             WHERE s.source_id = $1 AND s.feed_id <> $2 AND s.canonical_url = ANY($3)
               AND NOT EXISTS (SELECT 1 FROM stories t
                               WHERE t.feed_id = $2 AND t.canonical_url = s.canonical_url)
             ORDER BY s.canonical_url, s.id",
        )
        .bind(source_id)
        .bind(feed_id)
        .bind(&urls)
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
            ") INSERT INTO story_versions (story_id, version, title, body, content_hash, replaced_at)
             SELECT s.id, s.version, s.title, s.body, s.content_hash, ",
        );
        qb.push_bind(update.now);
        qb.push(
            " FROM stories s JOIN n ON s.feed_id = n.feed_id AND s.key = n.key
             WHERE s.content_hash <> n.hash ON CONFLICT DO NOTHING",
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
                .push_bind(s.published)
                .push_bind(s.updated)
                .push_bind(&s.language)
                .push_bind(&s.wire_service)
                .push_bind(&s.dateline)
                .push_bind(&hashes[i])
                .push_bind(update.now)
                .push_bind(update.now)
                .push_bind(&prints[i])
                .push_bind(inc.wire_copy);
        });
        qb.push(super::ON_STORY_CONFLICT);
        let rows: Vec<(i64, i32, i64, String)> = qb.build_query_as().fetch_all(&mut *tx).await?;
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
    tx: &mut sqlx::PgConnection,
    new: &[(i64, usize)],
    changed: &[(i64, usize)],
    stories: &[Incoming],
) -> Result<u64, sqlx::Error> {
    if !changed.is_empty() {
        let ids: Vec<i64> = changed.iter().map(|(id, _)| *id).collect();
        sqlx::query("DELETE FROM story_tags WHERE story_id = ANY($1)")
            .bind(&ids)
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
    tx: &mut sqlx::PgConnection,
    stories: &[Incoming],
    new: &mut [(i64, usize)],
    matcher: &Matcher,
    now: DateTime<Utc>,
) -> Result<(Vec<(i64, i64, i64, crate::dedup::Fingerprint)>, u64), sqlx::Error> {
    let mut placements = place_new(matcher, stories, new, now);
    let joined = joined_clusters(&placements);
    if !joined.is_empty() {
        let existing: std::collections::HashSet<i64> =
            sqlx::query_scalar::<_, i64>("SELECT id FROM clusters WHERE id = ANY($1)")
                .bind(&joined)
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
        let (ids, times): (Vec<i64>, Vec<DateTime<Utc>>) = origins.iter().copied().unzip();
        sqlx::query_as::<_, (i64, i64)>(
            "INSERT INTO clusters (origin_story_id, first_seen_at, last_seen_at, size)
             SELECT o, t, t, 1 FROM UNNEST($1::bigint[], $2::timestamptz[]) AS u(o, t)
             RETURNING origin_story_id, id",
        )
        .bind(&ids)
        .bind(&times)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect()
    };
    let a = assign_clusters(&placements, new, stories, now, &origins, &created);
    let (ids, clusters): (Vec<i64>, Vec<i64>) = a.pairs.iter().copied().unzip();
    sqlx::query(
        "UPDATE stories SET cluster_id = u.c FROM UNNEST($1::bigint[], $2::bigint[]) AS u(id, c)
         WHERE stories.id = u.id",
    )
    .bind(&ids)
    .bind(&clusters)
    .execute(&mut *tx)
    .await?;
    if !a.touched.is_empty() {
        for sql in [super::RECOMPUTE_CLUSTERS, super::MARK_REPRINTS] {
            sqlx::query(&sql.replace("{ids}", "(SELECT unnest($1::bigint[]))"))
                .bind(&a.touched)
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok((a.placed, a.reprints))
}

/// After stories were deleted from the `touched` clusters: clusters left empty go, those that
/// lost their origin get the next one, and every touched one gets its size, times and reprint
/// marks recomputed.
async fn heal_clusters(tx: &mut sqlx::PgConnection, touched: &[i64]) -> Result<(), sqlx::Error> {
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
    for sql in [super::RECOMPUTE_CLUSTERS, super::MARK_REPRINTS] {
        sqlx::query(&sql.replace("{ids}", "(SELECT unnest($1::bigint[]))"))
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

pub(super) async fn prune(
    p: &PgPool,
    fetches_before: Option<DateTime<Utc>>,
    stories_before: Option<DateTime<Utc>>,
) -> Result<(u64, u64), StoreError> {
    let mut fetches = 0;
    if let Some(t) = fetches_before {
        fetches = sqlx::query("DELETE FROM fetches WHERE fetched_at < $1")
            .bind(t)
            .execute(p)
            .await?
            .rows_affected();
    }
    let mut stories = 0;
    if let Some(t) = stories_before {
        loop {
            let mut tx = p.begin().await?;
            // The cluster lock: no placement may join a cluster while its stories go.
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(CLUSTER_LOCK)
                .execute(&mut *tx)
                .await?;
            let touched: Vec<Option<i64>> = sqlx::query_scalar(
                "DELETE FROM stories WHERE id IN (SELECT id FROM stories
                 WHERE first_seen_at < $1 LIMIT $2) RETURNING cluster_id",
            )
            .bind(t)
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
    p: &PgPool,
) -> Result<crate::service::metrics::DbGauges, StoreError> {
    let feeds_by_state: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM feeds GROUP BY status ORDER BY status")
            .fetch_all(p)
            .await?;
    let lag: Option<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM now() - min(next_check_at))::float8 FROM feeds
         WHERE status = 'active' AND (lease_expires_at IS NULL OR lease_expires_at < now())",
    )
    .fetch_one(p)
    .await?;
    Ok(crate::service::metrics::DbGauges {
        feeds_by_state,
        scheduler_lag_secs: lag.unwrap_or(0.0).max(0.0),
    })
}

pub(super) async fn stories(p: &PgPool, q: &StoryQuery) -> Result<Vec<StoredStory>, StoreError> {
    let rows = sqlx::query(
        "SELECT st.id, st.key, f.url AS feed_url, so.name AS source, st.url, st.canonical_url,
                st.title,
                st.published_at, st.updated_at, st.authors, st.language, st.wire_service,
                st.dateline, st.body, st.cluster_id, c.origin_story_id, st.is_reprint, st.version
         FROM stories st
         JOIN feeds f ON f.id = st.feed_id
         JOIN sources so ON so.id = st.source_id
         LEFT JOIN clusters c ON c.id = st.cluster_id
         WHERE ($1::timestamptz IS NULL OR coalesce(st.published_at, st.first_seen_at) >= $1)
           AND ($3::bigint IS NULL OR st.cluster_id = $3)
           AND ($4::text IS NULL OR lower(so.name) = lower($4))
           AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM story_tags t WHERE t.story_id = st.id
                AND t.kind = 'country' AND t.value = upper($5)))
           AND ($6::text IS NULL OR EXISTS (SELECT 1 FROM story_tags t WHERE t.story_id = st.id
                AND t.kind = 'region' AND t.value = lower($6)))
           AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM story_tags t WHERE t.story_id = st.id
                AND t.kind = 'topic' AND t.value = $7))
         ORDER BY coalesce(st.published_at, st.first_seen_at) DESC, st.id DESC
         LIMIT $2",
    )
    .bind(q.since)
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
                published: rfc3339_opt(r.try_get("published_at")?),
                updated: rfc3339_opt(r.try_get("updated_at")?),
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
    let tags = sqlx::query(
        "SELECT story_id, kind, value, score, is_primary FROM story_tags
         WHERE story_id = ANY($1) ORDER BY story_id, kind, score DESC, value",
    )
    .bind(&ids)
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
