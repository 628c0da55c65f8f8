//! Tagging speed: countries, regions and topics of labeled stories, one thread.
//!
//! `cargo bench --bench tag` (env: `BENCH_TAG_FILE`, default
//! `../shared/data/geo/eval/reuters21578-train.jsonl.gz`; `BENCH_RUNS`, default 5). Stories are
//! read before timing; each run tags all of them; the median run is reported.

mod common;

use std::path::PathBuf;
use std::time::Instant;

use common::{env_or, median};
use wirefeed::tag::{Tagger, Text};

#[derive(serde::Deserialize)]
struct Story {
    #[serde(default)]
    title: String,
    #[serde(default)]
    dateline: Option<String>,
    #[serde(default)]
    body: String,
}

fn main() {
    let file = std::env::var("BENCH_TAG_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("../shared/data/geo/eval/reuters21578-train.jsonl.gz"));
    let runs: usize = env_or("BENCH_RUNS", 5usize).max(1);
    let mut text = String::new();
    match std::fs::File::open(&file) {
        Ok(f) => {
            use std::io::Read;
            if let Err(e) = flate2::read::GzDecoder::new(f).read_to_string(&mut text) {
                println!("tag: cannot read {}: {e}", file.display());
                return;
            }
        }
        Err(e) => {
            println!("tag: skipped ({}: {e}); set BENCH_TAG_FILE", file.display());
            return;
        }
    }
    let stories: Vec<Story> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let build = Instant::now();
    let tagger = Tagger::builtin().expect("tagger");
    println!(
        "tag: gazetteer compiled in {:.0} ms; {} stories from {}",
        build.elapsed().as_secs_f64() * 1000.0,
        stories.len(),
        file.display()
    );
    let mut rates = Vec::new();
    let mut tagged = 0usize;
    for _ in 0..runs {
        let start = Instant::now();
        tagged = 0;
        for s in &stories {
            let t = tagger.tag(Text {
                title: &s.title,
                dateline: s.dateline.as_deref(),
                body: &s.body,
            });
            tagged += usize::from(!t.countries.is_empty());
        }
        rates.push(stories.len() as f64 / start.elapsed().as_secs_f64());
    }
    let (lo, hi) = (
        rates.iter().cloned().fold(f64::INFINITY, f64::min),
        rates.iter().cloned().fold(0.0, f64::max),
    );
    println!(
        "  median {:.0} stories/s over {runs} runs (min {lo:.0}, max {hi:.0}), one thread; {tagged} stories got a country",
        median(rates)
    );
}
