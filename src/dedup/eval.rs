//! `wirefeed eval dedup`: runs labeled appearances through the daemon's own path (the caller hands
//! in the step that normalizes the item and fingerprints its matching body: the CLI hands the
//! daemon's pipeline; then the cluster is found in the index and the story inserted) in published
//! order, and scores the clusters against the gold ones: pairwise precision, recall, F1 and the
//! adjusted Rand index, with the errors worst first.
//!
//! The engine sees only the visible fields (id, source, url, title, published, body); the gold
//! fields (cluster, ops, hard_negatives) are read separately, for scoring alone.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Link, Text};
use serde::Deserialize;

use super::{Arrival, Fingerprint, MatchRules, Matcher, Placement};
use crate::normalize::{credit, normalize, DocContext, Rules};
use crate::parse::ParsedEntry;

/// The fields the engine may use.
#[derive(Debug, Deserialize)]
struct Visible {
    id: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    body: String,
}

/// The gold fields, for scoring and error analysis only.
#[derive(Debug, Deserialize)]
struct Gold {
    id: String,
    cluster: Option<String>,
    #[serde(default)]
    ops: Vec<String>,
    #[serde(default)]
    hard_negatives: Vec<(String, String)>,
}

/// The visible fields of one appearance, as the step handed to [`evaluate`] sees them.
#[derive(Debug, Clone, Copy)]
pub struct Appearance<'a> {
    pub id: &'a str,
    /// The outlet's name.
    pub source: &'a str,
    pub url: Option<&'a str>,
    pub title: &'a str,
    pub published: Option<DateTime<Utc>>,
    pub body: &'a str,
}

impl<'a> Appearance<'a> {
    fn of(v: &'a Visible) -> Appearance<'a> {
        Appearance {
            id: &v.id,
            source: &v.source,
            url: v.url.as_deref(),
            title: &v.title,
            published: v
                .published
                .as_deref()
                .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
                .map(|d| d.with_timezone(&Utc)),
            body: &v.body,
        }
    }
}

/// One appearance's outcome.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub id: String,
    /// The predicted cluster: the id of its first appearance.
    pub cluster: String,
}

/// A cluster pair counted wrong, for error analysis.
#[derive(Debug, Clone)]
pub struct PairError {
    /// Appearance pairs it accounts for.
    pub pairs: u64,
    /// Example appearance ids and titles, one from each side.
    pub a: (String, String),
    pub b: (String, String),
    /// For a false merge: the hard-negative kind linking the two gold clusters, if any.
    pub kind: Option<String>,
}

/// The scores and the errors.
#[derive(Debug, Clone)]
pub struct Report {
    pub stories: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub ari: f64,
    /// The pipeline (normalize, fingerprint, tag) + match + insert, per second, one thread.
    pub stories_per_second: f64,
    /// Match + insert alone, per second.
    pub dedup_per_second: f64,
    /// Gold pairs predicted together, per op touching either appearance: (op, together, gold).
    pub by_op: Vec<(String, u64, u64)>,
    /// False-merge pairs by hard-negative kind (`none` when the clusters were not listed).
    pub false_by_kind: Vec<(String, u64)>,
    pub wrongly_merged: Vec<PairError>,
    pub missed: Vec<PairError>,
    pub predictions: Vec<Prediction>,
    /// Index heap bytes per story held at the end.
    pub index_bytes_per_story: f64,
}

/// Builds the feed entry a feed would have carried for this appearance.
fn entry_of(v: &Visible) -> ParsedEntry {
    let published = v
        .published
        .as_deref()
        .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
        .map(|d| d.with_timezone(&Utc));
    let mut e = Entry::default();
    let plain = |content: &str| Text {
        content_type: mediatype::MediaTypeBuf::new(mediatype::names::TEXT, mediatype::names::PLAIN),
        src: None,
        content: content.to_owned(),
    };
    e.title = Some(plain(&v.title));
    e.content = None;
    e.summary = Some(plain(&v.body));
    e.published = published;
    if let Some(u) = &v.url {
        e.links = vec![Link {
            href: u.clone(),
            rel: None,
            media_type: None,
            href_lang: None,
            title: None,
            length: None,
            target: None,
        }];
    }
    ParsedEntry {
        raw_id: Some(v.id.clone()),
        entry: e,
    }
}

fn c2(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Reads labeled appearances: the visible fields in published order (stable: ties keep the
/// file's order), and the gold fields by id.
fn read_labeled(path: &Path) -> Result<(Vec<Visible>, HashMap<String, Gold>), String> {
    let text = crate::evaldata::read_text(path)?;
    let mut visible = Vec::new();
    let mut gold = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Visible =
            serde_json::from_str(line).map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
        let g: Gold =
            serde_json::from_str(line).map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
        gold.insert(g.id.clone(), g);
        visible.push(v);
    }
    if visible.is_empty() {
        return Err(format!("{}: no appearances", path.display()));
    }
    visible.sort_by(|a, b| a.published.cmp(&b.published));
    Ok((visible, gold))
}

/// What the daemon would match for one appearance: its instant (unix seconds) and matching body,
/// through `normalize` as if a feed had carried it.
fn matching_text(v: &Visible, rules: &Rules) -> (i64, String) {
    let entry = entry_of(v);
    let is_wire = credit::wire_in_credit(&v.source).is_some();
    let ctx = DocContext {
        base_url: None,
        source: Some(&v.source),
        source_is_wire: is_wire,
        rules,
    };
    let story = normalize(&entry, &ctx, None, &[]);
    let at = story
        .as_ref()
        .and_then(|s| s.published)
        .map_or(0, |t| t.timestamp());
    (at, story.map(|s| s.body).unwrap_or_default())
}

/// The matching texts of a labeled file, in published order (for the benchmark).
pub fn matching_texts(path: &Path) -> Result<Vec<(i64, String)>, String> {
    let (visible, _) = read_labeled(path)?;
    let rules = Rules::default();
    Ok(visible.iter().map(|v| matching_text(v, &rules)).collect())
}

/// What the engine made of each appearance of a run: (id, cluster key at the end, instant,
/// fingerprint), in published order.
type Run = Vec<(String, String, i64, crate::dedup::Fingerprint)>;

/// Runs the engine over the appearances in published order, as the daemon does one story at a
/// time: plan (placement and merges), commit, apply the merges. Returns the final clusters and
/// the time spent (in all, in the engine alone).
fn run(
    visible: &[Visible],
    rules: MatchRules,
    prepare: &mut dyn FnMut(&Appearance<'_>) -> (i64, Fingerprint),
) -> (Run, Duration, Duration, f64) {
    let matcher = Matcher::new(rules);
    let mut out: Vec<(String, i64, i64, crate::dedup::Fingerprint)> =
        Vec::with_capacity(visible.len());
    // Clusters merged away → the cluster they merged into.
    let mut merged: HashMap<i64, i64> = HashMap::new();
    let (mut total, mut dedup_time) = (Duration::ZERO, Duration::ZERO);
    for (i, v) in visible.iter().enumerate() {
        let story_id = i as i64;
        let start = Instant::now();
        let (at, fp) = prepare(&Appearance::of(v));
        let d = Instant::now();
        let (placed, merges) = matcher.plan(&[Arrival {
            at,
            fingerprint: &fp,
        }]);
        let cluster = match placed.first() {
            Some(Placement::Existing(c)) => *c,
            _ => story_id,
        };
        matcher.commit(vec![(story_id, cluster, at, fp.clone())], story_id);
        matcher.commit_merges(&merges);
        for m in &merges {
            merged.insert(m.from, m.into);
        }
        let end = Instant::now();
        dedup_time += end - d;
        total += end - start;
        out.push((v.id.clone(), cluster, at, fp));
    }
    let index_bytes_per_story = matcher.heap_bytes() as f64 / matcher.len().max(1) as f64;
    let resolve = |mut c: i64| {
        for _ in 0..=merged.len() {
            match merged.get(&c) {
                Some(n) => c = *n,
                None => break,
            }
        }
        c
    };
    let run = out
        .into_iter()
        .map(|(id, c, at, fp)| (id, visible[resolve(c) as usize].id.clone(), at, fp))
        .collect();
    (run, total, dedup_time, index_bytes_per_story)
}

/// Runs the engine over `path` (JSONL, gzipped or not) and scores it. `prepare` gives an
/// appearance's instant (unix seconds) and the fingerprint of its matching body, as the daemon
/// would compute them.
pub fn evaluate(
    path: &Path,
    rules: MatchRules,
    mut prepare: impl FnMut(&Appearance<'_>) -> (i64, Fingerprint),
) -> Result<Report, String> {
    let (visible, gold) = read_labeled(path)?;
    let (run, total, dedup_time, index_bytes_per_story) = run(&visible, rules, &mut prepare);
    let predictions: Vec<Prediction> = run
        .into_iter()
        .map(|(id, cluster, _, _)| Prediction { id, cluster })
        .collect();
    let titles: HashMap<String, String> = visible
        .iter()
        .map(|v| (v.id.clone(), v.title.clone()))
        .collect();
    let mut report = score(&predictions, &gold, &titles);
    report.stories = visible.len();
    report.stories_per_second = visible.len() as f64 / total.as_secs_f64().max(1e-9);
    report.dedup_per_second = visible.len() as f64 / dedup_time.as_secs_f64().max(1e-9);
    report.index_bytes_per_story = index_bytes_per_story;
    report.predictions = predictions;
    Ok(report)
}

/// Why two appearances of `path` did or did not end in one cluster: what the engine made of each
/// text, how they compare under the rules, whether either finds the other among its candidates'
/// keys, and the clusters they ended in. A printable report.
pub fn explain(
    path: &Path,
    rules: MatchRules,
    a: &str,
    b: &str,
    mut prepare: impl FnMut(&Appearance<'_>) -> (i64, Fingerprint),
) -> Result<String, String> {
    use std::fmt::Write as _;
    let (visible, gold) = read_labeled(path)?;
    let (run, _, _, _) = run(&visible, rules, &mut prepare);
    let norm_rules = Rules::default();
    let find = |id: &str| {
        visible
            .iter()
            .zip(&run)
            .find(|(v, _)| v.id == id)
            .ok_or_else(|| format!("{}: no appearance {id}", path.display()))
    };
    if b == "*" {
        // Every pair of a's gold cluster, one line each: ids, shared shingles, containment of
        // the smaller, share of the larger, share of the larger's opening, figures (F agree,
        // f differ), the verdict, and whether the run put them together.
        let g = gold
            .get(a)
            .and_then(|g| g.cluster.clone())
            .unwrap_or_default();
        let members: Vec<usize> = visible
            .iter()
            .enumerate()
            .filter(|(_, v)| gold.get(&v.id).and_then(|x| x.cluster.as_deref()) == Some(&g))
            .map(|(i, _)| i)
            .collect();
        let mut out = String::new();
        for (x, i) in members.iter().enumerate() {
            for j in &members[x + 1..] {
                let (ri, rj) = (&run[*i], &run[*j]);
                let v = super::judge(ri.3.view(), rj.3.view(), &rules);
                let _ = writeln!(
                    out,
                    "{} {} {:>5} {:.2} {:.2} {:.2} {} {} {}",
                    ri.0,
                    rj.0,
                    v.overlap.shared,
                    v.overlap.small,
                    v.overlap.large,
                    v.overlap.large_lede,
                    if v.figures { "F" } else { "f" },
                    if v.matches { "MATCH" } else { "-" },
                    if ri.1 == rj.1 { "together" } else { "apart" }
                );
            }
        }
        return Ok(out);
    }
    let (va, ra) = find(a)?;
    let (vb, rb) = find(b)?;
    let mut out = String::new();
    for (v, r) in [(va, ra), (vb, rb)] {
        let (_, body) = matching_text(v, &norm_rules);
        let (tokens, _, prose) = super::fingerprint::matching_tokens(&body);
        let fp = &r.3;
        let _ = writeln!(
            out,
            "{} {:?} from {} at {}: {} matching words ({}), {} shingles, level {}, sketch {}, figures {}; gold {}, predicted {}",
            v.id,
            v.title,
            v.source,
            v.published.as_deref().unwrap_or("?"),
            tokens.len(),
            if prose { "prose paragraphs only" } else { "every paragraph" },
            fp.shingles,
            fp.level,
            fp.sketch.len(),
            fp.numbers.len(),
            gold.get(&v.id).and_then(|g| g.cluster.as_deref()).unwrap_or("?"),
            r.1
        );
        let opening: String = body.chars().take(240).collect();
        let _ = writeln!(out, "  opens: {opening:?}");
    }
    let (fa, fb) = (&ra.3, &rb.3);
    let v = super::judge(fa.view(), fb.view(), &rules);
    let keys = |f: &crate::dedup::Fingerprint, g: &crate::dedup::Fingerprint| {
        let k = super::index::keys_of(f.view());
        g.lookups()
            .iter()
            .filter(|h| k.binary_search(h).is_ok())
            .count()
    };
    let _ = writeln!(
        out,
        "overlap: {} shared shingles; {:.3} of the smaller in the larger; shared part {:.3} of the larger; {:.3} of the larger's opening in the smaller; figures {}",
        v.overlap.shared,
        v.overlap.small,
        v.overlap.large,
        v.overlap.large_lede,
        if v.figures { "agree" } else { "differ" }
    );
    let _ = writeln!(
        out,
        "lookup: {} finds {} of {}'s keys, {} finds {} of {}'s; {:.1} h apart (window {:.1} h)",
        vb.id,
        keys(fa, fb),
        va.id,
        va.id,
        keys(fb, fa),
        vb.id,
        (ra.2 - rb.2).abs() as f64 / 3600.0,
        rules.window_secs as f64 / 3600.0
    );
    let _ = writeln!(
        out,
        "verdict: {}",
        match v.failed {
            None => "the rules match them".to_owned(),
            Some(why) => format!("no direct match: {why}"),
        }
    );
    let _ = writeln!(
        out,
        "clusters: {}",
        if ra.1 == rb.1 { "together" } else { "apart" }
    );
    Ok(out)
}

/// Pairwise and ARI scores of predicted clusters against gold ones, with the errors.
fn score(
    predictions: &[Prediction],
    gold: &HashMap<String, Gold>,
    titles: &HashMap<String, String>,
) -> Report {
    let gold_of = |id: &str| -> String {
        gold.get(id)
            .and_then(|g| g.cluster.clone())
            // Unlabeled appearances count as singletons.
            .unwrap_or_else(|| format!("unlabeled:{id}"))
    };
    // Contingency table: (gold, predicted) -> appearances.
    let mut cell: HashMap<(String, String), Vec<String>> = HashMap::new();
    let mut gold_size: HashMap<String, u64> = HashMap::new();
    let mut pred_size: HashMap<String, u64> = HashMap::new();
    for p in predictions {
        let g = gold_of(&p.id);
        *gold_size.entry(g.clone()).or_default() += 1;
        *pred_size.entry(p.cluster.clone()).or_default() += 1;
        cell.entry((g, p.cluster.clone()))
            .or_default()
            .push(p.id.clone());
    }
    let index: u64 = cell.values().map(|v| c2(v.len() as u64)).sum();
    let a: u64 = gold_size.values().map(|n| c2(*n)).sum();
    let b: u64 = pred_size.values().map(|n| c2(*n)).sum();
    let n = c2(predictions.len() as u64) as f64;
    let precision = if b == 0 { 1.0 } else { index as f64 / b as f64 };
    let recall = if a == 0 { 1.0 } else { index as f64 / a as f64 };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    let expected = a as f64 * b as f64 / n.max(1.0);
    let max = (a as f64 + b as f64) / 2.0;
    let ari = if (max - expected).abs() < f64::EPSILON {
        1.0
    } else {
        (index as f64 - expected) / (max - expected)
    };

    let example = |id: &str| (id.to_owned(), titles.get(id).cloned().unwrap_or_default());
    // False merges: within one predicted cluster, pairs of cells with different gold clusters.
    let mut by_pred: HashMap<&str, Vec<(&str, &Vec<String>)>> = HashMap::new();
    for ((g, p), ids) in &cell {
        by_pred.entry(p).or_default().push((g, ids));
    }
    let kinds: HashMap<(&str, &str), &str> = gold
        .values()
        .filter_map(|g| g.cluster.as_deref().map(|c| (c, g)))
        .flat_map(|(c, g)| {
            g.hard_negatives
                .iter()
                .map(move |(other, kind)| ((c, other.as_str()), kind.as_str()))
        })
        .collect();
    let mut wrongly_merged = Vec::new();
    let mut false_by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for cells in by_pred.values() {
        for i in 0..cells.len() {
            for j in i + 1..cells.len() {
                let (gi, ai) = cells[i];
                let (gj, aj) = cells[j];
                let pairs = ai.len() as u64 * aj.len() as u64;
                let kind = kinds
                    .get(&(gi, gj))
                    .or_else(|| kinds.get(&(gj, gi)))
                    .map(|k| (*k).to_owned());
                *false_by_kind
                    .entry(kind.clone().unwrap_or_else(|| "none".to_owned()))
                    .or_default() += pairs;
                wrongly_merged.push(PairError {
                    pairs,
                    a: example(&ai[0]),
                    b: example(&aj[0]),
                    kind,
                });
            }
        }
    }
    wrongly_merged.sort_by(|x, y| y.pairs.cmp(&x.pairs).then(x.a.0.cmp(&y.a.0)));
    // Missed: within one gold cluster, pairs of cells with different predicted clusters.
    let mut by_gold: HashMap<&str, Vec<&Vec<String>>> = HashMap::new();
    for ((g, _), ids) in &cell {
        by_gold.entry(g).or_default().push(ids);
    }
    let mut missed = Vec::new();
    for cells in by_gold.values() {
        for i in 0..cells.len() {
            for j in i + 1..cells.len() {
                missed.push(PairError {
                    pairs: cells[i].len() as u64 * cells[j].len() as u64,
                    a: example(&cells[i][0]),
                    b: example(&cells[j][0]),
                    kind: None,
                });
            }
        }
    }
    missed.sort_by(|x, y| y.pairs.cmp(&x.pairs).then(x.a.0.cmp(&y.a.0)));

    // Recall per op: gold pairs touching an appearance with the op, and how many are together.
    let pred_of: HashMap<&str, &str> = predictions
        .iter()
        .map(|p| (p.id.as_str(), p.cluster.as_str()))
        .collect();
    let mut members: HashMap<String, Vec<&str>> = HashMap::new();
    for p in predictions {
        members.entry(gold_of(&p.id)).or_default().push(&p.id);
    }
    let mut by_op: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let no_ops: Vec<String> = Vec::new();
    for ids in members.values() {
        for i in 0..ids.len() {
            for j in i + 1..ids.len() {
                let together = pred_of[ids[i]] == pred_of[ids[j]];
                let ops_i = gold.get(ids[i]).map_or(&no_ops, |g| &g.ops);
                let ops_j = gold.get(ids[j]).map_or(&no_ops, |g| &g.ops);
                let mut ops: Vec<&String> = ops_i.iter().chain(ops_j).collect();
                ops.sort();
                ops.dedup();
                for op in ops {
                    let e = by_op.entry(op.clone()).or_default();
                    e.1 += 1;
                    if together {
                        e.0 += 1;
                    }
                }
            }
        }
    }
    Report {
        stories: predictions.len(),
        precision,
        recall,
        f1,
        ari,
        stories_per_second: 0.0,
        dedup_per_second: 0.0,
        by_op: by_op.into_iter().map(|(k, (t, g))| (k, t, g)).collect(),
        false_by_kind: false_by_kind.into_iter().collect(),
        wrongly_merged,
        missed,
        predictions: Vec::new(),
        index_bytes_per_story: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pred(id: &str, c: &str) -> Prediction {
        Prediction {
            id: id.to_owned(),
            cluster: c.to_owned(),
        }
    }

    fn gold(id: &str, c: &str) -> (String, Gold) {
        (
            id.to_owned(),
            Gold {
                id: id.to_owned(),
                cluster: Some(c.to_owned()),
                ops: vec![],
                hard_negatives: vec![],
            },
        )
    }

    #[test]
    fn scores_match_a_hand_count() {
        // Gold: {a, b, c}, {d}. Predicted: {a, b}, {c, d}.
        let g: HashMap<String, Gold> = [
            gold("a", "g1"),
            gold("b", "g1"),
            gold("c", "g1"),
            gold("d", "g2"),
        ]
        .into_iter()
        .collect();
        let p = [
            pred("a", "x"),
            pred("b", "x"),
            pred("c", "y"),
            pred("d", "y"),
        ];
        let r = score(&p, &g, &HashMap::new());
        // Predicted pairs: ab, cd; gold pairs: ab, ac, bc. Shared: ab.
        assert!((r.precision - 0.5).abs() < 1e-9);
        assert!((r.recall - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(r.wrongly_merged.len(), 1);
        assert_eq!(r.missed.iter().map(|m| m.pairs).sum::<u64>(), 2);
        // ARI by the formula: index 1, a 3, b 2, N 6 -> (1 - 1) / (2.5 - 1) = 0.
        assert!(r.ari.abs() < 1e-9);
    }

    #[test]
    fn a_perfect_clustering_scores_one() {
        let g: HashMap<String, Gold> = [gold("a", "g1"), gold("b", "g1"), gold("c", "g2")]
            .into_iter()
            .collect();
        let p = [pred("a", "x"), pred("b", "x"), pred("c", "y")];
        let r = score(&p, &g, &HashMap::new());
        assert_eq!((r.precision, r.recall, r.f1), (1.0, 1.0, 1.0));
        assert!((r.ari - 1.0).abs() < 1e-9);
    }
}
