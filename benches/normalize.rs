//! Parse + normalize throughput on large real-shaped feeds, beside raw feed-rs parsing of the same
//! bytes (the bound to approach).
//!
//! `cargo bench --bench normalize` (env: `BENCH_ITEMS`, default 2000 items per document;
//! `BENCH_RUNS`, default 7; the median run is reported).

mod common;

use common::{median, Rng};
use std::time::Instant;

use wirefeed::normalize::{normalize_document, DocContext, Rules};

/// An RSS 2.0 document like an outlet's: HTML descriptions with a wire header, dateline and
/// footer, about 3.5 KB of text per item.
fn document(items: usize) -> Vec<u8> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut doc = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>Outlet</title><link>https://outlet.test/</link><description>News</description><language>en-us</language>\n",
    );
    for i in 0..items {
        let mut body =
            String::from("&lt;p&gt;- Associated Press - Thursday, January 11, 2024&lt;/p&gt;");
        body.push_str(&format!(
            "&lt;p&gt;BELGRADE, Serbia — {}.&lt;/p&gt;",
            rng.words(70)
        ));
        for _ in 0..5 {
            body.push_str(&format!("&lt;p&gt;{}.&lt;/p&gt;", rng.words(80)));
        }
        body.push_str("&lt;p&gt;Copyright © 2024 The Outlet, LLC.&lt;/p&gt;&lt;p&gt;Please read our comment policy before commenting.&lt;/p&gt;");
        doc.push_str(&format!(
            "<item><title>{}</title><link>https://outlet.test/news/{i}?utm_source=rss</link><guid isPermaLink=\"false\">outlet-{i}</guid><dc:creator>Staff</dc:creator><pubDate>Thu, 11 Jan 2024 {:02}:{:02}:00 EST</pubDate><description>{body}</description></item>\n",
            rng.words(9),
            i % 24,
            i % 60
        ));
    }
    doc.push_str("</channel></rss>\n");
    doc.into_bytes()
}

fn main() {
    let items: usize = std::env::var("BENCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7)
        .max(1);
    let doc = document(items);
    let mb = doc.len() as f64 / 1_048_576.0;
    let rules = Rules::new(&Default::default());
    let ctx = DocContext {
        base_url: Some("https://outlet.test/rss"),
        source: Some("The Outlet"),
        source_is_wire: false,
        rules: &rules,
    };
    let mut raw = Vec::new();
    let mut parse_only = Vec::new();
    let mut full = Vec::new();
    let mut stories = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let feed = feed_rs::parser::parse(doc.as_slice()).expect("feed-rs parses");
        raw.push(t.elapsed().as_secs_f64());
        assert_eq!(feed.entries.len(), items);

        let t = Instant::now();
        let parsed = wirefeed::parse::parse(&doc, None, ctx.base_url).expect("parses");
        parse_only.push(t.elapsed().as_secs_f64());

        let t = Instant::now();
        let parsed2 = wirefeed::parse::parse(&doc, None, ctx.base_url).expect("parses");
        let n = normalize_document(&parsed2, &ctx, usize::MAX);
        full.push(t.elapsed().as_secs_f64());
        stories = n.stories.len();
        assert_eq!(parsed.entries.len(), items);
    }
    let (raw, parse_only, full) = (median(raw), median(parse_only), median(full));
    println!("normalize: one RSS document, {items} items, {mb:.1} MiB, median of {runs} runs");
    println!(
        "  feed-rs alone:          {:>8.0} items/s  {:>6.1} MiB/s",
        items as f64 / raw,
        mb / raw
    );
    println!(
        "  wirefeed parse:         {:>8.0} items/s  {:>6.1} MiB/s",
        items as f64 / parse_only,
        mb / parse_only
    );
    println!(
        "  parse + normalize:      {:>8.0} stories/s {:>5.1} MiB/s  ({:.2}x the time of feed-rs alone)",
        stories as f64 / full,
        mb / full,
        full / raw
    );
}
