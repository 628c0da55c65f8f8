//! Sanitized HTML for readers: the feed's markup with everything that could run or track removed.
//!
//! Owns the allow-list (ammonia's: no script, style, iframe, event handlers or `javascript:` URLs)
//! and the resolution of relative links and images against the item's base URL. Never: fetches
//! anything.

/// Cleans `html`; relative URLs are made absolute against `base` (or dropped without one).
pub fn sanitize_html(html: &str, base: Option<&str>) -> String {
    let mut b = ammonia::Builder::default();
    b.link_rel(Some("noopener noreferrer nofollow"));
    match base.and_then(|u| url::Url::parse(u).ok()) {
        Some(base) => b.url_relative(ammonia::UrlRelative::RewriteWithBase(base)),
        None => b.url_relative(ammonia::UrlRelative::Deny),
    };
    b.clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
