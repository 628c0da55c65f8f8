//! Any document bytes through `parse::parse`, then, when they parse, the whole pipeline (parse,
//! normalize, dedup fingerprint, tag) on the same bytes, the way the daemon runs a fetched feed.
//!
//! `fuzz_nohook!`: `parse` deliberately catches panics inside feed-rs and reports them as parse
//! errors, so only a panic that escapes wirefeed (which would take the daemon's task down) aborts.

use std::sync::LazyLock;

use wirefeed::normalize::Rules;
use wirefeed::pipeline::{Origin, Pipeline};
use wirefeed::tag::Tagger;

const BASE: &str = "https://fuzz.test/feed";

static RULES: LazyLock<Rules> = LazyLock::new(|| Rules::new(&Default::default()));
// With no regions and no topics the tagger cannot fail to build: a failure here is a real bug.
static TAGGER: LazyLock<Tagger> =
    LazyLock::new(|| Tagger::new(&[], &[]).expect("an empty tagger builds"));

fn main() {
    // Built before the fork server starts, not once per input.
    LazyLock::force(&RULES);
    LazyLock::force(&TAGGER);
    afl::fuzz_nohook!(|data: &[u8]| {
        if wirefeed::parse::parse(data, None, Some(BASE)).is_err() {
            return;
        }
        let pipeline = Pipeline {
            rules: &RULES,
            tagger: &TAGGER,
            max_items: 200,
        };
        let origin = Origin {
            base_url: Some(BASE),
            source: Some("Fuzz"),
            is_wire: false,
        };
        // A document that parsed once must parse again: an error now is not a crash, so it is
        // ignored like any other outcome.
        let _ = pipeline.run(data, None, &origin);
    });
}
