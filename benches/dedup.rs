//! Reprint detection speed and index memory.
//!
//! `cargo bench --bench dedup` (env: `BENCH_DEDUP_FILE`, default
//! `../shared/data/dedup/dev.jsonl.gz`; `BENCH_RUNS`, default 5; `BENCH_INDEX_STORIES`, default
//! 200000).
//!
//! 1. Speed: the labeled file's matching bodies (normalized before timing) go through what the
//!    daemon does per new story, on one thread, in published order: fingerprint, plan (candidate
//!    lookup and verification against the index and the batch, placement and cluster merges),
//!    commit to the index, apply the merges to the index. Median of
//!    the runs, a fresh index each run.
//! 2. Memory: an index of `BENCH_INDEX_STORIES` generated stories (40 to 400 words, a
//!    40,000-word vocabulary), measured as the growth of the process's resident memory per story
//!    (allocator overhead included), beside the index's own count of its heap.

mod common;

use std::path::PathBuf;
use std::time::Instant;

use common::{env_or, median, status_kib, Rng};
use wirefeed::dedup::{fingerprint, Arrival, MatchRules, Matcher, Placement};

/// One pass of the daemon's per-story work over `texts`; returns stories per second.
fn pass(texts: &[(i64, String)]) -> (f64, usize) {
    let matcher = Matcher::new(MatchRules::default());
    let start = Instant::now();
    let mut joined = 0;
    for (i, (at, body)) in texts.iter().enumerate() {
        let fp = fingerprint(body);
        let (placed, merges) = matcher.plan(&[Arrival {
            at: *at,
            fingerprint: &fp,
        }]);
        let cluster = match placed.first() {
            Some(Placement::Existing(c)) => {
                joined += 1;
                *c
            }
            _ => i as i64,
        };
        matcher.commit(vec![(i as i64, cluster, *at, fp)], i as i64);
        matcher.commit_merges(&merges);
    }
    let secs = start.elapsed().as_secs_f64();
    (texts.len() as f64 / secs, joined)
}

/// A generated story: 40 to 400 words from a 40,000-word vocabulary, in paragraphs.
fn story(rng: &mut Rng) -> String {
    let words = 40 + (rng.raw() % 361) as usize;
    let mut out = String::with_capacity(words * 7);
    for w in 0..words {
        if w > 0 {
            out.push_str(if w % 40 == 0 { ".\n\n" } else { " " });
        }
        let r = rng.raw();
        if r.is_multiple_of(3) {
            out.push_str(&rng.words(1));
        } else {
            out.push_str(&format!("w{}", (r >> 8) % 40_000));
        }
    }
    out
}

fn main() {
    let file = std::env::var("BENCH_DEDUP_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("../shared/data/dedup/dev.jsonl.gz"));
    let runs: usize = env_or("BENCH_RUNS", 5usize).max(1);
    match wirefeed::dedup::eval::matching_texts(&file) {
        Ok(texts) => {
            let mut rates = Vec::new();
            let mut joined = 0;
            for _ in 0..runs {
                let (rate, j) = pass(&texts);
                rates.push(rate);
                joined = j;
            }
            let (lo, hi) = (
                rates.iter().cloned().fold(f64::INFINITY, f64::min),
                rates.iter().cloned().fold(0.0, f64::max),
            );
            println!(
                "speed: {} stories from {}, {} joined a cluster; fingerprint + place + commit, one thread",
                texts.len(),
                file.display(),
                joined
            );
            println!(
                "  median {:.0} stories/s over {runs} runs (min {lo:.0}, max {hi:.0})",
                median(rates)
            );
        }
        Err(e) => println!("speed: skipped ({e}); set BENCH_DEDUP_FILE"),
    }

    let n: usize = env_or("BENCH_INDEX_STORIES", 200_000usize).max(1);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let before = status_kib("VmRSS:") as usize * 1024;
    let matcher = Matcher::new(MatchRules::default());
    for i in 0..n {
        let fp = fingerprint(&story(&mut rng));
        // Spread over a day: every story is inside the window.
        matcher.commit(
            vec![(i as i64, i as i64, (i % 86_400) as i64, fp)],
            i as i64,
        );
    }
    let grown = (status_kib("VmRSS:") as usize * 1024).saturating_sub(before);
    println!(
        "memory: {n} generated stories in the index: resident memory grew {:.0} bytes/story (allocator overhead included); the index's own count {:.0} bytes/story",
        grown as f64 / n as f64,
        matcher.heap_bytes() as f64 / n as f64
    );
}
