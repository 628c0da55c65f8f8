//! The read side: SQL views on both databases, and on PostgreSQL a NOTIFY on `wirefeed_stories`
//! per new story.

mod common;

use common::{config, databases, FeedServer, TestDb};
use sqlx::Connection;
use wirefeed::daemon::App;

#[tokio::test]
async fn views_answer_the_common_questions() {
    for db in databases().await {
        let server = FeedServer::start().await;
        let outlet = server.fixture("/outlet.xml", "rss2_outlet_reprint_of_ap.xml");
        let app = App::build(config(&db.url, &[(&outlet, "The Washington Times", false)]))
            .await
            .expect("app builds");
        app.run_once().await.expect("pass");
        let count = |sql: &'static str| {
            let url = db.url.clone();
            async move {
                if url.starts_with("postgres") {
                    let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
                    sqlx::query_scalar::<_, i64>(sql)
                        .fetch_one(&mut c)
                        .await
                        .expect(sql)
                } else {
                    let mut c = sqlx::SqliteConnection::connect(&url)
                        .await
                        .expect("connect");
                    sqlx::query_scalar::<_, i64>(sql)
                        .fetch_one(&mut c)
                        .await
                        .expect(sql)
                }
            }
        };
        assert_eq!(
            count("SELECT count(*) FROM latest_stories").await,
            2,
            "{}",
            db.backend
        );
        assert_eq!(
            count("SELECT count(*) FROM latest_stories WHERE primary_country = 'RS'").await,
            1
        );
        assert_eq!(count("SELECT count(*) FROM story_clusters").await, 2);
        assert_eq!(
            count("SELECT count(*) FROM stories_by_region WHERE region = 'balkans'").await,
            1
        );
        assert_eq!(
            count("SELECT count(*) FROM stories_by_country WHERE country = 'XK'").await,
            1
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn each_new_story_is_notified_on_wirefeed_stories() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let server = FeedServer::start().await;
    let outlet = server.fixture("/outlet.xml", "rss2_outlet_reprint_of_ap.xml");
    let app = App::build(config(&db.url, &[(&outlet, "The Washington Times", false)]))
        .await
        .expect("app builds");
    let mut listener = sqlx::postgres::PgListener::connect(&db.url)
        .await
        .expect("listener");
    listener.listen("wirefeed_stories").await.expect("LISTEN");
    app.run_once().await.expect("pass");
    let mut payloads = Vec::new();
    for _ in 0..2 {
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), listener.recv())
            .await
            .expect("a notification in time")
            .expect("notification");
        payloads.push(serde_json::from_str::<serde_json::Value>(n.payload()).expect("JSON"));
    }
    let mut titles: Vec<&str> = payloads
        .iter()
        .filter_map(|p| p["title"].as_str())
        .collect();
    titles.sort_unstable();
    assert_eq!(
        titles,
        [
            "City council approves new budget",
            "U.S. gets Kosovo request to buy Javelin missiles; Serbia's Vucic disappointed"
        ]
    );
    for p in &payloads {
        assert!(
            p["id"].is_i64() && p["cluster"].is_i64() && p["url"].is_string(),
            "{p}"
        );
    }
    // A second pass that only updates a story in place notifies nothing.
    let changed = String::from_utf8(common::fixture("rss2_outlet_reprint_of_ap.xml"))
        .expect("utf-8")
        .replace("The vote was 7 to 2.", "The vote was 8 to 1.");
    server.route(
        "/outlet.xml",
        common::Route::Doc {
            content_type: "application/rss+xml",
            body: changed.into_bytes(),
        },
    );
    let second = app.run_once().await.expect("second pass");
    assert_eq!(second.new_stories, 0);
    assert_eq!(second.fetched, 1, "the changed feed was read: {second:?}");
    let more = tokio::time::timeout(std::time::Duration::from_millis(500), listener.recv()).await;
    assert!(more.is_err(), "no notification for a story already stored");
    drop(listener);
    db.cleanup().await;
}
