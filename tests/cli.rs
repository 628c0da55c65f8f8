//! The real `wirefeed` binary: check, run --once, stories --json, feeds, and SIGTERM.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{FeedServer, TestDb};

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

fn write_config(dir: &Path, db_url: &str, feeds: &[(&str, &str, bool)]) -> std::path::PathBuf {
    let mut text = format!(
        "[database]\nurl = \"{db_url}\"\n[fetch]\nallow_private_networks = true\ntimeout_secs = 5\n[daemon]\ntick_secs = 1\n"
    );
    for (url, source, wire) in feeds {
        text.push_str(&format!(
            "[[feeds]]\nurl = \"{url}\"\nsource = \"{source}\"\nwire = {wire}\n"
        ));
    }
    let path = dir.join("wirefeed.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// Waits (bounded) for a spawned daemon to exit.
async fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        assert!(Instant::now() < deadline, "daemon did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

#[test]
fn check_accepts_the_shipped_config_and_reports_every_problem_of_a_bad_one() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/wirefeed.toml");
    let out = wirefeed(&shipped, &["check"]);
    assert!(out.status.success(), "{out:?}");

    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[fetch]\ntimeout_secs = 0\nconcurency = 4\n[[feeds]]\nurl = \"ftp://x/\"\nsource = \"X\"\n",
    )
    .expect("write");
    let out = wirefeed(&bad, &["check"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 3: fetch.concurency: unknown key"),
        "{err}"
    );

    std::fs::write(
        &bad,
        "[fetch]\ntimeout_secs = 0\n[[feeds]]\nurl = \"ftp://x/\"\nsource = \"\"\n",
    )
    .expect("write");
    let out = wirefeed(&bad, &["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in ["fetch.timeout_secs", "feeds[0].url", "feeds[0].source"] {
        assert!(err.contains(want), "{want} missing from: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_then_stories_and_feeds_as_json() {
    let db = TestDb::sqlite();
    let dir = db.dir().expect("sqlite dir");
    let server = FeedServer::start().await;
    let rss = server.fixture("/rss2.xml", "rss2_html_description.xml");
    let cp = server.fixture("/cp1250.xml", "windows1250.xml");
    let dead = server.url("/missing.xml");
    let config = write_config(
        &dir,
        &db.url,
        &[
            (&rss, "The Example Times", false),
            (&cp, "Vesti", false),
            (&dead, "Dead", false),
        ],
    );

    let out = tokio::task::spawn_blocking({
        let c = config.clone();
        move || wirefeed(&c, &["run", "--once"])
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "a failing feed never fails --once: {out:?}"
    );

    let c = config.clone();
    let out = tokio::task::spawn_blocking(move || wirefeed(&c, &["stories", "--json"]))
        .await
        .expect("join");
    assert!(out.status.success(), "{out:?}");
    let stories = json_lines(&out);
    assert_eq!(stories.len(), 4);
    for s in &stories {
        for field in [
            "id",
            "key",
            "feed_url",
            "source",
            "url",
            "title",
            "published",
            "updated",
            "authors",
            "language",
            "wire_service",
            "dateline",
            "body",
            "cluster",
            "origin",
            "countries",
            "regions",
            "topics",
        ] {
            assert!(s.get(field).is_some(), "{field} missing in {s}");
        }
        assert!(s["published"].as_str().is_some_and(|p| p.ends_with('Z')));
    }
    // Newest first.
    let published: Vec<&str> = stories
        .iter()
        .filter_map(|s| s["published"].as_str())
        .collect();
    let mut sorted = published.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(published, sorted);

    let c = config.clone();
    let out = tokio::task::spawn_blocking(move || wirefeed(&c, &["feeds", "list", "--json"]))
        .await
        .expect("join");
    let feeds = json_lines(&out);
    assert_eq!(feeds.len(), 3);
    let dead_row = feeds
        .iter()
        .find(|f| f["url"] == dead.as_str())
        .expect("dead feed listed");
    assert_eq!(dead_row["last_error"], "http_4xx");
    assert_eq!(dead_row["last_status"], 404);
    assert_eq!(dead_row["status"], "active");

    // feeds add / remove.
    let c = config.clone();
    let extra = server.fixture("/extra.xml", "rss1_rdf.xml");
    let e = extra.clone();
    let out = tokio::task::spawn_blocking(move || {
        wirefeed(&c, &["feeds", "add", &e, "--source", "AP", "--wire"])
    })
    .await
    .expect("join");
    assert!(out.status.success(), "{out:?}");
    let c = config.clone();
    let out = tokio::task::spawn_blocking(move || wirefeed(&c, &["feeds", "list", "--json"]))
        .await
        .expect("join");
    let added = json_lines(&out)
        .into_iter()
        .find(|f| f["url"] == extra.as_str())
        .expect("added feed listed");
    assert_eq!(added["wire"], true);
    let c = config.clone();
    let e = extra.clone();
    let out = tokio::task::spawn_blocking(move || wirefeed(&c, &["feeds", "remove", &e]))
        .await
        .expect("join");
    assert!(out.status.success(), "{out:?}");
    let c = config.clone();
    let out = tokio::task::spawn_blocking(move || wirefeed(&c, &["feeds", "remove", &extra]))
        .await
        .expect("join");
    assert_eq!(out.status.code(), Some(1), "removing twice is an error");
    let c = config.clone();
    let out = tokio::task::spawn_blocking(move || {
        wirefeed(&c, &["feeds", "add", "file:///etc/passwd", "--source", "X"])
    })
    .await
    .expect("join");
    assert!(!out.status.success());
}

#[test]
fn an_unreachable_database_fails_run_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "postgres://nobody@127.0.0.1:1/none", &[]);
    let out = wirefeed(&config, &["run", "--once"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_exits_zero_on_sigterm() {
    let db = TestDb::sqlite();
    let dir = db.dir().expect("sqlite dir");
    let server = FeedServer::start().await;
    let url = server.fixture("/f.xml", "rss_no_version.xml");
    let config = write_config(&dir, &db.url, &[(&url, "Gazette", false)]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env_remove("WIREFEED_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn daemon");
    // Wait (bounded) until the daemon has polled the feed once.
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.requests("/f.xml") == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.requests("/f.xml"), 1, "the daemon polled");
    // Give the refresh a moment to commit, then stop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert_eq!(wait_exit(&mut child).await.code(), Some(0));
    let c = config.clone();
    let out = tokio::task::spawn_blocking(move || wirefeed(&c, &["stories", "--json"]))
        .await
        .expect("join");
    assert_eq!(json_lines(&out).len(), 2);
}

#[test]
fn inspect_shows_what_would_be_stored_in_the_shape_of_stories_json() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "sqlite://unused.db", &[]);
    let file = fixtures.join("rss2_outlet_reprint_of_ap.xml");
    let out = wirefeed(
        &config,
        &[
            "inspect",
            file.to_str().expect("utf-8 path"),
            "--source",
            "The Example Times",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let stories = json_lines(&out);
    assert_eq!(stories.len(), 2);
    let k = &stories[0];
    assert_eq!(k["wire_service"], "AP");
    assert_eq!(k["dateline"], "BELGRADE, Serbia");
    assert_eq!(k["source"], "The Example Times");
    assert!(k["id"].is_null());
    assert!(k["body"]
        .as_str()
        .is_some_and(|b| b.starts_with("The United States has received")));
    assert!(
        !dir.path().join("unused.db").exists(),
        "inspect needs no database"
    );

    // The same keys as `stories --json`.
    let db = TestDb::sqlite();
    let stored_config = write_config(&db.dir().expect("dir"), &db.url, &[]);
    let out = wirefeed(&stored_config, &["migrate"]);
    assert!(out.status.success(), "{out:?}");
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    let want = [
        "authors",
        "body",
        "canonical_url",
        "cluster",
        "countries",
        "dateline",
        "feed_url",
        "id",
        "is_reprint",
        "key",
        "language",
        "origin",
        "published",
        "regions",
        "source",
        "title",
        "topics",
        "updated",
        "url",
        "version",
        "wire_service",
    ];
    // inspect adds the tagger's explanation (which words counted) to the stored shape.
    let mut inspected = keys(k);
    inspected.retain(|key| key != "explanation");
    assert_eq!(inspected, want);
    assert!(k["explanation"].is_array(), "{k}");

    // windows-1250, and a file that is not a feed.
    let out = wirefeed(
        &config,
        &[
            "inspect",
            fixtures.join("windows1250.xml").to_str().expect("path"),
        ],
    );
    let s = json_lines(&out);
    assert_eq!(s[0]["title"], "Vučić: Srbija će nastaviti da čuva mir");
    let out = wirefeed(
        &config,
        &[
            "inspect",
            fixtures.join("html_page.html").to_str().expect("path"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a feed"));
}

#[test]
fn eval_extract_scores_a_benchmark_folder_and_ends_with_a_json_line() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("html")).expect("html dir");
    let article = "The council voted on Tuesday to expand the harbour, ending a decade of debate over the plan. Supporters said the project would bring jobs to the town and its surrounding villages. Opponents warned that the cost had doubled since the first estimate and that the money would be better spent elsewhere.";
    let page = format!(
        "<html><head><title>Harbour</title><link rel=\"canonical\" href=\"/harbour\"></head><body><nav><a href=\"/\">Home</a> <a href=\"/news\">News</a></nav><article><h1>Harbour plan approved</h1><p>{article}</p><p>{article}</p></article><footer>Copyright 2024 Example News. All rights reserved.</footer></body></html>"
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(page.as_bytes()).expect("gzip");
    std::fs::write(
        dir.path().join("html/page1.html.gz"),
        gz.finish().expect("gzip"),
    )
    .expect("write page");
    let truth = serde_json::json!({
        "page1": {"articleBody": format!("{article}\n{article}"), "url": "https://news.test/harbour"}
    });
    std::fs::write(dir.path().join("ground-truth.json"), truth.to_string()).expect("truth");
    let config = write_config(dir.path(), "sqlite://unused.db", &[]);
    let out = wirefeed(
        &config,
        &["eval", "extract", dir.path().to_str().expect("path")],
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last: serde_json::Value =
        serde_json::from_str(stdout.lines().last().expect("output")).expect("JSON last line");
    assert_eq!(last["pages"], 1);
    for key in ["precision", "recall", "f1", "pages_per_second"] {
        assert!(last[key].as_f64().is_some(), "{key} in {last}");
    }
    assert!(last["recall"].as_f64().is_some_and(|r| r > 0.9), "{last}");

    let out = wirefeed(&config, &["eval", "extract", "/nonexistent/benchmark"]);
    assert_eq!(out.status.code(), Some(1));
}

/// Reads datagrams from the notify socket until one contains `want` (bounded).
fn wait_notify(
    sock: &std::os::unix::net::UnixDatagram,
    want: &str,
    seen: &mut Vec<String>,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let hit = msg.lines().any(|l| l == want || l.starts_with(want));
            seen.push(msg);
            if hit {
                return true;
            }
        }
    }
    false
}

/// The daemon as systemd runs it: READY, WATCHDOG and STATUS on the notify socket, the admin
/// listener, a feed added to the config file picked up on SIGHUP (an invalid file kept out),
/// STOPPING and exit 0 on SIGTERM. On PostgreSQL when configured, else SQLite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_runs_as_a_notify_service_with_admin_endpoints_and_reload() {
    let db = match TestDb::postgres().await {
        Some(pg) => pg,
        None => TestDb::sqlite(),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = FeedServer::start().await;
    let a = server.fixture("/a.xml", "rss_no_version.xml");
    let b = server.fixture("/b.xml", "rss1_rdf.xml");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let base = write_config(dir.path(), &db.url, &[(&a, "Gazette", false)]);
    // A host name: the daemon resolves it and binds its addresses (127.0.0.1 among them).
    let admin = format!("[admin]\nlisten = \"localhost:{port}\"\n");
    let text = std::fs::read_to_string(&base).expect("config") + &admin;
    std::fs::write(&base, &text).expect("config");

    let notify_path = dir.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&notify_path).expect("notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .arg("--config")
        .arg(&base)
        .arg("run")
        .env_remove("WIREFEED_DATABASE_URL")
        .env("NOTIFY_SOCKET", &notify_path)
        .env("WATCHDOG_USEC", "2000000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn daemon");
    let mut seen = Vec::new();
    let s = tokio::task::block_in_place(|| {
        let ready = wait_notify(&sock, "READY=1", &mut seen);
        let watchdog = wait_notify(&sock, "WATCHDOG=1", &mut seen);
        let status =
            seen.iter().any(|m| m.contains("STATUS=")) || wait_notify(&sock, "STATUS=", &mut seen);
        (ready, watchdog, status)
    });
    assert_eq!(s, (true, true, true), "notify messages: {seen:?}");

    let http = reqwest::Client::new();
    let get = |path: &str| {
        let http = http.clone();
        let url = format!("http://127.0.0.1:{port}{path}");
        async move {
            let r = http.get(&url).send().await.expect("admin answers");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        }
    };
    assert_eq!(get("/healthz").await.0, 200);
    let (code, body) = get("/readyz").await;
    assert_eq!(code, 200, "{body}");
    // Wait for the first poll to be counted, then read the metrics.
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.requests("/a.xml") == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (code, metrics) = get("/metrics").await;
    assert_eq!(code, 200);
    for name in [
        "wirefeed_fetches_total{outcome=\"fetched\",status_class=\"2xx\"} 1",
        "wirefeed_stories_stored_total 2",
        "wirefeed_fetch_duration_seconds_count",
        "wirefeed_not_modified_ratio",
        "wirefeed_feeds{state=\"active\"} 1",
        "wirefeed_scheduler_lag_seconds",
        "wirefeed_database_errors_total 0",
    ] {
        assert!(metrics.contains(name), "{name} missing:\n{metrics}");
    }

    let hup = |pid: u32| {
        Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .expect("kill -HUP")
    };
    // An invalid file is refused and the daemon goes on.
    std::fs::write(&base, "[fetch]\ntimeout_secs = \"soon\"\n").expect("bad config");
    assert!(hup(child.id()).success());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(child.try_wait().expect("wait").is_none(), "still running");
    assert_eq!(get("/healthz").await.0, 200);
    // A feed added to the file is polled after SIGHUP.
    let added = write_config(
        dir.path(),
        &db.url,
        &[(&a, "Gazette", false), (&b, "Herald", false)],
    );
    // The same reload adds a topic: the new feed's stories get it, without a restart.
    let topic = "[[topics]]\nname = \"rdf\"\nany = [\"RSS 1.0 item\"]\n";
    let text = std::fs::read_to_string(&added).expect("config") + &admin + topic;
    std::fs::write(&added, &text).expect("config");
    assert!(hup(child.id()).success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.requests("/b.xml") == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.requests("/b.xml"), 1, "the added feed was polled");
    let topical = {
        let c = added.clone();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let c2 = c.clone();
            let out = tokio::task::spawn_blocking(move || {
                wirefeed(&c2, &["stories", "--topic", "rdf", "--json"])
            })
            .await
            .expect("join");
            let n = json_lines(&out).len();
            if n > 0 || Instant::now() >= deadline {
                break n;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert_eq!(topical, 1, "the reloaded topic tagged the new feed's story");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let stopping = tokio::task::block_in_place(|| wait_notify(&sock, "STOPPING=1", &mut seen));
    assert!(stopping, "{seen:?}");
    assert_eq!(wait_exit(&mut child).await.code(), Some(0));
    db.cleanup().await;
}

#[test]
fn an_opml_file_imported_twice_adds_its_feeds_once_and_exports_back() {
    let db = TestDb::sqlite();
    let dir = db.dir().expect("sqlite dir");
    let config = write_config(
        &dir,
        &db.url,
        &[("https://config.example/rss", "Config Outlet", true)],
    );
    let opml = dir.join("subs.opml");
    std::fs::write(
        &opml,
        r#"<?xml version="1.0"?><opml version="2.0"><head><title>subs</title></head><body>
<outline text="Balkans"><outline text="Balkan Insight" type="rss" xmlUrl="https://balkaninsight.com/feed/"/>
<outline text="Deeper"><outline text="OC Media" xmlUrl="https://oc-media.org/feed/"/></outline></outline>
<outline text="Not a feed" xmlUrl="ftp://example.com/x"/>
</body></opml>"#,
    )
    .expect("opml");
    let opml_arg = opml.to_str().expect("path");
    let first = wirefeed(&config, &["feeds", "import", opml_arg]);
    assert!(first.status.success(), "{first:?}");
    let said = String::from_utf8_lossy(&first.stdout);
    assert!(
        said.contains("2 feeds, 2 added, 0 already present, 1 outlines skipped"),
        "{said}"
    );
    let second = wirefeed(&config, &["feeds", "import", opml_arg]);
    assert!(second.status.success());
    let said = String::from_utf8_lossy(&second.stdout);
    assert!(said.contains("0 added, 2 already present"), "{said}");
    let list = json_lines(&wirefeed(&config, &["feeds", "list", "--json"]));
    assert_eq!(list.len(), 2, "two imported: {list:?}");

    // Export has every feed: the config file's and the imported ones.
    let export = wirefeed(&config, &["feeds", "export"]);
    assert!(export.status.success());
    let xml = String::from_utf8_lossy(&export.stdout);
    assert!(
        xml.starts_with("<?xml") && xml.contains("<opml version=\"2.0\">"),
        "{xml}"
    );
    for url in [
        "https://config.example/rss",
        "https://balkaninsight.com/feed/",
        "https://oc-media.org/feed/",
    ] {
        assert!(xml.contains(&format!("xmlUrl=\"{url}\"")), "{url} in {xml}");
    }
    assert!(
        xml.contains("wirefeedSource=\"Config Outlet\" wirefeedWire=\"true\""),
        "{xml}"
    );
    // A broken file is an error and changes nothing.
    std::fs::write(&opml, "<opml><body></outline>").expect("bad opml");
    let bad = wirefeed(&config, &["feeds", "import", opml_arg]);
    assert!(!bad.status.success());
    assert_eq!(
        json_lines(&wirefeed(&config, &["feeds", "list", "--json"])).len(),
        2
    );
}

#[tokio::test]
async fn retag_applies_a_new_topic_to_stored_stories_and_leaves_no_run_behind() {
    let db = TestDb::sqlite();
    let dir = db.dir().expect("sqlite dir");
    let server = FeedServer::start().await;
    let rss = server.fixture("/rss2.xml", "rss2_html_description.xml");
    let config = write_config(&dir, &db.url, &[(&rss, "The Example Times", false)]);
    let run = |args: &'static [&'static str]| {
        let c = config.clone();
        tokio::task::spawn_blocking(move || wirefeed(&c, args))
    };
    let out = run(&["run", "--once"]).await.expect("join");
    assert!(out.status.success(), "{out:?}");
    let topics = |out: &Output| -> Vec<(String, Vec<String>)> {
        json_lines(out)
            .iter()
            .map(|s| {
                let t = s["topics"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                (s["title"].as_str().unwrap_or_default().to_owned(), t)
            })
            .collect()
    };
    let before = topics(&run(&["stories", "--json"]).await.expect("join"));
    assert!(before.iter().all(|(_, t)| t.is_empty()), "{before:?}");

    // A topic added to the config reaches stories stored before it, one story per batch.
    let mut text = std::fs::read_to_string(&config).expect("read config");
    text.push_str("[[topics]]\nname = \"arms-trade\"\nany = [\"missile\", \"missiles\"]\n");
    std::fs::write(&config, text).expect("write config");
    let out = run(&["retag", "--batch", "1"]).await.expect("join");
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("re-tagged 2 stories"),
        "{out:?}"
    );
    let after = topics(&run(&["stories", "--json"]).await.expect("join"));
    for (title, t) in &after {
        let expect: &[&str] = if title.contains("Javelin") {
            &["arms-trade"]
        } else {
            &[]
        };
        assert_eq!(t, expect, "{title}");
    }
    // The finished run is forgotten: the next one starts over (and changes nothing).
    let out = run(&["retag"]).await.expect("join");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("re-tagged 2 stories"),
        "{out:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).is_empty(), "{out:?}");
}

#[test]
fn regions_are_listed_and_an_unknown_filter_value_names_the_valid_ones() {
    let db = TestDb::sqlite();
    let dir = db.dir().expect("sqlite dir");
    let config = write_config(&dir, &db.url, &[]);
    // `stories` reads a database it never creates.
    assert!(wirefeed(&config, &["migrate"]).status.success());
    let out = wirefeed(&config, &["regions", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let regions = json_lines(&out);
    let wb = regions
        .iter()
        .find(|r| r["slug"] == "western_balkans")
        .expect("the Western Balkans");
    assert!(wb["members"]
        .as_array()
        .is_some_and(|m| m.contains(&"RS".into())));
    assert!(
        regions
            .iter()
            .any(|r| r["slug"] == "europe" && r["continent"] == true),
        "a continent roll-up"
    );

    let bad = |args: &[&str], names: &str| {
        let out = wirefeed(&config, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(names), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    };
    bad(&["stories", "--region", "balkan"], "western_balkans");
    bad(&["stories", "--country", "YU"], "ISO 3166-1 alpha-2");
    bad(&["stories", "--topic", "sports"], "no [[topics]]");
    let out = wirefeed(
        &config,
        &["stories", "--country", "rs", "--region", "balkans"],
    );
    assert!(out.status.success(), "valid filters: {out:?}");
    // A country of no region, which the gazetteer still names.
    let out = wirefeed(&config, &["stories", "--country", "AQ"]);
    assert!(out.status.success(), "Antarctica: {out:?}");
    bad(&["stories", "--region", "Balkans"], "did you mean balkans");
}

/// `check` on a file with problems of every kind lists them all in one run (exit 2), each with
/// its line and key path, and accepts the same file once they are fixed.
#[test]
fn check_lists_every_problem_of_a_file_in_one_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        r#"[log]
level = "infoo"
format = "yaml"
[fetch]
timeout_secs = "30"
concurency = 4
[schedule]
jitter_percent = 250
[admin]
listen = "localhost"
[[regions]]
slug = "adriatic"
members = ["HR", "QQ"]
parent = "southern_urope"
contains = ["nowhere"]
[[feeds]]
url = "https://a.example/rss"
[[feeds]]
url = "www.b.example/rss"
source = "B"
[[feeds]]
url = "https://c.example/rss"
source = "C"
full_text = 1
[daemon]
tick_secs = 5
tick_secs = 6
"#,
    )
    .expect("write");
    let out = wirefeed(&bad, &["check"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let want = [
        "problems",
        "line 2: log.level: `infoo` is not a level",
        "line 3: log.format: unknown variant `yaml`",
        "line 5: fetch.timeout_secs: invalid type: string \"30\", expected u64",
        "line 6: fetch.concurency: unknown key",
        "line 8: schedule.jitter_percent: at most 100",
        "line 10: admin.listen: `localhost` has no port",
        "line 13: regions[0].members: region `adriatic`: `QQ` is not a country code",
        "line 14: regions[0].parent: region `adriatic`: `southern_urope` is not a region",
        "line 15: regions[0].contains: region `adriatic`: `nowhere` is not a region",
        "line 16: feeds[0]: missing field `source`; the entry is left out",
        "line 19: feeds[1].url: `www.b.example/rss` is not a URL",
        "line 24: feeds[2].full_text: invalid type: integer `1`, expected a boolean",
        "line 27: syntax: duplicate key `tick_secs`",
    ];
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), want.len(), "{err}");
    for (line, want) in lines.iter().zip(want) {
        assert!(line.contains(want), "want {want}\n got {line}\nin {err}");
    }

    let fixed = dir.path().join("fixed.toml");
    std::fs::write(
        &fixed,
        "[log]\nlevel = \"info,wirefeed=debug\"\n[admin]\nlisten = \"localhost:9464\"\n[[regions]]\nslug = \"adriatic\"\nmembers = [\"HR\", \"SI\"]\nparent = \"southern_europe\"\n[[feeds]]\nurl = \"https://a.example/rss\"\nsource = \"A\"\n",
    )
    .expect("write");
    let out = wirefeed(&fixed, &["check"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ok (1 feeds)"),
        "{out:?}"
    );
}
