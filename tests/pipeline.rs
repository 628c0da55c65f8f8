//! End to end: a local feed server, the real pipeline, SQLite always and PostgreSQL when configured.

mod common;

use common::{all_stories, by_title, config, databases, feeds_by_url, FeedServer, Route};
use wirefeed::daemon::App;
use wirefeed::store::{StoredStory, StoryQuery};

const GOOD: &[(&str, &str)] = &[
    ("/rss2.xml", "rss2_html_description.xml"),
    ("/noversion.xml", "rss_no_version.xml"),
    ("/atom.xml", "atom_relative_base.xml"),
    ("/feed.json", "jsonfeed.json"),
    ("/cp1250.xml", "windows1250.xml"),
    ("/rdf.xml", "rss1_rdf.xml"),
    ("/rss091.xml", "rss091.xml"),
    ("/noguid.xml", "rss2_missing_guid.xml"),
];

#[tokio::test]
async fn every_format_is_stored_and_a_second_pass_is_all_304() {
    for db in databases().await {
        let server = FeedServer::start().await;
        let feeds: Vec<(String, &str, bool)> = GOOD
            .iter()
            .map(|(path, file)| (server.fixture(path, file), "Outlet", false))
            .collect();
        let feed_refs: Vec<(&str, &str, bool)> =
            feeds.iter().map(|(u, s, w)| (u.as_str(), *s, *w)).collect();
        let app = App::build(config(&db.url, &feed_refs))
            .await
            .expect("app builds");

        let first = app.run_once().await.expect("first pass");
        assert_eq!(first.feeds, GOOD.len(), "{}", db.backend);
        assert_eq!(first.failed, 0, "{}: {first:?}", db.backend);
        let stories = all_stories(&app).await;
        // 2 + 2 + 2 + 2 + 2 + 1 + 1 + 2 items in the fixtures.
        assert_eq!(stories.len(), 14, "{}", db.backend);
        assert_eq!(first.new_stories, 14);
        for s in &stories {
            assert!(!s.title.is_empty(), "{}: {s:?}", db.backend);
            assert!(s.cluster.is_some(), "every story has a cluster: {s:?}");
            assert_eq!(s.origin, s.id, "a lone story is its cluster's origin");
        }

        // RSS 2.0 with HTML descriptions: entities decoded, markup and scripts gone, paragraphs kept.
        let k = by_title(
            &stories,
            "Kosovo asks to buy Javelin missiles & Serbia objects",
        );
        assert_eq!(k.key, "ET-2024-0111-001");
        assert_eq!(
            k.body,
            "The United States has received Kosovo’s request.\n\nPresident Aleksandar Vučić expressed deep disappointment."
        );
        assert_eq!(k.dateline.as_deref(), Some("BELGRADE, Serbia"));
        assert_eq!(k.published.as_deref(), Some("2024-01-11T15:04:05Z"));
        assert_eq!(k.authors, vec!["Jovana Gec"]);
        assert_eq!(k.language.as_deref(), Some("en"));
        let m = by_title(&stories, "Markets close higher");
        assert_eq!(m.authors, vec!["Business Desk"]);
        assert_eq!(
            m.body,
            "Stocks rose on Thursday.\n\nBond yields fell.\n\nOil was flat."
        );

        // Atom: relative links resolved against xml:base; offsets converted to UTC.
        let t = by_title(&stories, "Tbilisi protests continue");
        assert_eq!(
            t.url.as_deref(),
            Some("https://atom.test/news/2024/01/tbilisi-protests.html")
        );
        assert_eq!(t.published.as_deref(), Some("2024-01-12T03:30:00Z"));
        assert_eq!(t.wire_service.as_deref(), Some("AP"));
        assert_eq!(t.dateline.as_deref(), Some("TBILISI, Georgia"));
        let a = by_title(&stories, "Atlanta wins at home");
        assert_eq!(
            a.url.as_deref(),
            Some("https://atom.test/sport/atlanta-wins.html")
        );
        assert_eq!(
            a.published.as_deref(),
            Some("2024-01-11T22:00:00Z"),
            "published falls back to updated"
        );

        // JSON Feed.
        let j = by_title(&stories, "Talks open in Amman");
        assert_eq!(j.published.as_deref(), Some("2024-01-12T08:00:00Z"));
        assert_eq!(
            by_title(&stories, "Plain text item").body,
            "First paragraph.\n\nSecond paragraph."
        );

        // windows-1250, declared only in the XML declaration.
        let v = by_title(&stories, "Vučić: Srbija će nastaviti da čuva mir");
        assert!(v.body.contains("Žao mu je"), "{}", v.body);
        assert_eq!(
            v.language.as_deref(),
            Some("sr-Latn"),
            "Serbian with its script"
        );
        by_title(&stories, "Đoković osvojio turnir");

        // RSS without a version, RSS 1.0, RSS 0.91 (no dates: null, never "now").
        by_title(&stories, "A story from a feed without an rss version");
        by_title(&stories, "RSS 1.0 item");
        let old = by_title(&stories, "RSS 0.91 item");
        assert_eq!(old.published, None);

        // Keys without a guid: the link, else a hash of title and date.
        assert_eq!(
            by_title(&stories, "Keyed by link").key,
            "https://noguid.test/by-link"
        );
        assert!(by_title(&stories, "Keyed by title and date")
            .key
            .starts_with("hash:"));

        // Second pass: every request conditional, every answer a 304, nothing written.
        let before = serde_json::to_string(&stories).expect("json");
        let second = app.run_once().await.expect("second pass");
        assert_eq!(second.new_stories, 0);
        assert_eq!(second.not_modified, GOOD.len(), "{second:?}");
        for (path, _) in GOOD {
            assert_eq!(server.requests(path), 2, "{path}");
            assert_eq!(server.conditional(path), 1, "{path}");
            assert_eq!(server.not_modified(path), 1, "{path}");
        }
        let after = serde_json::to_string(&all_stories(&app).await).expect("json");
        assert_eq!(before, after, "{}: a 304 pass changes nothing", db.backend);
        for f in feeds_by_url(&app).await.values() {
            assert_eq!(f.last_status, Some(304), "{f:?}");
            assert!(f.etag.is_some() && f.last_modified.is_some(), "{f:?}");
            assert_eq!(f.last_error, None);
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn changed_items_are_updated_in_place_with_the_old_version_kept() {
    for db in databases().await {
        let server = FeedServer::start().await;
        let url = server.fixture("/f.xml", "rss_no_version.xml");
        let app = App::build(config(&db.url, &[(&url, "Gazette", false)]))
            .await
            .expect("app builds");
        app.run_once().await.expect("first pass");

        let changed = String::from_utf8(common::fixture("rss_no_version.xml"))
            .expect("utf-8")
            .replace("Another description.", "Another description, corrected.");
        server.route(
            "/f.xml",
            Route::Doc {
                content_type: "application/rss+xml",
                body: changed.into_bytes(),
            },
        );
        let s = app.run_once().await.expect("second pass");
        assert_eq!(s.new_stories, 0, "{}", db.backend);
        let stories = all_stories(&app).await;
        assert_eq!(stories.len(), 2);
        let two = by_title(&stories, "Second story without version");
        assert_eq!(two.body, "Another description, corrected.");
        assert_eq!(two.version, 2);
        let one = by_title(&stories, "A story from a feed without an rss version");
        assert_eq!(one.version, 1, "unchanged items are not touched");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bad_feeds_are_recorded_and_good_items_kept() {
    for db in databases().await {
        let server = FeedServer::start().await;
        let good = server.fixture("/good.xml", "rss_no_version.xml");
        let broken_item = server.fixture("/one-broken.xml", "rss2_one_broken_item.xml");
        let html = server.fixture("/page.html", "html_page.html");
        let malformed = server.fixture("/malformed.xml", "malformed.xml");
        let missing = server.url("/missing.xml");
        let server_error = server.route("/500.xml", Route::Status(500));
        let gone = server.route("/410.xml", Route::Status(410));
        let empty = server.route(
            "/empty.xml",
            Route::Doc {
                content_type: "application/rss+xml",
                body: Vec::new(),
            },
        );
        // A port nothing listens on.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = l.local_addr().expect("addr");
            drop(l);
            format!("http://{addr}/feed.xml")
        };
        let all = [
            (&good, "ok"),
            (&broken_item, "ok"),
            (&html, "not_a_feed"),
            (&malformed, "parse"),
            (&missing, "http_4xx"),
            (&server_error, "http_5xx"),
            (&gone, "gone"),
            (&empty, "not_a_feed"),
            (&closed, "connect"),
        ];
        let feeds: Vec<(&str, &str, bool)> = all
            .iter()
            .map(|(u, _)| (u.as_str(), "Mixed", false))
            .collect();
        let app = App::build(config(&db.url, &feeds))
            .await
            .expect("app builds");
        let summary = app
            .run_once()
            .await
            .expect("a failing feed never fails the run");
        assert_eq!(summary.failed, 7, "{}: {summary:?}", db.backend);

        let rows = feeds_by_url(&app).await;
        for (url, want) in all {
            let f = &rows[url.as_str()];
            match want {
                "ok" => assert_eq!(f.last_error, None, "{f:?}"),
                kind => {
                    assert_eq!(f.last_error.as_deref(), Some(kind), "{f:?}");
                    assert!(f.last_error_message.is_some(), "{f:?}");
                    assert_eq!(f.consecutive_errors, 1, "{f:?}");
                }
            }
        }
        assert_eq!(rows[missing.as_str()].last_status, Some(404));
        assert_eq!(rows[gone.as_str()].status, "gone");
        assert_eq!(rows[good.as_str()].stories, 2);
        let partial = &rows[broken_item.as_str()];
        assert_eq!(partial.stories, 2, "the good items around the broken one");
        assert!(
            partial
                .last_error_message
                .as_deref()
                .is_some_and(|m| m.starts_with("skipped 1 of 3 items")),
            "{partial:?}"
        );

        // A gone feed is not polled again; the others are.
        let before = server.requests("/410.xml");
        app.run_once().await.expect("second pass");
        assert_eq!(server.requests("/410.xml"), before);
        assert_eq!(rows.len(), 9);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed() {
    let db = common::TestDb::sqlite();
    let server = FeedServer::start().await;
    let url = server.fixture("/f.xml", "rss_no_version.xml");
    let localhost = url.replace("127.0.0.1", "localhost");
    let mut cfg = config(
        &db.url,
        &[(&url, "Local", false), (&localhost, "Local", false)],
    );
    cfg.fetch.allow_private_networks = false;
    let app = App::build(cfg).await.expect("app builds");
    let s = app.run_once().await.expect("pass");
    assert_eq!(s.failed, 2);
    assert_eq!(
        server.total_requests(),
        0,
        "not one request reached 127.0.0.1"
    );
    for f in feeds_by_url(&app).await.values() {
        assert_eq!(f.last_error.as_deref(), Some("forbidden_address"), "{f:?}");
    }
}

#[tokio::test]
async fn config_feeds_removed_from_the_file_are_paused_not_deleted() {
    let db = common::TestDb::sqlite();
    let server = FeedServer::start().await;
    let a = server.fixture("/a.xml", "rss_no_version.xml");
    let b = server.fixture("/b.xml", "rss1_rdf.xml");
    let app = App::build(config(&db.url, &[(&a, "A", false), (&b, "B", false)]))
        .await
        .expect("app builds");
    app.run_once().await.expect("pass");
    drop(app);
    let app = App::build(config(&db.url, &[(&a, "A", false)]))
        .await
        .expect("app builds again");
    let rows = feeds_by_url(&app).await;
    assert_eq!(rows[b.as_str()].status, "paused");
    assert_eq!(rows[b.as_str()].stories, 1, "its stories stay");
    let s = app.run_once().await.expect("pass");
    assert_eq!(s.feeds, 1, "a paused feed is not polled");
}

#[tokio::test]
async fn the_daemon_loop_polls_and_stops_when_told() {
    let db = common::TestDb::sqlite();
    let server = FeedServer::start().await;
    let url = server.fixture("/f.xml", "rss_no_version.xml");
    let app = App::build(config(&db.url, &[(&url, "A", false)]))
        .await
        .expect("app builds");
    let (tx, rx) = tokio::sync::watch::channel(false);
    let runner = {
        let app = app.clone();
        tokio::spawn(async move { app.run_until_stopped(rx).await })
    };
    // Wait for the first refresh to be stored (bounded: the feed is due at start).
    let mut stored = 0;
    for _ in 0..100 {
        stored = all_stories(&app).await.len();
        if stored == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(stored, 2);
    tx.send(true).expect("signal");
    tokio::time::timeout(std::time::Duration::from_secs(10), runner)
        .await
        .expect("stops promptly")
        .expect("no panic");
    // Not due again for interval_secs: exactly one request.
    assert_eq!(server.requests("/f.xml"), 1);
}

#[tokio::test]
async fn an_outlet_reprint_of_a_wire_story_is_stored_clean() {
    for db in databases().await {
        let server = FeedServer::start().await;
        let url = server.fixture("/world.xml", "rss2_outlet_reprint_of_ap.xml");
        let app = App::build(config(&db.url, &[(&url, "The Example Times", false)]))
            .await
            .expect("app builds");
        app.run_once().await.expect("pass");
        let stories = all_stories(&app).await;
        let k = by_title(
            &stories,
            "U.S. gets Kosovo request to buy Javelin missiles; Serbia's Vucic disappointed",
        );
        assert_eq!(k.wire_service.as_deref(), Some("AP"), "{}", db.backend);
        assert_eq!(k.dateline.as_deref(), Some("BELGRADE, Serbia"));
        assert!(
            k.body
                .starts_with("The United States has received Kosovo’s request"),
            "{}",
            k.body
        );
        for gone in ["Associated Press - Thursday", "Copyright", "comment policy"] {
            assert!(!k.body.contains(gone), "{gone} left in {}", k.body);
        }
        assert!(
            k.body.ends_with("which has angered Belgrade."),
            "{}",
            k.body
        );
        assert_eq!(
            k.canonical_url.as_deref(),
            Some(
                "https://www.example-times.test/news/2024/jan/11/us-gets-kosovo-request-javelins/"
            )
        );
        assert_eq!(
            k.published.as_deref(),
            Some("2024-01-11T19:22:00Z"),
            "EST is -5"
        );
        assert_eq!(k.language.as_deref(), Some("en"));
        let staff = by_title(&stories, "City council approves new budget");
        assert_eq!(staff.wire_service, None, "a staff story has no wire credit");
        assert_eq!(staff.dateline, None);
        assert_eq!(staff.authors, vec!["Jane Reporter"]);
        db.cleanup().await;
    }
}

/// An article page: navigation, the story in an `<article>`, an outlet footer, and a canonical
/// link that carries tracking parameters.
fn article_page(canonical: &str, title: &str, paragraphs: &[&str]) -> Vec<u8> {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Page</title>
<link rel="canonical" href="{canonical}"></head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<article><h1>{title}</h1>
{body}
<p>Copyright © 2024 The Example Times, LLC.</p>
<p>Please read our comment policy before commenting.</p>
</article>
<footer><a href="/about">About us</a> <a href="/contact">Contact</a></footer>
</body></html>"#
    )
    .into_bytes()
}

#[tokio::test]
async fn a_full_text_feed_stores_the_article_page_text() {
    for db in databases().await {
        let server = FeedServer::start().await;
        let lede = "BELGRADE, Serbia (AP) — The United States has received Kosovo’s request to buy Javelin anti-tank missiles, officials said on Thursday.";
        let rest = [
            "Serbian President Aleksandar Vučić said he was deeply disappointed by the request and would raise it with American officials in the coming days.",
            "Kosovo’s prime minister said the missiles were needed for defense and that the request had been planned for a long time by the government.",
            "The two sides have been in talks mediated by the European Union for more than a decade, with little progress on the main questions between them.",
        ];
        let mut paras = vec![lede];
        paras.extend(rest);
        let canonical = format!(
            "{}?utm_source=rss&utm_medium=feed",
            server.url("/news/kosovo-javelins")
        );
        server.route(
            "/news/kosovo-javelins",
            Route::Doc {
                content_type: "text/html; charset=utf-8",
                body: article_page(&canonical, "Kosovo asks for Javelins", &paras),
            },
        );
        // The second item's page is gone, the third's is a paywall notice: both keep the feed's
        // teaser.
        server.route("/news/gone", Route::Status(404));
        server.route(
            "/news/paywall",
            Route::Doc {
                content_type: "text/html; charset=utf-8",
                body: article_page(
                    &server.url("/news/paywall"),
                    "Paywalled story",
                    &["Subscribe to keep reading."],
                ),
            },
        );
        let feed = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Example Times</title>
<item><title>Kosovo asks for Javelins</title><link>/news/kosovo-javelins?utm_campaign=x</link>
<guid>k1</guid><description>The United States has received Kosovo’s request to buy Javelin anti-tank missiles…</description></item>
<item><title>Gone story</title><link>/news/gone</link><guid>k2</guid><description>A teaser for a page that is gone.</description></item>
<item><title>Paywalled story</title><link>/news/paywall</link><guid>k3</guid><description>The teaser of a paywalled story about the harbour in the old town.</description></item>
</channel></rss>"#;
        let feed_url = server.route(
            "/teasers.xml",
            Route::Doc {
                content_type: "application/rss+xml",
                body: feed.as_bytes().to_vec(),
            },
        );
        let mut cfg = config(&db.url, &[(&feed_url, "The Example Times", false)]);
        cfg.feeds[0].full_text = true;
        let app = App::build(cfg).await.expect("app builds");
        let first = app.run_once().await.expect("first pass");
        assert_eq!(first.failed, 0, "{}: {first:?}", db.backend);
        let stories = all_stories(&app).await;
        assert_eq!(stories.len(), 3, "{}", db.backend);

        let k = by_title(&stories, "Kosovo asks for Javelins");
        assert!(
            k.body
                .starts_with("The United States has received Kosovo’s request"),
            "{}: {}",
            db.backend,
            k.body
        );
        assert!(k.body.contains("more than a decade"), "{}", k.body);
        for gone in ["Copyright", "comment policy", "About us", "Home"] {
            assert!(!k.body.contains(gone), "{gone} left in {}", k.body);
        }
        assert_eq!(k.wire_service.as_deref(), Some("AP"));
        assert_eq!(k.dateline.as_deref(), Some("BELGRADE, Serbia"));
        assert_eq!(
            k.canonical_url.as_deref(),
            Some(server.url("/news/kosovo-javelins").as_str()),
            "the page's canonical link, without tracking parameters"
        );
        assert_eq!(
            by_title(&stories, "Gone story").body,
            "A teaser for a page that is gone."
        );
        assert_eq!(
            by_title(&stories, "Paywalled story").body,
            "The teaser of a paywalled story about the harbour in the old town."
        );
        for path in ["/news/kosovo-javelins", "/news/gone", "/news/paywall"] {
            assert_eq!(server.requests(path), 1, "{path}");
        }

        // The feed changes (a new item), the old items do not: only the new item's page is
        // fetched, and the stored full text is not overwritten by the teaser.
        let feed2 = feed.replace(
            "</channel>",
            "<item><title>New story</title><link>/news/new</link><guid>k4</guid><description>New teaser.</description></item></channel>",
        );
        server.route("/news/new", Route::Status(404));
        server.route(
            "/teasers.xml",
            Route::Doc {
                content_type: "application/rss+xml",
                body: feed2.into_bytes(),
            },
        );
        let second = app.run_once().await.expect("second pass");
        assert_eq!(second.new_stories, 1, "{}: {second:?}", db.backend);
        assert_eq!(server.requests("/news/kosovo-javelins"), 1);
        assert_eq!(server.requests("/news/new"), 1);
        let stories = all_stories(&app).await;
        let k2 = by_title(&stories, "Kosovo asks for Javelins");
        assert_eq!(k2.body, k.body);
        assert_eq!(k2.version, 1, "not a new version");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn stories_are_tagged_with_countries_regions_and_topics_and_filtered_by_them() {
    for db in databases().await {
        let server = FeedServer::start().await;
        let outlet = server.fixture("/outlet.xml", "rss2_outlet_reprint_of_ap.xml");
        let cp1250 = server.fixture("/cp1250.xml", "windows1250.xml");
        let caucasus = server.route(
            "/georgia.xml",
            Route::Doc {
                content_type: "application/rss+xml",
                body: r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><title>Thousands rally in Tbilisi against media law</title><guid>ge-1</guid>
<description>TBILISI, Georgia (AP) — Thousands of people rallied outside Georgia's parliament on Sunday against a proposed media law that critics say mirrors legislation used in Russia to silence dissent.</description></item>
<item><title>Georgia lawmakers approve state budget</title><guid>us-ga-1</guid>
<description>ATLANTA (AP) — Georgia lawmakers approved a state budget on Thursday that raises teacher pay, after a long debate in the Capitol in Atlanta.</description></item>
<item><title>Jordan hosts talks on regional water sharing</title><guid>jo-1</guid>
<description>AMMAN, Jordan (AP) — Jordan hosted ministers from neighboring countries on Monday for talks on sharing scarce water, the foreign ministry said.</description></item>
</channel></rss>"#
                    .as_bytes()
                    .to_vec(),
            },
        );
        let mut cfg = config(
            &db.url,
            &[
                (&outlet, "The Washington Times", false),
                (&cp1250, "Večernje novosti", false),
                (&caucasus, "Associated Press", true),
            ],
        );
        cfg.topics = vec![wirefeed::config::TopicConfig {
            name: "arms".to_owned(),
            any: vec!["missile".to_owned(), "anti-tank".to_owned()],
            all: vec![],
            none: vec![],
        }];
        let app = App::build(cfg).await.expect("app builds");
        app.run_once().await.expect("pass");
        let stories = all_stories(&app).await;
        let codes = |s: &StoredStory| -> Vec<String> {
            s.countries
                .iter()
                .map(|c| c["code"].as_str().unwrap_or("").to_owned())
                .collect()
        };
        let primary = |s: &StoredStory| -> Option<String> {
            s.countries
                .iter()
                .find(|c| c["primary"] == serde_json::Value::Bool(true))
                .and_then(|c| c["code"].as_str().map(str::to_owned))
        };
        let kosovo = by_title(
            &stories,
            "U.S. gets Kosovo request to buy Javelin missiles; Serbia's Vucic disappointed",
        );
        assert_eq!(
            primary(kosovo).as_deref(),
            Some("RS"),
            "{}: {:?}",
            db.backend,
            kosovo.countries
        );
        assert!(codes(kosovo).contains(&"XK".to_owned()));
        for passing in ["RU", "CN", "UA", "TR"] {
            assert!(!codes(kosovo).contains(&passing.to_owned()), "{passing}");
        }
        let slugs: Vec<&str> = kosovo
            .regions
            .iter()
            .filter_map(|r| r["slug"].as_str())
            .collect();
        assert!(slugs.contains(&"western_balkans"), "{slugs:?}");
        assert!(
            slugs.contains(&"balkans"),
            "the parent region too: {slugs:?}"
        );
        assert_eq!(kosovo.topics, vec!["arms"]);
        let vucic = by_title(&stories, "Vučić: Srbija će nastaviti da čuva mir");
        assert_eq!(
            primary(vucic).as_deref(),
            Some("RS"),
            "{:?}",
            vucic.countries
        );
        let tbilisi = by_title(&stories, "Thousands rally in Tbilisi against media law");
        assert_eq!(primary(tbilisi).as_deref(), Some("GE"));
        let atlanta = by_title(&stories, "Georgia lawmakers approve state budget");
        assert_eq!(primary(atlanta).as_deref(), Some("US"));
        let amman = by_title(&stories, "Jordan hosts talks on regional water sharing");
        assert_eq!(primary(amman).as_deref(), Some("JO"));

        let query = |country: Option<&str>, region: Option<&str>, topic: Option<&str>| StoryQuery {
            country: country.map(str::to_owned),
            region: region.map(str::to_owned),
            topic: topic.map(str::to_owned),
            limit: 100,
            ..StoryQuery::default()
        };
        let titles = |q: StoryQuery| {
            let app = app.clone();
            async move {
                let mut t: Vec<String> = app
                    .store()
                    .stories(&q)
                    .await
                    .expect("filtered")
                    .into_iter()
                    .map(|s| s.title)
                    .collect();
                t.sort();
                t
            }
        };
        let balkans = titles(query(None, Some("balkans"), None)).await;
        assert_eq!(balkans.len(), 2, "{}: {balkans:?}", db.backend);
        assert_eq!(titles(query(Some("XK"), None, None)).await.len(), 1);
        assert_eq!(
            titles(query(None, Some("south_caucasus"), None)).await,
            vec!["Thousands rally in Tbilisi against media law"]
        );
        assert_eq!(titles(query(None, None, Some("arms"))).await.len(), 1);
        assert!(titles(query(Some("RS"), Some("sahel"), None))
            .await
            .is_empty());
        db.cleanup().await;
    }
}
