//! Faults the daemon must live through: a full disk under SQLite, a PostgreSQL outage (through a
//! TCP proxy that cuts the network), a daemon started before its database, a second daemon on
//! the same SQLite file under another path, and `run --once` against host spacing and other
//! daemons' leases. Real components: SQLite on a 3 MB tmpfs (needs root to mount; skipped
//! without, a failure with `WIREFEED_REQUIRE_TMPFS=1`), PostgreSQL when
//! `WIREFEED_TEST_DATABASE_URL` is set, and a local feed server.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{config, pg_addr, FeedServer, Route, TcpProxy, TestDb};
use wirefeed::config::Config;
use wirefeed::daemon::App;
use wirefeed::store::Claim;

/// An RSS document with items `items`, each with a body of about `words` distinct words.
fn rss(items: std::ops::Range<usize>, words: usize) -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Live</title><link>https://live.test/</link>",
    );
    for i in items {
        let body: Vec<String> = (0..words)
            .map(|w| {
                if w % 12 == 0 {
                    format!("story{i}word{w}.")
                } else {
                    format!("story{i}word{w}")
                }
            })
            .collect();
        s.push_str(&format!(
            "<item><title>Story number {i} from the live desk</title><link>https://live.test/s/{i}</link><guid>https://live.test/s/{i}</guid><pubDate>Tue, 09 Jan 2024 12:00:00 GMT</pubDate><description>{}</description></item>",
            body.join(" ")
        ));
    }
    s.push_str("</channel></rss>");
    s.into_bytes()
}

fn doc(body: Vec<u8>) -> Route {
    Route::Doc {
        content_type: "application/rss+xml",
        body,
    }
}

/// A config that polls its feeds every second and retries a failure within two.
fn fast(db_url: &str, feeds: &[(&str, &str, bool)]) -> Config {
    let mut c = config(db_url, feeds);
    c.daemon.tick_secs = 1;
    c.daemon.lease_secs = 10;
    c.schedule.interval_secs = 1;
    c.schedule.min_interval_secs = 1;
    c.schedule.max_backoff_secs = 2;
    c.schedule.jitter_percent = 0;
    c
}

async fn stories(app: &App) -> usize {
    common::all_stories(app).await.len()
}

/// Polls `check` every 100 ms until it holds or `within` passes.
async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// A 3 MB tmpfs, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount() -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(Tmpfs { dir });
        }
        if std::env::var("WIREFEED_REQUIRE_TMPFS").as_deref() == Ok("1") {
            panic!("WIREFEED_REQUIRE_TMPFS=1 but mounting a tmpfs failed (run as root)");
        }
        eprintln!("skipping the disk-full test: cannot mount a tmpfs (not root?)");
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the file system holding `dir` to the last byte.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).expect("filler");
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).is_ok() {}
    while f.write_all(&[0u8]).is_ok() {}
    let _ = f.sync_all();
    path
}

/// The SQLite file on a full disk: writes fail, health says so within a tick, and once space
/// returns the daemon stores everything the feed still carries, by itself, without a restart.
/// Before the fix the connection wedged ("begin_with at non-zero transaction depth") and every
/// later write failed while `/readyz` said ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_recovers_from_a_full_disk_by_itself_and_health_says_so_meanwhile() {
    let Some(fs) = Tmpfs::mount() else {
        return;
    };
    let url = format!("sqlite://{}", fs.path().join("wirefeed.db").display());
    let server = FeedServer::start().await;
    let feed = server.route("/live.xml", doc(rss(0..2, 20)));
    let app = App::build(fast(&url, &[(&feed, "Live", false)]))
        .await
        .expect("app builds");
    let (stop, rx) = tokio::sync::watch::channel(false);
    let daemon = tokio::spawn({
        let app = app.clone();
        async move { app.run_until_stopped(rx).await }
    });
    assert!(
        eventually(Duration::from_secs(20), || async {
            stories(&app).await == 2
        })
        .await,
        "first stories stored"
    );
    assert!(wirefeed::service::ready(&app).await.is_ok());

    let filler = fill(fs.path());
    // 150 new stories of about 2 KB each: far more than the WAL file holds already.
    server.route("/live.xml", doc(rss(0..150, 300)));
    let deadline = Instant::now() + Duration::from_secs(20);
    let reason = loop {
        if let Err(e) = wirefeed::service::ready(&app).await {
            break e;
        }
        assert!(
            Instant::now() < deadline,
            "health must report the failing writes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(reason.contains("fails"), "{reason}");
    assert!(reason.contains("full"), "{reason}");
    assert_eq!(
        stories(&app).await,
        2,
        "nothing of the failed refresh is stored"
    );

    std::fs::remove_file(&filler).expect("free the space");
    assert!(
        eventually(Duration::from_secs(30), || async {
            stories(&app).await == 150
        })
        .await,
        "every story the feed carries is stored once space returns: {}",
        stories(&app).await
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            wirefeed::service::ready(&app).await.is_ok()
        })
        .await,
        "health recovers"
    );
    let _ = stop.send(true);
    daemon.await.expect("daemon stops");
}

/// PostgreSQL goes away under a running daemon: `/readyz`'s check answers within a second
/// with the reason, the loop keeps turning (so the watchdog keeps being fed), and when the
/// database returns the daemon stores what was published meanwhile, by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_is_reported_at_once_and_ingest_resumes_by_itself() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let proxy = TcpProxy::start(pg_addr(&db.url)).await;
    let server = FeedServer::start().await;
    let feed = server.route("/live.xml", doc(rss(0..2, 20)));
    let app = App::build(fast(&proxy.url_for(&db.url), &[(&feed, "Live", false)]))
        .await
        .expect("app builds");
    let (stop, rx) = tokio::sync::watch::channel(false);
    let daemon = tokio::spawn({
        let app = app.clone();
        async move { app.run_until_stopped(rx).await }
    });
    assert!(
        eventually(Duration::from_secs(20), || async {
            stories(&app).await == 2
        })
        .await,
        "first stories stored"
    );

    proxy.cut();
    server.route("/live.xml", doc(rss(0..3, 20)));
    let t = Instant::now();
    let r = wirefeed::service::ready(&app).await;
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    let e = r.expect_err("not ready while the database is away");
    assert!(e.contains("database"), "{e}");
    // The loop goes on turning while it waits (each claim gives up after the pool's 10 s
    // connect timeout).
    let before = app
        .metrics()
        .loop_at_ms
        .load(std::sync::atomic::Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(12)).await;
    let after = app
        .metrics()
        .loop_at_ms
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        after > before,
        "the scheduler loop stopped during the outage"
    );

    proxy.restore().await;
    assert!(
        eventually(Duration::from_secs(30), || async {
            common::all_stories(&app)
                .await
                .iter()
                .any(|s| s.title.contains("number 2"))
        })
        .await,
        "the story published during the outage is stored after it"
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            wirefeed::service::ready(&app).await.is_ok()
        })
        .await,
        "health recovers"
    );
    let _ = stop.send(true);
    daemon.await.expect("daemon stops");
    db.cleanup().await;
}

/// `run --once` polls every active feed: it waits out one host's request spacing past the
/// fetch timeout, takes over feeds whose crashed daemon's lease runs out within its bound, and
/// names the feed a live daemon holds beyond it. Before the fix, 30 feeds spaced 250 ms on one
/// host got about 20 fetched and the rest silently deferred, and dead leases were skipped.
#[tokio::test]
async fn run_once_polls_every_feed_through_host_spacing_and_dead_leases() {
    let db = TestDb::sqlite();
    let host = FeedServer::start_on("127.0.0.6").await;
    let paths: Vec<String> = (0..30).map(|i| format!("/f{i}.xml")).collect();
    let urls: Vec<String> = paths
        .iter()
        .map(|p| host.fixture(p, "rss1_rdf.xml"))
        .collect();
    let list: Vec<(&str, &str, bool)> = urls.iter().map(|u| (u.as_str(), "S", false)).collect();
    let mut cfg = config(&db.url, &list);
    cfg.politeness.per_host_concurrency = 2;
    cfg.politeness.per_host_min_spacing_ms = 250;
    let app = App::build(cfg).await.expect("app builds");
    let now = Utc::now();
    let claim = |owner, secs, limit| Claim {
        owner,
        now,
        due_by: Some(now),
        not_fetched_since: None,
        lease_until: now + chrono::Duration::seconds(secs),
        limit,
    };
    let crashed = app
        .store()
        .claim(&claim("crashed", 2, 3))
        .await
        .expect("claim");
    assert_eq!(crashed.len(), 3);
    let held = app
        .store()
        .claim(&claim("alive", 600, 1))
        .await
        .expect("claim");
    assert_eq!(held.len(), 1);

    let s = app
        .run_once_within(Duration::from_secs(15))
        .await
        .expect("pass");
    assert_eq!(s.feeds, 29, "{s:?}");
    assert_eq!(s.fetched, 29, "{s:?}");
    assert_eq!(s.deferred, 0, "{s:?}");
    assert_eq!(s.skipped.len(), 1, "{s:?}");
    assert_eq!(s.skipped[0].0, held[0].url);
    assert!(s.skipped[0].1.contains("leased by daemon alive"), "{s:?}");
    for (url, path) in urls.iter().zip(&paths) {
        let want = usize::from(*url != held[0].url);
        assert_eq!(host.requests(path), want, "{path}");
    }

    // A bound shorter than the host's spacing needs: the rest are named, with the reason.
    let s = app
        .run_once_within(Duration::from_secs(1))
        .await
        .expect("pass");
    assert!(s.fetched < 29, "{s:?}");
    assert!(
        s.skipped
            .iter()
            .any(|(_, why)| why.contains("its host takes no request")),
        "{s:?}"
    );
    assert_eq!(s.feeds + s.skipped.len() - s.deferred, 30, "{s:?}");
}

/// A config polling `feeds` every second; `daemon_keys` are more `[daemon]` keys.
fn write_config(dir: &Path, db_url: &str, feeds: &[&str], daemon_keys: &str) -> PathBuf {
    let mut text = format!(
        "[database]\nurl = \"{db_url}\"\n[fetch]\nallow_private_networks = true\ntimeout_secs = 5\nmax_items_per_feed = 100000\n[daemon]\ntick_secs = 1\n{daemon_keys}[schedule]\ninterval_secs = 1\nmin_interval_secs = 1\nmax_backoff_secs = 2\njitter_percent = 0\n"
    );
    for url in feeds {
        text.push_str(&format!("[[feeds]]\nurl = \"{url}\"\nsource = \"Live\"\n"));
    }
    let path = dir.join("wirefeed.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

fn daemon(config: &Path, notify: Option<&Path>) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wirefeed"));
    cmd.arg("--config")
        .arg(config)
        .arg("run")
        .env_remove("WIREFEED_DATABASE_URL")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(path) = notify {
        cmd.env("NOTIFY_SOCKET", path)
            .env("WATCHDOG_USEC", "2000000");
    }
    cmd.spawn().expect("spawn daemon")
}

fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        assert!(Instant::now() < deadline, "daemon did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every notify message that arrives within `within`.
fn messages(sock: &std::os::unix::net::UnixDatagram, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    let mut out = Vec::new();
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    out
}

/// The daemon as systemd runs it, started while PostgreSQL is down: it waits (saying so in
/// STATUS= and feeding the watchdog) instead of exiting, starts when the database comes, and
/// during a later outage keeps feeding the watchdog while STATUS= names the fault. Before the
/// fix, the start exited 1 and the watchdog went unfed for 68 s of an outage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_waits_for_its_database_and_keeps_the_watchdog_fed_through_an_outage() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    // Migrations first, so the daemon's start only needs the connection.
    App::build(config(&db.url, &[])).await.expect("migrate");
    let proxy = TcpProxy::start(pg_addr(&db.url)).await;
    proxy.cut();
    let server = FeedServer::start().await;
    let feed = server.route("/live.xml", doc(rss(0..2, 20)));
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &proxy.url_for(&db.url), &[&feed], "");
    let notify_path = dir.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&notify_path).expect("notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let mut child = daemon(&cfg, Some(&notify_path));

    let waiting = tokio::task::block_in_place(|| messages(&sock, Duration::from_secs(4)));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the daemon gave up"
    );
    assert!(
        waiting
            .iter()
            .any(|m| m.contains("STATUS=waiting for the database")),
        "{waiting:?}"
    );
    assert!(
        waiting.iter().any(|m| m.contains("WATCHDOG=1")),
        "{waiting:?}"
    );
    assert!(
        !waiting.iter().any(|m| m.contains("READY=1")),
        "{waiting:?}"
    );
    assert_eq!(server.requests("/live.xml"), 0);

    proxy.restore().await;
    let started = tokio::task::block_in_place(|| messages(&sock, Duration::from_secs(20)));
    assert!(started.iter().any(|m| m.contains("READY=1")), "{started:?}");
    assert!(
        server.requests("/live.xml") > 0,
        "the daemon polls once started"
    );

    proxy.cut();
    let outage = tokio::task::block_in_place(|| messages(&sock, Duration::from_secs(6)));
    let pings = outage.iter().filter(|m| m.contains("WATCHDOG=1")).count();
    assert!(pings >= 3, "watchdog fed during the outage: {outage:?}");
    assert!(
        outage
            .iter()
            .any(|m| m.contains("STATUS=degraded: database")),
        "{outage:?}"
    );
    proxy.restore().await;
    let status = tokio::task::block_in_place(|| terminate(&mut child));
    assert_eq!(status.code(), Some(0));
    db.cleanup().await;
}

/// One daemon per SQLite file, whatever path names it: a second daemon through a symlink or a
/// hard link is refused before it migrates or syncs its config (its feed never reaches the
/// database, the first daemon's feed is not paused). Before the fix the lock was a separate
/// `<path>.lock` file per spelling, taken after migrating and syncing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_daemon_on_the_same_sqlite_file_is_refused_under_any_path_before_writing() {
    let server = FeedServer::start().await;
    let first_feed = server.route("/first.xml", doc(rss(0..2, 20)));
    let second_feed = server.route("/second.xml", doc(rss(5..7, 20)));
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("wirefeed.db");
    let a = dir.path().join("a");
    std::fs::create_dir(&a).expect("dir");
    let cfg = write_config(
        &a,
        &format!("sqlite://{}", db.display()),
        &[&first_feed],
        "",
    );
    let mut first = daemon(&cfg, None);
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.requests("/first.xml") == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(server.requests("/first.xml") > 0, "first daemon polls");

    let symlink = dir.path().join("via-symlink.db");
    std::os::unix::fs::symlink(&db, &symlink).expect("symlink");
    let hardlink = dir.path().join("via-hardlink.db");
    std::fs::hard_link(&db, &hardlink).expect("hard link");
    for (i, path) in [&db, &symlink, &hardlink].iter().enumerate() {
        let b = dir.path().join(format!("b{i}"));
        std::fs::create_dir(&b).expect("dir");
        let cfg = write_config(
            &b,
            &format!("sqlite://{}", path.display()),
            &[&second_feed],
            "",
        );
        let mut second = daemon(&cfg, None);
        let status = tokio::task::block_in_place(|| {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Some(s) = second.try_wait().expect("wait") {
                    return s;
                }
                assert!(Instant::now() < deadline, "second daemon was not refused");
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let mut err = String::new();
        std::io::Read::read_to_string(&mut second.stderr.take().expect("stderr"), &mut err)
            .expect("stderr");
        assert_eq!(status.code(), Some(1), "{}: {err}", path.display());
        assert!(err.contains("another wirefeed daemon"), "{err}");
    }
    assert_eq!(server.requests("/second.xml"), 0);
    let status = tokio::task::block_in_place(|| terminate(&mut first));
    assert_eq!(status.code(), Some(0));
    // The first daemon's feed is still active and the second's never arrived.
    let out = Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .arg("--config")
        .arg(&cfg)
        .args(["feeds", "list", "--json"])
        .output()
        .expect("feeds list");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("first.xml"), "{text}");
    assert!(!text.contains("second.xml"), "{text}");
    assert!(!text.contains("paused"), "{text}");
}

/// A document past its CPU budget stops inside the work: its feed gets the error kind
/// `over_budget`, and the rest of the pass goes on. (A small budget makes an ordinary large
/// document the hostile one; the stages themselves are linear, see `cargo bench --bench
/// hostile`.)
#[tokio::test]
async fn a_document_over_its_cpu_budget_fails_its_feed_alone() {
    let db = TestDb::sqlite();
    let server = FeedServer::start().await;
    let big = server.route("/big.xml", doc(rss(0..3000, 60)));
    let small = server.route("/small.xml", doc(rss(0..2, 20)));
    let mut cfg = config(&db.url, &[(&big, "Big", false), (&small, "Small", false)]);
    // Far above what two small items cost even in a debug build, far below 3000 items.
    cfg.daemon.document_budget_ms = 300;
    let app = App::build(cfg).await.expect("app builds");
    let s = app.run_once().await.expect("pass");
    assert_eq!(s.feeds, 2, "{s:?}");
    let feeds = common::feeds_by_url(&app).await;
    assert_eq!(feeds[&big].last_error.as_deref(), Some("over_budget"));
    let msg = feeds[&big].last_error_message.clone().unwrap_or_default();
    assert!(msg.contains("300 ms CPU budget"), "{msg}");
    assert_eq!(feeds[&small].last_error, None);
    assert_eq!(feeds[&small].stories, 2);
    assert_eq!(feeds[&big].stories, 0);
}

/// Per-item leniency and bounds in what is stored: a JSON Feed item of the wrong shape costs
/// only itself (`"id": 123` is read as "123"), text declared windows-1251 that is really UTF-8
/// is stored as written, and a title of megabytes is cut.
#[tokio::test]
async fn lenient_json_feed_legacy_labels_and_huge_titles() {
    let db = TestDb::sqlite();
    let server = FeedServer::start().await;
    let json = server.route(
        "/feed.json",
        Route::Doc {
            content_type: "application/feed+json",
            body: br#"{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [
                {"id": "a", "title": "First", "content_text": "one two three", "url": "https://j.test/a"},
                {"id": 123, "title": "Numbered", "content_text": "four five six", "url": "https://j.test/b"},
                {"id": "c", "title": {"bad": 1}, "content_text": "seven", "url": "https://j.test/c"}
            ]}"#
            .to_vec(),
        },
    );
    let huge = "Headline ".repeat(600_000);
    let cyr = format!(
        "<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss version=\"2.0\"><channel><title>C</title><item><guid>c1</guid><title>Београд и Србија</title><description>Текст вести.</description></item><item><guid>c2</guid><title>{huge}</title><description>Body.</description></item></channel></rss>"
    );
    let legacy = server.route(
        "/cyr.xml",
        Route::Respond {
            status: 200,
            headers: vec![(
                "content-type",
                "application/rss+xml; charset=windows-1251".to_owned(),
            )],
            body: cyr.into_bytes(),
        },
    );
    let app = App::build(config(
        &db.url,
        &[(&json, "J", false), (&legacy, "C", false)],
    ))
    .await
    .expect("app builds");
    app.run_once().await.expect("pass");
    let stories = common::all_stories(&app).await;
    let titles: Vec<&str> = stories.iter().map(|s| s.title.as_str()).collect();
    assert!(
        titles.contains(&"First") && titles.contains(&"Numbered"),
        "{titles:?}"
    );
    assert!(titles.contains(&"Београд и Србија"), "{titles:?}");
    let long = titles
        .iter()
        .find(|t| t.starts_with("Headline"))
        .expect("the huge title's story");
    assert!(long.chars().count() <= 1000, "{}", long.len());
    assert_eq!(stories.len(), 4, "{titles:?}");
}

/// SIGTERM while a document is still being worked on (a 16 MiB feed of 15,000 items with the
/// budget set to its maximum: about 40 s of CPU in a debug build, far past the 1 s grace
/// period): the daemon exits 0 within its grace period and a moment, not when the work would
/// have ended. Before, the runtime waited for every blocking task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_bounded_by_the_grace_period_whatever_runs() {
    let server = FeedServer::start().await;
    let body = "words of a story about the region and its people. ".repeat(20);
    let items: String = (0..15_000)
        .map(|i| {
            format!("<item><title>Item {i}</title><link>https://h.test/{i}</link><description>{i} {body}</description></item>")
        })
        .collect();
    let big = server.route(
        "/big.xml",
        doc(
            format!("<rss version=\"2.0\"><channel><title>T</title>{items}</channel></rss>")
                .into_bytes(),
        ),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("wirefeed.db").display());
    let cfg = write_config(
        dir.path(),
        &db,
        &[&big],
        "shutdown_grace_secs = 1\ndocument_budget_ms = 600000\n",
    );
    let mut child = daemon(&cfg, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.requests("/big.xml") == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        server.requests("/big.xml"),
        1,
        "the daemon fetched the feed"
    );
    // Let the transfer end and the parse begin.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let t = Instant::now();
    let status = tokio::task::block_in_place(|| terminate(&mut child));
    let took = t.elapsed();
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(8), "exit took {took:?}");
}
