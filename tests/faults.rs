//! Bad servers and hostile responses: each is recorded with its error kind and a next check that
//! respects what the server said, without disturbing the other feeds; and the scheduling rules
//! that keep wirefeed polite (host budgets, throttling, leases, one daemon per SQLite file).

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{config, feeds_by_url, FeedServer, Route, TestDb};
use wirefeed::config::HostOverride;
use wirefeed::daemon::App;
use wirefeed::store::Claim;

fn ts(s: &str) -> chrono::DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("rfc3339")
        .with_timezone(&Utc)
}

fn gzip_bomb(uncompressed: usize) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let chunk = vec![b' '; 1 << 20];
    let mut left = uncompressed;
    while left > 0 {
        let n = left.min(chunk.len());
        enc.write_all(&chunk[..n]).expect("gzip");
        left -= n;
    }
    enc.finish().expect("gzip")
}

#[tokio::test]
async fn every_fault_is_recorded_with_its_kind_and_a_fitting_next_check() {
    for db in common::databases().await {
        let server = FeedServer::start().await;
        let good = server.fixture("/good.xml", "rss_no_version.xml");
        let target = server.fixture("/new-home.xml", "rss1_rdf.xml");
        let http_date = (Utc::now() + chrono::Duration::hours(2))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        // Cut in the middle of the second item: the first is complete.
        let truncated = {
            let full =
                String::from_utf8(common::fixture("rss2_html_description.xml")).expect("utf-8");
            let second = full.rfind("<item>").expect("two items");
            full.as_bytes()[..second + 40].to_vec()
        };
        let r = |path: &str, route: Route| server.route(path, route);
        let feeds = vec![
            (good.clone(), "ok"),
            (r("/500", Route::Status(500)), "http_5xx"),
            (r("/404", Route::Status(404)), "http_4xx"),
            (r("/410", Route::Status(410)), "gone"),
            (
                r(
                    "/moved",
                    Route::Respond {
                        status: 301,
                        headers: vec![("location", target.clone())],
                        body: Vec::new(),
                    },
                ),
                "ok",
            ),
            (
                r(
                    "/loop-a",
                    Route::Respond {
                        status: 302,
                        headers: vec![("location", "/loop-b".to_owned())],
                        body: Vec::new(),
                    },
                ),
                "redirect_loop",
            ),
            (
                r(
                    "/slow",
                    Route::Trickle {
                        bytes: 100,
                        every_ms: 200,
                    },
                ),
                "timeout",
            ),
            (r("/huge", Route::Large { bytes: 40 << 20 }), "too_large"),
            (
                r(
                    "/bomb",
                    Route::Respond {
                        status: 200,
                        headers: vec![
                            ("content-encoding", "gzip".to_owned()),
                            ("content-type", "application/rss+xml".to_owned()),
                        ],
                        body: gzip_bomb(32 << 20),
                    },
                ),
                "too_large",
            ),
            (server.fixture("/page.html", "html_page.html"), "not_a_feed"),
            (
                r(
                    "/truncated.xml",
                    Route::Doc {
                        content_type: "application/rss+xml",
                        body: truncated,
                    },
                ),
                "ok",
            ),
            (
                r(
                    "/empty",
                    Route::Doc {
                        content_type: "application/rss+xml",
                        body: Vec::new(),
                    },
                ),
                "not_a_feed",
            ),
        ];
        server.route(
            "/loop-b",
            Route::Respond {
                status: 302,
                headers: vec![("location", "/loop-a".to_owned())],
                body: Vec::new(),
            },
        );
        // Rate limits on their own hosts, since they throttle the whole host.
        let limited_429 = FeedServer::start_on("127.0.0.2").await;
        let url_429 = limited_429.route(
            "/429",
            Route::Respond {
                status: 429,
                headers: vec![("retry-after", "120".to_owned())],
                body: Vec::new(),
            },
        );
        let limited_503 = FeedServer::start_on("127.0.0.3").await;
        let url_503 = limited_503.route(
            "/503",
            Route::Respond {
                status: 503,
                headers: vec![("retry-after", http_date.clone())],
                body: Vec::new(),
            },
        );
        let mut all: Vec<(String, &str)> = feeds;
        all.push((url_429.clone(), "rate_limited"));
        all.push((url_503.clone(), "rate_limited"));
        let list: Vec<(&str, &str, bool)> = all
            .iter()
            .map(|(u, _)| (u.as_str(), "Faulty", false))
            .collect();
        let mut cfg = config(&db.url, &list);
        cfg.fetch.timeout_secs = 2;
        cfg.schedule.interval_secs = 900;
        let app = App::build(cfg).await.expect("app builds");

        let started = Instant::now();
        let before = Utc::now();
        let summary = app.run_once().await.expect("faults never fail the run");
        let took = started.elapsed();
        // Bounded: the slow body is cut at the 2 s timeout; nothing waits for the whole trickle
        // (20 s) or for the rate-limited hosts (minutes).
        assert!(
            took < Duration::from_secs(15),
            "{}: took {took:?}",
            db.backend
        );
        assert_eq!(summary.feeds, all.len(), "{summary:?}");

        let rows = feeds_by_url(&app).await;
        for (url, want) in &all {
            let f = rows
                .get(url.as_str())
                .or_else(|| rows.values().find(|f| f.moved_from.as_deref() == Some(url)))
                .unwrap_or_else(|| panic!("{url} not listed"));
            let next = ts(&f.next_check_at);
            if *want == "ok" {
                assert_eq!(f.last_error, None, "{}: {f:?}", db.backend);
                assert!(next > before + chrono::Duration::minutes(4), "{f:?}");
            } else {
                assert_eq!(
                    f.last_error.as_deref(),
                    Some(*want),
                    "{}: {f:?}",
                    db.backend
                );
                assert_eq!(f.consecutive_errors, 1, "{f:?}");
                // First error: back off by the feed's interval (15 min here), not immediately.
                assert!(next > before + chrono::Duration::minutes(14), "{f:?}");
            }
        }
        let r429 = &rows[url_429.as_str()];
        assert_eq!(r429.last_status, Some(429));
        assert!(ts(&r429.next_check_at) >= before + chrono::Duration::seconds(119));
        let r503 = &rows[url_503.as_str()];
        assert_eq!(r503.last_status, Some(503));
        assert!(
            ts(&r503.next_check_at)
                >= ts(&(Utc::now() + chrono::Duration::minutes(119)).to_rfc3339()),
            "Retry-After as an HTTP date: {r503:?}"
        );
        assert_eq!(rows[server.url("/410").as_str()].status, "gone");

        // The permanent redirect moved the feed; its stories were stored.
        let moved = rows
            .get(target.as_str())
            .expect("feed moved to its new URL");
        assert_eq!(
            moved.moved_from.as_deref(),
            Some(server.url("/moved").as_str())
        );
        assert_eq!(moved.stories, 1);
        // The truncated document kept its complete items.
        assert!(rows[server.url("/truncated.xml").as_str()].stories >= 1);
        // The good feed was not disturbed.
        assert_eq!(rows[good.as_str()].stories, 2);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_temporary_redirect_does_not_move_the_feed() {
    let db = TestDb::sqlite();
    let server = FeedServer::start().await;
    let target = server.fixture("/real.xml", "rss1_rdf.xml");
    let temp = server.route(
        "/temp",
        Route::Respond {
            status: 302,
            headers: vec![("location", target.clone())],
            body: Vec::new(),
        },
    );
    let app = App::build(config(&db.url, &[(&temp, "T", false)]))
        .await
        .expect("app builds");
    app.run_once().await.expect("pass");
    let rows = feeds_by_url(&app).await;
    let f = &rows[temp.as_str()];
    assert_eq!(f.moved_from, None);
    assert_eq!(f.stories, 1);
}

#[tokio::test]
async fn the_daemon_leaves_a_rate_limited_host_alone_and_defers_its_other_feeds_without_error() {
    let db = TestDb::sqlite();
    let host = FeedServer::start_on("127.0.0.4").await;
    let limited = host.route(
        "/a-limited",
        Route::Respond {
            status: 429,
            headers: vec![("retry-after", "300".to_owned())],
            body: Vec::new(),
        },
    );
    let sibling = host.fixture("/b-sibling.xml", "rss_no_version.xml");
    let mut cfg = config(&db.url, &[(&limited, "L", false), (&sibling, "L", false)]);
    // Starts a second apart on this host, so the 429 is in before the sibling may start.
    cfg.politeness.hosts.push(HostOverride {
        host: "127.0.0.4".to_owned(),
        concurrency: Some(1),
        min_spacing_ms: Some(1000),
    });
    let app = App::build(cfg).await.expect("app builds");
    let before = Utc::now();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let runner = {
        let app = app.clone();
        tokio::spawn(async move { app.run_until_stopped(rx).await })
    };
    // Bounded wait for the 429, then past the sibling's first slot.
    let deadline = Instant::now() + Duration::from_secs(10);
    while host.requests("/a-limited") == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    tx.send(true).expect("stop");
    runner.await.expect("daemon stops");
    assert_eq!(host.requests("/a-limited"), 1);
    assert_eq!(
        host.requests("/b-sibling.xml"),
        0,
        "the throttled host got no more requests"
    );
    let rows = feeds_by_url(&app).await;
    let lim = &rows[limited.as_str()];
    assert_eq!(lim.last_error.as_deref(), Some("rate_limited"));
    assert!(
        ts(&lim.next_check_at) >= before + chrono::Duration::seconds(299),
        "{lim:?}"
    );
    let sib = &rows[sibling.as_str()];
    assert_eq!(sib.last_error, None, "deferral is not an error: {sib:?}");
    assert_eq!(sib.last_fetched_at, None);
    assert!(
        ts(&sib.next_check_at) >= before + chrono::Duration::seconds(299),
        "{sib:?}"
    );
}

#[tokio::test]
async fn requests_to_one_host_keep_their_spacing() {
    let db = TestDb::sqlite();
    let host = FeedServer::start_on("127.0.0.5").await;
    let paths: Vec<String> = (0..4).map(|i| format!("/f{i}.xml")).collect();
    let urls: Vec<String> = paths
        .iter()
        .map(|p| host.fixture(p, "rss1_rdf.xml"))
        .collect();
    let list: Vec<(&str, &str, bool)> = urls.iter().map(|u| (u.as_str(), "S", false)).collect();
    let mut cfg = config(&db.url, &list);
    cfg.politeness.per_host_concurrency = 4;
    cfg.politeness.per_host_min_spacing_ms = 250;
    let app = App::build(cfg).await.expect("app builds");
    app.run_once().await.expect("pass");
    let mut times: Vec<Instant> = paths.iter().flat_map(|p| host.times(p)).collect();
    times.sort();
    assert_eq!(times.len(), 4);
    for w in times.windows(2) {
        // Lower bound only: a slow machine makes the gaps longer, never shorter.
        assert!(
            w[1] - w[0] >= Duration::from_millis(240),
            "{:?}",
            w[1] - w[0]
        );
    }
}

#[tokio::test]
async fn leases_split_feeds_between_daemons_and_expire_after_a_crash() {
    for db in common::databases().await {
        let server = FeedServer::start().await;
        let urls: Vec<String> = (0..30)
            .map(|i| server.fixture(&format!("/f{i}.xml"), "rss1_rdf.xml"))
            .collect();
        let list: Vec<(&str, &str, bool)> =
            urls.iter().map(|u| (u.as_str(), "Shared", false)).collect();

        // A daemon that claimed five feeds and died: its leases have already run out.
        let app = App::build(config(&db.url, &list))
            .await
            .expect("app builds");
        let now = Utc::now();
        let crashed = app
            .store()
            .claim(&Claim {
                owner: "crashed",
                now,
                due_by: Some(now),
                not_fetched_since: None,
                lease_until: now - chrono::Duration::seconds(1),
                limit: 5,
            })
            .await
            .expect("claim");
        assert_eq!(crashed.len(), 5);
        // A live lease is respected.
        let held = app
            .store()
            .claim(&Claim {
                owner: "alive",
                now,
                due_by: Some(now),
                not_fetched_since: None,
                lease_until: now + chrono::Duration::minutes(5),
                limit: 1,
            })
            .await
            .expect("claim");
        assert_eq!(held.len(), 1);

        if db.backend == "postgres" {
            // Two daemons at once on one PostgreSQL database.
            let other = App::build(config(&db.url, &list))
                .await
                .expect("second app");
            // A short bound: the live lease outlasts it, so that feed is skipped, with why.
            let bound = Duration::from_secs(2);
            let (a, b) = tokio::join!(app.run_once_within(bound), other.run_once_within(bound));
            let (a, b) = (a.expect("a"), b.expect("b"));
            assert_eq!(a.feeds + b.feeds, 29, "{a:?} {b:?}");
            for s in [&a, &b] {
                assert_eq!(s.skipped.len(), 1, "{s:?}");
                assert_eq!(s.skipped[0].0, held[0].url);
                assert!(s.skipped[0].1.contains("leased by daemon alive"), "{s:?}");
            }
        } else {
            let s = app
                .run_once_within(Duration::from_secs(2))
                .await
                .expect("pass");
            assert_eq!(s.feeds, 29, "{s:?}");
            assert_eq!(s.skipped.len(), 1, "{s:?}");
            assert_eq!(s.skipped[0].0, held[0].url);
            assert!(s.skipped[0].1.contains("leased by daemon alive"), "{s:?}");
            // One daemon per SQLite file.
            let _lock = app.store().lock_for_daemon().expect("first lock");
            let second = App::build(config(&db.url, &list))
                .await
                .expect("second app");
            let err = second
                .store()
                .lock_for_daemon()
                .expect_err("second daemon refused");
            assert!(err.to_string().contains("another wirefeed daemon"), "{err}");
        }
        for (i, url) in urls.iter().enumerate() {
            let path = format!("/f{i}.xml");
            let want = if *url == held[0].url { 0 } else { 1 };
            assert_eq!(server.requests(&path), want, "{}: {path}", db.backend);
        }
        db.cleanup().await;
    }
}
