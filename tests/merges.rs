//! Cluster merges end to end, through the daemon: a wire story re-sent with a new top (a
//! write-thru) whose first and last versions share too little to match, stored in two clusters,
//! then bridged by the middle version, which makes them one cluster in the database; the old
//! cluster id still leads to the stories. SQLite always, PostgreSQL when configured.

mod common;

use common::{all_stories, by_key, config, databases, FeedServer, Route};
use wirefeed::daemon::App;
use wirefeed::store::StoryQuery;

/// The first version of an invented wire story, paragraph by paragraph.
const FIRST: &[&str] = &[
    "VALLETTA, Malta (AP) — Rescue crews on Tuesday pulled survivors from a collapsed apartment block in the old harbour district, where residents said cracks had appeared in the walls for weeks before the building gave way in the early morning.",
    "Firefighters and volunteers worked through the rubble with their hands and a single mechanical digger, stopping every few minutes so that listening teams could hear voices or tapping from beneath the broken concrete slabs.",
    "The civil protection office said that most of the families living in the block had left for work or school before the collapse, but neighbours told reporters that an elderly couple and a young caretaker were still missing.",
    "Engineers from the public works ministry arrived at the scene shortly after dawn and ordered the evacuation of two neighbouring houses whose shared walls had been torn open when the upper floors of the block fell inward.",
    "A woman who lived across the narrow street described being woken by a sound like thunder, running outside in her nightclothes and seeing a cloud of white dust rise over the rooftops toward the water.",
    "The mayor of the district told a local radio station that residents had complained to the planning authority about construction work on an adjoining plot, where a developer had been digging foundations for a hotel.",
    "Opposition politicians demanded an independent inquiry into how building permits are granted in the harbour area, saying that inspectors had ignored warnings from residents about the state of several older properties there.",
    "The developer did not answer telephone calls on Tuesday, and a notice on the hoarding around the construction site said that all work had been suspended until further notice by order of the building regulator.",
    "Hospital officials said the survivors pulled from the rubble so far had broken bones and cuts but were in stable condition, and that a ward had been cleared to receive anyone else brought out during the night.",
    "Church bells in the old town rang at noon in a show of solidarity, and dozens of people gathered at the edge of the police cordon with bottles of water and food for the rescue teams working in the heat.",
];

/// The new top the wire puts on the story later in the day.
const NEW_TOP: &[&str] = &[
    "VALLETTA, Malta (AP) — The prime minister on Tuesday evening promised a full public inquiry into the collapse of an apartment block in the old harbour district, as rescuers searched into the night for three people still believed trapped.",
    "Speaking outside the cordon after meeting relatives of the missing, the prime minister said that no one responsible for the disaster would be protected and that the government would pay for the families to be rehoused.",
    "Police said they had questioned the owner of the construction company digging next to the building and had seized documents from its offices, although no one had been arrested by late evening.",
    "The building regulator announced that inspectors would visit every construction site in the harbour district over the coming week and that permits for excavation near older buildings would be reviewed.",
];

/// `paras` as one RSS item's HTML description.
fn item(guid: &str, title: &str, date: &str, paras: &[&str]) -> String {
    let body: String = paras
        .iter()
        .map(|p| format!("&lt;p&gt;{p}&lt;/p&gt;"))
        .collect();
    format!(
        "<item><title>{title}</title><link>https://wire.test/{guid}</link>\
         <guid isPermaLink=\"false\">{guid}</guid><pubDate>{date}</pubDate>\
         <description>{body}</description></item>"
    )
}

fn serve(server: &FeedServer, path: &str, guid: &str, date: &str, paras: &[&str]) -> String {
    let doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>{path}</title>{}</channel></rss>",
        item(guid, "Building collapse in harbour district", date, paras)
    );
    server.route(
        path,
        Route::Doc {
            content_type: "application/rss+xml",
            body: doc.into_bytes(),
        },
    )
}

#[tokio::test]
async fn a_write_thru_that_bridges_two_clusters_makes_them_one() {
    // Version 1: the first ten paragraphs. Version 3: the new top and the last five of them
    // (half of version 1, too little for a match). Version 2: the new top over all ten, which
    // contains both.
    let v3: Vec<&str> = NEW_TOP.iter().chain(&FIRST[5..]).copied().collect();
    let v2: Vec<&str> = NEW_TOP.iter().chain(FIRST).copied().collect();
    for db in databases().await {
        let server = FeedServer::start().await;
        let a = serve(
            &server,
            "/a.xml",
            "v1",
            "Tue, 09 Jan 2024 08:00:00 GMT",
            FIRST,
        );
        let b = serve(
            &server,
            "/b.xml",
            "v3",
            "Tue, 09 Jan 2024 20:00:00 GMT",
            &v3,
        );
        let cfg = config(&db.url, &[(&a, "Outlet A", false), (&b, "Outlet B", false)]);
        let app = App::build(cfg).await.expect("app builds");
        app.run_once().await.expect("first pass");
        let before = all_stories(&app).await;
        let (s1, s3) = (by_key(&before, "v1"), by_key(&before, "v3"));
        assert_ne!(
            s1.cluster, s3.cluster,
            "{}: the first and last versions alone are two stories",
            db.backend
        );
        let gone = [s1.cluster, s3.cluster];

        let c = serve(
            &server,
            "/c.xml",
            "v2",
            "Tue, 09 Jan 2024 14:00:00 GMT",
            &v2,
        );
        let cfg = config(
            &db.url,
            &[
                (&a, "Outlet A", false),
                (&b, "Outlet B", false),
                (&c, "Outlet C", false),
            ],
        );
        drop(app);
        let app = App::build(cfg).await.expect("app rebuilds");
        let pass = app.run_once().await.expect("second pass");
        assert_eq!(pass.failed, 0, "{}: {pass:?}", db.backend);
        let after = all_stories(&app).await;
        let (s1, s2, s3) = (
            by_key(&after, "v1"),
            by_key(&after, "v2"),
            by_key(&after, "v3"),
        );
        assert_eq!(s1.cluster, s2.cluster, "{}: v2 joins v1", db.backend);
        assert_eq!(
            s3.cluster, s2.cluster,
            "{}: and brings v3's cluster along",
            db.backend
        );
        assert_eq!(s1.origin, s1.id, "{}: the earliest is origin", db.backend);
        assert!(s2.is_reprint && s3.is_reprint, "{}", db.backend);

        // The cluster that disappeared still leads to the stories.
        let merged_away = gone
            .iter()
            .flatten()
            .copied()
            .find(|c| Some(*c) != s1.cluster)
            .expect("one of the two clusters went");
        let followed = app
            .store()
            .stories(&StoryQuery {
                cluster: Some(merged_away),
                limit: 100,
                ..StoryQuery::default()
            })
            .await
            .expect("stories of the old cluster");
        assert_eq!(followed.len(), 3, "{}: old cluster id followed", db.backend);
        db.cleanup().await;
    }
}
