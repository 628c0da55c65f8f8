//! The region test set (`tests/fixtures/regions/stories.jsonl`, written for wirefeed): at least
//! 95% of stories get exactly their labeled regions (the most specific ones), and the primary
//! country is one of the labeled countries.

use wirefeed::tag::{Tagger, Text};

#[derive(serde::Deserialize)]
struct Labeled {
    id: String,
    title: String,
    dateline: String,
    body: String,
    countries: Vec<String>,
    primary: Option<String>,
    regions: Vec<String>,
}

#[test]
fn regions_of_the_in_house_test_set() {
    let tagger = Tagger::builtin().expect("tagger");
    let data = include_str!("fixtures/regions/stories.jsonl");
    let stories: Vec<Labeled> = data
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("story line"))
        .collect();
    assert!(stories.len() >= 120);
    let (mut right, mut primary_right, mut with_primary) = (0, 0, 0);
    let mut wrong = Vec::new();
    for s in &stories {
        let tags = tagger.tag(Text {
            title: &s.title,
            dateline: Some(s.dateline.as_str()).filter(|d| !d.is_empty()),
            body: &s.body,
        });
        let mut got: Vec<&str> = tagger.most_specific(&tags);
        got.sort_unstable();
        let mut want: Vec<&str> = s.regions.iter().map(String::as_str).collect();
        want.sort_unstable();
        if got == want {
            right += 1;
        } else {
            wrong.push(format!(
                "{} {:?}: got {got:?} want {want:?}; countries {:?} want {:?}",
                s.id,
                s.title,
                tags.countries
                    .iter()
                    .map(|c| c.code.as_str())
                    .collect::<Vec<_>>(),
                s.countries
            ));
        }
        if let Some(p) = &s.primary {
            with_primary += 1;
            if tags.primary() == Some(p.as_str()) {
                primary_right += 1;
            }
        }
    }
    let accuracy = right as f64 / stories.len() as f64;
    let primary = primary_right as f64 / with_primary.max(1) as f64;
    eprintln!(
        "region accuracy {accuracy:.4} ({right}/{}), primary {primary:.4}",
        stories.len()
    );
    for w in &wrong {
        eprintln!("  {w}");
    }
    assert!(accuracy >= 0.95, "region accuracy {accuracy:.4}");
    assert!(primary >= 0.9, "primary accuracy {primary:.4}");
}
