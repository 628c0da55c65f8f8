//! Reprint clusters end to end: a local feed server, the real pipeline, SQLite always and
//! PostgreSQL when configured (two daemons sharing it, too).

mod common;

use common::{all_stories, by_key, config, databases, FeedServer, Route};
use wirefeed::daemon::App;
use wirefeed::store::StoryQuery;

/// AP's Belgrade story, paragraph by paragraph (AP's own wording, as in the Washington Times
/// reprint fixture).
const AP: &[&str] = &[
    "BELGRADE, Serbia (AP) — The United States has received Kosovo’s request to purchase Javelin anti-tank missiles, the U.S. ambassador to Serbia on Thursday told President Aleksandar Vučić, who expressed “deep disappointment.”",
    "The U.S. State Department said later Thursday that it approved the possible sale of the 246 missiles and related equipment to Kosovo for an estimated cost of $75 million.",
    "“This proposed sale will support the foreign policy goals and national security of the United States by improving the security of a European partner which is an important force for political and economic stability in Europe,” the U.S. State Department’s Bureau of Political-Military Affairs said.",
    "A statement by Vučić’s office said U.S. Ambassador Christopher Hill told him that the U.S. State Department will send Kosovo’s request to Congress, which reviews foreign arms sales.",
    "Kosovo is a former Serbian province which declared independence in 2008. The U.S. and most Western nations recognize Kosovo’s statehood, while Serbia as well as ally Russia and China don’t.",
    "Serbia’s president said that “for us, it is of great importance that the peace in the region is not broken and that Serbia will continue to act responsibly and contribute to stability in the Balkans.”",
    "The proposed sale of the missile system to Kosovo comes during tensions in the region. Several times in recent months, Serbia has moved its troops to the border that is guarded by NATO-led peacekeeping troops and Kosovo’s armed forces, in what were seen by the West as hostile actions.",
    "The Javelin missile system has been used by Ukrainian forces to destroy Russian tanks and other armored vehicles.",
    "Kosovo has boosted its armed forces with drones and anti-tank missiles mostly from Turkey, which has angered Belgrade.",
];

/// Another story on the same dispute, by other reporters, the next day.
const OTHER: &[&str] = &[
    "PRISTINA, Kosovo (AP) — Kosovo’s prime minister on Friday defended his government’s plan to buy anti-tank weapons from the United States, saying the country had every right to defend itself.",
    "Albin Kurti told reporters in Pristina that the purchase was not aimed at any neighbor and that Kosovo’s army would remain a small, defensive force trained by NATO members.",
    "Serbian officials in Belgrade again criticized the plan, saying it would raise tensions in the north of Kosovo, where ethnic Serbs are the majority, and called on the European Union to intervene.",
    "The two governments have been in talks mediated by the European Union for more than a decade with little progress on normalizing their relations.",
];

fn item(guid: &str, title: &str, link: &str, date: &str, paras: &[&str]) -> String {
    let body: String = paras
        .iter()
        .map(|p| format!("&lt;p&gt;{}&lt;/p&gt;", p.replace('&', "&amp;amp;")))
        .collect();
    format!(
        "<item><title>{title}</title><link>{link}</link><guid isPermaLink=\"false\">{guid}</guid>\
         <pubDate>{date}</pubDate><description>{body}</description></item>"
    )
}

fn rss(items: &[String]) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Feed</title>{}</channel></rss>",
        items.concat()
    )
    .into_bytes()
}

fn serve(server: &FeedServer, path: &str, body: Vec<u8>) -> String {
    server.route(
        path,
        Route::Doc {
            content_type: "application/rss+xml",
            body,
        },
    )
}

/// The AP wire's own feed: the Belgrade story, and the Pristina story a day later.
fn ap_feed() -> Vec<u8> {
    rss(&[
        item(
            "ap-belgrade",
            "US receives Kosovo request for Javelin missiles",
            "https://apnews.test/article/kosovo-javelin",
            "Thu, 11 Jan 2024 13:05:00 EST",
            AP,
        ),
        item(
            "ap-pristina",
            "Kosovo premier defends anti-tank weapons purchase",
            "https://apnews.test/article/kosovo-premier",
            "Fri, 12 Jan 2024 09:30:00 EST",
            OTHER,
        ),
    ])
}

/// An outlet's reprint, shaped like the Washington Times copy: outlet header, the dateline
/// without "(AP)", a new headline, the outlet's footer; and a staff story.
fn outlet_feed() -> Vec<u8> {
    let mut paras = vec!["- Associated Press - Thursday, January 11, 2024".to_owned()];
    paras.push(AP[0].replace(" (AP)", ""));
    paras.extend(AP[1..].iter().map(|p| (*p).to_owned()));
    paras.push("Copyright © 2024 The Washington Times, LLC.".to_owned());
    paras.push("Please read our comment policy before commenting.".to_owned());
    let paras: Vec<&str> = paras.iter().map(String::as_str).collect();
    rss(&[
        item(
            "wt-kosovo",
            "U.S. gets Kosovo request to buy Javelin missiles; Serbia's Vucic disappointed",
            "https://www.example-times.test/news/kosovo-javelins/",
            "Thu, 11 Jan 2024 14:22:00 EST",
            &paras,
        ),
        item(
            "wt-budget",
            "City council approves new budget",
            "https://www.example-times.test/news/city-budget/",
            "Thu, 11 Jan 2024 18:00:00 EST",
            &[
                "The city council on Thursday approved a budget that raises spending on roads and schools by a tenth, after a long debate over property taxes.",
                "The vote was 7 to 2, with the two members from the eastern wards voting against it.",
            ],
        ),
    ])
}

/// A second outlet that ran only the first three paragraphs, under its own headline.
fn truncated_feed() -> Vec<u8> {
    let mut paras: Vec<String> = AP[..3].iter().map(|p| p.replace(" (AP)", "")).collect();
    paras.push("Copyright 2024 The Daily Example. All rights reserved.".to_owned());
    let paras: Vec<&str> = paras.iter().map(String::as_str).collect();
    rss(&[item(
        "de-1",
        "Kosovo wants Javelins, and Belgrade is not happy",
        "https://daily-example.test/world/kosovo-javelins",
        "Thu, 11 Jan 2024 16:40:00 EST",
        &paras,
    )])
}

#[tokio::test]
async fn reprints_join_the_wire_story_and_the_wire_copy_becomes_origin() {
    for db in databases().await {
        let server = FeedServer::start().await;
        // The outlet's copy is polled before the wire's own feed.
        let outlet = serve(&server, "/outlet.xml", outlet_feed());
        let mut cfg = config(&db.url, &[(&outlet, "The Washington Times", false)]);
        let app = App::build(cfg.clone()).await.expect("app builds");
        app.run_once().await.expect("outlet pass");
        let first = all_stories(&app).await;
        let wt = by_key(&first, "wt-kosovo");
        assert_eq!(wt.origin, wt.id, "alone, the reprint is its own origin");
        assert!(!wt.is_reprint);

        // The wire's feed and a truncated reprint arrive; the daemon restarts in between, so the
        // match runs against stored fingerprints.
        let ap = serve(&server, "/ap.xml", ap_feed());
        let trunc = serve(&server, "/trunc.xml", truncated_feed());
        cfg = config(
            &db.url,
            &[
                (&outlet, "The Washington Times", false),
                (&ap, "Associated Press", true),
                (&trunc, "The Daily Example", false),
            ],
        );
        drop(app);
        let app = App::build(cfg).await.expect("app rebuilds");
        let pass = app.run_once().await.expect("second pass");
        assert_eq!(pass.failed, 0, "{}: {pass:?}", db.backend);
        let stories = all_stories(&app).await;
        assert_eq!(stories.len(), 5, "{}", db.backend);

        let ap_copy = by_key(&stories, "ap-belgrade");
        let wt = by_key(&stories, "wt-kosovo");
        let truncated = by_key(&stories, "de-1");
        let other = by_key(&stories, "ap-pristina");
        let staff = by_key(&stories, "wt-budget");
        assert_eq!(wt.cluster, ap_copy.cluster, "{}: reprint", db.backend);
        assert_eq!(
            truncated.cluster, ap_copy.cluster,
            "{}: truncated reprint",
            db.backend
        );
        assert_eq!(
            ap_copy.origin, ap_copy.id,
            "{}: the wire copy is origin",
            db.backend
        );
        for s in [wt, truncated] {
            assert_eq!(s.origin, ap_copy.id, "{}", db.backend);
            assert!(s.is_reprint, "{}: {} is a reprint", db.backend, s.key);
        }
        assert!(!ap_copy.is_reprint);
        assert_ne!(
            other.cluster, ap_copy.cluster,
            "{}: same dispute, other story",
            db.backend
        );
        assert_eq!(other.origin, other.id);
        assert_ne!(staff.cluster, ap_copy.cluster);
        assert_eq!(
            staff.origin, staff.id,
            "{}: a staff story is alone",
            db.backend
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_same_item_in_two_feeds_of_one_outlet_is_one_story() {
    for db in databases().await {
        let server = FeedServer::start().await;
        let link = "https://www.example-times.test/news/kosovo-javelins/?utm_source=top";
        let one = |guid: &str, paras: &[&str]| {
            rss(&[item(
                guid,
                "Kosovo asks for Javelins",
                link,
                "Thu, 11 Jan 2024 14:22:00 EST",
                paras,
            )])
        };
        let world = serve(&server, "/world.xml", one("world-1", &AP[..4]));
        let top = serve(&server, "/top.xml", one("top-1", &AP[..4]));
        let cfg = config(
            &db.url,
            &[
                (&world, "The Example Times", false),
                (&top, "The Example Times", false),
            ],
        );
        let app = App::build(cfg).await.expect("app builds");
        app.run_once().await.expect("first pass");
        let stories = all_stories(&app).await;
        assert_eq!(
            stories.len(),
            1,
            "{}: one story, not two: {:?}",
            db.backend,
            stories
                .iter()
                .map(|s| (&s.key, &s.feed_url, &s.canonical_url))
                .collect::<Vec<_>>()
        );
        assert_eq!(stories[0].version, 1);

        // A third feed of the outlet brings a longer text, twice under two guids: the same
        // story, version 2 (two items written to one row in one refresh must not fail it).
        let twice = rss(&[
            item(
                "x-1",
                "Kosovo asks for Javelins",
                link,
                "Thu, 11 Jan 2024 14:22:00 EST",
                AP,
            ),
            item(
                "x-2",
                "Kosovo asks for Javelins",
                link,
                "Thu, 11 Jan 2024 14:22:00 EST",
                &AP[..6],
            ),
        ]);
        let extra = serve(&server, "/extra.xml", twice);
        app.store()
            .upsert_feed(
                &wirefeed::store::NewFeed {
                    url: &extra,
                    source: "The Example Times",
                    is_wire: false,
                    full_text: false,
                    defined_in: wirefeed::store::DefinedIn::Cli,
                    title: None,
                },
                chrono::Utc::now(),
            )
            .await
            .expect("add a third feed");
        let pass = app.run_once().await.expect("second pass");
        assert_eq!(pass.failed, 0, "{}: {pass:?}", db.backend);
        let stories = all_stories(&app).await;
        assert_eq!(stories.len(), 1, "{}", db.backend);
        assert_eq!(stories[0].version, 2, "{}", db.backend);
        assert!(stories[0].body.contains("angered Belgrade"));
        db.cleanup().await;
    }
}

/// Twelve outlets reprint one story at once, read by two daemons sharing PostgreSQL: one cluster.
#[tokio::test]
async fn two_daemons_ingesting_reprints_at_once_end_with_one_cluster() {
    let Some(db) = common::TestDb::postgres().await else {
        return;
    };
    let server = FeedServer::start().await;
    let urls: Vec<String> = (0..12)
        .map(|i| {
            // Each outlet trims the story differently and adds its own footer.
            let keep = 2 + i % 7;
            let mut paras: Vec<String> =
                AP[..keep].iter().map(|p| p.replace(" (AP)", "")).collect();
            paras.push(format!("Copyright 2024 Outlet {i}. All rights reserved."));
            let paras: Vec<&str> = paras.iter().map(String::as_str).collect();
            serve(
                &server,
                &format!("/o{i}.xml"),
                rss(&[item(
                    &format!("o{i}"),
                    &format!("Outlet {i} headline on Kosovo"),
                    &format!("https://outlet{i}.test/kosovo"),
                    "Thu, 11 Jan 2024 14:22:00 EST",
                    &paras,
                )]),
            )
        })
        .collect();
    let names: Vec<String> = (0..12).map(|i| format!("Outlet {i}")).collect();
    let list: Vec<(&str, &str, bool)> = urls
        .iter()
        .zip(&names)
        .map(|(u, n)| (u.as_str(), n.as_str(), false))
        .collect();
    let mut cfg = config(&db.url, &list);
    cfg.fetch.concurrency = 3;
    let a = App::build(cfg.clone()).await.expect("daemon a");
    let b = App::build(cfg).await.expect("daemon b");
    let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
    let (ra, rb) = (ra.expect("a"), rb.expect("b"));
    assert_eq!(ra.feeds + rb.feeds, 12, "{ra:?} {rb:?}");
    assert!(
        ra.feeds > 0 && rb.feeds > 0,
        "both daemons worked: {ra:?} {rb:?}"
    );
    let stories = all_stories(&a).await;
    assert_eq!(stories.len(), 12);
    let first = stories[0].cluster;
    assert!(
        stories.iter().all(|s| s.cluster == first),
        "one cluster: {:?}",
        stories.iter().map(|s| s.cluster).collect::<Vec<_>>()
    );
    assert_eq!(
        stories.iter().filter(|s| !s.is_reprint).count(),
        1,
        "one origin"
    );
    db.cleanup().await;
}

/// A feed removed while the daemon runs takes its stories and clusters with it; a later reprint
/// of one of them starts a cluster of its own instead of failing on the vanished one.
#[tokio::test]
async fn a_reprint_of_a_removed_story_starts_a_new_cluster() {
    for db in databases().await {
        let server = FeedServer::start().await;
        let ap = serve(&server, "/ap.xml", ap_feed());
        let app = App::build(config(&db.url, &[(&ap, "Associated Press", true)]))
            .await
            .expect("app builds");
        app.run_once().await.expect("wire pass");
        assert!(app.store().remove_feed(&ap).await.expect("remove"));
        let outlet = serve(&server, "/outlet.xml", outlet_feed());
        app.store()
            .upsert_feed(
                &wirefeed::store::NewFeed {
                    url: &outlet,
                    source: "The Washington Times",
                    is_wire: false,
                    full_text: false,
                    defined_in: wirefeed::store::DefinedIn::Cli,
                    title: None,
                },
                chrono::Utc::now(),
            )
            .await
            .expect("add outlet");
        let pass = app.run_once().await.expect("outlet pass");
        assert_eq!(pass.failed, 0, "{}: {pass:?}", db.backend);
        let stories = all_stories(&app).await;
        let wt = by_key(&stories, "wt-kosovo");
        assert_eq!(wt.origin, wt.id, "{}: its own cluster now", db.backend);
        assert!(!wt.is_reprint);
        db.cleanup().await;
    }
}

/// A cluster that loses its origin (a removed feed) gets the next one; retention deletes stories
/// first seen before a cutoff and fetch-log lines older than one, and emptied clusters go.
#[tokio::test]
async fn retention_prunes_stories_and_moves_the_origin() {
    for db in databases().await {
        let server = FeedServer::start().await;
        let ap = serve(&server, "/ap.xml", ap_feed());
        let outlet = serve(&server, "/outlet.xml", outlet_feed());
        let trunc = serve(&server, "/trunc.xml", truncated_feed());
        let app = App::build(config(
            &db.url,
            &[
                (&ap, "Associated Press", true),
                (&outlet, "The Washington Times", false),
                (&trunc, "The Daily Example", false),
            ],
        ))
        .await
        .expect("app builds");
        app.run_once().await.expect("pass");
        // The wire's feed goes: its copy was the origin, the earliest reprint takes over and the
        // cluster's size follows.
        assert!(app.store().remove_feed(&ap).await.expect("remove"));
        let stories = all_stories(&app).await;
        let wt = by_key(&stories, "wt-kosovo");
        let truncated = by_key(&stories, "de-1");
        assert_eq!(wt.cluster, truncated.cluster);
        assert_eq!(
            wt.origin, wt.id,
            "{}: the earliest remaining is origin",
            db.backend
        );
        assert!(!wt.is_reprint);
        assert!(truncated.is_reprint);
        let sizes = app
            .store()
            .stories(&StoryQuery {
                cluster: wt.cluster,
                limit: 10,
                ..StoryQuery::default()
            })
            .await
            .expect("members");
        assert_eq!(sizes.len(), 2);
        // Everything older than now: every story and every log line goes, clusters with them.
        let later = chrono::Utc::now() + chrono::Duration::seconds(1);
        let (fetches, stories) = app
            .store()
            .prune(Some(later), Some(later))
            .await
            .expect("prune all");
        assert!(fetches >= 2, "{}: {fetches}", db.backend);
        assert_eq!(stories, 3, "{}", db.backend);
        assert!(all_stories(&app).await.is_empty());
        db.cleanup().await;
    }
}
