//! The store on both databases, called directly: cluster merges and where their old ids lead,
//! and refreshes that must fail cleanly or succeed whole (a batch with the same story twice, a
//! database that fails mid-batch, a story whose cluster vanished or was merged while it was
//! written).

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::{databases, TestDb};
use sqlx::Connection;
use wirefeed::config::DatabaseConfig;
use wirefeed::dedup::{fingerprint, MatchRules, Matcher};
use wirefeed::model::{FeedId, Story};
use wirefeed::store::{
    DefinedIn, FeedUpdate, Incoming, NewFeed, Store, StoredStory, StoryQuery, Written,
};

const OWNER: &str = "test-daemon";

/// Three stories nobody would mistake for each other, each long enough to fingerprint.
const TEXTS: [&str; 3] = [
    "The harbour authority said on Monday that the northern pier would close for repairs \
     after storms damaged its foundations, and ferries would use the southern terminal until \
     the work is finished late next spring, according to a statement from the port office.",
    "Farmers in the valley reported the largest apple harvest in a decade, crediting a mild \
     winter and a wet summer, while cooperative managers warned that storage space was running \
     short and prices at the regional market had already begun to fall sharply this week.",
    "The city orchestra announced a season of free concerts in public parks, funded by a \
     private foundation, with the first performance planned for the old bandstand on the river \
     embankment and rehearsals open to schoolchildren from the surrounding districts.",
];

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 11, hour, 0, 0)
        .single()
        .expect("valid instant")
}

fn story(key: &str, body: &str, published: DateTime<Utc>) -> Incoming {
    Incoming {
        story: Story {
            key: key.to_owned(),
            url: Some(format!("https://example.test/{key}")),
            canonical_url: Some(format!("https://example.test/{key}")),
            title: format!("Story {key}"),
            body: body.to_owned(),
            body_html: None,
            authors: vec!["Staff".to_owned()],
            published: Some(published),
            updated: None,
            language: Some("en".to_owned()),
            wire_service: None,
            dateline: None,
            feed_hash: None,
        },
        fingerprint: fingerprint(body),
        wire_copy: false,
        tags: wirefeed::tag::Tags {
            topics: vec!["economy".to_owned()],
            ..Default::default()
        },
    }
}

struct Fixture {
    store: Store,
    matcher: Matcher,
    db: TestDb,
}

async fn open(db: TestDb) -> Fixture {
    let store = Store::connect(&DatabaseConfig {
        url: db.url.clone(),
        max_connections: 4,
    })
    .await
    .expect("connect");
    store.migrate().await.expect("migrate");
    Fixture {
        store,
        matcher: Matcher::new(MatchRules::default()),
        db,
    }
}

impl Fixture {
    /// A feed of its own source, leased to `OWNER`.
    async fn feed(&self, n: usize) -> (FeedId, i64) {
        let url = format!("https://feeds.test/{n}.xml");
        let id = self
            .store
            .upsert_feed(
                &NewFeed {
                    url: &url,
                    source: &format!("Outlet {n}"),
                    is_wire: false,
                    full_text: false,
                    defined_in: DefinedIn::Cli,
                    title: None,
                },
                at(0),
            )
            .await
            .expect("feed");
        let source = self
            .scalar(&format!("SELECT source_id FROM feeds WHERE id = {}", id.0))
            .await;
        (id, source)
    }

    async fn refresh(
        &self,
        feed: (FeedId, i64),
        stories: &[Incoming],
    ) -> Result<Written, wirefeed::store::StoreError> {
        // A lease, as a claim would give.
        self.exec(&format!(
            "UPDATE feeds SET lease_owner = '{OWNER}' WHERE id = {}",
            feed.0 .0
        ))
        .await;
        let update = FeedUpdate {
            feed_id: feed.0,
            source_id: feed.1,
            now: at(12),
            outcome: "fetched",
            http_status: Some(200),
            error_kind: None,
            error_message: None,
            etag: Some("\"v1\"".to_owned()),
            last_modified: None,
            body_hash: Some("h".to_owned()),
            consecutive_errors: 0,
            status: "active",
            next_check_at: at(13),
            interval_secs: 3600,
            title: None,
            moved_to: None,
            duration_ms: 5,
            bytes: 100,
            items: stories.len() as i64,
        };
        self.store
            .record_refresh(OWNER, &update, stories, &self.matcher)
            .await
    }

    async fn stories(&self, cluster: Option<i64>) -> Vec<StoredStory> {
        self.store
            .stories(&StoryQuery {
                cluster,
                limit: 1000,
                ..Default::default()
            })
            .await
            .expect("stories")
    }

    async fn scalar(&self, sql: &str) -> i64 {
        if self.db.backend == "postgres" {
            let mut c = sqlx::PgConnection::connect(&self.db.url)
                .await
                .expect("connect");
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&mut c)
                .await
                .expect(sql)
        } else {
            let mut c = sqlx::SqliteConnection::connect(&self.db.url)
                .await
                .expect("connect");
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&mut c)
                .await
                .expect(sql)
        }
    }

    async fn exec(&self, sql: &str) {
        if self.db.backend == "postgres" {
            let mut c = sqlx::PgConnection::connect(&self.db.url)
                .await
                .expect("connect");
            sqlx::raw_sql(sql).execute(&mut c).await.expect(sql);
        } else {
            let mut c = sqlx::SqliteConnection::connect(&self.db.url)
                .await
                .expect("connect");
            sqlx::raw_sql(sql).execute(&mut c).await.expect(sql);
        }
    }
}

fn cluster_of(stories: &[StoredStory], key: &str) -> i64 {
    stories
        .iter()
        .find(|s| s.key == key)
        .and_then(|s| s.cluster)
        .unwrap_or_else(|| panic!("{key} is stored in a cluster"))
}

#[tokio::test]
async fn a_merge_moves_every_member_rechooses_the_origin_and_leaves_a_record() {
    for db in databases().await {
        let f = open(db).await;
        let (a, b) = (f.feed(1).await, f.feed(2).await);
        // Two clusters of two stories each; the second cluster's first story is the earliest.
        f.refresh(
            a,
            &[story("a1", TEXTS[0], at(6)), story("a2", TEXTS[1], at(3))],
        )
        .await
        .expect("refresh a");
        f.refresh(
            b,
            &[story("b1", TEXTS[0], at(7)), story("b2", TEXTS[1], at(8))],
        )
        .await
        .expect("refresh b");
        let all = f.stories(None).await;
        let (into, from) = (cluster_of(&all, "a1"), cluster_of(&all, "a2"));
        assert_ne!(into, from, "{}", f.db.backend);
        assert_eq!(cluster_of(&all, "b1"), into, "{}", f.db.backend);
        assert_eq!(cluster_of(&all, "b2"), from, "{}", f.db.backend);

        let n = f
            .store
            .merge_clusters(&[(from, into), (from, into), (999_999, into)], at(20))
            .await
            .expect("merge");
        assert_eq!(n, 1, "a repeated or unknown merge is skipped");

        let merged = f.stories(Some(into)).await;
        assert_eq!(merged.len(), 4, "{}", f.db.backend);
        // The origin is the earliest appearance (a2, at 03:00), and everything else a reprint.
        let a2 = merged.iter().find(|s| s.key == "a2").expect("a2");
        assert_eq!(a2.origin, a2.id);
        assert!(!a2.is_reprint);
        assert_eq!(merged.iter().filter(|s| s.is_reprint).count(), 3);
        let sql = format!("SELECT CAST(size AS BIGINT) FROM clusters WHERE id = {into}");
        assert_eq!(f.scalar(&sql).await, 4);
        let sql = format!("SELECT count(*) FROM clusters WHERE id = {from}");
        assert_eq!(f.scalar(&sql).await, 0, "the merged cluster's row is gone");
        let sql = format!(
            "SELECT count(*) FROM cluster_merges WHERE from_cluster_id = {from} AND into_cluster_id = {into}"
        );
        assert_eq!(f.scalar(&sql).await, 1, "{}", f.db.backend);

        // The old id still leads to the stories.
        let followed = f.stories(Some(from)).await;
        assert_eq!(followed.len(), 4, "{}", f.db.backend);
        assert!(followed.iter().all(|s| s.cluster == Some(into)));
        f.db.cleanup().await;
    }
}

#[tokio::test]
async fn merges_chain_and_old_ids_follow_to_the_survivor() {
    for db in databases().await {
        let f = open(db).await;
        let a = f.feed(1).await;
        f.refresh(
            a,
            &[
                story("x", TEXTS[0], at(1)),
                story("y", TEXTS[1], at(2)),
                story("z", TEXTS[2], at(3)),
            ],
        )
        .await
        .expect("refresh");
        let all = f.stories(None).await;
        let (x, y, z) = (
            cluster_of(&all, "x"),
            cluster_of(&all, "y"),
            cluster_of(&all, "z"),
        );
        // x goes into y, then y into z: x's stories end in z, and x's record points at z.
        f.store
            .merge_clusters(&[(x, y), (y, z)], at(20))
            .await
            .expect("merge");
        assert_eq!(f.store.current_cluster(x).await.expect("follow"), z);
        assert_eq!(f.store.current_cluster(y).await.expect("follow"), z);
        assert_eq!(f.stories(Some(x)).await.len(), 3, "{}", f.db.backend);
        let sql = format!("SELECT CAST(size AS BIGINT) FROM clusters WHERE id = {z}");
        assert_eq!(f.scalar(&sql).await, 3);
        // A reprint of a story whose cluster was merged twice joins the survivor.
        let b = f.feed(2).await;
        f.refresh(b, &[story("w", TEXTS[0], at(9))])
            .await
            .expect("refresh");
        assert_eq!(
            cluster_of(&f.stories(None).await, "w"),
            z,
            "a reprint joins the surviving cluster ({})",
            f.db.backend
        );
        f.db.cleanup().await;
    }
}

#[tokio::test]
async fn a_batch_with_the_same_story_twice_writes_it_once() {
    for db in databases().await {
        let f = open(db).await;
        let a = f.feed(1).await;
        let s = story("same", TEXTS[0], at(5));
        let w = f
            .refresh(a, &[s.clone(), s.clone(), story("other", TEXTS[1], at(6))])
            .await
            .expect("refresh");
        assert_eq!(w.new_stories, 2, "{}", f.db.backend);
        assert_eq!(f.scalar("SELECT count(*) FROM stories").await, 2);
        assert_eq!(f.scalar("SELECT count(*) FROM clusters").await, 2);
        assert_eq!(f.scalar("SELECT count(*) FROM story_tags").await, 2);
        f.db.cleanup().await;
    }
}

#[tokio::test]
async fn a_refresh_that_fails_mid_batch_leaves_nothing_half_written() {
    for db in databases().await {
        let f = open(db).await;
        let a = f.feed(1).await;
        // The database refuses the placement step, after the story rows were written.
        if f.db.backend == "postgres" {
            f.exec(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION 'disk gone'; END $$;
                 CREATE TRIGGER refuse BEFORE INSERT ON clusters
                 FOR EACH ROW EXECUTE FUNCTION refuse();",
            )
            .await;
        } else {
            f.exec(
                "CREATE TRIGGER refuse BEFORE INSERT ON clusters
                 BEGIN SELECT RAISE(ABORT, 'disk gone'); END;",
            )
            .await;
        }
        let batch = [story("a1", TEXTS[0], at(5)), story("a2", TEXTS[1], at(6))];
        let err = f.refresh(a, &batch).await;
        assert!(err.is_err(), "{}", f.db.backend);
        for table in ["stories", "story_tags", "clusters", "fetches"] {
            let sql = format!("SELECT count(*) FROM {table}");
            assert_eq!(f.scalar(&sql).await, 0, "{table} on {}", f.db.backend);
        }
        let sql = format!(
            "SELECT count(*) FROM feeds WHERE id = {} AND etag IS NULL",
            a.0 .0
        );
        assert_eq!(f.scalar(&sql).await, 1, "the feed state is not written");
        assert!(
            f.matcher.is_empty(),
            "the matcher holds no uncommitted story"
        );

        // Once the database is back, the same refresh is written whole.
        if f.db.backend == "postgres" {
            f.exec("DROP TRIGGER refuse ON clusters").await;
        } else {
            f.exec("DROP TRIGGER refuse").await;
        }
        let w = f.refresh(a, &batch).await.expect("refresh");
        assert_eq!(w.new_stories, 2);
        assert_eq!(f.scalar("SELECT count(*) FROM fetches").await, 1);
        assert_eq!(f.matcher.len(), 2);
        f.db.cleanup().await;
    }
}

#[tokio::test]
async fn a_story_whose_cluster_vanished_while_it_was_written_starts_a_new_one() {
    for db in databases().await {
        let f = open(db).await;
        let (a, b) = (f.feed(1).await, f.feed(2).await);
        f.refresh(a, &[story("a1", TEXTS[0], at(5))])
            .await
            .expect("refresh a");
        let old = cluster_of(&f.stories(None).await, "a1");
        // The first feed goes (its stories and cluster with it) behind the matcher's back.
        assert!(f
            .store
            .remove_feed("https://feeds.test/1.xml")
            .await
            .expect("remove"));
        let w = f
            .refresh(b, &[story("b1", TEXTS[0], at(6))])
            .await
            .expect("refresh b");
        assert_eq!(w.reprints, 0, "{}", f.db.backend);
        let all = f.stories(None).await;
        assert_eq!(all.len(), 1);
        let new = cluster_of(&all, "b1");
        assert_ne!(new, old);
        assert_eq!(all[0].origin, all[0].id);
        f.db.cleanup().await;
    }
}

#[tokio::test]
async fn a_story_whose_cluster_was_merged_while_it_was_written_joins_the_survivor() {
    for db in databases().await {
        let f = open(db).await;
        let (a, b) = (f.feed(1).await, f.feed(2).await);
        f.refresh(
            a,
            &[story("a1", TEXTS[0], at(5)), story("a2", TEXTS[1], at(4))],
        )
        .await
        .expect("refresh a");
        let all = f.stories(None).await;
        let (from, into) = (cluster_of(&all, "a1"), cluster_of(&all, "a2"));
        // Another daemon merges a1's cluster away; this matcher still places by the old id.
        f.store
            .merge_clusters(&[(from, into)], at(10))
            .await
            .expect("merge");
        let w = f
            .refresh(b, &[story("b1", TEXTS[0], at(6))])
            .await
            .expect("refresh b");
        assert_eq!(w.reprints, 1, "{}", f.db.backend);
        let all = f.stories(None).await;
        assert_eq!(cluster_of(&all, "b1"), into, "{}", f.db.backend);
        let sql = format!("SELECT CAST(size AS BIGINT) FROM clusters WHERE id = {into}");
        assert_eq!(f.scalar(&sql).await, 3);
        f.db.cleanup().await;
    }
}

#[tokio::test]
async fn two_feeds_of_one_source_storing_one_item_at_once_store_it_once() {
    for db in databases().await {
        let f = open(db).await;
        let a = f.feed(1).await;
        // A second feed of the same source.
        let b_id = f
            .store
            .upsert_feed(
                &NewFeed {
                    url: "https://feeds.test/1-world.xml",
                    source: "Outlet 1",
                    is_wire: false,
                    full_text: false,
                    defined_in: DefinedIn::Cli,
                    title: None,
                },
                at(0),
            )
            .await
            .expect("feed");
        let b = (b_id, a.1);
        for round in 0..5 {
            let key = format!("item-{round}");
            let (one, two) = (
                [story(&key, TEXTS[round % 3], at(5))],
                [story(&key, TEXTS[round % 3], at(5))],
            );
            let (x, y) = tokio::join!(f.refresh(a, &one), f.refresh(b, &two));
            x.expect("refresh a");
            y.expect("refresh b");
            let sql = format!(
                "SELECT count(*) FROM stories WHERE canonical_url = 'https://example.test/{key}'"
            );
            assert_eq!(f.scalar(&sql).await, 1, "round {round} on {}", f.db.backend);
        }
        f.db.cleanup().await;
    }
}

#[tokio::test]
async fn an_interrupted_retag_run_resumes_after_its_last_batch() {
    for db in databases().await {
        let f = open(db).await;
        let feed = f.feed(1).await;
        let batch: Vec<Incoming> = TEXTS
            .iter()
            .enumerate()
            .map(|(i, t)| story(&format!("r{i}"), t, at(1)))
            .collect();
        f.refresh(feed, &batch).await.expect("refresh");
        assert_eq!(f.store.retag_progress().await.expect("progress"), None);

        // A run that did one batch of one story and stopped.
        let mut run = wirefeed::store::RetagProgress {
            since: Some(at(0)),
            last_story_id: 0,
            started_at: at(20),
        };
        let first = f.store.retag_batch(&run, 1).await.expect("batch");
        assert_eq!(first.len(), 1);
        run.last_story_id = first[0].id;
        let tags = wirefeed::tag::Tags {
            topics: vec!["harbours".to_owned()],
            ..Default::default()
        };
        let written = f
            .store
            .write_retag(&[(&first[0], tags)], &run, at(21))
            .await
            .expect("write");
        assert_eq!(written, 1);

        // The next run finds it and goes on after that story, over the other two.
        let resumed = f
            .store
            .retag_progress()
            .await
            .expect("progress")
            .expect("an unfinished run");
        assert_eq!(resumed, run, "{}", f.db.backend);
        assert_eq!(f.store.retag_remaining(&resumed).await.expect("count"), 2);
        let rest = f.store.retag_batch(&resumed, 10).await.expect("batch");
        assert!(rest.iter().all(|s| s.id > first[0].id), "{}", f.db.backend);
        assert_eq!(rest.len(), 2);
        let tagged = f.stories(None).await;
        let topics = |key: &str| {
            tagged
                .iter()
                .find(|s| s.key == key)
                .map(|s| s.topics.clone())
                .expect("story")
        };
        assert_eq!(
            topics("r0"),
            vec!["harbours".to_owned()],
            "{}",
            f.db.backend
        );
        assert_eq!(topics("r1"), vec!["economy".to_owned()], "untouched yet");

        // A story the daemon changed after the run read it keeps the daemon's tags.
        f.exec(&format!(
            "UPDATE stories SET content_hash = 'changed' WHERE id = {}",
            rest[0].id
        ))
        .await;
        let stale = wirefeed::tag::Tags {
            topics: vec!["stale".to_owned()],
            ..Default::default()
        };
        let written = f
            .store
            .write_retag(&[(&rest[0], stale)], &resumed, at(22))
            .await
            .expect("write");
        assert_eq!(written, 0, "{}", f.db.backend);
        let after = f.stories(None).await;
        let kept = after
            .iter()
            .find(|s| s.id == Some(rest[0].id))
            .expect("story");
        assert_eq!(kept.topics, vec!["economy".to_owned()], "{}", f.db.backend);

        // A run that excludes stories first seen before its `since` finds none of them.
        let later = wirefeed::store::RetagProgress {
            since: Some(at(23)),
            ..resumed.clone()
        };
        assert_eq!(f.store.retag_remaining(&later).await.expect("count"), 0);

        f.store.finish_retag().await.expect("finish");
        assert_eq!(f.store.retag_progress().await.expect("progress"), None);
        f.db.cleanup().await;
    }
}
