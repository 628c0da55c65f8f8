//! End-to-end ingest benchmark: an in-process feed server holding many feeds of real-shaped items,
//! a fresh database, one `run --once` pass; reports new stories per second (median of the runs) into
//! SQLite and PostgreSQL, and the process's peak memory.
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
use sqlx::Connection;
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

    let mut rates = Vec::new();
    for run in 0..runs {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let (secs, n) = one_run(&url, &urls).await;
        rates.push(n as f64 / secs);
        println!(
            "  sqlite   run {run}: {n} stories in {secs:.2} s = {:.0} stories/s",
            n as f64 / secs
        );
    }
    let sqlite = median(rates);

    let admin = std::env::var("BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut pg = None;
    if admin != "none" {
        let mut rates = Vec::new();
        for run in 0..runs {
            let Some(url) = fresh_postgres(&admin, "wirefeed_bench").await else {
                println!("  postgres: not reachable at {admin}; skipped");
                break;
            };
            let (secs, n) = one_run(&url, &urls).await;
            rates.push(n as f64 / secs);
            println!(
                "  postgres run {run}: {n} stories in {secs:.2} s = {:.0} stories/s",
                n as f64 / secs
            );
        }
        if !rates.is_empty() {
            pg = Some(median(rates));
        }
    }
    println!("median sqlite: {sqlite:.0} stories/s");
    if let Some(pg) = pg {
        println!("median postgres: {pg:.0} stories/s");
    }
    println!(
        "peak RSS of the process (feed server and its {:.1} MiB of feeds included): {:.1} MiB",
        served_bytes as f64 / 1048576.0,
        status_kib("VmHWM:") as f64 / 1024.0
    );
}
