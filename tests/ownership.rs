//! Who owns a feed, the config file or the command line, through the real binary: a config feed
//! that a permanent redirect moved is followed (not added again at its old address) with a
//! warning naming the config line to update; `feeds add`/`feeds remove` refuse to change what the
//! config file defines; `feeds list` and `feeds export` show paused and moved feeds.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{databases, FeedServer, Route};

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

fn write_config(dir: &Path, db_url: &str, feeds: &[(&str, &str)]) -> PathBuf {
    let mut text = format!(
        "# wirefeed test config\n[database]\nurl = \"{db_url}\"\n[fetch]\nallow_private_networks = true\ntimeout_secs = 5\n"
    );
    for (url, source) in feeds {
        text.push_str(&format!(
            "\n[[feeds]]\nurl = \"{url}\"\nsource = \"{source}\"\n"
        ));
    }
    let path = dir.join("wirefeed.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn list(cfg: &Path) -> Vec<serde_json::Value> {
    let out = wirefeed(cfg, &["feeds", "list", "--json"]);
    assert!(out.status.success(), "{out:?}");
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

const SOURCE: &str = "The Example Times";
const TITLE: &str = "World | The Example Times";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_config_feed_is_followed_and_the_config_line_named() {
    for db in databases().await {
        let server = FeedServer::start().await;
        let new = server.fixture("/new.xml", "rss2_outlet_reprint_of_ap.xml");
        let old = server.route(
            "/old.xml",
            Route::Respond {
                status: 301,
                headers: vec![("location", new.clone())],
                body: Vec::new(),
            },
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = write_config(dir.path(), &db.url, &[(&old, SOURCE)]);
        let line = std::fs::read_to_string(&cfg)
            .expect("config")
            .lines()
            .position(|l| l == format!("url = \"{old}\""))
            .expect("url line")
            + 1;

        // First start: the redirect moves the feed.
        let out = wirefeed(&cfg, &["run", "--once"]);
        assert!(out.status.success(), "{}: {out:?}", db.backend);
        let feeds = list(&cfg);
        assert_eq!(feeds.len(), 1, "{feeds:?}");
        let f = &feeds[0];
        assert_eq!(f["url"], new.as_str());
        assert_eq!(f["moved_from"], old.as_str());
        assert_eq!(f["status"], "active");
        assert_eq!(f["defined_in"], "config");
        assert_eq!(f["title"], TITLE);
        assert_eq!(f["stories"], 2);
        assert!(f["moved_at"].is_string(), "{f}");
        assert_eq!(server.requests("/old.xml"), 1);

        // Second start, config unchanged: the old URL maps to the moved feed, which stays active
        // with its stories; the old URL is neither added nor polled; a warning names the line.
        let out = wirefeed(&cfg, &["run", "--once"]);
        assert!(out.status.success(), "{}: {out:?}", db.backend);
        let log = text(&out.stdout);
        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
        let warning = format!(
            "config {} line {line}: feed {old} moved to {new} (permanent redirect on {today}); update the url",
            cfg.display()
        );
        assert!(
            log.contains(&warning),
            "{}: wants {warning}\n{log}",
            db.backend
        );
        let feeds = list(&cfg);
        assert_eq!(
            feeds.len(),
            1,
            "{}: old URL re-added: {feeds:?}",
            db.backend
        );
        assert_eq!(feeds[0]["url"], new.as_str());
        assert_eq!(feeds[0]["status"], "active");
        assert_eq!(feeds[0]["stories"], 2);
        assert_eq!(
            server.requests("/old.xml"),
            1,
            "the old URL was polled again"
        );
        assert_eq!(server.requests("/new.xml"), 2);

        // The command line may not change or remove what the config file defines.
        let refused = |args: &[&str], wants: &str| {
            let out = wirefeed(&cfg, args);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
            let err = text(&out.stderr);
            assert!(err.contains(wants), "{args:?}: wants {wants}: {err}");
        };
        let owner = format!("is defined in {} line {line}", cfg.display());
        refused(&["feeds", "remove", &new], &owner);
        refused(&["feeds", "add", &new, "--source", "Someone Else"], &owner);
        refused(
            &["feeds", "add", &new, "--source", SOURCE, "--full-text"],
            &owner,
        );
        refused(&["feeds", "remove", &old], &format!("moved to {new}"));
        refused(
            &["feeds", "add", &old, "--source", SOURCE],
            &format!("moved to {new}"),
        );
        // Adding it as the file has it changes nothing and says so.
        let out = wirefeed(&cfg, &["feeds", "add", &new, "--source", SOURCE]);
        assert!(out.status.success(), "{out:?}");
        assert!(text(&out.stdout).contains("unchanged"), "{out:?}");
        let feeds = list(&cfg);
        assert_eq!(feeds.len(), 1);
        assert_eq!(feeds[0]["source"], SOURCE);
        assert_eq!(feeds[0]["full_text"], false);

        // The export keeps the feed's own title and says where it moved from.
        let out = wirefeed(&cfg, &["feeds", "export"]);
        assert!(out.status.success(), "{out:?}");
        let opml = text(&out.stdout);
        assert!(opml.contains(&format!("title=\"{TITLE}\"")), "{opml}");
        assert!(
            opml.contains(&format!("wirefeedMovedFrom=\"{old}\"")),
            "{opml}"
        );
        assert!(!opml.contains("wirefeedStatus"), "{opml}");
        let parsed = wirefeed::opml::parse(&opml).expect("export parses");
        assert_eq!(
            parsed.feeds.len(),
            1,
            "config URL not exported twice: {opml}"
        );

        // The feed leaves the config file: paused with its stories, shown as such, and now the
        // command line may take it over or remove it.
        let cfg = write_config(dir.path(), &db.url, &[]);
        let out = wirefeed(&cfg, &["run", "--once"]);
        assert!(out.status.success(), "{out:?}");
        let out = wirefeed(&cfg, &["feeds", "list"]);
        assert!(out.status.success(), "{out:?}");
        let table = text(&out.stdout);
        let row = table
            .lines()
            .find(|l| l.contains(&new))
            .unwrap_or_else(|| panic!("{table}"));
        assert!(row.contains("paused") && row.contains("config"), "{row}");
        assert!(row.contains(&format!("(moved from {old})")), "{row}");
        let out = wirefeed(&cfg, &["feeds", "export"]);
        let opml = text(&out.stdout);
        assert!(opml.contains("wirefeedStatus=\"paused\""), "{opml}");
        let parsed = wirefeed::opml::parse(&opml).expect("export parses");
        assert!(parsed.feeds[0].paused);

        let out = wirefeed(&cfg, &["feeds", "add", &new, "--source", SOURCE]);
        assert!(out.status.success(), "{out:?}");
        let feeds = list(&cfg);
        assert_eq!(feeds[0]["defined_in"], "cli");
        assert_eq!(feeds[0]["status"], "active");
        assert_eq!(feeds[0]["stories"], 2);
        let out = wirefeed(&cfg, &["feeds", "remove", &new]);
        assert!(out.status.success(), "{out:?}");
        assert!(list(&cfg).is_empty());
        db.cleanup().await;
    }
}

/// Without --config, an active config feed cannot be removed either: the command does not
/// know the daemon's file, and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_feed_is_not_removed_without_its_config() {
    let server = FeedServer::start().await;
    let feed = server.fixture("/feed.xml", "rss2_outlet_reprint_of_ap.xml");
    let dir = tempfile::tempdir().expect("tempdir");
    let db_url = format!("sqlite://{}", dir.path().join("w.db").display());
    let cfg = write_config(dir.path(), &db_url, &[(&feed, SOURCE)]);
    assert!(wirefeed(&cfg, &["run", "--once"]).status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .args(["feeds", "remove", &feed])
        .env("WIREFEED_DATABASE_URL", &db_url)
        .env_remove("WIREFEED_CONFIG")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("the daemon's config file"), "{err}");
    assert_eq!(list(&cfg).len(), 1);
}

/// A database an earlier wirefeed left in the broken state (the old URL added again beside the
/// moved feed, which the same start paused) is repaired by the next start: the moved feed is
/// active again with its stories, the re-added old URL paused, and the sync reports the move.
#[tokio::test]
async fn a_start_repairs_a_moved_feed_that_an_older_start_paused() {
    use wirefeed::daemon::App;
    use wirefeed::store::{DefinedIn, NewFeed};
    for db in databases().await {
        let server = FeedServer::start().await;
        let new = server.fixture("/new.xml", "rss2_outlet_reprint_of_ap.xml");
        let old = server.route(
            "/old.xml",
            Route::Respond {
                status: 301,
                headers: vec![("location", new.clone())],
                body: Vec::new(),
            },
        );
        let cfg = common::config(&db.url, &[(&old, SOURCE, false)]);
        {
            let app = App::build(cfg.clone()).await.expect("app builds");
            app.run_once().await.expect("pass");
            // What the old sync did at the next start: the old URL added again, the moved feed
            // (no longer named by the config) paused.
            app.store()
                .upsert_feed(
                    &NewFeed {
                        url: &old,
                        source: SOURCE,
                        is_wire: false,
                        full_text: false,
                        defined_in: DefinedIn::Config,
                        title: None,
                    },
                    chrono::Utc::now(),
                )
                .await
                .expect("re-add");
            assert!(app.store().pause_feed(&new).await.expect("pause"));
        }
        let app = App::build(cfg.clone()).await.expect("app builds again");
        let feeds = common::feeds_by_url(&app).await;
        assert_eq!(feeds[&new].status, "active", "{}", db.backend);
        assert_eq!(feeds[&new].stories, 2);
        assert_eq!(feeds[&old].status, "paused", "{}", db.backend);
        let moved = app
            .store()
            .sync_config_feeds(&cfg.feeds, chrono::Utc::now())
            .await
            .expect("sync");
        assert_eq!(moved.len(), 1);
        assert_eq!(
            (moved[0].config_url.as_str(), moved[0].url.as_str()),
            (old.as_str(), new.as_str())
        );
        assert!(moved[0].moved_at.is_some());
        db.cleanup().await;
    }
}

/// `feeds import` of an export restores each feed's title and paused state, and an outline
/// whose URL a stored feed moved away from is already present.
#[test]
fn an_import_restores_titles_and_paused_feeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_url = format!("sqlite://{}", dir.path().join("w.db").display());
    let cfg = write_config(dir.path(), &db_url, &[]);
    assert!(wirefeed(&cfg, &["migrate"]).status.success());
    let opml = dir.path().join("feeds.opml");
    std::fs::write(
        &opml,
        r#"<?xml version="1.0"?><opml version="2.0"><body>
  <outline text="Outlet"><outline type="rss" text="Paused &amp; quiet" title="Paused &amp; quiet" xmlUrl="https://p.example/rss" wirefeedSource="Outlet" wirefeedWire="false" wirefeedFullText="false" wirefeedTitle="Paused &amp; quiet" wirefeedStatus="paused"/>
  <outline type="rss" text="Outlet" title="Outlet" xmlUrl="https://a.example/rss" wirefeedSource="Outlet" wirefeedWire="false" wirefeedFullText="false"/></outline>
</body></opml>"#,
    )
    .expect("write opml");
    let out = wirefeed(&cfg, &["feeds", "import", &opml.display().to_string()]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        text(&out.stdout)
            .contains("2 feeds, 2 added, 0 already present, 0 outlines skipped, 1 of them paused"),
        "{out:?}"
    );
    let feeds = list(&cfg);
    let by = |url: &str| {
        feeds
            .iter()
            .find(|f| f["url"] == url)
            .unwrap_or_else(|| panic!("{url}: {feeds:?}"))
    };
    assert_eq!(by("https://p.example/rss")["status"], "paused");
    assert_eq!(by("https://p.example/rss")["title"], "Paused & quiet");
    assert_eq!(by("https://p.example/rss")["defined_in"], "cli");
    assert_eq!(by("https://a.example/rss")["status"], "active");
    assert!(by("https://a.example/rss")["title"].is_null());
    // Exported again: the same marks.
    let out = wirefeed(&cfg, &["feeds", "export"]);
    let again = wirefeed::opml::parse(&text(&out.stdout)).expect("parses");
    let p = again
        .feeds
        .iter()
        .find(|f| f.url == "https://p.example/rss")
        .expect("exported");
    assert!(p.paused);
    assert_eq!(p.title.as_deref(), Some("Paused & quiet"));
    // `feeds add` resumes a paused feed the command line owns.
    let out = wirefeed(
        &cfg,
        &[
            "feeds",
            "add",
            "https://p.example/rss",
            "--source",
            "Outlet",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        list(&cfg)
            .iter()
            .find(|f| f["url"] == "https://p.example/rss")
            .expect("feed")["status"],
        "active"
    );
}

/// A feed that moved twice (A to B, then B to C) is still the one a config naming A means.
#[tokio::test]
async fn a_feed_moved_twice_is_found_from_its_first_address() {
    use wirefeed::daemon::App;
    for db in databases().await {
        let server = FeedServer::start().await;
        let c = server.fixture("/c.xml", "rss2_outlet_reprint_of_ap.xml");
        let b = server.fixture("/b.xml", "rss2_outlet_reprint_of_ap.xml");
        let redirect = |to: &str| Route::Respond {
            status: 301,
            headers: vec![("location", to.to_owned())],
            body: Vec::new(),
        };
        let a = server.route("/a.xml", redirect(&b));
        let cfg = common::config(&db.url, &[(&a, SOURCE, false)]);
        {
            let app = App::build(cfg.clone()).await.expect("app builds");
            app.run_once().await.expect("first pass");
            assert!(common::feeds_by_url(&app).await.contains_key(&b));
        }
        server.route("/b.xml", redirect(&c));
        {
            let app = App::build(cfg.clone()).await.expect("app builds");
            app.run_once().await.expect("second pass");
            let feeds = common::feeds_by_url(&app).await;
            assert_eq!(feeds.len(), 1, "{}: {:?}", db.backend, feeds.keys());
            assert_eq!(feeds[&c].moved_from.as_deref(), Some(b.as_str()));
        }
        let app = App::build(cfg.clone()).await.expect("third start");
        let feeds = common::feeds_by_url(&app).await;
        assert_eq!(
            feeds.len(),
            1,
            "{}: A re-added: {:?}",
            db.backend,
            feeds.keys()
        );
        assert_eq!(feeds[&c].status, "active");
        assert_eq!(feeds[&c].stories, 2);
        let moved = app
            .store()
            .sync_config_feeds(&cfg.feeds, chrono::Utc::now())
            .await
            .expect("sync");
        assert_eq!(
            moved
                .iter()
                .map(|m| (m.config_url.as_str(), m.url.as_str()))
                .collect::<Vec<_>>(),
            [(a.as_str(), c.as_str())]
        );
        db.cleanup().await;
    }
}
