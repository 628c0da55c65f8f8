//! The read commands (`stories`, `feeds list`, `feeds export`): they open the database read-only,
//! never create or migrate it, say clearly when it is missing or not migrated, and end quietly
//! with exit 0 when their reader closes the pipe (`wirefeed stories --json | head -1`).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{config, databases, FeedServer, Route, TestDb};
use wirefeed::daemon::App;
use wirefeed::store::{DefinedIn, NewFeed, Store};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wirefeed"));
    c.env_remove("WIREFEED_DATABASE_URL")
        .env_remove("WIREFEED_CONFIG")
        .env_remove("RUST_LOG");
    c
}

fn wirefeed(config: &Path, args: &[&str]) -> Output {
    bin()
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run wirefeed")
}

fn write_config(dir: &Path, db_url: &str) -> PathBuf {
    let path = dir.join("wirefeed.toml");
    std::fs::write(&path, format!("[database]\nurl = \"{db_url}\"\n")).expect("write config");
    path
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Each read command on a SQLite path where no file is: exit 1, a message naming the absolute
/// path and the config that chose it, and nothing created.
#[test]
fn a_missing_database_is_named_and_never_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("absent.db");
    let cfg = write_config(dir.path(), &format!("sqlite://{}", db.display()));
    for args in [
        &["stories"][..],
        &["stories", "--json"],
        &["feeds", "list"],
        &["feeds", "export"],
    ] {
        let out = wirefeed(&cfg, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("no database file at {}", db.display())),
            "{args:?}: {err}"
        );
        assert!(err.contains(&cfg.display().to_string()), "{err}");
        assert!(err.contains("wirefeed migrate"), "{err}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert_eq!(files_in(dir.path()), ["wirefeed.toml"], "{args:?}");
    }

    // Without --config, from another directory: the default relative path, made absolute, and
    // no `./wirefeed.db` left behind.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let out = bin()
        .arg("stories")
        .current_dir(elsewhere.path())
        .output()
        .expect("run wirefeed");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = stderr(&out);
    let expected = elsewhere.path().join("wirefeed.db");
    assert!(
        err.contains(&expected.display().to_string()),
        "names {}: {err}",
        expected.display()
    );
    assert!(err.contains("no --config given"), "{err}");
    assert!(files_in(elsewhere.path()).is_empty());
}

/// A database without wirefeed's schema (an empty file, a fresh PostgreSQL database) is not
/// migrated by a read command: it says to run `wirefeed migrate`, and the database stays empty.
#[tokio::test]
async fn an_unmigrated_database_says_to_migrate_first() {
    for db in databases().await {
        if let Some(dir) = db.dir() {
            std::fs::write(dir.join("wirefeed.db"), b"").expect("empty file");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = write_config(dir.path(), &db.url);
        for args in [&["stories"][..], &["feeds", "list"], &["feeds", "export"]] {
            let out = wirefeed(&cfg, args);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{}: {args:?}: {out:?}",
                db.backend
            );
            let err = stderr(&out);
            assert!(
                err.contains("no wirefeed schema")
                    && err.contains("run `wirefeed migrate` (or start the daemon) first"),
                "{}: {err}",
                db.backend
            );
            assert!(!err.contains("no such table"), "{err}");
        }
        // Still unmigrated: a read-only open finds no schema yet.
        let e = Store::open_read_only(&config(&db.url, &[]).database)
            .await
            .err()
            .expect("still no schema");
        assert!(e.to_string().contains("no wirefeed schema"), "{e}");
        if let Some(dir) = db.dir() {
            assert_eq!(
                std::fs::metadata(dir.join("wirefeed.db"))
                    .expect("file")
                    .len(),
                0,
                "the empty file stays empty"
            );
        }
        db.cleanup().await;
    }
}

/// The pool a read command gets cannot write: SQLite opened `SQLITE_OPEN_READONLY`, PostgreSQL
/// sessions `default_transaction_read_only`.
#[tokio::test]
async fn the_read_only_store_refuses_writes() {
    for db in databases().await {
        let cfg = config(&db.url, &[]);
        {
            let rw = Store::connect(&cfg.database).await.expect("connect");
            rw.migrate().await.expect("migrate");
        }
        let ro = Store::open_read_only(&cfg.database)
            .await
            .expect("opens read-only");
        assert!(ro.list_feeds().await.expect("reads").is_empty());
        let e = ro
            .upsert_feed(
                &NewFeed {
                    url: "https://example.com/feed",
                    source: "Example",
                    is_wire: false,
                    full_text: false,
                    defined_in: DefinedIn::Cli,
                    title: None,
                },
                chrono::Utc::now(),
            )
            .await
            .expect_err("a write through the read-only pool fails");
        let msg = e.to_string();
        assert!(
            msg.contains("readonly") || msg.contains("read-only"),
            "{}: {msg}",
            db.backend
        );
        db.cleanup().await;
    }
}

/// A stored database whose file and directory are not writable is read; the read commands
/// change neither the file's bytes nor its mtime. As root (where permissions are not enforced)
/// the commands also run as `nobody`, for whom they are.
#[tokio::test]
async fn read_commands_read_a_write_protected_database_without_changing_it() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::sqlite();
    let server = FeedServer::start().await;
    let feed = server.fixture("/outlet.xml", "rss2_outlet_reprint_of_ap.xml");
    {
        let app = App::build(config(&db.url, &[(&feed, "The Example Times", false)]))
            .await
            .expect("app builds");
        app.run_once().await.expect("pass");
    }
    let dir = db.dir().expect("sqlite dir");
    let file = dir.join("wirefeed.db");
    // What a cleanly stopped daemon leaves: the WAL folded into the file, no -wal or -shm.
    {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&db.url)
            .await
            .expect("connect");
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut c)
            .await
            .expect("checkpoint");
        c.close().await.expect("close");
    }
    for side in ["wirefeed.db-wal", "wirefeed.db-shm"] {
        let _ = std::fs::remove_file(dir.join(side));
    }
    let cfg = write_config(&dir, &db.url);
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let before = (
        std::fs::read(&file).expect("read"),
        std::fs::metadata(&file)
            .expect("meta")
            .modified()
            .expect("mtime"),
    );

    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mut runs: Vec<Vec<String>> = vec![Vec::new()];
    if is_root && Path::new("/usr/bin/setpriv").exists() {
        runs.push(
            [
                "/usr/bin/setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ]
            .map(str::to_owned)
            .to_vec(),
        );
    }
    for prefix in &runs {
        for args in [
            &["stories", "--json"][..],
            &["feeds", "list", "--json"],
            &["feeds", "export"],
        ] {
            let mut cmd = match prefix.split_first() {
                Some((p, rest)) => {
                    let mut c = Command::new(p);
                    c.args(rest).arg(env!("CARGO_BIN_EXE_wirefeed"));
                    c
                }
                None => Command::new(env!("CARGO_BIN_EXE_wirefeed")),
            };
            let out = cmd
                .env_remove("WIREFEED_DATABASE_URL")
                .env_remove("RUST_LOG")
                .arg("--config")
                .arg(&cfg)
                .args(args)
                .output()
                .expect("run wirefeed");
            assert!(out.status.success(), "{prefix:?} {args:?}: {out:?}");
            let text = String::from_utf8_lossy(&out.stdout);
            match args[0] {
                "stories" => assert_eq!(text.lines().count(), 2, "{prefix:?}: {text}"),
                _ => assert!(text.contains(&feed), "{prefix:?} {args:?}: {text}"),
            }
        }
    }
    let after = (
        std::fs::read(&file).expect("read"),
        std::fs::metadata(&file)
            .expect("meta")
            .modified()
            .expect("mtime"),
    );
    assert!(before.0 == after.0, "the database file's bytes changed");
    assert_eq!(before.1, after.1, "the database file's mtime changed");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod back");
}

/// An RSS document of `n` items, each with a paragraph of text long enough that `stories
/// --json` prints far more than a pipe holds.
fn many_items(n: usize) -> Vec<u8> {
    let mut doc = String::from(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Many</title><link>https://many.example/</link>",
    );
    for i in 0..n {
        doc.push_str(&format!(
            "<item><guid>item-{i}</guid><title>Story number {i} about the harbour</title>\
             <link>https://many.example/story/{i}</link>\
             <pubDate>Thu, 11 Jan 2024 {:02}:{:02}:00 GMT</pubDate>\
             <description>Item {i}: the harbour authority said on Thursday that ships would \
             again be allowed to dock at the northern pier after repairs that took three \
             months and cost more than planned, and that the southern pier stays closed \
             until spring while divers inspect its foundations, number {i}.</description></item>",
            (i / 60) % 24,
            i % 60
        ));
    }
    doc.push_str("</channel></rss>");
    doc.into_bytes()
}

/// `stories --json | head -1`, `feeds list | head -1`, and a reader that is gone before the
/// first line: exit 0, nothing on stderr.
#[tokio::test]
async fn a_closed_pipe_ends_the_command_quietly() {
    let db = TestDb::sqlite();
    let server = FeedServer::start().await;
    let feed = server.route(
        "/many.xml",
        Route::Respond {
            status: 200,
            headers: vec![("content-type", "application/rss+xml".to_owned())],
            body: many_items(400),
        },
    );
    {
        let app = App::build(config(&db.url, &[(&feed, "Many", false)]))
            .await
            .expect("app builds");
        let s = app.run_once().await.expect("pass");
        assert_eq!(s.new_stories, 400);
    }
    let dir = db.dir().expect("dir");
    let cfg = write_config(&dir, &db.url);
    let spawn = |args: &[&str]| {
        bin()
            .arg("--config")
            .arg(&cfg)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn wirefeed")
    };

    // Output far beyond a pipe's buffer: one line read, then the reader goes.
    let mut child = spawn(&["stories", "--json", "--limit", "400"]);
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first line");
    assert!(first.starts_with('{'), "{first}");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));

    // A reader gone before anything was written.
    for args in [
        &["stories", "--json"][..],
        &["stories"],
        &["feeds", "list"],
        &["feeds", "export"],
        &["regions"],
    ] {
        let mut child = spawn(args);
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(out.stderr.is_empty(), "{args:?}: {}", stderr(&out));
    }
}
