//! Sanitized HTML for readers: the feed's markup with everything that could run or track removed.
//!
//! Owns the allow-list (ammonia's: no script, style, iframe, event handlers or `javascript:` URLs)
//! and the resolution of relative links and images against the item's base URL. Never: fetches
//! anything.

use std::borrow::Cow;

/// Deepest element nesting an HTML parser is handed. html5ever's tree builder (under ammonia
/// and the article extractor) scans its stack of open elements for each tag, so its work grows
/// with the square of the depth: 100,000 nested `<div>`s took 36 s. No real page nests this
/// deep.
pub const MAX_DEPTH: usize = 256;

/// Elements that never have content (no end tag).
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Elements a start tag of the same name closes when one is open (`<p>a<p>b`, `<li>`).
const SELF_CLOSING_SIBLINGS: &[&str] = &["p", "li", "dt", "dd", "option", "tr", "td", "th"];

/// How far down the stack an end tag looks for its element: a stray end tag costs at most
/// this, so the pass stays linear.
const END_TAG_REACH: usize = 16;

/// `html` with the tags that would nest deeper than `max` elements left out (their text kept);
/// borrowed unchanged when nothing is that deep. One linear pass: tags are read the simple way
/// (up to the next `>`), and the depth is the open elements' count with void elements and
/// implied ends (`<p>`, `<li>`) taken into account, which is all a bound needs.
pub fn limit_depth(html: &str, max: usize) -> Cow<'_, str> {
    if html.bytes().filter(|b| *b == b'<').count() <= max {
        return Cow::Borrowed(html);
    }
    let mut out: Option<String> = None;
    let mut stack: Vec<&str> = Vec::new();
    // Start tags left out, by element name (few names: a linear search is enough).
    let mut dropped: Vec<(&str, usize)> = Vec::new();
    let mut copied = 0;
    let mut pos = 0;
    let bytes = html.as_bytes();
    while let Some(lt) = html[pos..].find('<') {
        let start = pos + lt;
        let rest = &html[start + 1..];
        if let Some(r) = rest.strip_prefix("!--") {
            pos = r.find("-->").map_or(html.len(), |e| start + 4 + e + 3);
            continue;
        }
        let closing = rest.starts_with('/');
        let name_from = start + 1 + usize::from(closing);
        let name_len = bytes[name_from..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if name_len == 0 {
            pos = start + 1;
            continue;
        }
        let Some(gt) = html[start..].find('>') else {
            break;
        };
        let end = start + gt + 1;
        pos = end;
        let name = &html[name_from..name_from + name_len];
        let keep = if closing {
            let reach = stack.len().saturating_sub(END_TAG_REACH);
            match stack[reach..]
                .iter()
                .rposition(|open| open.eq_ignore_ascii_case(name))
            {
                Some(i) => {
                    stack.truncate(reach + i);
                    true
                }
                // Its element was left out: leave the end tag out too. A stray end tag with
                // nothing to close stays (the parser ignores it at no cost).
                None => match dropped
                    .iter_mut()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                {
                    Some((_, count)) if *count > 0 => {
                        *count -= 1;
                        false
                    }
                    _ => true,
                },
            }
        } else {
            let void = html[start..end].ends_with("/>")
                || VOID.iter().any(|v| v.eq_ignore_ascii_case(name));
            if !void
                && SELF_CLOSING_SIBLINGS
                    .iter()
                    .any(|v| v.eq_ignore_ascii_case(name))
                && stack
                    .last()
                    .is_some_and(|top| top.eq_ignore_ascii_case(name))
            {
                stack.pop();
            }
            if void {
                true
            } else if stack.len() < max {
                stack.push(name);
                true
            } else {
                let tracked = dropped.len();
                match dropped
                    .iter_mut()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                {
                    Some((_, count)) => *count += 1,
                    // Past a few names, their end tags simply stay (stray, and harmless).
                    None if tracked < 64 => dropped.push((name, 1)),
                    None => {}
                }
                false
            }
        };
        if !keep {
            let o = out.get_or_insert_with(|| String::with_capacity(html.len()));
            o.push_str(&html[copied..start]);
            copied = end;
        }
    }
    match out {
        None => Cow::Borrowed(html),
        Some(mut o) => {
            o.push_str(&html[copied..]);
            Cow::Owned(o)
        }
    }
}

/// Cleans `html`; relative URLs are made absolute against `base` (or dropped without one).
pub fn sanitize_html(html: &str, base: Option<&str>) -> String {
    if already_clean(html) {
        return html.to_owned();
    }
    let html = limit_depth(html, MAX_DEPTH);
    let mut b = ammonia::Builder::default();
    b.link_rel(Some("noopener noreferrer nofollow"));
    match base.and_then(|u| url::Url::parse(u).ok()) {
        Some(base) => b.url_relative(ammonia::UrlRelative::RewriteWithBase(base)),
        None => b.url_relative(ammonia::UrlRelative::Deny),
    };
    b.clean(&html).to_string()
}

/// Phrasing elements kept as they are, with no attribute, inside or outside a paragraph.
const PLAIN_PHRASING: &[&str] = &["b", "i", "em", "strong"];

/// True when `html` is already what the sanitizer would write: paragraphs and a few phrasing
/// elements without attributes, properly nested and closed, and text with nothing the
/// serializer escapes or the parser rewrites. Most feed descriptions are exactly this, and
/// parsing and re-serializing them costs more than the rest of normalization; anything else
/// (any attribute, any other element, an entity, an implied end tag) goes to the sanitizer.
/// One linear pass; the proptest below holds it to the sanitizer's own output.
fn already_clean(html: &str) -> bool {
    let bytes = html.as_bytes();
    // Bytes no clean text holds, in whole chunks so the loop vectorizes: controls but tab and
    // newline (`\r` is rewritten by the parser) and `&` (entities are re-spelled).
    let bad_byte = bytes.chunks(64).any(|chunk| {
        chunk.iter().fold(false, |bad, &b| {
            bad | (b < 0x20 && b != b'\t' && b != b'\n') | (b == b'&')
        })
    });
    // U+00A0 (written back as `&nbsp;`) and the C1 block: their UTF-8 starts with C2 00-A0.
    if bad_byte
        || memchr::memchr_iter(0xC2, bytes).any(|i| bytes.get(i + 1).is_some_and(|&n| n <= 0xA0))
    {
        return false;
    }
    let mut stack: Vec<&str> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let lt = memchr::memchr(b'<', &bytes[at..]).map_or(bytes.len(), |i| at + i);
        // Text: a lone `>` is re-spelled.
        if memchr::memchr(b'>', &bytes[at..lt]).is_some() {
            return false;
        }
        if lt == bytes.len() {
            break;
        }
        let Some(len) = memchr::memchr(b'>', &bytes[lt + 1..]) else {
            return false;
        };
        let tag = &html[lt + 1..lt + 1 + len];
        at = lt + len + 2;
        if let Some(name) = tag.strip_prefix('/') {
            if stack.pop() != Some(name) {
                return false;
            }
        } else if tag == "p" {
            // A paragraph only at the top: inside anything it would close or move.
            if !stack.is_empty() {
                return false;
            }
            stack.push("p");
        } else if let Some(name) = PLAIN_PHRASING.iter().find(|n| **n == tag) {
            if stack.len() >= 8 {
                return false;
            }
            stack.push(name);
        } else {
            return false;
        }
    }
    stack.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whatever the shortcut passes through unchanged, the sanitizer writes the same.
        #[test]
        fn the_shortcut_agrees_with_the_sanitizer(parts in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just("<p>".to_owned()),
                proptest::strategy::Just("</p>".to_owned()),
                proptest::strategy::Just("<b>".to_owned()),
                proptest::strategy::Just("</b>".to_owned()),
                proptest::strategy::Just("<em>".to_owned()),
                proptest::strategy::Just("</em>".to_owned()),
                proptest::strategy::Just("<i>".to_owned()),
                proptest::strategy::Just("</i>".to_owned()),
                proptest::strategy::Just("<br>".to_owned()),
                proptest::strategy::Just("<p class=x>".to_owned()),
                proptest::strategy::Just("<div>".to_owned()),
                "[a-zA-Z \\n\\t\"'=/©—“é\u{a0}\u{85}&;<>\r\u{1}]{0,12}",
            ],
            0..14,
        )) {
            let html = parts.concat();
            if already_clean(&html) {
                let mut b = ammonia::Builder::default();
                b.link_rel(Some("noopener noreferrer nofollow"));
                b.url_relative(ammonia::UrlRelative::Deny);
                proptest::prop_assert_eq!(b.clean(&html).to_string(), html);
            }
        }
    }

    proptest::proptest! {
        /// Well-formed paragraphs of any text: accepted or not, never different from the
        /// sanitizer's output when accepted.
        #[test]
        fn paragraphs_of_any_text_agree_with_the_sanitizer(paras in proptest::collection::vec(
            ("[a-zA-Z \\n\\t\"'=/©—“é\u{a0}\u{85}\u{2028}&;>\r\u{1}😀]{0,16}", "[a-z \"'é—]{0,8}", proptest::bool::ANY),
            0..6,
        )) {
            let mut html = String::new();
            for (text, inner, bold) in &paras {
                html.push_str("<p>");
                html.push_str(text);
                if *bold {
                    html.push_str("<strong>");
                    html.push_str(inner);
                    html.push_str("<i>x</i></strong>");
                }
                html.push_str("</p>\n");
            }
            if already_clean(&html) {
                let mut b = ammonia::Builder::default();
                b.link_rel(Some("noopener noreferrer nofollow"));
                b.url_relative(ammonia::UrlRelative::Deny);
                proptest::prop_assert_eq!(b.clean(&html).to_string(), html);
            }
        }
    }

    #[test]
    fn plain_paragraphs_pass_through_and_anything_else_is_sanitized() {
        for clean in [
            "<p>One “two” — ©</p><p>Three <b>four <em>five</em></b></p>",
            "text",
            "",
        ] {
            assert!(already_clean(clean), "{clean}");
            assert_eq!(sanitize_html(clean, None), clean);
        }
        for not in [
            "<p>a<p>b",
            "<p class=\"x\">a</p>",
            "<b><p>a</p></b>",
            "<p>a &amp; b</p>",
            "<p>a</b>",
            "<script>x</script>",
            "<p>a\u{a0}b</p>",
            "<p>unclosed",
            "<p",
        ] {
            assert!(!already_clean(not), "{not}");
        }
    }

    #[test]
    fn nesting_past_the_limit_is_flattened_and_ordinary_markup_untouched() {
        let page = "<div><p>One<p>Two<ul><li>a<li>b</ul><br><img src=x.png></div>";
        assert!(matches!(limit_depth(page, 4), Cow::Borrowed(_)));
        let deep = format!("{}text{}", "<div>".repeat(10_000), "</div>".repeat(10_000));
        let flat = limit_depth(&deep, 8);
        assert_eq!(flat.matches("<div>").count(), 8);
        assert_eq!(flat.matches("</div>").count(), 8);
        assert!(flat.contains("text"));
        // Many sibling paragraphs and list items, never closed, are not depth.
        let siblings = "<p>x".repeat(1000);
        assert!(matches!(limit_depth(&siblings, 8), Cow::Borrowed(_)));
        // Deeply nested input comes out sanitized (36 s in release before the limit).
        let out = sanitize_html(
            &format!("{}x{}", "<div>".repeat(100_000), "</div>".repeat(100_000)),
            None,
        );
        assert!(out.contains('x'));
    }

    #[test]
    fn scripts_handlers_and_javascript_urls_are_removed() {
        let out = sanitize_html(
            "<p onclick=\"steal()\">Hi <a href=\"javascript:alert(1)\">x</a><script>bad()</script><img src=\"a.png\" onerror=\"x()\"></p><iframe src=\"https://e.com\"></iframe>",
            Some("https://news.test/world/story.html"),
        );
        assert!(!out.contains("script") && !out.contains("bad()"), "{out}");
        assert!(
            !out.contains("onclick") && !out.contains("onerror"),
            "{out}"
        );
        assert!(!out.contains("javascript:"), "{out}");
        assert!(!out.contains("iframe"), "{out}");
        assert!(
            out.contains("src=\"https://news.test/world/a.png\""),
            "{out}"
        );
    }

    #[test]
    fn relative_links_resolve_against_the_base() {
        let out = sanitize_html(
            "<a href=\"../b.html\">b</a>",
            Some("https://e.test/x/y/a.html"),
        );
        assert!(out.contains("href=\"https://e.test/x/b.html\""), "{out}");
        assert!(
            out.contains("rel=\"noopener noreferrer nofollow\""),
            "{out}"
        );
    }
}
