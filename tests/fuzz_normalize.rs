//! Property tests of the parse-and-normalize entry point: no input may panic it, and what it
//! returns keeps its promises (keys present, no NUL in titles, sanitized HTML with no live
//! script, handler or `javascript:` URL).

use proptest::prelude::*;
use wirefeed::normalize::{normalize_document, DocContext, Rules};

fn run(bytes: &[u8], charset: Option<&str>) {
    let rules = Rules::new(&Default::default());
    let ctx = DocContext {
        base_url: Some("https://feed.test/rss.xml"),
        source: Some("Fuzz"),
        source_is_wire: false,
        rules: &rules,
    };
    if let Ok(parsed) = wirefeed::parse::parse(bytes, charset, ctx.base_url) {
        let doc = normalize_document(&parsed, &ctx, 1000);
        for s in &doc.stories {
            assert!(!s.key.is_empty());
            // The body is plain text: markup is dropped, and markup that was escaped in the
            // HTML (`&lt;script&gt;`) is the text "<script>", shown, never run. Only the HTML
            // copy can carry live markup, and it is checked below.
            assert!(!s.title.contains('\u{0}'));
            if let Some(h) = &s.body_html {
                // Markup shown as text (`&lt;a href="javascript:…"&gt;`) is harmless; no real
                // tag may run anything.
                for tag in real_tags(h) {
                    let tag = tag.to_ascii_lowercase();
                    assert!(!tag.starts_with("script"), "{h}");
                    assert!(!tag.contains("javascript:"), "{h}");
                    // No event handler attribute (`onclick=`…).
                    assert!(
                        !tag.split_whitespace()
                            .any(|a| a.starts_with("on") && a.contains('=')),
                        "{h}"
                    );
                }
            }
        }
    }
}

/// The insides of the real tags of sanitized HTML (`<` is always escaped in its text).
fn real_tags(html: &str) -> impl Iterator<Item = &str> {
    html.split('<')
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap_or(rest))
}

/// Pieces real feeds are made of, good and broken.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<item>".to_owned()),
        Just("</item>".to_owned()),
        Just("<title>".to_owned()),
        Just("</title>".to_owned()),
        Just("<description>".to_owned()),
        Just("</description>".to_owned()),
        Just("<![CDATA[".to_owned()),
        Just("]]>".to_owned()),
        Just("<guid>".to_owned()),
        Just("</guid>".to_owned()),
        Just("<link>https://e.test/a?utm_source=x#f</link>".to_owned()),
        Just("<pubDate>Thu, 11 Jan 2024 15:04:05 EST</pubDate>".to_owned()),
        Just("<pubDate>2024-02-30T25:61:00+99:00</pubDate>".to_owned()),
        Just("&lt;p&gt;".to_owned()),
        Just("&lt;script&gt;alert(1)&lt;/script&gt;".to_owned()),
        Just("<a href=\"javascript:x()\" onclick=\"y()\">".to_owned()),
        Just("&amp;&#0;&#x110000;&bogus;&".to_owned()),
        Just("BELGRADE, Serbia (AP) — ".to_owned()),
        Just("- Associated Press - Thursday, January 11, 2024\n\n".to_owned()),
        Just("Copyright © 2024 The Example Times, LLC.".to_owned()),
        Just("\n\n".to_owned()),
        Just("\u{0}\u{1}\u{feff}\u{202e}".to_owned()),
        "[a-zA-Z0-9 ,.;:'\"()\\-—–]{0,40}",
        "\\PC{0,20}",
    ]
}

fn rss_like() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..60).prop_map(|parts| {
        format!(
            "<?xml version=\"1.0\"?><rss><channel><title>F</title>{}</channel></rss>",
            parts.concat()
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        run(&bytes, None);
        run(&bytes, Some("windows-1250"));
    }

    #[test]
    fn feed_shaped_garbage_never_panics(doc in rss_like()) {
        run(doc.as_bytes(), None);
        run(doc.as_bytes(), Some("iso-8859-2"));
    }

    #[test]
    fn json_feed_shaped_garbage_never_panics(
        title in "\\PC{0,30}",
        body in prop::collection::vec(fragment(), 0..20),
        n in any::<i64>(),
    ) {
        let doc = serde_json::json!({
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "items": [
                {"id": n, "content_html": body.concat(), "date_published": title},
                {"id": "x", "title": n, "content_text": body.concat()},
            ]
        });
        run(doc.to_string().as_bytes(), None);
    }
}
