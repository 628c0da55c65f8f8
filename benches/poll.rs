//! Polling benchmark: the real scheduler and fetcher (`App::run_until_stopped`) against a local
//! server holding many synthetic feeds, with feed state in PostgreSQL.
//!
//! The feed server runs as a child process (this same binary with `--serve`), so the CPU time
//! measured here is the daemon's alone. Every feed is due every second, so the daemon is always
//! behind and the rate measured is its ceiling. Phases:
//! 1. changed-feed path: the first poll of every feed is a 200 with one new item (parse and store);
//! 2. 304 path: every later poll is conditional and answered 304, for `BENCH_SECS` seconds.
//!
//! `cargo bench --bench poll` (env: `BENCH_FEEDS`, default 10000; `BENCH_SECS`, default 20;
//! `BENCH_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/postgres).

mod common;

use common::status_kib;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use sqlx::Connection;
use wirefeed::config::{Config, HostOverride};
use wirefeed::daemon::App;

async fn feed(Path(n): Path<u64>, headers: HeaderMap) -> axum::response::Response {
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == b"\"v1\"")
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let body = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Feed {n}</title><link>https://f{n}.test/</link><item><title>Story of feed {n}</title><link>https://f{n}.test/1</link><guid>f{n}-1</guid><pubDate>Thu, 11 Jan 2024 10:00:00 GMT</pubDate><description>&lt;p&gt;Text of the story of feed {n}.&lt;/p&gt;</description></item></channel></rss>"
    );
    (
        [
            (header::ETAG, "\"v1\"".to_owned()),
            (header::CONTENT_TYPE, "application/rss+xml".to_owned()),
        ],
        body,
    )
        .into_response()
}

fn serve() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let app = axum::Router::new().route("/feed/{n}", axum::routing::get(feed));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!("{}", listener.local_addr().expect("addr"));
        axum::serve(listener, app).await.expect("serve");
    });
}

/// User + system CPU seconds of this process.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn polls(admin: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar::<_, Option<i64>>("SELECT sum(fetch_count)::bigint FROM feeds")
        .fetch_one(admin)
        .await
        .expect("count")
        .unwrap_or(0)
}

fn main() {
    if std::env::args().any(|a| a == "--serve") {
        serve();
        return;
    }
    let n: i64 = std::env::var("BENCH_FEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let admin_url = std::env::var("BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());

    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .arg("--serve")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start feed server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("server address");
    let server = Server(child);
    let addr = line.trim().to_owned();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let name = "wirefeed_bench_poll";
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("PostgreSQL for the benchmark");
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .expect("drop");
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create");
        let mut db_url = url::Url::parse(&admin_url).expect("url");
        db_url.set_path(name);
        let db_url = db_url.to_string();

        let mut config = Config::default();
        config.database.url = db_url.clone();
        config.database.max_connections = 8;
        config.log.level = "warn".to_owned();
        config.fetch.allow_private_networks = true;
        config.fetch.concurrency = 64;
        config.fetch.timeout_secs = 10;
        config.schedule.interval_secs = 1;
        config.schedule.min_interval_secs = 1;
        config.schedule.max_interval_secs = 1;
        config.schedule.max_backoff_secs = 1;
        config.schedule.jitter_percent = 0;
        config.daemon.tick_secs = 1;
        config.politeness.hosts = vec![HostOverride {
            host: "127.0.0.1".to_owned(),
            concurrency: Some(64),
            min_spacing_ms: Some(0),
        }];
        let app = App::build(config).await.expect("app");
        let pool = sqlx::PgPool::connect(&db_url).await.expect("pool");
        sqlx::query("INSERT INTO sources (name, created_at) VALUES ('Bench', now())")
            .execute(&pool)
            .await
            .expect("source");
        sqlx::query(
            "INSERT INTO feeds (url, source_id, defined_in, next_check_at, created_at)
             SELECT 'http://' || $1 || '/feed/' || i, (SELECT id FROM sources), 'cli', now(), now()
             FROM generate_series(1, $2) AS i",
        )
        .bind(&addr)
        .bind(n)
        .execute(&pool)
        .await
        .expect("feeds");
        println!("poll: {n} feeds on one local server, state in PostgreSQL, {secs} s of 304s");

        let rss_start = status_kib("VmRSS:");
        let (tx, rx) = tokio::sync::watch::channel(false);
        let runner = {
            let app = app.clone();
            tokio::spawn(async move { app.run_until_stopped(rx).await })
        };

        // Phase 1: the first poll of every feed (200, one new story each).
        let t0 = Instant::now();
        let c0 = cpu_secs();
        loop {
            let stories: i64 = sqlx::query_scalar("SELECT count(*) FROM stories")
                .fetch_one(&pool)
                .await
                .expect("count");
            if stories >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let first_secs = t0.elapsed().as_secs_f64();
        let first_cpu = cpu_secs() - c0;
        println!(
            "changed-feed path: {n} polls (200, parse, store 1 story) in {first_secs:.1} s = {:.0} polls/s, {:.2} CPU s per 1,000 polls",
            n as f64 / first_secs,
            first_cpu / n as f64 * 1000.0
        );

        // Phase 2: the 304 path.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let p0 = polls(&pool).await;
        let c0 = cpu_secs();
        let t0 = Instant::now();
        let mut rss = Vec::new();
        let mut rates = Vec::new();
        let mut last = (p0, Instant::now());
        for _ in 0..secs {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let p = polls(&pool).await;
            let now = Instant::now();
            rates.push((p - last.0) as f64 / (now - last.1).as_secs_f64());
            last = (p, now);
            rss.push(status_kib("VmRSS:"));
        }
        let total = polls(&pool).await - p0;
        let elapsed = t0.elapsed().as_secs_f64();
        let cpu = cpu_secs() - c0;
        tx.send(true).expect("stop");
        runner.await.expect("runner");
        rates.sort_by(|a, b| a.total_cmp(b));
        let not_modified: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM fetches WHERE outcome = 'not_modified'",
        )
        .fetch_one(&pool)
        .await
        .expect("count");
        println!(
            "304 path: {total} polls in {elapsed:.1} s = {:.0} polls/s (median of 1 s windows {:.0}), {:.3} CPU s per 1,000 polls ({:.2} cores)",
            total as f64 / elapsed,
            rates[rates.len() / 2],
            cpu / total.max(1) as f64 * 1000.0,
            cpu / elapsed
        );
        println!(
            "  fetch-log rows that are 304s: {not_modified} (ring of 50 per feed)"
        );
        println!(
            "memory: RSS before start {:.1} MiB; during the 304 phase first {:.1} MiB, last {:.1} MiB, max {:.1} MiB; peak {:.1} MiB",
            rss_start as f64 / 1024.0,
            rss.first().copied().unwrap_or(0) as f64 / 1024.0,
            rss.last().copied().unwrap_or(0) as f64 / 1024.0,
            rss.iter().copied().max().unwrap_or(0) as f64 / 1024.0,
            status_kib("VmHWM:") as f64 / 1024.0
        );
        drop(pool);
        let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    });
    drop(server);
}
