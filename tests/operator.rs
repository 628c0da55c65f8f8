//! What an operator reads: the daemon's log (plain text off a terminal, one start-up line,
//! periodic summaries, nothing else at INFO, no PostgreSQL notices) and the words a database
//! that cannot be opened is reported with (refused, unknown host, missing database, missing
//! directory, permissions), each cause said once.

mod common;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{FeedServer, Route, TestDb};
use wirefeed::config::DatabaseConfig;
use wirefeed::store::{Store, StoreError};

fn wirefeed(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("WIREFEED_DATABASE_URL")
        .env_remove("RUST_LOG")
        .output()
        .expect("run wirefeed")
}

/// A config file for the binary: the database, loopback allowed, short ticks, `extra` TOML.
fn write_config(dir: &Path, db_url: &str, extra: &str, feeds: &[&str]) -> PathBuf {
    let mut text = format!(
        "[database]\nurl = \"{db_url}\"\n[fetch]\nallow_private_networks = true\ntimeout_secs = 5\n\
         [daemon]\ntick_secs = 1\n[[politeness.hosts]]\nhost = \"127.0.0.1\"\nmin_spacing_ms = 0\n\
         {extra}\n"
    );
    for url in feeds {
        text.push_str(&format!(
            "[[feeds]]\nurl = \"{url}\"\nsource = \"Gazette\"\n"
        ));
    }
    let path = dir.join("wirefeed.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// A running daemon whose stdout is collected line by line.
struct Daemon {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Daemon {
    fn start(config: &Path, args: &[&str]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wirefeed"))
            .arg("--config")
            .arg(config)
            .args(args)
            .arg("run")
            .env_remove("WIREFEED_DATABASE_URL")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn daemon");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().expect("stdout");
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                sink.lock().expect("lines").push(line);
            }
        });
        Daemon { child, lines }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    /// Waits (bounded) until `done` holds for the lines so far.
    async fn wait_for(&self, what: &str, done: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(&self.lines()) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the log:\n{}",
                self.lines().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then the exit status (bounded).
    async fn stop(mut self) -> (Option<i32>, Vec<String>) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        let code = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s.code();
            }
            assert!(Instant::now() < deadline, "daemon did not stop");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        // Let the reader take the last lines.
        tokio::time::sleep(Duration::from_millis(100)).await;
        (code, self.lines())
    }
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON log line: {line}: {e}"))
}

fn message(v: &serde_json::Value) -> &str {
    v["fields"]["message"].as_str().unwrap_or_default()
}

fn field_u64(v: &serde_json::Value, name: &str) -> u64 {
    v["fields"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no number `{name}` in {v}"))
}

/// A PostgreSQL database for the test, else SQLite; with a password in the URL when
/// PostgreSQL (the test server trusts every login, so any password does).
async fn database() -> (TestDb, String) {
    match TestDb::postgres().await {
        Some(db) => {
            let mut url = url::Url::parse(&db.url).expect("url");
            url.set_password(Some("s3cret-pw")).expect("password");
            let with_password = url.to_string();
            (db, with_password)
        }
        None => {
            let db = TestDb::sqlite();
            let url = db.url.clone();
            (db, url)
        }
    }
}

#[test]
fn logs_off_a_terminal_are_plain_text_and_start_with_one_summary_line() {
    let db = TestDb::sqlite();
    let dir = db.dir().expect("dir");
    let config = write_config(&dir, &db.url, "", &[]);
    let out = wirefeed(&config, &["run", "--once"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.stdout.contains(&0x1b) && !out.stderr.contains(&0x1b),
        "ANSI escape in logs written to a pipe:\n{stdout}"
    );
    let start: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("wirefeed started"))
        .collect();
    assert_eq!(start.len(), 1, "{stdout}");
    for want in [
        format!("version=\"{}\"", env!("CARGO_PKG_VERSION")),
        format!("config={}", config.display()),
        "database=\"sqlite\"".to_owned(),
        format!("url={}", db.url),
        "config_feeds=0".to_owned(),
        "admin=\"off\"".to_owned(),
    ] {
        assert!(start[0].contains(&want), "{want} missing from {}", start[0]);
    }

    // Without a file: "defaults".
    let out = Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .args(["run", "--once"])
        .current_dir(&dir)
        .env("WIREFEED_DATABASE_URL", &db.url)
        .env_remove("WIREFEED_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("run");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("config=defaults"), "{stdout}");
    assert!(!out.stdout.contains(&0x1b), "{stdout}");
}

#[test]
fn json_logs_never_carry_colour() {
    let db = TestDb::sqlite();
    let dir = db.dir().expect("dir");
    let config = write_config(&dir, &db.url, "[log]\nformat = \"json\"", &[]);
    let out = wirefeed(&config, &["run", "--once"]);
    assert!(out.status.success(), "{out:?}");
    assert!(!out.stdout.contains(&0x1b));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let start: Vec<serde_json::Value> = stdout
        .lines()
        .map(json)
        .filter(|v| message(v) == "wirefeed started")
        .collect();
    assert_eq!(start.len(), 1, "{stdout}");
    assert_eq!(start[0]["fields"]["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn summary_interval_is_validated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        "sqlite://x.db",
        "[log]\nsummary_interval_secs = 86401",
        &[],
    );
    let out = wirefeed(&config, &["check"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("log.summary_interval_secs"), "{err}");
    let config = write_config(
        dir.path(),
        "sqlite://x.db",
        "[log]\nsummary_interval_secs = 0",
        &[],
    );
    assert!(wirefeed(&config, &["check"]).status.success());
}

/// The daemon at INFO: the start-up line (password masked), a summary per interval with what
/// happened (polls, stories, errors by kind), "no polls" when nothing did, and nothing else
/// until it is stopped; on PostgreSQL no notice from the migrator at a second start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_daemon_says_only_its_start_and_its_summaries() {
    let (db, url) = database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = FeedServer::start().await;
    let good = server.fixture("/f.xml", "rss_no_version.xml");
    let missing = server.route("/missing.xml", Route::Status(404));
    let config = write_config(
        dir.path(),
        &url,
        "[log]\nformat = \"json\"\nsummary_interval_secs = 1",
        &[&good, &missing],
    );
    // Migrated once already, so this start meets `_sqlx_migrations` existing.
    let c = config.clone();
    let out = tokio::task::spawn_blocking(move || wirefeed(&c, &["migrate"]))
        .await
        .expect("join");
    assert!(out.status.success(), "{out:?}");

    let daemon = Daemon::start(&config, &[]);
    let summaries = |lines: &[String]| -> Vec<serde_json::Value> {
        lines
            .iter()
            .map(|l| json(l))
            .filter(|v| message(v) == "summary")
            .collect()
    };
    daemon
        .wait_for("both feeds polled and summarised", |lines| {
            summaries(lines)
                .iter()
                .map(|v| field_u64(v, "polled"))
                .sum::<u64>()
                >= 2
        })
        .await;
    // Then a quiet interval: both feeds wait minutes for their next check.
    daemon
        .wait_for("a summary saying no polls", |lines| {
            let first_busy = lines.iter().position(|l| l.contains("\"summary\""));
            lines
                .iter()
                .skip(first_busy.unwrap_or(usize::MAX))
                .any(|l| l.contains("summary: no polls"))
        })
        .await;
    let (code, lines) = daemon.stop().await;
    assert_eq!(code, Some(0));
    let log = lines.join("\n");

    assert!(
        !log.contains("already exists"),
        "a notice reached the log:\n{log}"
    );
    assert!(
        !log.contains("s3cret-pw"),
        "the password was logged:\n{log}"
    );
    let events: Vec<serde_json::Value> = lines.iter().map(|l| json(l)).collect();
    let start: Vec<&serde_json::Value> = events
        .iter()
        .filter(|v| message(v) == "wirefeed started")
        .collect();
    assert_eq!(start.len(), 1, "{log}");
    let f = &start[0]["fields"];
    assert_eq!(f["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(f["config"], config.display().to_string());
    assert_eq!(f["database"], db.backend);
    if db.backend == "postgres" {
        assert!(
            f["url"].as_str().is_some_and(|u| u.contains(":***@")),
            "{f}"
        );
    }
    assert_eq!(f["config_feeds"], 2);
    assert_eq!(f["active_feeds"], 2);

    let busy = summaries(&lines);
    let total = |name: &str| busy.iter().map(|v| field_u64(v, name)).sum::<u64>();
    assert_eq!(total("polled"), 2, "{log}");
    assert_eq!(total("new_stories"), 2, "{log}");
    assert_eq!(total("failed"), 1, "{log}");
    assert!(
        busy.iter()
            .any(|v| v["fields"]["errors"].as_str() == Some("http_4xx=1")),
        "{log}"
    );
    for v in &busy {
        assert!(v["fields"]["most_overdue"].is_string(), "{v}");
    }

    // Nothing else at INFO: no line per poll or per story, no notices.
    let allowed = [
        "wirefeed started",
        "summary",
        "summary: no polls",
        "shutdown requested: finishing in-flight refreshes (signal again to stop at once)",
        "stopping: draining in-flight refreshes",
        "stopped",
    ];
    for v in events.iter().filter(|v| v["level"] == "INFO") {
        assert!(allowed.contains(&message(v)), "unexpected INFO line: {v}");
    }
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_summary_lines_when_turned_off() {
    let db = TestDb::sqlite();
    let dir = db.dir().expect("dir");
    let config = write_config(
        &dir,
        &db.url,
        "[log]\nformat = \"json\"\nsummary_interval_secs = 0",
        &[],
    );
    let daemon = Daemon::start(&config, &[]);
    daemon
        .wait_for("the start-up line", |lines| {
            lines.iter().any(|l| l.contains("wirefeed started"))
        })
        .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (code, lines) = daemon.stop().await;
    assert_eq!(code, Some(0));
    assert!(
        !lines
            .iter()
            .any(|l| message(&json(l)).starts_with("summary")),
        "{}",
        lines.join("\n")
    );
    assert!(lines.iter().any(|l| l.contains("\"summary_every_secs\":0")));
}

/// The most overdue feed the summary names: the active feed waiting longest past its check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_most_overdue_feed_is_named() {
    let db = TestDb::sqlite();
    let config = common::config(&db.url, &[("http://127.0.0.1:9/a.xml", "A", false)]);
    let app = wirefeed::daemon::App::build(config).await.expect("build");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let g = app.store().feed_gauges().await.expect("gauges");
    assert_eq!(g.most_overdue.as_deref(), Some("http://127.0.0.1:9/a.xml"));
    assert!(g.scheduler_lag_secs >= 1.0, "{}", g.scheduler_lag_secs);

    let empty = TestDb::sqlite();
    let app = wirefeed::daemon::App::build(common::config(&empty.url, &[]))
        .await
        .expect("build");
    let g = app.store().feed_gauges().await.expect("gauges");
    assert_eq!(g.most_overdue, None);
}

async fn connect(url: &str) -> StoreError {
    let cfg = DatabaseConfig {
        url: url.to_owned(),
        max_connections: 2,
    };
    match Store::connect(&cfg).await {
        Ok(_) => panic!("{url} connected"),
        Err(e) => e,
    }
}

/// A port on 127.0.0.1 nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[tokio::test]
async fn a_refused_connection_says_refused_at_once() {
    let port = closed_port();
    let started = Instant::now();
    let e = connect(&format!("postgres://wirefeed:pw@127.0.0.1:{port}/news")).await;
    let text = e.to_string();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        text.contains(&format!("connection refused by 127.0.0.1:{port}")),
        "{text}"
    );
    assert_eq!(text.to_lowercase().matches("refused").count(), 1, "{text}");
    assert!(!text.contains("pw@"), "{text}");
    assert!(e.is_unreachable(), "a refused database is waited for");
}

#[tokio::test]
async fn an_unknown_host_is_named() {
    let e = connect("postgres://wirefeed@no-such-host.invalid/news").await;
    let text = e.to_string();
    assert!(
        text.contains("unknown host `no-such-host.invalid`"),
        "{text}"
    );
    assert_eq!(text.matches("resolve").count(), 1, "{text}");
}

#[tokio::test]
async fn a_missing_postgres_database_is_named() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let mut url = url::Url::parse(&db.url).expect("url");
    url.set_path("wirefeed_no_such_database");
    let e = connect(url.as_str()).await;
    let text = e.to_string();
    assert!(
        text.contains("database `wirefeed_no_such_database` does not exist"),
        "{text}"
    );
    assert_eq!(text.matches("does not exist").count(), 1, "{text}");
    assert!(!e.is_unreachable(), "a missing database is not waited for");
    db.cleanup().await;
}

#[tokio::test]
async fn sqlite_in_a_missing_directory_names_the_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no/such");
    let e = connect(&format!("sqlite://{}/wirefeed.db", missing.display())).await;
    let text = e.to_string();
    assert!(
        text.contains(&format!(
            "the directory {} does not exist",
            missing.display()
        )),
        "{text}"
    );
    assert!(!text.contains("unable to open database file"), "{text}");
}

#[tokio::test]
async fn an_unreadable_sqlite_file_names_the_path_and_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("wirefeed.db");
    std::fs::write(&file, b"").expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let url = format!("sqlite://{}", file.display());
    let text = if std::fs::File::open(&file).is_err() {
        connect(&url).await.to_string()
    } else {
        // Root reads any file: run the binary as `nobody` instead, where that is possible (the
        // words are also tested on a built error in `store::open`'s unit tests).
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let out = Command::new("runuser")
            .args([
                "-u",
                "nobody",
                "--",
                env!("CARGO_BIN_EXE_wirefeed"),
                "migrate",
            ])
            .env("WIREFEED_DATABASE_URL", &url)
            .env_remove("WIREFEED_CONFIG")
            .current_dir(dir.path())
            .output();
        match out {
            Ok(out) if out.status.code() == Some(1) => {
                String::from_utf8_lossy(&out.stderr).into_owned()
            }
            other => {
                eprintln!("skipping: cannot run as another user: {other:?}");
                return;
            }
        }
    };
    for want in [
        "permission denied",
        "cannot read and write",
        file.display().to_string().as_str(),
        "chown",
    ] {
        assert!(text.contains(want), "{want} missing from {text}");
    }
    assert!(!text.contains("unable to open database file"), "{text}");
}

/// What the binary prints: the cause once, whichever command meets it.
#[test]
fn printed_database_errors_carry_their_cause_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = closed_port();
    let config = write_config(
        dir.path(),
        &format!("postgres://nobody@127.0.0.1:{port}/none"),
        "",
        &[],
    );
    for args in [&["migrate"][..], &["run", "--once"], &["feeds", "list"]] {
        let out = wirefeed(&config, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.to_lowercase().matches("refused").count(),
            1,
            "{args:?}: {err}"
        );
        assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    }
    let missing = dir.path().join("gone");
    let config = write_config(
        dir.path(),
        &format!("sqlite://{}/w.db", missing.display()),
        "",
        &[],
    );
    for args in [&["migrate"][..], &["run"]] {
        let out = wirefeed(&config, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.matches("does not exist").count(), 1, "{args:?}: {err}");
        assert!(err.contains(&missing.display().to_string()), "{err}");
    }
}

/// A daemon started before its database waits for it, and says precisely why it waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_daemon_logs_the_precise_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = closed_port();
    let config = write_config(
        dir.path(),
        &format!("postgres://nobody@127.0.0.1:{port}/none"),
        "",
        &[],
    );
    let daemon = Daemon::start(&config, &[]);
    daemon
        .wait_for("the waiting line", |lines| {
            lines.iter().any(|l| {
                l.contains("waiting for it")
                    && l.contains(&format!("connection refused by 127.0.0.1:{port}"))
            })
        })
        .await;
    let (code, lines) = daemon.stop().await;
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
    assert!(
        !lines.iter().any(|l| l.contains("pool timed out")),
        "{}",
        lines.join("\n")
    );
}

/// A database lost while running: the pool retries a refused connection until its timeout and
/// says only that it timed out (or a query meets the cut connection); `explain` names the cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_lost_while_running_is_named_not_timed_out() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let proxy = common::TcpProxy::start(common::pg_addr(&db.url)).await;
    let cfg = DatabaseConfig {
        url: proxy.url_for(&db.url),
        max_connections: 1,
    };
    let store = Store::connect(&cfg).await.expect("connect");
    store.ping().await.expect("ping");
    proxy.cut();
    let deadline = Instant::now() + Duration::from_secs(30);
    let e = loop {
        match store.ping().await {
            Err(e) => break e,
            Ok(()) => {
                assert!(Instant::now() < deadline, "the cut was never noticed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let text = store.explain(e).await.to_string();
    assert!(
        text.contains(&format!(
            "connection refused by 127.0.0.1:{}",
            proxy.addr.port()
        )),
        "{text}"
    );
    assert!(!text.contains("pool timed out"), "{text}");
    // Explaining never hides an error it cannot explain.
    proxy.restore().await;
    let other = store
        .explain(StoreError::Conflict("lost a race".to_owned()))
        .await;
    assert_eq!(other.to_string(), "lost a race");
    db.cleanup().await;
}
