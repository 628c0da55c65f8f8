//! End-to-end ingest benchmark: an in-process feed server holding many feeds of real-shaped items,
//! a fresh database, one `run --once` pass; reports new stories per second (median of the runs) into
//! SQLite and PostgreSQL, and the process's peak memory.
//!
//! Each run then measures, on the same database, the raw batched insert of the same story rows
//! (read back, deleted, and inserted again: one multi-row INSERT per feed's items, each its own
//! transaction, on one connection; no pipeline, no clusters, no tags), and prints both rates and
//! their ratio; the last line is JSON: `{"postgres": {"stories_per_second", "raw_rows_per_second",
//! "ratio"}, "sqlite": {...}}` (medians; a database skipped is absent).
//!
//! `cargo bench --bench ingest` (env: `BENCH_FEEDS`, default 200; `BENCH_ITEMS`, default 100;
//! `BENCH_KEEP_HTML=false` to measure without the sanitized HTML copy;
//! `BENCH_RUNS`, default 3; `BENCH_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/postgres,
//! set to `none` to skip PostgreSQL).

mod common;

use common::{env_or, median, status_kib, Rng};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use sqlx::{Connection, QueryBuilder, Row};
use wirefeed::config::{Config, FeedConfig};
use wirefeed::daemon::App;

/// One RSS 2.0 document with `items` items of about 3.5 KB of HTML each.
fn make_feed(feed: usize, items: usize) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (feed as u64 + 1));
    let mut doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>Outlet {feed}</title><link>https://outlet{feed}.test/</link><description>News</description><language>en-us</language>\n"
    );
    for i in 0..items {
        let mut body = String::new();
        for _ in 0..6 {
            body.push_str(&format!("&lt;p&gt;{}.&lt;/p&gt;", rng.words(85)));
        }
        doc.push_str(&format!(
            "<item><title>{}</title><link>https://outlet{feed}.test/news/{i}</link><guid isPermaLink=\"false\">outlet{feed}-{i}</guid><dc:creator>Staff Writer</dc:creator><pubDate>Thu, 11 Jan 2024 {:02}:{:02}:00 GMT</pubDate><description>{body}</description></item>\n",
            rng.words(9),
            i % 24,
            i % 60
        ));
    }
    doc.push_str("</channel></rss>\n");
    doc.into_bytes()
}

async fn serve(
    State(feeds): State<Arc<Vec<Vec<u8>>>>,
    Path(n): Path<usize>,
) -> axum::response::Response {
    match feeds.get(n) {
        Some(body) => (
            [(header::CONTENT_TYPE, "application/rss+xml")],
            body.clone(),
        )
            .into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

async fn fresh_postgres(admin: &str, name: &str) -> Option<String> {
    let mut conn = sqlx::PgConnection::connect(admin).await.ok()?;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .ok()?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .ok()?;
    let mut url = url::Url::parse(admin).ok()?;
    url.set_path(name);
    Some(url.to_string())
}

async fn one_run(db_url: &str, feed_urls: &[String]) -> (f64, u64) {
    let mut config = Config::default();
    config.database.url = db_url.to_owned();
    config.fetch.allow_private_networks = true;
    config.fetch.concurrency = 16;
    config.normalize.keep_html = std::env::var("BENCH_KEEP_HTML").as_deref() != Ok("false");
    // Every feed is on this one local server: lift its per-host budget.
    config.politeness.hosts = vec![wirefeed::config::HostOverride {
        host: "127.0.0.1".to_owned(),
        concurrency: Some(16),
        min_spacing_ms: Some(0),
    }];
    config.feeds = feed_urls
        .iter()
        .enumerate()
        .map(|(i, u)| FeedConfig {
            url: u.clone(),
            source: format!("Outlet {i}"),
            wire: false,
            full_text: false,
        })
        .collect();
    let app = App::build(config).await.expect("app builds");
    let started = Instant::now();
    let summary = app.run_once().await.expect("pass");
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(summary.failed, 0, "{summary:?}");
    (secs, summary.new_stories)
}

/// The story columns a refresh writes, in `stories` order.
const RAW_COLUMNS: &str = "feed_id, source_id, key, url, canonical_url, title, body, body_html,
    authors, published_at, updated_at, language, wire_service, dateline, content_hash,
    first_seen_at, last_changed_at, fingerprint, wire_copy";

/// One stored story row, read back to be inserted again; `T` is the database's time type.
struct RawRow<T> {
    ints: [i64; 2],
    texts: [Option<String>; 10],
    authors: sqlx::types::Json<serde_json::Value>,
    times: [Option<T>; 4],
    fingerprint: Option<Vec<u8>>,
    wire_copy: bool,
}

impl<T> RawRow<T> {
    /// Reads the row in `RAW_COLUMNS` order.
    fn read<R: Row>(r: &R) -> RawRow<T>
    where
        usize: sqlx::ColumnIndex<R>,
        for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'r> Option<T>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'r> Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'r> sqlx::types::Json<serde_json::Value>:
            sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        let text = |i: usize| r.get::<Option<String>, _>(i);
        let time = |i: usize| r.get::<Option<T>, _>(i);
        RawRow {
            ints: [r.get(0), r.get(1)],
            // key, url, canonical_url, title, body, body_html, language, wire_service,
            // dateline, content_hash
            texts: [2, 3, 4, 5, 6, 7, 11, 12, 13, 14].map(text),
            authors: r.get(8),
            // published_at, updated_at, first_seen_at, last_changed_at
            times: [9, 10, 15, 16].map(time),
            fingerprint: r.get(17),
            wire_copy: r.get(18),
        }
    }
}

/// Pushes one row's binds in `RAW_COLUMNS` order.
fn push_raw<'a, DB: sqlx::Database, T>(
    mut b: sqlx::query_builder::Separated<'_, 'a, DB, &'static str>,
    r: &'a RawRow<T>,
) where
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a Option<String>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a Option<T>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a Option<Vec<u8>>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    bool: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a sqlx::types::Json<serde_json::Value>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let t = &r.texts;
    b.push_bind(r.ints[0]).push_bind(r.ints[1]);
    for x in &t[0..6] {
        b.push_bind(x);
    }
    b.push_bind(&r.authors);
    b.push_bind(&r.times[0]).push_bind(&r.times[1]);
    for x in &t[6..10] {
        b.push_bind(x);
    }
    b.push_bind(&r.times[2]).push_bind(&r.times[3]);
    b.push_bind(&r.fingerprint).push_bind(r.wire_copy);
}

/// The story rows of the run's database, grouped by feed (the batches a refresh writes).
fn by_feed<T>(rows: Vec<RawRow<T>>) -> Vec<Vec<RawRow<T>>> {
    let mut feeds: std::collections::BTreeMap<i64, Vec<RawRow<T>>> = Default::default();
    for r in rows {
        feeds.entry(r.ints[0]).or_default().push(r);
    }
    feeds.into_values().collect()
}

/// Raw rows per second into PostgreSQL: the run's stories read back, deleted, and inserted again.
async fn raw_postgres(url: &str) -> f64 {
    let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
    let rows = sqlx::query(&format!("SELECT {RAW_COLUMNS} FROM stories ORDER BY id"))
        .fetch_all(&mut c)
        .await
        .expect("read stories");
    let rows: Vec<RawRow<chrono::DateTime<chrono::Utc>>> = rows.iter().map(RawRow::read).collect();
    let n = rows.len();
    sqlx::raw_sql("TRUNCATE stories, clusters CASCADE")
        .execute(&mut c)
        .await
        .expect("truncate");
    let feeds = by_feed(rows);
    let started = Instant::now();
    for batch in &feeds {
        let mut tx = c.begin().await.expect("begin");
        let mut qb = QueryBuilder::new(format!("INSERT INTO stories ({RAW_COLUMNS}) "));
        qb.push_values(batch, push_raw);
        qb.build().execute(&mut *tx).await.expect("insert");
        tx.commit().await.expect("commit");
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// Raw rows per second into SQLite, as [`raw_postgres`] (the store's connection settings).
async fn raw_sqlite(path: &std::path::Path) -> f64 {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true);
    let mut c = sqlx::SqliteConnection::connect_with(&opts)
        .await
        .expect("connect");
    let rows = sqlx::query(&format!("SELECT {RAW_COLUMNS} FROM stories ORDER BY id"))
        .fetch_all(&mut c)
        .await
        .expect("read stories");
    let rows: Vec<RawRow<String>> = rows.iter().map(RawRow::read).collect();
    let n = rows.len();
    sqlx::raw_sql("UPDATE clusters SET origin_story_id = NULL; DELETE FROM story_tags; DELETE FROM story_versions; DELETE FROM stories; DELETE FROM clusters")
        .execute(&mut c)
        .await
        .expect("delete");
    let feeds = by_feed(rows);
    let started = Instant::now();
    for batch in &feeds {
        let mut tx = c.begin().await.expect("begin");
        let mut qb = QueryBuilder::new(format!("INSERT INTO stories ({RAW_COLUMNS}) "));
        qb.push_values(batch, push_raw);
        qb.build().execute(&mut *tx).await.expect("insert");
        tx.commit().await.expect("commit");
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// Medians of one database's runs: (stories/s end to end, raw rows/s).
struct Figures {
    e2e: f64,
    raw: f64,
}

impl Figures {
    fn of(runs: &[(f64, f64)]) -> Figures {
        Figures {
            e2e: median(runs.iter().map(|r| r.0).collect()),
            raw: median(runs.iter().map(|r| r.1).collect()),
        }
    }

    fn print(&self, db: &str) {
        println!(
            "median {db}: {:.0} stories/s end to end, {:.0} raw rows/s, ratio {:.2}",
            self.e2e,
            self.raw,
            self.e2e / self.raw
        );
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "stories_per_second": self.e2e.round(),
            "raw_rows_per_second": self.raw.round(),
            "ratio": (self.e2e / self.raw * 1000.0).round() / 1000.0,
        })
    }
}

#[tokio::main]
async fn main() {
    let n_feeds = env_or("BENCH_FEEDS", 200);
    let n_items = env_or("BENCH_ITEMS", 100);
    let runs = env_or("BENCH_RUNS", 3).max(1);
    let feeds: Vec<Vec<u8>> = (0..n_feeds).map(|f| make_feed(f, n_items)).collect();
    let served_bytes: usize = feeds.iter().map(Vec::len).sum();
    let feeds = Arc::new(feeds);
    let app = axum::Router::new()
        .route("/feed/{n}", axum::routing::get(serve))
        .with_state(feeds);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let urls: Vec<String> = (0..n_feeds)
        .map(|i| format!("http://{addr}/feed/{i}"))
        .collect();
    println!(
        "ingest: {n_feeds} feeds x {n_items} items = {} stories per run, {:.1} MiB of feed XML, {runs} runs",
        n_feeds * n_items,
        served_bytes as f64 / 1048576.0
    );

    let mut runs_sqlite = Vec::new();
    for run in 0..runs {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bench.db");
        let url = format!("sqlite://{}", path.display());
        let (secs, n) = one_run(&url, &urls).await;
        let rate = n as f64 / secs;
        let raw = raw_sqlite(&path).await;
        runs_sqlite.push((rate, raw));
        println!(
            "  sqlite   run {run}: {n} stories in {secs:.2} s = {rate:.0} stories/s; raw insert {raw:.0} rows/s; ratio {:.2}",
            rate / raw
        );
    }
    let sqlite = Figures::of(&runs_sqlite);

    let admin = std::env::var("BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut pg = None;
    if admin != "none" {
        let mut runs_pg = Vec::new();
        for run in 0..runs {
            let Some(url) = fresh_postgres(&admin, "wirefeed_bench").await else {
                println!("  postgres: not reachable at {admin}; skipped");
                break;
            };
            let (secs, n) = one_run(&url, &urls).await;
            let rate = n as f64 / secs;
            let raw = raw_postgres(&url).await;
            runs_pg.push((rate, raw));
            println!(
                "  postgres run {run}: {n} stories in {secs:.2} s = {rate:.0} stories/s; raw insert {raw:.0} rows/s; ratio {:.2}",
                rate / raw
            );
        }
        if !runs_pg.is_empty() {
            pg = Some(Figures::of(&runs_pg));
        }
    }
    sqlite.print("sqlite");
    if let Some(pg) = &pg {
        pg.print("postgres");
    }
    println!(
        "peak RSS of the process (feed server and its {:.1} MiB of feeds included): {:.1} MiB",
        served_bytes as f64 / 1048576.0,
        status_kib("VmHWM:") as f64 / 1024.0
    );
    let mut out = serde_json::Map::new();
    if let Some(pg) = &pg {
        out.insert("postgres".to_owned(), pg.json());
    }
    out.insert("sqlite".to_owned(), sqlite.json());
    println!("{}", serde_json::Value::Object(out));
}
