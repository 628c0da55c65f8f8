//! Start-up with many stored stories: how long `App::build` (connect, migrate, sync the config's
//! feeds, load the reprint index) takes on a PostgreSQL database holding `BENCH_STORIES` stories
//! with fingerprints, of which `BENCH_RECENT` were first seen within the reprint window (the
//! rest are older and are not loaded).
//!
//! `cargo bench --bench startup` (env: `BENCH_STORIES`, default 1000000; `BENCH_RECENT`, default
//! 100000; `BENCH_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/postgres). Stories
//! are generated in SQL with fingerprints of a realistic size (48 opening and 64 sketch hashes).

mod common;

use std::time::Instant;

use common::{env_or, status_kib};

use sqlx::Connection;
use wirefeed::config::Config;
use wirefeed::daemon::App;

#[tokio::main]
async fn main() {
    let stories: i64 = env_or("BENCH_STORIES", 1_000_000i64);
    let recent: i64 = env_or("BENCH_RECENT", 100_000i64).min(stories);
    let admin = std::env::var("BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("wirefeed_bench_startup_{}", std::process::id());
    let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await else {
        println!("startup: skipped (no PostgreSQL at {admin}); set BENCH_POSTGRES_URL");
        return;
    };
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let mut url = url::Url::parse(&admin).expect("url");
    url.set_path(&name);
    let mut config = Config::default();
    config.database.url = url.to_string();
    config.feeds.clear();
    // Schema first (an App with no feeds), then the stories.
    drop(App::build(config.clone()).await.expect("migrate"));
    let mut db = sqlx::PgConnection::connect(url.as_str())
        .await
        .expect("connect");
    let fill = Instant::now();
    sqlx::raw_sql(&format!(
        "INSERT INTO sources (name, is_wire, created_at) VALUES ('Bench', false, now());
         INSERT INTO feeds (url, source_id, defined_in, next_check_at, created_at)
           VALUES ('https://bench.test/rss', 1, 'cli', now(), now());
         INSERT INTO clusters (origin_story_id, first_seen_at, last_seen_at, size)
           SELECT NULL, now(), now(), 1 FROM generate_series(1, {stories});
         INSERT INTO stories (feed_id, source_id, key, title, body, content_hash, fingerprint,
                              cluster_id, first_seen_at, last_changed_at, published_at)
           SELECT 1, 1, 'k' || i, 'Title ' || i, 'Body', md5(i::text),
                  decode('0100c000' || '3000' || '0000' ||
                         repeat(md5(i::text) || md5((i + 1)::text) || md5((i + 2)::text), 7),
                         'hex'),
                  i,
                  CASE WHEN i <= {recent} THEN now() ELSE now() - interval '30 days' END,
                  now(),
                  CASE WHEN i <= {recent} THEN now() ELSE now() - interval '30 days' END
           FROM generate_series(1, {stories}) AS i;
         ANALYZE stories;"
    ))
    .execute(&mut db)
    .await
    .expect("fill");
    println!(
        "startup: {stories} stories stored ({recent} within the window) in {:.1} s",
        fill.elapsed().as_secs_f64()
    );
    let before = status_kib("VmRSS:") as f64 / 1024.0;
    let start = Instant::now();
    let app = App::build(config).await.expect("start");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "  App::build (connect, migrate, load the reprint index): {secs:.2} s; resident memory +{:.0} MiB",
        (status_kib("VmRSS:") as f64 / 1024.0) - before
    );
    drop(app);
    drop(db);
    let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await;
}
