//! OPML 2.0: the feed lists people move between readers. Reading an outline tree (nested
//! folders included) into feeds, and writing every feed out, grouped by source.
//!
//! An exported outline's `text` and `title` are the feed's own title (else its source, else its
//! URL), as every reader shows them. What only wirefeed needs rides in its own attributes, which
//! other readers ignore: `wirefeedSource`, `wirefeedWire`, `wirefeedFullText`, `wirefeedTitle`
//! (the stored title, absent when there is none), `wirefeedStatus="paused"` for a paused feed and
//! `wirefeedMovedFrom` for one a permanent redirect moved. `feeds import` reads them back.
//!
//! Never: touches the database or the network; `cli` does.

use quick_xml::events::Event;
use quick_xml::Reader;

/// One feed found in an OPML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlFeed {
    pub url: String,
    /// The publisher: wirefeed's own attribute when the file came from `feeds export`, else the
    /// enclosing folder's name, else the outline's title or text.
    pub source: String,
    pub wire: bool,
    pub full_text: bool,
    /// The feed's own title: `wirefeedTitle` in a wirefeed export, else the outline's title or
    /// text.
    pub title: Option<String>,
    /// Exported paused (`wirefeedStatus="paused"`): imported paused too.
    pub paused: bool,
    /// The address a permanent redirect moved it from (`wirefeedMovedFrom`).
    pub moved_from: Option<String>,
}

/// What reading a file found: the feeds, and the outlines that were not feeds (with why).
#[derive(Debug, Default)]
pub struct Parsed {
    pub feeds: Vec<OpmlFeed>,
    pub skipped: Vec<String>,
}

/// Reads the feeds of an OPML document (any version): every `<outline>` with an `xmlUrl`, at any
/// depth. A broken document is an error; an outline without a usable URL is skipped and said.
pub fn parse(text: &str) -> Result<Parsed, String> {
    let mut reader = Reader::from_str(text);
    let mut out = Parsed::default();
    // Names of the enclosing folders (outlines without xmlUrl), innermost last.
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut saw_opml = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("not valid XML at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(e) | Event::Empty(e) if e.name().into_inner() == "opml" => saw_opml = true,
            Event::Start(ref e) | Event::Empty(ref e) if e.name().into_inner() == "outline" => {
                let is_start = matches!(event, Event::Start(_));
                let mut attrs = std::collections::HashMap::new();
                for a in e.attributes().flatten() {
                    let key = a.key.into_inner().to_ascii_lowercase();
                    if let Ok(v) = a.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
                        attrs.insert(key, v.trim().to_owned());
                    }
                }
                let label = attrs
                    .get("title")
                    .or_else(|| attrs.get("text"))
                    .filter(|s| !s.is_empty())
                    .cloned();
                match attrs.get("xmlurl") {
                    Some(url) => {
                        let parsed = url::Url::parse(url);
                        if !parsed
                            .as_ref()
                            .is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
                        {
                            out.skipped
                                .push(format!("`{url}`: not an http or https URL"));
                        } else {
                            let folder = folders.iter().rev().flatten().next().cloned();
                            let source = attrs
                                .get("wirefeedsource")
                                .filter(|s| !s.is_empty())
                                .cloned()
                                .or(folder)
                                .or_else(|| label.clone())
                                .or_else(|| {
                                    parsed.ok().and_then(|u| u.host_str().map(str::to_owned))
                                })
                                .unwrap_or_else(|| url.clone());
                            let flag = |k: &str| attrs.get(k).is_some_and(|v| v == "true");
                            let own = |k: &str| attrs.get(k).filter(|v| !v.is_empty()).cloned();
                            // A wirefeed export says which title is the feed's own; its
                            // `title` falls back to the source when the feed has none.
                            let title = if attrs.contains_key("wirefeedsource") {
                                own("wirefeedtitle")
                            } else {
                                label
                            };
                            out.feeds.push(OpmlFeed {
                                url: url.clone(),
                                source,
                                wire: flag("wirefeedwire"),
                                full_text: flag("wirefeedfulltext"),
                                title,
                                paused: attrs.get("wirefeedstatus").is_some_and(|v| v == "paused"),
                                moved_from: own("wirefeedmovedfrom"),
                            });
                        }
                        if is_start {
                            folders.push(None);
                        }
                    }
                    None => {
                        if is_start {
                            folders.push(label);
                        }
                    }
                }
            }
            Event::End(e) if e.name().into_inner() == "outline" => {
                folders.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_opml {
        return Err("not an OPML document (no <opml> element)".to_owned());
    }
    Ok(out)
}

fn attr(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// Writes feeds as OPML 2.0, one folder per source, with wirefeed's own attributes (source, wire,
/// full text) so that `feeds import` restores them.
pub fn write(feeds: &[OpmlFeed], created: &str) -> String {
    let mut by_source: std::collections::BTreeMap<&str, Vec<&OpmlFeed>> = Default::default();
    for f in feeds {
        by_source.entry(f.source.as_str()).or_default().push(f);
    }
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n");
    out.push_str(&format!(
        "  <head>\n    <title>wirefeed feeds</title>\n    <dateCreated>{}</dateCreated>\n  </head>\n  <body>\n",
        attr(created)
    ));
    for (source, list) in by_source {
        out.push_str(&format!(
            "    <outline text=\"{0}\" title=\"{0}\">\n",
            attr(source)
        ));
        for f in list {
            let shown = f
                .title
                .as_deref()
                .filter(|t| !t.is_empty())
                .unwrap_or(if source.is_empty() { &f.url } else { source });
            let mut extra = String::new();
            if let Some(t) = f.title.as_deref().filter(|t| !t.is_empty()) {
                extra.push_str(&format!(" wirefeedTitle=\"{}\"", attr(t)));
            }
            if f.paused {
                extra.push_str(" wirefeedStatus=\"paused\"");
            }
            if let Some(m) = &f.moved_from {
                extra.push_str(&format!(" wirefeedMovedFrom=\"{}\"", attr(m)));
            }
            out.push_str(&format!(
                "      <outline type=\"rss\" text=\"{n}\" title=\"{n}\" xmlUrl=\"{u}\" wirefeedSource=\"{s}\" wirefeedWire=\"{w}\" wirefeedFullText=\"{t}\"{extra}/>\n",
                n = attr(shown),
                s = attr(source),
                u = attr(&f.url),
                w = f.wire,
                t = f.full_text
            ));
        }
        out.push_str("    </outline>\n");
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_outlines_are_read_and_an_export_reads_back_the_same() {
        let text = r#"<?xml version="1.0"?>
<opml version="1.0"><head><title>subs</title></head><body>
  <outline text="News">
    <outline text="Balkan Insight" type="rss" xmlUrl="https://balkaninsight.com/feed/"/>
    <outline text="Caucasus">
      <outline title="OC Media &amp; friends" xmlUrl="https://oc-media.org/feed/"/>
    </outline>
  </outline>
  <outline text="Loose" xmlUrl="https://example.com/rss"/>
  <outline text="Broken" xmlUrl="javascript:alert(1)"/>
</body></opml>"#;
        let p = parse(text).expect("parses");
        let got: Vec<(&str, &str)> = p
            .feeds
            .iter()
            .map(|f| (f.url.as_str(), f.source.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("https://balkaninsight.com/feed/", "News"),
                ("https://oc-media.org/feed/", "Caucasus"),
                ("https://example.com/rss", "Loose"),
            ]
        );
        assert_eq!(p.skipped.len(), 1);
        let mut feeds = p.feeds.clone();
        feeds[0].wire = true;
        let again = parse(&write(&feeds, "Thu, 26 Nov 2026 00:00:00 +0000")).expect("reads back");
        let mut a = again.feeds.clone();
        let mut b = feeds.clone();
        a.sort_by(|x, y| x.url.cmp(&y.url));
        b.sort_by(|x, y| x.url.cmp(&y.url));
        assert_eq!(a, b);
    }

    fn feed(url: &str, source: &str, title: Option<&str>) -> OpmlFeed {
        OpmlFeed {
            url: url.to_owned(),
            source: source.to_owned(),
            wire: false,
            full_text: false,
            title: title.map(str::to_owned),
            paused: false,
            moved_from: None,
        }
    }

    /// The outline's attribute `name` on the line that holds `url`.
    fn attr_of(opml: &str, url: &str, name: &str) -> Option<String> {
        let line = opml
            .lines()
            .find(|l| l.contains(&format!("xmlUrl=\"{url}\"")))?;
        let start = line.find(&format!(" {name}=\""))? + name.len() + 3;
        let len = line[start..].find('"')?;
        Some(line[start..start + len].to_owned())
    }

    #[test]
    fn each_outline_keeps_its_feeds_own_title_and_the_source_apart() {
        let feeds = [
            feed(
                "https://a.example/rss",
                "Outlet A",
                Some("A & Co: World news"),
            ),
            feed("https://a.example/balkans", "Outlet A", Some("A: Balkans")),
            feed("https://b.example/rss", "Outlet B", None),
            feed("https://c.example/rss", "", None),
        ];
        let opml = write(&feeds, "Thu, 26 Nov 2026 00:00:00 +0000");
        let cases = [
            // (url, text/title shown, wirefeedTitle, wirefeedSource)
            (
                "https://a.example/rss",
                "A &amp; Co: World news",
                Some("A &amp; Co: World news"),
                "Outlet A",
            ),
            (
                "https://a.example/balkans",
                "A: Balkans",
                Some("A: Balkans"),
                "Outlet A",
            ),
            ("https://b.example/rss", "Outlet B", None, "Outlet B"),
            ("https://c.example/rss", "https://c.example/rss", None, ""),
        ];
        for (url, shown, own, source) in cases {
            assert_eq!(attr_of(&opml, url, "text").as_deref(), Some(shown), "{url}");
            assert_eq!(
                attr_of(&opml, url, "title").as_deref(),
                Some(shown),
                "{url}"
            );
            assert_eq!(
                attr_of(&opml, url, "wirefeedTitle").as_deref(),
                own,
                "{url}"
            );
            assert_eq!(
                attr_of(&opml, url, "wirefeedSource").as_deref(),
                Some(source),
                "{url}"
            );
        }
        // Read back: the stored titles return, and a fallback title is not taken for one.
        let back = parse(&opml).expect("reads back");
        let titles: Vec<(&str, Option<&str>)> = back
            .feeds
            .iter()
            .map(|f| (f.url.as_str(), f.title.as_deref()))
            .collect();
        assert!(titles.contains(&("https://a.example/rss", Some("A & Co: World news"))));
        assert!(titles.contains(&("https://a.example/balkans", Some("A: Balkans"))));
        assert!(titles.contains(&("https://b.example/rss", None)));
        assert!(titles.contains(&("https://c.example/rss", None)));
    }

    #[test]
    fn paused_and_moved_feeds_are_marked_and_read_back() {
        let mut paused = feed("https://p.example/rss", "P", Some("Paused one"));
        paused.paused = true;
        let mut moved = feed("https://new.example/rss", "M", None);
        moved.moved_from = Some("https://old.example/rss".to_owned());
        let active = feed("https://a.example/rss", "A", None);
        let feeds = [paused.clone(), moved.clone(), active.clone()];
        let opml = write(&feeds, "now");
        assert_eq!(
            attr_of(&opml, &paused.url, "wirefeedStatus").as_deref(),
            Some("paused")
        );
        assert_eq!(attr_of(&opml, &active.url, "wirefeedStatus"), None);
        assert_eq!(
            attr_of(&opml, &moved.url, "wirefeedMovedFrom").as_deref(),
            Some("https://old.example/rss")
        );
        let mut back = parse(&opml).expect("reads back").feeds;
        back.sort_by(|a, b| a.url.cmp(&b.url));
        let mut want = feeds.to_vec();
        want.sort_by(|a, b| a.url.cmp(&b.url));
        assert_eq!(back, want);
    }

    #[test]
    fn another_readers_outline_title_is_the_feeds_title() {
        let text = r#"<opml version="2.0"><body>
  <outline text="Tech"><outline text="Ars" title="Ars Technica" xmlUrl="https://ars.example/rss"/></outline>
  <outline text="Bare" xmlUrl="https://bare.example/rss" wirefeedStatus="active"/>
</body></opml>"#;
        let p = parse(text).expect("parses");
        assert_eq!(p.feeds[0].title.as_deref(), Some("Ars Technica"));
        assert_eq!(p.feeds[0].source, "Tech");
        assert!(!p.feeds[0].paused);
        assert_eq!(p.feeds[1].title.as_deref(), Some("Bare"));
        assert!(!p.feeds[1].paused);
    }

    #[test]
    fn what_is_not_opml_is_refused() {
        assert!(parse("<rss version=\"2.0\"></rss>").is_err());
        assert!(parse("<opml><body></outline></body></opml>").is_err());
        assert!(parse("not xml at all <<<").is_err());
    }
}
