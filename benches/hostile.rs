//! Hostile documents: the whole pipeline (parse, normalize, sanitize, fingerprint, tag) timed
//! against the depth or size of one attack shape at a time, doubling each step. A stage that is
//! linear shows a ratio near 2 from one step to the next; a quadratic one near 4. The document
//! budget (`daemon.document_budget_ms`) is off here, so the figures are the stages' own.
//!
//! `cargo bench --bench hostile` (env: `BENCH_RUNS`, default 3, the median is reported;
//! `BENCH_STEPS`, default 5 doublings).

mod common;

use common::{env_or, median, status_kib};
use std::time::Instant;

use wirefeed::normalize::Rules;
use wirefeed::pipeline::{Origin, Pipeline};
use wirefeed::tag::Tagger;

fn rss(items: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>T</title><link>https://h.test/</link>{items}</channel></rss>"
    )
    .into_bytes()
}

fn item(i: usize, description: &str) -> String {
    format!(
        "<item><title>Item {i}</title><link>https://h.test/{i}</link><description>{description}</description></item>"
    )
}

/// One attack shape: its name, what `n` counts, the first `n`, and the document for `n`.
struct Shape {
    name: &'static str,
    unit: &'static str,
    start: usize,
    doc: fn(usize) -> Vec<u8>,
}

const SHAPES: &[Shape] = &[
    Shape {
        name: "escaped <div> nested n deep",
        unit: "depth",
        start: 5_000,
        doc: |n| {
            rss(&item(
                0,
                &format!("{}x{}", "&lt;div&gt;".repeat(n), "&lt;/div&gt;".repeat(n)),
            ))
        },
    },
    Shape {
        name: "CDATA <b> nested n deep",
        unit: "depth",
        start: 5_000,
        doc: |n| rss(&item(0, &format!("<![CDATA[{}x]]>", "<b>".repeat(n)))),
    },
    Shape {
        name: "XML elements nested n deep in an item",
        unit: "depth",
        start: 5_000,
        doc: |n| {
            rss(&format!(
                "<item><title>t</title><link>https://h.test/1</link>{}{}</item>",
                "<x>".repeat(n),
                "</x>".repeat(n)
            ))
        },
    },
    Shape {
        name: "broken document (salvage), n items after a 64 KB channel head",
        unit: "items",
        start: 1_000,
        doc: |n| {
            let mut s = format!(
                "<description>{}</description>",
                "channel words ".repeat(4_600)
            );
            for i in 0..n {
                // A mismatched end tag breaks the whole document, not the item's neighbours.
                if i % 2 == 0 {
                    s.push_str(&format!(
                        "<item><title>Item {i}</title><link>https://h.test/{i}</link><description><b>bold</description></item>"
                    ));
                } else {
                    s.push_str(&item(i, "fine words here"));
                }
            }
            rss(&s)
        },
    },
    Shape {
        name: "unclosed quoted tags in HTML, n of them",
        unit: "tags",
        start: 5_000,
        doc: |n| rss(&item(0, &"&lt;a title='x ".repeat(n))),
    },
    Shape {
        name: "one item of n KB of words",
        unit: "KB",
        start: 1_024,
        doc: |n| {
            let words =
                "wire copy travels from desk to desk across the region. ".repeat(n * 1024 / 56);
            rss(&item(0, &words))
        },
    },
    Shape {
        name: "n items of 1 KB",
        unit: "items",
        start: 1_000,
        doc: |n| {
            let body = "words of a story about the region and its people. ".repeat(20);
            rss(&(0..n)
                .map(|i| item(i, &format!("{i} {body}")))
                .collect::<String>())
        },
    },
];

fn main() {
    let runs: usize = env_or("BENCH_RUNS", 3usize).max(1);
    let steps: u32 = env_or("BENCH_STEPS", 5u32).max(2);
    let only = std::env::var("BENCH_SHAPE").ok();
    let rules = Rules::new(&Default::default());
    let tagger = Tagger::new(&[], &[]).expect("tagger");
    let pipeline = Pipeline {
        rules: &rules,
        tagger: &tagger,
        max_items: usize::MAX,
    };
    let origin = Origin {
        base_url: Some("https://h.test/feed"),
        source: Some("Hostile"),
        is_wire: false,
    };
    println!("shape | n | bytes | median s | ratio to previous step | stories");
    for shape in SHAPES {
        if only.as_deref().is_some_and(|o| !shape.name.contains(o)) {
            continue;
        }
        let mut prev: Option<f64> = None;
        for step in 0..steps {
            let n = shape.start << step;
            let doc = (shape.doc)(n);
            let mut times = Vec::new();
            let mut stories = 0;
            for _ in 0..runs {
                let t = Instant::now();
                let out = pipeline.run(&doc, None, &origin);
                times.push(t.elapsed().as_secs_f64());
                stories = out.map(|o| o.incoming.len()).unwrap_or(0);
            }
            let m = median(times);
            let ratio = prev.map_or("-".to_owned(), |p| format!("{:.2}", m / p));
            println!(
                "{} | {} {n} | {} | {m:.4} | {ratio} | {stories}",
                shape.name,
                shape.unit,
                doc.len()
            );
            prev = Some(m);
        }
    }
    println!("peak RSS {} MB", status_kib("VmHWM:") / 1024);
}
