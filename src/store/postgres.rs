//! PostgreSQL implementation of the store (see `mod.rs` for the contract).

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{PgPool, QueryBuilder, Row};

use super::{
    attach_tags, Claim, FeedInfo, FeedUpdate, NewFeed, StoreError, StoredStory, StoryQuery, TagRow,
    Written,
};
use crate::model::{rfc3339, rfc3339_opt, Feed, FeedId, Story};

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
    // Clusters whose origin goes away lose it (ON DELETE SET NULL); stories and logs cascade.
    let n = sqlx::query("DELETE FROM feeds WHERE url = $1")
        .bind(url)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query(super::DELETE_ORPHAN_CLUSTERS)
        .execute(&mut *tx)
        .await?;
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

pub(super) async fn record_refresh(
    p: &PgPool,
    owner: &str,
    update: &FeedUpdate,
    stories: &[Story],
) -> Result<Written, StoreError> {
    let mut tx = p.begin().await?;
    let mut written = Written::default();
    let feed_id = update.feed_id.0;
    let source_id = update.source_id;
    let hashes: Vec<String> = stories.iter().map(|s| s.content_hash()).collect();
    for (chunk, chunk_hashes) in stories.chunks(BATCH_ROWS).zip(hashes.chunks(BATCH_ROWS)) {
        let rows = || chunk.iter().zip(chunk_hashes);
        // Keep the text a changed story had before, with its version number.
        let mut qb = QueryBuilder::new("WITH n(key, hash) AS (");
        qb.push_values(rows(), |mut b, (s, h)| {
            b.push_bind(&s.key).push_bind(h);
        });
        qb.push(
            ") INSERT INTO story_versions (story_id, version, title, body, content_hash, replaced_at)
             SELECT s.id, s.version, s.title, s.body, s.content_hash, ",
        );
        qb.push_bind(update.now);
        qb.push(" FROM stories s JOIN n ON s.key = n.key WHERE s.feed_id = ");
        qb.push_bind(feed_id);
        qb.push(" AND s.content_hash <> n.hash ON CONFLICT DO NOTHING");
        qb.build().execute(&mut *tx).await?;

        let mut qb = QueryBuilder::new(super::INSERT_STORIES);
        qb.push_values(rows(), |mut b, (s, h)| {
            b.push_bind(feed_id)
                .push_bind(source_id)
                .push_bind(&s.key)
                .push_bind(&s.url)
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
                .push_bind(h)
                .push_bind(update.now)
                .push_bind(update.now);
        });
        qb.push(super::ON_STORY_CONFLICT);
        let versions: Vec<i32> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
        for v in versions {
            if v == 1 {
                written.new_stories += 1;
            } else {
                written.updated_stories += 1;
            }
        }
    }
    if written.new_stories > 0 {
        // Each new story starts as a cluster of one, with itself as origin.
        sqlx::query(
            "WITH s AS (
                 SELECT id, coalesce(published_at, first_seen_at) AS t FROM stories
                 WHERE feed_id = $1 AND cluster_id IS NULL),
             c AS (
                 INSERT INTO clusters (origin_story_id, first_seen_at, last_seen_at, size)
                 SELECT id, t, t, 1 FROM s RETURNING id, origin_story_id)
             UPDATE stories SET cluster_id = c.id FROM c WHERE stories.id = c.origin_story_id",
        )
        .bind(feed_id)
        .execute(&mut *tx)
        .await?;
    }
    let new = i64::try_from(written.new_stories).unwrap_or(i64::MAX);
    write_updates(&mut tx, owner, std::slice::from_ref(update), &[new]).await?;
    tx.commit().await?;
    Ok(written)
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
         ORDER BY coalesce(st.published_at, st.first_seen_at) DESC, st.id DESC
         LIMIT $2",
    )
    .bind(q.since)
    .bind(q.limit)
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
