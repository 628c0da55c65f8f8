//! The fault experiments, run on the real binary: kill -9 in the middle of ingest and a
//! restart (nothing lost, nothing stored twice, the dead daemon's leases taken over once they
//! run out), three daemons on one PostgreSQL database (no feed fetched twice for one due time),
//! and a PostgreSQL restart under a running daemon. Real components: the `wirefeed` binary, a
//! local feed server, SQLite, and PostgreSQL when `WIREFEED_TEST_DATABASE_URL` is set. The
//! restart test restarts the server itself, so it runs only where `WIREFEED_PG_RESTART` holds
//! the command that does it (`.ci/run` sets it); `WIREFEED_REQUIRE_PG_RESTART=1` makes its
//! absence a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{FeedServer, Route, TestDb};

/// The tests here run one at a time: each loads the machine with daemons, and one restarts
/// the PostgreSQL server the others use.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// An RSS document of `items` stories for feed `feed`.
fn rss(feed: usize, items: usize) -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Load</title><link>https://load.test/</link>",
    );
    for i in 0..items {
        s.push_str(&format!(
            "<item><title>Feed {feed} story {i}</title><link>https://load.test/{feed}/{i}</link><guid>https://load.test/{feed}/{i}</guid><description>Story {i} of feed {feed}: words about the region, its people and what they said on the day, told once.</description></item>"
        ));
    }
    s.push_str("</channel></rss>");
    s.into_bytes()
}

/// Serves `feeds` feeds of `items` stories each; returns their URLs.
fn serve(server: &FeedServer, feeds: usize, items: usize) -> Vec<String> {
    (0..feeds)
        .map(|f| {
            server.route(
                &format!("/f{f}.xml"),
                Route::Doc {
                    content_type: "application/rss+xml",
                    body: rss(f, items),
                },
            )
        })
        .collect()
}

fn write_config(dir: &Path, db_url: &str, feeds: &[String], daemon: &str) -> PathBuf {
    let mut text = format!(
        "[database]\nurl = \"{db_url}\"\nmax_connections = 4\n[fetch]\nallow_private_networks = true\ntimeout_secs = 5\nconcurrency = 16\n[politeness]\nper_host_concurrency = 16\nper_host_min_spacing_ms = 0\n[schedule]\ninterval_secs = 2\nmin_interval_secs = 2\nmax_backoff_secs = 2\njitter_percent = 0\n[daemon]\ntick_secs = 1\n{daemon}\n"
    );
    for url in feeds {
        text.push_str(&format!("[[feeds]]\nurl = \"{url}\"\nsource = \"Load\"\n"));
    }
    let path = dir.join("wirefeed.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

fn daemon(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .env_remove("WIREFEED_DATABASE_URL")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn daemon")
}

fn terminate(child: &mut Child) -> Option<i32> {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s.code();
        }
        assert!(Instant::now() < deadline, "daemon did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// (stories, distinct titles) in the database: each story of the feeds has its own title.
async fn counts(db_url: &str) -> (i64, i64) {
    let q = "SELECT count(*), count(DISTINCT title) FROM stories";
    // Not there yet (the daemon creates it) reads as nothing stored.
    if db_url.starts_with("sqlite:") {
        let Ok(mut c) = <sqlx::SqliteConnection as sqlx::Connection>::connect(db_url).await else {
            return (0, 0);
        };
        sqlx::query_as(q).fetch_one(&mut c).await.unwrap_or((0, 0))
    } else {
        let Ok(mut c) = <sqlx::PgConnection as sqlx::Connection>::connect(db_url).await else {
            return (0, 0);
        };
        sqlx::query_as(q).fetch_one(&mut c).await.unwrap_or((0, 0))
    }
}

async fn wait_for(within: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out waiting for {what}");
}

/// kill -9 while the stories of 120 feeds are being stored, then a restart: every story ends up
/// stored exactly once, and the feeds the dead daemon held come back when its leases end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_ingest_then_restart_loses_nothing_and_stores_nothing_twice() {
    let _serial = SERIAL.lock().await;
    for db in common::databases().await {
        let server = FeedServer::start().await;
        let feeds = serve(&server, 120, 40);
        let want = 120 * 40;
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = write_config(dir.path(), &db.url, &feeds, "lease_secs = 8");
        let mut first = daemon(&cfg);
        let url = db.url.clone();
        wait_for(Duration::from_secs(60), "the first stories", async || {
            counts(&url).await.0 > 0
        })
        .await;
        first.kill().expect("kill -9");
        let _ = first.wait();
        let (at_kill, _) = counts(&db.url).await;
        assert!(at_kill < want, "the kill came after the whole ingest");
        let mut second = daemon(&cfg);
        wait_for(
            Duration::from_secs(90),
            "every story after the restart",
            async || counts(&url).await.0 >= want,
        )
        .await;
        // A moment more: nothing may be stored twice afterwards either.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (stories, distinct) = counts(&db.url).await;
        assert_eq!(terminate(&mut second), Some(0));
        assert_eq!(stories, want, "{}: {at_kill} at the kill", db.backend);
        assert_eq!(distinct, stories, "{}: a story stored twice", db.backend);
        db.cleanup().await;
    }
}

/// Three daemons on one PostgreSQL database for ten seconds: each feed is fetched once per due
/// time (never twice within its interval), and together they store every story once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_daemons_on_one_postgres_fetch_each_feed_once_per_due_time() {
    let _serial = SERIAL.lock().await;
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let server = FeedServer::start().await;
    let feeds = serve(&server, 60, 10);
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().expect("dir")).collect();
    // Migrate once first: three daemons starting at once would race to create the schema.
    let cfg0 = write_config(dirs[0].path(), &db.url, &feeds, "lease_secs = 30");
    let out = Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .arg("--config")
        .arg(&cfg0)
        .arg("migrate")
        .output()
        .expect("migrate");
    assert!(out.status.success(), "{out:?}");
    let mut daemons: Vec<Child> = dirs
        .iter()
        .map(|d| daemon(&write_config(d.path(), &db.url, &feeds, "lease_secs = 30")))
        .collect();
    tokio::time::sleep(Duration::from_secs(10)).await;
    for d in &mut daemons {
        assert_eq!(terminate(d), Some(0));
    }
    let mut polls = 0;
    for f in 0..60 {
        let mut times = server.times(&format!("/f{f}.xml"));
        times.sort();
        assert!(!times.is_empty(), "feed {f} never polled");
        polls += times.len();
        for w in times.windows(2) {
            // min_interval_secs = 2: two fetches closer than that are one due time fetched
            // twice.
            assert!(
                w[1] - w[0] >= Duration::from_millis(1500),
                "feed {f} fetched twice within {:?}",
                w[1] - w[0]
            );
        }
    }
    assert!(polls >= 120, "the daemons polled {polls} times in 10 s");
    let (stories, distinct) = counts(&db.url).await;
    assert_eq!(stories, 600);
    assert_eq!(distinct, 600);
    db.cleanup().await;
}

/// The PostgreSQL server restarted under a running daemon: it keeps running, and what is
/// published after the restart is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_under_a_running_daemon_loses_nothing() {
    let _serial = SERIAL.lock().await;
    let Ok(restart) = std::env::var("WIREFEED_PG_RESTART") else {
        if std::env::var("WIREFEED_REQUIRE_PG_RESTART").as_deref() == Ok("1") {
            panic!("WIREFEED_REQUIRE_PG_RESTART=1 but WIREFEED_PG_RESTART is not set");
        }
        eprintln!("skipping the PostgreSQL restart test: WIREFEED_PG_RESTART is not set");
        return;
    };
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let server = FeedServer::start().await;
    let feeds = serve(&server, 20, 5);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &db.url, &feeds, "lease_secs = 8");
    let mut d = daemon(&cfg);
    let url = db.url.clone();
    wait_for(Duration::from_secs(60), "the first pass", async || {
        counts(&url).await.0 >= 100
    })
    .await;
    let status = Command::new("sh")
        .args(["-c", &restart])
        .status()
        .expect("restart PostgreSQL");
    assert!(status.success(), "`{restart}` failed");
    // Published after the restart: one more story in every feed.
    for (f, _) in feeds.iter().enumerate() {
        server.route(
            &format!("/f{f}.xml"),
            Route::Doc {
                content_type: "application/rss+xml",
                body: rss(f, 6),
            },
        );
    }
    wait_for(
        Duration::from_secs(60),
        "the stories published after the restart",
        async || counts(&url).await.0 >= 120,
    )
    .await;
    assert!(d.try_wait().expect("wait").is_none(), "the daemon exited");
    assert_eq!(terminate(&mut d), Some(0));
    let (stories, distinct) = counts(&db.url).await;
    assert_eq!((stories, distinct), (120, 120));
    db.cleanup().await;
}
