//! HTML to text and HTML sanitizing, on any text.
//!
//! `normalize::html_to_text` and the other public text helpers are called directly. The sanitizer
//! (`normalize::sanitize`) is private, so it is reached the way the daemon reaches it: the input is
//! the body of a one-item document run through `Pipeline::run_record` (no XML parsing in between),
//! with the default rules, which keep a sanitized copy of the item's HTML (`keep_html`). A body
//! with `</`, `<br` or `<p` in it is read as HTML (`html_to_text` + `sanitize_html`), any other as
//! plain paragraphs.

use std::sync::LazyLock;

use wirefeed::normalize::Rules;
use wirefeed::pipeline::{Origin, Pipeline, Record};
use wirefeed::tag::Tagger;

static RULES: LazyLock<Rules> = LazyLock::new(|| Rules::new(&Default::default()));
// With no regions and no topics the tagger cannot fail to build: a failure here is a real bug.
static TAGGER: LazyLock<Tagger> =
    LazyLock::new(|| Tagger::new(&[], &[]).expect("an empty tagger builds"));

fn main() {
    LazyLock::force(&RULES);
    LazyLock::force(&TAGGER);
    afl::fuzz!(|data: &[u8]| {
        let html = String::from_utf8_lossy(data);
        let _ = wirefeed::normalize::html_to_text(&html);
        let _ = wirefeed::normalize::decode_entities(&html);
        let _ = wirefeed::normalize::plain_paragraphs(&html);

        let pipeline = Pipeline {
            rules: &RULES,
            tagger: &TAGGER,
            max_items: 200,
        };
        let origin = Origin {
            base_url: Some("https://fuzz.test/feed"),
            source: Some("Fuzz"),
            is_wire: false,
        };
        let record = Record {
            id: "fuzz-1",
            title: "Fuzz",
            body: &html,
            url: Some("https://fuzz.test/a.html"),
            ..Record::default()
        };
        if let Some(incoming) = pipeline.run_record(&record, &origin) {
            // The sanitizer's promise (ammonia's allow-list): no script element survives. Text
            // that reads "<script" is escaped to "&lt;script", so a literal one is a real tag.
            if let Some(h) = &incoming.story.body_html {
                assert!(
                    !h.to_ascii_lowercase().contains("<script"),
                    "a script element survived sanitizing: {h:?}"
                );
            }
        }
    });
}
