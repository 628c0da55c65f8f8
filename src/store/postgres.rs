//! PostgreSQL implementation of the store (see `mod.rs` for the contract).

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{PgPool, QueryBuilder, Row};

use super::{
    attach_tags, FeedInfo, NewFeed, Refresh, StoreError, StoredStory, StoryQuery, TagRow, Written,
    FETCH_LOG_PER_FEED,
};
use crate::model::{rfc3339, rfc3339_opt, Feed, FeedId};

/// Rows per multi-row INSERT: 16 binds a row stays far below PostgreSQL's 65,535-bind limit.
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
        "INSERT INTO feeds (url, source_id, defined_in, next_check_at, created_at)
         VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (url) DO UPDATE SET source_id = excluded.source_id,
             defined_in = CASE WHEN excluded.defined_in = 'config' THEN 'config' ELSE feeds.defined_in END,
             status = CASE WHEN feeds.status = 'paused' THEN 'active' ELSE feeds.status END
         RETURNING id",
    )
    .bind(f.url)
    .bind(source)
    .bind(f.defined_in.as_str())
    .bind(now)
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
                stories: r.try_get("stories")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

pub(super) async fn due_feeds(
    p: &PgPool,
    now: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<Feed>, StoreError> {
    let rows = sqlx::query(
        "SELECT f.id, f.url, f.source_id, s.name AS source, s.is_wire, f.etag, f.last_modified,
                f.body_hash, f.consecutive_errors
         FROM feeds f JOIN sources s ON s.id = f.source_id
         WHERE f.status = 'active' AND ($1::timestamptz IS NULL OR f.next_check_at <= $1)
         ORDER BY f.next_check_at, f.id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(p)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Feed {
                id: FeedId(r.try_get("id")?),
                url: r.try_get("url")?,
                source_id: r.try_get("source_id")?,
                source: r.try_get("source")?,
                is_wire: r.try_get("is_wire")?,
                etag: r.try_get("etag")?,
                last_modified: r.try_get("last_modified")?,
                body_hash: r.try_get("body_hash")?,
                consecutive_errors: r.try_get::<i32, _>("consecutive_errors")?.max(0) as u32,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

pub(super) async fn next_due(p: &PgPool) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT min(next_check_at) FROM feeds WHERE status = 'active'")
            .fetch_one(p)
            .await?,
    )
}

pub(super) async fn record_refresh(p: &PgPool, r: &Refresh<'_>) -> Result<Written, StoreError> {
    let mut tx = p.begin().await?;
    let mut written = Written::default();
    let feed_id = r.feed.id.0;
    let hashes: Vec<String> = r.stories.iter().map(|s| s.content_hash()).collect();
    // A feed never parsed before has no stories that could change.
    let may_update = r.feed.body_hash.is_some();
    for (chunk, chunk_hashes) in r.stories.chunks(BATCH_ROWS).zip(hashes.chunks(BATCH_ROWS)) {
        let rows = || chunk.iter().zip(chunk_hashes);
        if may_update {
            // Keep the text a changed story had before, with its version number.
            let mut qb = QueryBuilder::new("WITH n(key, hash) AS (");
            qb.push_values(rows(), |mut b, (s, h)| {
                b.push_bind(&s.key).push_bind(h);
            });
            qb.push(
            ") INSERT INTO story_versions (story_id, version, title, body, content_hash, replaced_at)
             SELECT s.id, s.version, s.title, s.body, s.content_hash, ",
        );
            qb.push_bind(r.now);
            qb.push(" FROM stories s JOIN n ON s.key = n.key WHERE s.feed_id = ");
            qb.push_bind(feed_id);
            qb.push(" AND s.content_hash <> n.hash ON CONFLICT DO NOTHING");
            qb.build().execute(&mut *tx).await?;
        }

        let mut qb = QueryBuilder::new(super::INSERT_STORIES);
        qb.push_values(rows(), |mut b, (s, h)| {
            b.push_bind(feed_id)
                .push_bind(r.feed.source_id)
                .push_bind(&s.key)
                .push_bind(&s.url)
                .push_bind(&s.title)
                .push_bind(&s.body)
                .push_bind(sqlx::types::Json(&s.authors))
                .push_bind(s.published)
                .push_bind(s.updated)
                .push_bind(&s.language)
                .push_bind(&s.wire_service)
                .push_bind(&s.dateline)
                .push_bind(h)
                .push_bind(r.now)
                .push_bind(r.now);
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
    let (set_validators, etag, last_modified) = match &r.validators {
        Some((e, l)) => (true, e.as_deref(), l.as_deref()),
        None => (false, None, None),
    };
    let healthy = r.error_kind.is_none();
    sqlx::query(
        "UPDATE feeds SET
             etag = CASE WHEN $2 THEN $3 ELSE etag END,
             last_modified = CASE WHEN $2 THEN $4 ELSE last_modified END,
             body_hash = coalesce($5, body_hash),
             last_status = $6,
             last_error = $7,
             last_error_message = $8,
             consecutive_errors = CASE WHEN $9 THEN 0 ELSE consecutive_errors + 1 END,
             last_fetched_at = $10,
             last_success_at = CASE WHEN $9 THEN $10 ELSE last_success_at END,
             next_check_at = $11,
             status = coalesce($12, status)
         WHERE id = $1",
    )
    .bind(feed_id)
    .bind(set_validators)
    .bind(etag)
    .bind(last_modified)
    .bind(&r.body_hash)
    .bind(r.http_status.map(i32::from))
    .bind(r.error_kind)
    .bind(&r.error_message)
    .bind(healthy)
    .bind(r.now)
    .bind(r.next_check_at)
    .bind(r.status)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO fetches (feed_id, fetched_at, outcome, http_status, error_kind, error_message,
             duration_ms, bytes, items, new_stories)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(feed_id)
    .bind(r.now)
    .bind(r.outcome)
    .bind(r.http_status.map(i32::from))
    .bind(r.error_kind)
    .bind(&r.error_message)
    .bind(r.duration_ms.min(i64::from(i32::MAX)) as i32)
    .bind(r.bytes)
    .bind(r.items.min(i64::from(i32::MAX)) as i32)
    .bind(written.new_stories.min(i32::MAX as u64) as i32)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM fetches WHERE feed_id = $1 AND id <= (
             SELECT id FROM fetches WHERE feed_id = $1 ORDER BY id DESC OFFSET $2 LIMIT 1)",
    )
    .bind(feed_id)
    .bind(FETCH_LOG_PER_FEED)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(written)
}

pub(super) async fn stories(p: &PgPool, q: &StoryQuery) -> Result<Vec<StoredStory>, StoreError> {
    let rows = sqlx::query(
        "SELECT st.id, st.key, f.url AS feed_url, so.name AS source, st.url, st.title,
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
                id: r.try_get("id")?,
                key: r.try_get("key")?,
                feed_url: r.try_get("feed_url")?,
                source: r.try_get("source")?,
                url: r.try_get("url")?,
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
    let ids: Vec<i64> = out.iter().map(|s| s.id).collect();
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
