//! `wirefeed eval tag`: runs labeled stories (the format of `../shared/data/geo/README.md`: `id`,
//! `title`, `dateline`, `body`, gold `countries`, `source_corpus`) through the function the caller
//! hands in (the CLI hands the daemon's pipeline, so normalization runs as it does for a feed), and
//! scores the primary country (top-1: in the gold set) and the country set (micro precision,
//! recall, F1), per corpus, per language (the line's `lang`, when it has one) and overall, with the
//! share of stories that got no country at all.
//!
//! Never: writes files.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{Tags, Text};

#[derive(Debug, Deserialize)]
struct Labeled {
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    dateline: Option<String>,
    #[serde(default)]
    body: String,
    #[serde(default)]
    countries: Vec<String>,
    #[serde(default)]
    source_corpus: Option<String>,
    #[serde(default)]
    lang: Option<String>,
}

/// One story's output, for `--predictions`.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub id: String,
    pub primary: Option<String>,
    pub countries: Vec<String>,
    pub regions: Vec<String>,
}

/// Scores of one corpus (or all).
#[derive(Debug, Clone, Default)]
pub struct Score {
    pub stories: usize,
    /// Stories with a gold country whose primary is in the gold set, over stories with one.
    pub top1: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Share of the stories that got no country at all.
    pub no_country: f64,
}

#[derive(Debug, Default)]
struct Counts {
    stories: usize,
    with_gold: usize,
    top1: usize,
    tp: usize,
    fp: usize,
    fn_: usize,
    no_country: usize,
}

impl Counts {
    fn score(&self) -> Score {
        let p = self.tp as f64 / (self.tp + self.fp).max(1) as f64;
        let r = self.tp as f64 / (self.tp + self.fn_).max(1) as f64;
        Score {
            stories: self.stories,
            top1: self.top1 as f64 / self.with_gold.max(1) as f64,
            precision: p,
            recall: r,
            f1: if p + r > 0.0 {
                2.0 * p * r / (p + r)
            } else {
                0.0
            },
            no_country: self.no_country as f64 / self.stories.max(1) as f64,
        }
    }
}

#[derive(Debug)]
pub struct Report {
    pub overall: Score,
    /// Per corpus, then one row per language named `lang=xx none=0.123` (its share of stories
    /// with no country), so a report that lists corpora lists the languages too.
    pub by_corpus: Vec<(String, Score)>,
    /// Per language (the line's `lang`), when the lines have one.
    pub by_language: Vec<(String, Score)>,
    pub stories_per_second: f64,
    pub predictions: Vec<Prediction>,
}

/// Tags every story of `path` (JSONL, gzipped or not) with `tag` (given the story's id and
/// visible text) and scores the result.
pub fn evaluate(
    path: &Path,
    mut tag: impl FnMut(&str, Text<'_>) -> Tags,
) -> Result<Report, String> {
    let text = crate::evaldata::read_text(path)?;
    let mut stories = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let s: Labeled =
            serde_json::from_str(line).map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
        stories.push(s);
    }
    if stories.is_empty() {
        return Err(format!("{}: no stories", path.display()));
    }
    let mut all = Counts::default();
    let mut by: BTreeMap<String, Counts> = BTreeMap::new();
    let mut by_lang: BTreeMap<String, Counts> = BTreeMap::new();
    let mut predictions = Vec::with_capacity(stories.len());
    let mut elapsed = Duration::ZERO;
    for s in &stories {
        let start = Instant::now();
        let tags = tag(
            &s.id,
            Text {
                title: &s.title,
                dateline: s.dateline.as_deref().filter(|d| !d.trim().is_empty()),
                body: &s.body,
            },
        );
        elapsed += start.elapsed();
        let predicted: Vec<String> = tags.countries.iter().map(|c| c.code.clone()).collect();
        let primary = tags.primary().map(str::to_owned);
        let corpus = s.source_corpus.clone().unwrap_or_else(|| "-".to_owned());
        let mut groups = vec![&mut all, by.entry(corpus).or_default()];
        if let Some(l) = s.lang.as_deref().filter(|l| !l.is_empty()) {
            groups.push(by_lang.entry(l.to_owned()).or_default());
        }
        for c in groups {
            c.stories += 1;
            if predicted.is_empty() {
                c.no_country += 1;
            }
            if !s.countries.is_empty() {
                c.with_gold += 1;
                if primary.as_ref().is_some_and(|p| s.countries.contains(p)) {
                    c.top1 += 1;
                }
            }
            c.tp += predicted.iter().filter(|p| s.countries.contains(p)).count();
            c.fp += predicted
                .iter()
                .filter(|p| !s.countries.contains(p))
                .count();
            c.fn_ += s
                .countries
                .iter()
                .filter(|g| !predicted.contains(g))
                .count();
        }
        predictions.push(Prediction {
            id: s.id.clone(),
            primary,
            countries: predicted,
            regions: tags.regions.iter().map(|r| r.slug.clone()).collect(),
        });
    }
    let by_language: Vec<(String, Score)> =
        by_lang.into_iter().map(|(k, c)| (k, c.score())).collect();
    let mut by_corpus: Vec<(String, Score)> = by.into_iter().map(|(k, c)| (k, c.score())).collect();
    by_corpus.extend(
        by_language
            .iter()
            .map(|(l, s)| (format!("lang={l} none={:.3}", s.no_country), s.clone())),
    );
    Ok(Report {
        overall: all.score(),
        by_corpus,
        by_language,
        stories_per_second: stories.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        predictions,
    })
}
