//! The one chain from a document to what is to be stored: parse → normalize → the article pages
//! it is handed (full-text feeds) → fingerprint → tag, returning `store::Incoming` values with the
//! items that were skipped and why.
//!
//! Owns the order of the stages and the per-story values computed after normalization (matching
//! fingerprint, wire-copy flag, tags). The daemon's refresh, `inspect`, `eval tag` and `eval dedup`
//! all run documents through [`Pipeline`], so an evaluation measures exactly what the daemon
//! stores. Two ways in share every later stage: [`Pipeline::document`] from feed bytes, and
//! [`Pipeline::entries`] from entries already parsed (the evals build them from labeled records).
//!
//! Never: fetches, reads the database, the environment or the clock. Article pages are fetched by
//! the caller, which asks [`Draft::page_requests`] which ones are wanted and hands the bytes back
//! to [`Pipeline::apply_page`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Link, Text as FeedText};

use crate::model::Story;
use crate::normalize::credit::wire_in_credit;
use crate::normalize::{apply_page, normalize_document, DocContext, Page, Rules};
use crate::parse::{self, ParseError, ParsedEntry, ParsedFeed, Skipped};
use crate::store::Incoming;
use crate::tag::{Tagger, Text};

/// The compiled rules every stage runs with: one snapshot of the config.
#[derive(Debug, Clone, Copy)]
pub struct Pipeline<'a> {
    /// Normalization rules (`[normalize]`).
    pub rules: &'a Rules,
    /// Countries, regions and topics.
    pub tagger: &'a Tagger,
    /// At most this many items of one document are kept (`fetch.max_items_per_feed`).
    pub max_items: usize,
}

/// Where a document came from: what normalization and the wire-copy flag need to know.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    /// Resolves relative links (the URL the document was fetched from).
    pub base_url: Option<&'a str>,
    /// The publisher's name.
    pub source: Option<&'a str>,
    /// The feed is a wire service's own.
    pub is_wire: bool,
}

/// A document parsed and normalized, waiting for its article pages (if any) and the last stages.
#[derive(Debug, Default)]
pub struct Draft {
    /// Stories in document order, unique by key.
    pub stories: Vec<Story>,
    /// Items in the document, including skipped ones.
    pub items: usize,
    /// Items not kept, with the reason.
    pub skipped: Vec<Skipped>,
    /// Paragraphs removed from every story because they recur across the document.
    pub recurring: Vec<String>,
    /// RSS `<ttl>` in minutes, if any.
    pub ttl_mins: Option<u32>,
    /// The feed's own title, if it carries one.
    pub title: Option<String>,
}

/// An article page the pipeline wants for one story of a [`Draft`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// The story's position in [`Draft::stories`].
    pub story: usize,
    pub url: String,
}

/// A fetched article page, as the caller hands it back.
#[derive(Debug, Clone, Copy)]
pub struct PageBytes<'a> {
    pub body: &'a [u8],
    /// The `charset` parameter of the response's Content-Type, if any.
    pub charset: Option<&'a str>,
    /// The address the page came from after redirects.
    pub final_url: &'a str,
}

/// What applying a page did to its story.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageApplied {
    /// The page's text replaced the feed's.
    Replaced,
    /// The feed's text was better and stays (the canonical URL may still have changed).
    Kept,
    /// The extractor found no article text on the page.
    NoText,
}

/// What is to be stored for one document.
#[derive(Debug, Default)]
pub struct Output {
    /// The stories with their fingerprints, wire-copy flags and tags, in document order.
    pub incoming: Vec<Incoming>,
    /// Items in the document, including skipped ones.
    pub items: usize,
    /// Items not kept, with the reason.
    pub skipped: Vec<Skipped>,
    /// Paragraphs removed from every story because they recur across the document.
    pub recurring: Vec<String>,
    /// RSS `<ttl>` in minutes, if any.
    pub ttl_mins: Option<u32>,
    /// The feed's own title, if it carries one.
    pub title: Option<String>,
}

/// The visible fields of a labeled record (an evaluation's story), to be run as the one item of
/// a document, the way a feed would have carried it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Record<'a> {
    /// Its identifier, used as the item's guid.
    pub id: &'a str,
    pub title: &'a str,
    /// A dateline given apart from the body (a structured field): the story's dateline when
    /// normalization finds none at the head of the body.
    pub dateline: Option<&'a str>,
    /// Plain text, paragraphs separated by blank lines.
    pub body: &'a str,
    pub url: Option<&'a str>,
    pub published: Option<DateTime<Utc>>,
}

impl Record<'_> {
    /// The feed item that carries this record: title, plain-text summary, link, date and guid.
    pub fn entry(&self) -> ParsedEntry {
        let plain = |content: String| FeedText {
            content_type: mediatype::MediaTypeBuf::new(
                mediatype::names::TEXT,
                mediatype::names::PLAIN,
            ),
            src: None,
            content,
        };
        let body = self.body.to_owned();
        let links = self
            .url
            .map(|u| Link {
                href: u.to_owned(),
                rel: None,
                media_type: None,
                href_lang: None,
                title: None,
                length: None,
                target: None,
            })
            .into_iter()
            .collect();
        let e = Entry {
            title: Some(plain(self.title.to_owned())),
            content: None,
            summary: Some(plain(body)),
            published: self.published,
            links,
            ..Entry::default()
        };
        ParsedEntry {
            raw_id: Some(self.id.to_owned()),
            entry: e,
        }
    }

    /// A document holding this record alone.
    pub fn document(&self) -> ParsedFeed {
        ParsedFeed {
            entries: vec![self.entry()],
            skipped: Vec::new(),
            language: None,
            ttl_mins: None,
            title: None,
            encoding: "UTF-8",
        }
    }
}

impl Draft {
    /// The article pages wanted for a full-text feed: stories with a link whose feed version is
    /// not already stored (`known`: story key → stored content hash), in document order, at most
    /// `limit`. Each story asked for keeps its feed version's hash, so a page's text never makes
    /// it count as changed: only a new feed version does.
    pub fn page_requests(
        &mut self,
        known: &HashMap<String, String>,
        limit: usize,
    ) -> Vec<PageRequest> {
        let mut wanted = Vec::new();
        for (i, story) in self.stories.iter_mut().enumerate() {
            if wanted.len() >= limit {
                break;
            }
            let hash = story.content_hash();
            if known.get(&story.key) == Some(&hash) {
                continue;
            }
            let Some(url) = story.url.clone() else {
                continue;
            };
            story.feed_hash = Some(hash);
            wanted.push(PageRequest { story: i, url });
        }
        wanted
    }
}

impl<'a> Pipeline<'a> {
    fn context(&self, origin: &Origin<'a>) -> DocContext<'a> {
        DocContext {
            base_url: origin.base_url,
            source: origin.source,
            source_is_wire: origin.is_wire,
            rules: self.rules,
        }
    }

    /// Parses and normalizes feed bytes (`charset`: the HTTP `charset` parameter, if any). Fails
    /// only when the document as a whole is not a readable feed; unreadable items are skipped and
    /// listed.
    pub fn document(
        &self,
        bytes: &[u8],
        charset: Option<&str>,
        origin: &Origin<'a>,
    ) -> Result<Draft, ParseError> {
        let parsed = parse::parse(bytes, charset, origin.base_url)?;
        Ok(self.entries(&parsed, origin))
    }

    /// Normalizes entries already parsed (a document, or labeled records an evaluation built):
    /// the same stages [`Pipeline::document`] runs after parsing.
    pub fn entries(&self, parsed: &ParsedFeed, origin: &Origin<'a>) -> Draft {
        let normalized = normalize_document(parsed, &self.context(origin), self.max_items);
        Draft {
            stories: normalized.stories,
            items: normalized.items,
            skipped: normalized.skipped,
            recurring: normalized.recurring,
            ttl_mins: parsed.ttl_mins,
            title: parsed.title.clone(),
        }
    }

    /// Applies a fetched article page to its story (the caller may work on a copy, off its async
    /// workers): the page's main text is extracted and, when it beats the feed's, cleaned by the
    /// same rules (without the document's `recurring` paragraphs) and made the body.
    pub fn apply_page(
        &self,
        story: &mut Story,
        recurring: &[String],
        page: PageBytes<'_>,
        origin: &Origin<'a>,
    ) -> PageApplied {
        let text = crate::extract::decode_page(page.body, page.charset);
        crate::budget::check("page decoding");
        let Some(extracted) = crate::extract::extract(&text, Some(page.final_url)) else {
            return PageApplied::NoText;
        };
        crate::budget::check("article extraction");
        let ctx = DocContext {
            base_url: Some(page.final_url),
            ..self.context(origin)
        };
        let page = Page {
            text: &extracted.text,
            canonical_url: extracted.canonical_url.as_deref(),
            url: page.final_url,
        };
        if apply_page(story, page, &ctx, recurring) {
            PageApplied::Replaced
        } else {
            PageApplied::Kept
        }
    }

    /// The last stages: each story's matching fingerprint, wire-copy flag and tags.
    pub fn finish(&self, draft: Draft, origin: &Origin<'_>) -> Output {
        let own_wire = origin.source.and_then(wire_in_credit);
        let incoming = draft
            .stories
            .into_iter()
            .map(|story| {
                crate::budget::check("fingerprint");
                let fingerprint = crate::dedup::fingerprint(&story.body);
                let wire_copy = origin.is_wire
                    || (story.wire_service.is_some() && story.wire_service.as_deref() == own_wire);
                crate::budget::check("tag");
                let tags = self.tagger.tag(Text {
                    title: &story.title,
                    dateline: story.dateline.as_deref(),
                    body: &story.body,
                });
                Incoming {
                    story,
                    fingerprint,
                    wire_copy,
                    tags,
                }
            })
            .collect();
        Output {
            incoming,
            items: draft.items,
            skipped: draft.skipped,
            recurring: draft.recurring,
            ttl_mins: draft.ttl_mins,
            title: draft.title,
        }
    }

    /// Every stage of a document without article pages: [`Pipeline::document`] then
    /// [`Pipeline::finish`].
    pub fn run(
        &self,
        bytes: &[u8],
        charset: Option<&str>,
        origin: &Origin<'a>,
    ) -> Result<Output, ParseError> {
        let draft = self.document(bytes, charset, origin)?;
        Ok(self.finish(draft, origin))
    }

    /// Every stage after parsing, for entries built elsewhere.
    pub fn run_entries(&self, parsed: &ParsedFeed, origin: &Origin<'a>) -> Output {
        self.finish(self.entries(parsed, origin), origin)
    }

    /// Every stage after parsing for one labeled record (the evaluations' way in): what the
    /// daemon would store for it, or `None` when normalization skips it (no title, text or link).
    pub fn run_record(&self, record: &Record<'_>, origin: &Origin<'a>) -> Option<Incoming> {
        let mut draft = self.entries(&record.document(), origin);
        let given = record.dateline.map(str::trim).filter(|d| !d.is_empty());
        for story in &mut draft.stories {
            if story.dateline.is_none() {
                story.dateline = given.map(str::to_owned);
            }
        }
        self.finish(draft, origin).incoming.into_iter().next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_pipeline(check: impl FnOnce(Pipeline<'_>)) {
        let rules = Rules::new(&crate::config::NormalizeConfig::default());
        let tagger = Tagger::builtin().expect("shipped gazetteer");
        check(Pipeline {
            rules: &rules,
            tagger: &tagger,
            max_items: 100,
        });
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).expect("fixture")
    }

    #[test]
    fn a_document_comes_out_fingerprinted_and_tagged_with_its_wire_copy_flag() {
        with_pipeline(|p| {
            let bytes = fixture("rss2_outlet_reprint_of_ap.xml");
            let outlet = Origin {
                base_url: Some("https://www.example-times.test/rss"),
                source: Some("The Example Times"),
                is_wire: false,
            };
            let out = p.run(&bytes, None, &outlet).expect("a feed");
            assert!(!out.incoming.is_empty());
            let first = &out.incoming[0];
            assert_eq!(first.story.wire_service.as_deref(), Some("AP"));
            assert_eq!(first.story.dateline.as_deref(), Some("BELGRADE, Serbia"));
            assert!(
                !first.wire_copy,
                "an outlet's reprint of AP is not AP's own copy"
            );
            assert_eq!(
                first.tags.primary(),
                Some("RS"),
                "{:?}",
                first.tags.countries
            );
            assert_eq!(
                first.fingerprint,
                crate::dedup::fingerprint(&first.story.body),
                "matched on the stored body"
            );
            let ap = Origin {
                source: Some("Associated Press"),
                ..outlet
            };
            let own = p.run(&bytes, None, &ap).expect("a feed");
            assert!(own.incoming[0].wire_copy, "credited to its own source");
        });
    }

    #[test]
    fn bytes_and_entries_share_every_later_stage() {
        with_pipeline(|p| {
            let bytes = fixture("rss2_outlet_reprint_of_ap.xml");
            let origin = Origin::default();
            let parsed = parse::parse(&bytes, None, None).expect("a feed");
            let a = p.run(&bytes, None, &origin).expect("a feed");
            let b = p.run_entries(&parsed, &origin);
            assert_eq!(a.incoming.len(), b.incoming.len());
            for (x, y) in a.incoming.iter().zip(&b.incoming) {
                assert_eq!(x.story, y.story);
                assert_eq!(x.tags, y.tags);
            }
        });
    }

    #[test]
    fn not_a_feed_is_an_error_and_an_empty_item_is_skipped() {
        with_pipeline(|p| {
            let err = p
                .run(
                    b"<!DOCTYPE html><html><body>hi</body></html>",
                    None,
                    &Origin::default(),
                )
                .expect_err("an HTML page");
            assert_eq!(err.error_kind(), crate::model::ErrorKind::NotAFeed);
            let empty = Record {
                id: "x",
                ..Record::default()
            };
            let draft = p.entries(&empty.document(), &Origin::default());
            assert!(draft.stories.is_empty());
            assert_eq!(draft.skipped.len(), 1);
            assert_eq!(draft.items, 1);
        });
    }

    #[test]
    fn a_record_gets_the_dateline_in_its_body_else_the_one_given_apart() {
        with_pipeline(|p| {
            let in_body = Record {
                id: "r1",
                title: "Talks resume",
                body: "BELGRADE, Serbia (AP) — Officials met on Monday to resume the talks.",
                ..Record::default()
            };
            let i = p.run_record(&in_body, &Origin::default()).expect("a story");
            assert_eq!(i.story.dateline.as_deref(), Some("BELGRADE, Serbia"));
            assert_eq!(i.story.body, "Officials met on Monday to resume the talks.");
            assert_eq!(i.tags.primary(), Some("RS"));
            let apart = Record {
                dateline: Some("SKOPJE, March 3 -"),
                body: "Officials met on Monday to resume the talks.",
                ..in_body
            };
            let i = p.run_record(&apart, &Origin::default()).expect("a story");
            assert_eq!(i.story.dateline.as_deref(), Some("SKOPJE, March 3 -"));
            assert_eq!(i.tags.primary(), Some("MK"));
            let both = Record {
                dateline: Some("SKOPJE, March 3 -"),
                ..in_body
            };
            let i = p.run_record(&both, &Origin::default()).expect("a story");
            assert_eq!(
                i.story.dateline.as_deref(),
                Some("BELGRADE, Serbia"),
                "the text's own wins"
            );
        });
    }

    fn story(key: &str, url: Option<&str>) -> Story {
        Story {
            key: key.to_owned(),
            url: url.map(str::to_owned),
            canonical_url: None,
            title: key.to_owned(),
            body: "Short summary of the story.".to_owned(),
            body_html: None,
            authors: Vec::new(),
            published: None,
            updated: None,
            language: None,
            wire_service: None,
            dateline: None,
            feed_hash: None,
        }
    }

    #[test]
    fn pages_are_asked_for_new_and_changed_stories_with_links_up_to_the_limit() {
        let mut draft = Draft {
            stories: vec![
                story("known", Some("https://example.test/known")),
                story("no-link", None),
                story("changed", Some("https://example.test/changed")),
                story("new", Some("https://example.test/new")),
                story("over", Some("https://example.test/over")),
            ],
            ..Draft::default()
        };
        let mut known = HashMap::new();
        known.insert("known".to_owned(), draft.stories[0].content_hash());
        known.insert("changed".to_owned(), "an older hash".to_owned());
        let wanted = draft.page_requests(&known, 2);
        assert_eq!(
            wanted,
            vec![
                PageRequest {
                    story: 2,
                    url: "https://example.test/changed".to_owned()
                },
                PageRequest {
                    story: 3,
                    url: "https://example.test/new".to_owned()
                },
            ]
        );
        let feed_version = story("new", Some("https://example.test/new")).content_hash();
        assert_eq!(
            draft.stories[3].feed_hash.as_deref(),
            Some(feed_version.as_str())
        );
        assert_eq!(draft.stories[4].feed_hash, None);
        assert!(draft.page_requests(&known, 0).is_empty());
    }

    #[test]
    fn a_page_replaces_a_summary_only_when_it_holds_the_article() {
        with_pipeline(|p| {
            let origin = Origin::default();
            let paragraph = "Short summary of the story, told at length with every detail the \
                reporters gathered from the officials and witnesses who spoke on the record about \
                what happened during the long meeting in the capital on Monday afternoon.";
            let html = format!(
                "<html><head><title>t</title></head><body><article><h1>t</h1><p>{paragraph}</p>\
                 <p>{paragraph}</p><p>{paragraph}</p></article></body></html>"
            );
            let page = PageBytes {
                body: html.as_bytes(),
                charset: None,
                final_url: "https://example.test/a",
            };
            let mut s = story("a", Some("https://example.test/a"));
            let applied = p.apply_page(&mut s, &[], page, &origin);
            assert_eq!(applied, PageApplied::Replaced, "{}", s.body);
            assert!(s.body.contains("officials and witnesses"));

            let blank = PageBytes {
                body: b"",
                charset: None,
                final_url: "https://example.test/b",
            };
            let mut s = story("b", Some("https://example.test/b"));
            assert_eq!(
                p.apply_page(&mut s, &[], blank, &origin),
                PageApplied::NoText
            );
            assert_eq!(s.body, "Short summary of the story.");
        });
    }
}
