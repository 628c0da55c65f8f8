//! Canonical story URLs: the address with what does not identify the article taken away.
//!
//! Owns: scheme and host lowercased (the `url` crate does this when parsing), default ports and
//! fragments dropped, tracking parameters removed (`utm_*`, `fbclid`, … or the configured list).
//! Never: fetches the page, or changes the path or the order of the parameters that remain.

/// Query parameters removed by default (defined with the other defaults, in `config`).
pub use crate::config::DEFAULT_TRACKING_PARAMS;

/// Whether `name` is a tracking parameter under `patterns` (case-insensitive).
fn is_tracking(name: &str, patterns: &[String]) -> bool {
    let name = name.to_ascii_lowercase();
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => name.starts_with(&prefix.to_ascii_lowercase()),
        None => name == p.to_ascii_lowercase(),
    })
}

/// The canonical form of an http(s) URL; `None` for anything that is not one.
pub fn canonical_url(raw: &str, tracking: &[String]) -> Option<String> {
    let mut u = url::Url::parse(raw.trim()).ok()?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return None;
    }
    u.set_fragment(None);
    if u.query().is_some() {
        let kept: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, _)| !is_tracking(k, tracking))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            u.set_query(None);
        } else {
            u.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    Some(u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<String> {
        DEFAULT_TRACKING_PARAMS
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    }

    fn check(input: &str, expected: Option<&str>) {
        assert_eq!(
            canonical_url(input, &defaults()).as_deref(),
            expected,
            "{input}"
        );
    }

    #[test]
    fn canonical_urls() {
        check(
            "HTTPS://WWW.Example.COM:443/News/Story.html?utm_source=rss&utm_medium=feed#comments",
            Some("https://www.example.com/News/Story.html"),
        );
        check(
            "https://e.com/a?id=7&fbclid=xyz&page=2&UTM_Campaign=x",
            Some("https://e.com/a?id=7&page=2"),
        );
        check(
            "https://e.com/a?mc_cid=1&mc_eid=2&gclid=3",
            Some("https://e.com/a"),
        );
        check("http://e.com:80/a", Some("http://e.com/a"));
        check("https://e.com/a?q=a%20b", Some("https://e.com/a?q=a+b"));
        check("ftp://e.com/a", None);
        check("not a url", None);
        check("", None);
    }

    #[test]
    fn the_list_is_configurable() {
        let only = vec!["ref".to_owned(), "src_*".to_owned()];
        assert_eq!(
            canonical_url("https://e.com/a?ref=x&src_a=1&utm_source=y", &only).as_deref(),
            Some("https://e.com/a?utm_source=y")
        );
    }
}
