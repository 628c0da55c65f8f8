//! The ScrapingHub (Zyte) article-extraction-benchmark metric, re-implemented, and a runner that
//! scores [`super::extract`] on a local copy of the benchmark.
//!
//! The metric (see `/work/shared/data/extraction/scrapinghub-aeb/README.md`): tokens are Unicode
//! word runs with case kept; each page's 4-token shingles form a multiset; per page TP/FP/FN are
//! divided by TP+FP+FN; precision and recall are means over pages; F1 comes from those two means;
//! accuracy is the share of pages whose token sequence equals the ground truth exactly.
//!
//! Only [`evaluate`] does I/O (it reads the benchmark folder); [`score`] is pure.

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use regex::Regex;

/// Shingle length of the benchmark.
const SHINGLE: usize = 4;
/// How many worst pages a [`Report`] lists.
const WORST: usize = 10;

/// Python's Unicode `\w+` (what the benchmark's `evaluate.py` uses): letters, numbers and `_`.
/// Rust's `\w` also takes combining marks and joiners, which Python's does not.
static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\p{L}\p{N}_]+").expect("token regex"));

/// A copyright or comment-policy line: boilerplate that must never reach a story body.
static BOILERPLATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(?:copyright\b|©|\(c\)\s)
          | all\s+rights\s+reserved
          | comment(?:ing|s)?\s+(?:policy|guidelines)
          | comments?\s+(?:are|is)\s+(?:moderated|closed)",
    )
    .expect("boilerplate regex")
});

/// One page's precision and recall.
#[derive(Debug, Clone, PartialEq)]
pub struct PageScore {
    /// The benchmark id of the page.
    pub id: String,
    pub precision: f64,
    pub recall: f64,
}

impl PageScore {
    fn f1(&self) -> f64 {
        let s = self.precision + self.recall;
        if s > 0.0 {
            2.0 * self.precision * self.recall / s
        } else {
            0.0
        }
    }
}

/// The benchmark's figures for one run of [`super::extract`] over every page.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub precision: f64,
    pub recall: f64,
    /// Harmonic mean of `precision` and `recall` (not a mean of per-page F1).
    pub f1: f64,
    /// Share of pages whose token sequence equals the ground truth's exactly.
    pub accuracy: f64,
    pub pages: usize,
    /// Pages divided by the total seconds spent inside `extract` (one thread, HTML already decoded).
    pub pages_per_second: f64,
    /// Lowest per-page F1 first, up to 10.
    pub worst: Vec<PageScore>,
    /// Ids whose output still contains a copyright or comment-policy line.
    pub boilerplate_pages: Vec<String>,
}

fn tokens(text: &str) -> Vec<&str> {
    TOKEN.find_iter(text).map(|m| m.as_str()).collect()
}

/// The 4-token shingles of a token sequence as a multiset; fewer than 4 tokens give one shingle
/// and no tokens give none.
fn shingles<'a, 't>(tokens: &'a [&'t str]) -> HashMap<&'a [&'t str], usize> {
    let mut out = HashMap::new();
    if tokens.is_empty() {
        return out;
    }
    if tokens.len() < SHINGLE {
        out.insert(tokens, 1);
        return out;
    }
    for w in tokens.windows(SHINGLE) {
        *out.entry(w).or_insert(0) += 1;
    }
    out
}

/// Shingle TP, FP and FN of one page, each divided by TP+FP+FN (all zero when both texts have no
/// tokens).
pub fn score(truth: &str, predicted: &str) -> (f64, f64, f64) {
    let (t_tokens, p_tokens) = (tokens(truth), tokens(predicted));
    let (t, p) = (shingles(&t_tokens), shingles(&p_tokens));
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    for (k, &tc) in &t {
        let pc = p.get(k).copied().unwrap_or(0);
        tp += tc.min(pc);
        fn_ += tc.saturating_sub(pc);
    }
    for (k, &pc) in &p {
        fp += pc.saturating_sub(t.get(k).copied().unwrap_or(0));
    }
    let sum = (tp + fp + fn_) as f64;
    if sum == 0.0 {
        return (0.0, 0.0, 0.0);
    }
    (tp as f64 / sum, fp as f64 / sum, fn_ as f64 / sum)
}

/// Per-page precision, `None` when the page has no predicted shingles.
fn page_precision(tp: f64, fp: f64, fn_: f64) -> Option<f64> {
    if tp + fp <= 0.0 {
        None
    } else if fp == 0.0 && fn_ == 0.0 {
        Some(1.0)
    } else {
        Some(tp / (tp + fp))
    }
}

/// Per-page recall, `None` when the page has no true shingles.
fn page_recall(tp: f64, fp: f64, fn_: f64) -> Option<f64> {
    if tp + fn_ <= 0.0 {
        None
    } else if fp == 0.0 && fn_ == 0.0 {
        Some(1.0)
    } else {
        Some(tp / (tp + fn_))
    }
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// Whether `text` holds a line that is a copyright or comment-policy notice.
pub fn has_boilerplate_line(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .any(|l| !l.is_empty() && l.len() <= 400 && BOILERPLATE.is_match(l))
}

/// Runs [`super::extract`] on every page of the benchmark folder `dir` (holding
/// `ground-truth.json` and `html/<id>.html.gz`) and scores it. Pages are read and decoded before
/// timing; only the `extract` calls are timed, on the calling thread.
pub fn evaluate(dir: &Path) -> Result<Report, String> {
    let truth_path = dir.join("ground-truth.json");
    let raw = std::fs::read_to_string(&truth_path)
        .map_err(|e| format!("{}: {e}", truth_path.display()))?;
    let truth: HashMap<String, serde_json::Value> =
        serde_json::from_str(&raw).map_err(|e| format!("{}: {e}", truth_path.display()))?;
    let mut ids: Vec<&String> = truth.keys().collect();
    ids.sort();

    let mut pages = Vec::with_capacity(ids.len());
    for id in ids {
        let entry = &truth[id];
        let body = entry
            .get("articleBody")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let url = entry.get("url").and_then(|v| v.as_str());
        let html = crate::evaldata::read_gz(&dir.join("html").join(format!("{id}.html.gz")))?;
        pages.push((id.as_str(), body, url, html));
    }
    if pages.is_empty() {
        return Err(format!("{}: no pages", truth_path.display()));
    }

    let mut elapsed = Duration::ZERO;
    let (mut precisions, mut recalls, mut scores) = (Vec::new(), Vec::new(), Vec::new());
    let mut exact = 0usize;
    let mut boilerplate_pages = Vec::new();
    for (id, body, url, html) in &pages {
        let start = Instant::now();
        let out = super::extract(html, *url);
        elapsed += start.elapsed();
        let predicted = out.map(|e| e.text).unwrap_or_default();

        let (tp, fp, fn_) = score(body, &predicted);
        let p = page_precision(tp, fp, fn_);
        let r = page_recall(tp, fp, fn_);
        precisions.extend(p);
        recalls.extend(r);
        scores.push(PageScore {
            id: (*id).to_owned(),
            precision: p.unwrap_or(0.0),
            recall: r.unwrap_or(0.0),
        });
        if tokens(body) == tokens(&predicted) {
            exact += 1;
        }
        if has_boilerplate_line(&predicted) {
            boilerplate_pages.push((*id).to_owned());
        }
    }

    let (precision, recall) = (mean(&precisions), mean(&recalls));
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    scores.sort_by(|a, b| a.f1().total_cmp(&b.f1()).then_with(|| a.id.cmp(&b.id)));
    scores.truncate(WORST);
    let n = pages.len();
    let secs = elapsed.as_secs_f64();
    Ok(Report {
        precision,
        recall,
        f1,
        accuracy: exact as f64 / n as f64,
        pages: n,
        pages_per_second: if secs > 0.0 { n as f64 / secs } else { 0.0 },
        worst: scores,
        boilerplate_pages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr(truth: &str, predicted: &str) -> (f64, f64) {
        let (tp, fp, fn_) = score(truth, predicted);
        (
            page_precision(tp, fp, fn_).expect("precision defined"),
            page_recall(tp, fp, fn_).expect("recall defined"),
        )
    }

    #[test]
    fn identical_text_scores_one() {
        let t = "The harbor pilots met on Friday to vote on the new contract terms.";
        assert_eq!(pr(t, t), (1.0, 1.0));
        // Punctuation and whitespace are not tokens.
        assert_eq!(
            pr(
                t,
                "The harbor  pilots, met on Friday to vote on the new contract terms"
            ),
            (1.0, 1.0)
        );
    }

    #[test]
    fn disjoint_text_scores_zero() {
        let (tp, fp, fn_) = score(
            "alpha beta gamma delta epsilon",
            "one two three four five six",
        );
        assert_eq!(tp, 0.0);
        assert!(fp > 0.0 && fn_ > 0.0);
        assert_eq!(
            pr("alpha beta gamma delta epsilon", "one two three four five"),
            (0.0, 0.0)
        );
    }

    #[test]
    fn truncated_prediction_has_full_precision_partial_recall() {
        let t = "one two three four five six seven eight nine ten eleven twelve";
        let (p, r) = pr(t, "one two three four five six seven eight");
        assert_eq!(p, 1.0);
        // 5 of the 9 true shingles.
        assert!((r - 5.0 / 9.0).abs() < 1e-12, "{r}");
        let (tp, fp, fn_) = score(t, "one two three four five six seven eight");
        assert!((tp + fp + fn_ - 1.0).abs() < 1e-12);
    }

    #[test]
    fn case_is_kept() {
        assert_eq!(pr("One two three four", "one two three four"), (0.0, 0.0));
    }

    #[test]
    fn short_texts_give_one_shingle() {
        assert_eq!(pr("hello world", "hello world"), (1.0, 1.0));
        assert_eq!(pr("hello world", "hello there"), (0.0, 0.0));
        assert_eq!(score("", ""), (0.0, 0.0, 0.0));
        let (tp, fp, fn_) = score("hello world", "");
        assert_eq!((tp, fp, fn_), (0.0, 0.0, 1.0));
        assert_eq!(page_precision(tp, fp, fn_), None);
    }

    #[test]
    fn unicode_words_are_tokens() {
        assert_eq!(
            tokens("Vučić’s café — 2024_x!"),
            vec!["Vučić", "s", "café", "2024_x"]
        );
    }

    #[test]
    fn boilerplate_lines_are_found() {
        assert!(has_boilerplate_line(
            "Text.\n\nCopyright 2024 Valley Ledger."
        ));
        assert!(has_boilerplate_line(
            "Text.\n\nPlease read our comment policy before commenting."
        ));
        assert!(!has_boilerplate_line(
            "The copyright office said it would rule in March."
        ));
    }
}
