//! Entry to `Story`: stable key, canonical URL, plain-text title and body in paragraphs, sanitized
//! HTML, authors, instants, language, wire credit, dateline, and the outlet's boilerplate set apart.
//!
//! Owns the rules that make a story clean and comparable; each part has its own file
//! (`canonical`, `credit`, `language`, `repair`, `sanitize`) and this file puts them in order;
//! keys are made from text as read, before `repair` mends its mojibake; dates are
//! read by `parse::dates`, while parsing.
//! Never: touches the network, the database or the clock; never invents a date it could not read.

pub mod canonical;
pub mod credit;
/// Feed dates are read while parsing; the reader lives with `parse`.
pub use crate::parse::dates;
pub mod language;
pub mod repair;
pub mod sanitize;

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Link, Text};
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use crate::config::NormalizeConfig;
use crate::model::Story;
use crate::parse::ParsedEntry;

/// Normalization rules from `[normalize]`, compiled once.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Query parameters removed from URLs (exact names, or prefixes ending in `*`).
    pub tracking_params: Vec<String>,
    /// Boilerplate patterns for every source.
    pub boilerplate: Vec<regex::Regex>,
    /// Boilerplate patterns per source, by lowercased source name.
    pub source_boilerplate: HashMap<String, Vec<regex::Regex>>,
    /// Keep a sanitized copy of the item's HTML.
    pub keep_html: bool,
}

impl Rules {
    /// Compiles `[normalize]`. Patterns were checked by config validation; one that still fails
    /// to compile is left out.
    pub fn new(cfg: &NormalizeConfig) -> Rules {
        let compile = |pats: &[String]| -> Vec<regex::Regex> {
            pats.iter()
                .filter_map(|p| regex::Regex::new(p).ok())
                .collect()
        };
        Rules {
            keep_html: cfg.keep_html,
            tracking_params: cfg.tracking_params.clone(),
            boilerplate: compile(&cfg.boilerplate),
            source_boilerplate: cfg
                .sources
                .iter()
                .map(|s| (s.source.to_lowercase(), compile(&s.boilerplate)))
                .collect(),
        }
    }

    fn patterns_for(&self, source: Option<&str>) -> Vec<regex::Regex> {
        let mut all = self.boilerplate.clone();
        if let Some(extra) = source.and_then(|s| self.source_boilerplate.get(&s.to_lowercase())) {
            all.extend(extra.iter().cloned());
        }
        all
    }
}

/// What normalization knows about the document an entry came from.
#[derive(Debug, Clone, Copy)]
pub struct DocContext<'a> {
    /// The URL the document was fetched from (resolves relative links).
    pub base_url: Option<&'a str>,
    /// The publisher's name.
    pub source: Option<&'a str>,
    /// The feed is a wire service's own: its stories are credited to it when they name no other.
    pub source_is_wire: bool,
    pub rules: &'a Rules,
}

/// Longest title kept, in characters: real headlines stay far below; a title of megabytes is an
/// attack or a broken feed, and is cut (with an ellipsis) rather than stored whole.
pub const MAX_TITLE_CHARS: usize = 1000;

/// `s` cut to at most `max` characters, an ellipsis marking a cut.
fn cap_chars(s: String, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s,
        Some((at, _)) => {
            let mut cut = s[..at].trim_end().to_owned();
            cut.pop();
            cut.push('…');
            cut
        }
    }
}

/// Normalizes one entry. Returns `None` for an entry with nothing to show (no title, no body and no
/// link), which the caller reports as skipped. `feed_language` is the document's declaration.
pub fn normalize(
    parsed: &ParsedEntry,
    ctx: &DocContext<'_>,
    feed_language: Option<&str>,
    boilerplate: &[regex::Regex],
) -> Option<Story> {
    let e = &parsed.entry;
    let base = e.base.as_deref().or(ctx.base_url);
    // RSS items often carry their address only as a permalink guid.
    let url = pick_link(&e.links)
        .and_then(|href| resolve(base, href))
        .or_else(|| {
            parsed
                .raw_id
                .as_deref()
                .filter(|id| id.starts_with("http://") || id.starts_with("https://"))
                .and_then(|id| resolve(None, id))
        });
    let title = cap_chars(
        nfc(collapse_ws(
            &e.title.as_ref().map(text_of).unwrap_or_default(),
        )),
        MAX_TITLE_CHARS,
    );
    // A key hashed from the title is hashed from it as read before mojibake repair, so a stored
    // story keeps its key.
    let key_title = match (&parsed.raw_id, &url, &e.title) {
        (None, None, Some(t)) => Cow::Owned(cap_chars(nfc(key_text_of(t)), MAX_TITLE_CHARS)),
        _ => Cow::Borrowed(title.as_str()),
    };
    let (text, html) = body_of(e);
    if title.is_empty() && text.is_empty() && url.is_none() {
        return None;
    }
    let authors = authors_of(e);
    crate::budget::check("html to text");
    let credited = credit::credit(&nfc(text), &authors, boilerplate);
    let wire_service = credited.wire_service.or_else(|| {
        ctx.source_is_wire
            .then(|| ctx.source.and_then(credit::wire_in_credit))
            .flatten()
            .map(str::to_owned)
    });
    let published = e.published.or(e.updated);
    let key = stable_key(
        parsed.raw_id.as_deref(),
        url.as_deref(),
        &key_title,
        published,
    );
    // The declaration for now; `normalize_document` weighs it against the text.
    let language = e
        .language
        .as_deref()
        .or(feed_language)
        .and_then(language::declared_code);
    let canonical_url = url
        .as_deref()
        .and_then(|u| canonical::canonical_url(u, &ctx.rules.tracking_params));
    let body_html = html
        .filter(|_| ctx.rules.keep_html)
        .map(|h| sanitize::sanitize_html(&repair::repair(h), base));
    crate::budget::check("sanitize");
    Some(Story {
        key,
        url,
        canonical_url,
        title,
        body: credited.body,
        body_html,
        authors,
        published,
        updated: e.updated,
        language,
        wire_service,
        dateline: credited.dateline,
        feed_hash: None,
    })
}

/// The main text and canonical link of a story's article page (`full_text` feeds), as the
/// extractor found them.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    pub text: &'a str,
    pub canonical_url: Option<&'a str>,
    /// The address the page was fetched from, after redirects.
    pub url: &'a str,
}

/// Fewest words an article page must have to replace a feed's text.
const PAGE_MIN_WORDS: usize = 40;

/// Applies an article page to its story: the page's text (cleaned by the same credit, dateline
/// and boilerplate rules, and without the document's `recurring` paragraphs) becomes the body when
/// it is better than the feed's: clearly longer, and, when the feed had a summary, sharing most of
/// its words (an error page, a paywall notice or a home page does not). The page's
/// `<link rel="canonical">` replaces the canonical URL when it is on the same site. Returns true
/// when the body was replaced.
pub fn apply_page(
    story: &mut Story,
    page: Page<'_>,
    ctx: &DocContext<'_>,
    recurring: &[String],
) -> bool {
    if let Some(c) = page
        .canonical_url
        .filter(|c| same_site(c, page.url))
        .and_then(|c| canonical::canonical_url(c, &ctx.rules.tracking_params))
    {
        story.canonical_url = Some(c);
    }
    let boilerplate = ctx.rules.patterns_for(ctx.source);
    // Pages repeat the headline above the text.
    let text = nfc(page.text.to_owned());
    let fold = |t: &str| collapse_ws(t).to_lowercase();
    let text = match text.split_once("\n\n") {
        Some((first, rest)) if fold(first) == fold(&story.title) => rest.to_owned(),
        _ => text,
    };
    let credited = credit::credit(&text, &story.authors, &boilerplate);
    let body: Vec<&str> = credited
        .body
        .split("\n\n")
        .filter(|p| !recurring.iter().any(|r| r == p))
        .collect();
    let body = body.join("\n\n");
    let words = |t: &str| t.split_whitespace().count();
    let (page_words, feed_words) = (words(&body), words(&story.body));
    if page_words < PAGE_MIN_WORDS || page_words * 10 < feed_words * 13 {
        return false;
    }
    if feed_words >= 8 && shared_word_share(&story.body, &body) < 0.5 {
        return false;
    }
    story.body = body;
    if story.wire_service.is_none() {
        story.wire_service = credited.wire_service;
    }
    if story.dateline.is_none() {
        story.dateline = credited.dateline;
    }
    true
}

/// The share of `summary`'s distinct longer words (four letters and up, case folded) found in
/// `text`.
fn shared_word_share(summary: &str, text: &str) -> f64 {
    let fold = |t: &str| -> std::collections::HashSet<String> {
        t.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 4)
            .map(str::to_lowercase)
            .collect()
    };
    let (a, b) = (fold(summary), fold(text));
    if a.is_empty() {
        return 1.0;
    }
    a.iter().filter(|w| b.contains(*w)).count() as f64 / a.len() as f64
}

/// True when two URLs are on one site: the same host, or hosts that share their last two labels
/// (`www.example.com` and `news.example.com`). A reprint's page that names the wire's page as
/// canonical is not taken at its word.
fn same_site(a: &str, b: &str) -> bool {
    let host = |u: &str| {
        url::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    };
    let (Some(a), Some(b)) = (host(a), host(b)) else {
        return false;
    };
    let site = |h: &str| -> String {
        let labels: Vec<&str> = h.rsplit('.').take(3).collect();
        // Two labels, or three under a short second level (`co.uk`, `com.au`).
        let take = if labels.len() == 3 && labels[1].len() <= 3 && labels[0].len() == 2 {
            3
        } else {
            2
        };
        labels
            .iter()
            .take(take)
            .rev()
            .copied()
            .collect::<Vec<_>>()
            .join(".")
    };
    a == b || site(&a) == site(&b)
}

/// Unicode NFC, skipping the work when the text already is.
fn nfc(s: String) -> String {
    if is_nfc_quick(s.chars()) == IsNormalized::Yes {
        s
    } else {
        s.nfc().collect()
    }
}

/// The stories of one parsed document, ready to store.
#[derive(Debug, Default)]
pub struct Normalized {
    /// Stories in document order, unique by key (the first occurrence of a key wins).
    pub stories: Vec<Story>,
    /// Items in the document, including skipped ones.
    pub items: usize,
    /// Items not kept, with the reason.
    pub skipped: Vec<crate::parse::Skipped>,
    /// Paragraphs found in many of the document's stories and removed from all of them.
    pub recurring: Vec<String>,
}

/// Normalizes every entry of a parsed document, at most `max_items` of them, then removes the
/// paragraphs that recur across its stories (a new outlet's footer, without anyone writing a
/// pattern).
pub fn normalize_document(
    parsed: &crate::parse::ParsedFeed,
    ctx: &DocContext<'_>,
    max_items: usize,
) -> Normalized {
    let boilerplate = ctx.rules.patterns_for(ctx.source);
    let mut out = Normalized {
        stories: Vec::with_capacity(parsed.entries.len().min(max_items)),
        items: parsed.entries.len() + parsed.skipped.len(),
        skipped: parsed.skipped.clone(),
        recurring: Vec::new(),
    };
    let mut seen = std::collections::HashSet::new();
    for (i, entry) in parsed.entries.iter().enumerate() {
        if i >= max_items {
            out.skipped.push(crate::parse::Skipped {
                index: None,
                reason: format!(
                    "{} items beyond fetch.max_items_per_feed ({max_items})",
                    parsed.entries.len() - max_items
                ),
            });
            break;
        }
        crate::budget::check("normalize");
        match normalize(entry, ctx, parsed.language.as_deref(), &boilerplate) {
            Some(story) => {
                if seen.insert(story.key.clone()) {
                    out.stories.push(story);
                }
            }
            None => out.skipped.push(crate::parse::Skipped {
                index: Some(i),
                reason: "item has no title, no text and no link".to_owned(),
            }),
        }
    }
    out.recurring = remove_recurring(&mut out.stories);
    for s in &mut out.stories {
        crate::budget::check("language");
        s.language = language::language(s.language.as_deref(), &s.title, &s.body);
    }
    out
}

/// Fewest stories in a document for recurring paragraphs to be told apart from content.
const RECURRING_MIN_STORIES: usize = 4;
/// Longest paragraph that can be boilerplate.
const RECURRING_MAX_CHARS: usize = 300;

/// Removes the short paragraphs that appear in at least half of the stories (and at least three):
/// footers, newsletter pitches, comment-policy lines. Returns what was removed.
fn remove_recurring(stories: &mut [Story]) -> Vec<String> {
    if stories.len() < RECURRING_MIN_STORIES {
        return Vec::new();
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for s in stories.iter() {
        let mut in_story = std::collections::HashSet::new();
        for p in s.body.split("\n\n") {
            if p.len() <= RECURRING_MAX_CHARS && in_story.insert(p) {
                *counts.entry(p).or_default() += 1;
            }
        }
    }
    let threshold = (stories.len() / 2).max(3);
    let mut recurring: Vec<String> = counts
        .into_iter()
        .filter(|(_, n)| *n >= threshold)
        .map(|(p, _)| p.to_owned())
        .collect();
    if recurring.is_empty() {
        return recurring;
    }
    recurring.sort();
    for s in stories.iter_mut() {
        let kept: Vec<&str> = s
            .body
            .split("\n\n")
            .filter(|p| recurring.binary_search_by(|r| r.as_str().cmp(p)).is_err())
            .collect();
        // A story made only of recurring paragraphs keeps its text.
        if !kept.is_empty() {
            s.body = kept.join("\n\n");
        }
    }
    recurring
}

/// Longest key stored as it is.
const MAX_KEY_BYTES: usize = 512;

/// Our own stable key: the raw guid/id, else the link, else a hash of title and date. Never
/// feed-rs's generated id, which is not stable.
pub fn stable_key(
    raw_id: Option<&str>,
    url: Option<&str>,
    title: &str,
    published: Option<DateTime<Utc>>,
) -> String {
    let usable = |k: &str| {
        let k = squeeze_ws(k);
        // Index entries have a size limit: a very long id is kept as its hash.
        if k.len() > MAX_KEY_BYTES {
            format!("hash:{}", &blake3::hash(k.as_bytes()).to_hex()[..32])
        } else {
            k
        }
    };
    if let Some(id) = raw_id.map(str::trim).filter(|s| !s.is_empty()) {
        return usable(id);
    }
    if let Some(u) = url {
        return usable(u);
    }
    let mut h = blake3::Hasher::new();
    h.update(title.as_bytes());
    h.update(b"\0");
    if let Some(p) = published {
        h.update(p.timestamp().to_le_bytes().as_slice());
    }
    format!("hash:{}", &h.finalize().to_hex()[..32])
}

fn pick_link(links: &[Link]) -> Option<&str> {
    links
        .iter()
        .find(|l| matches!(l.rel.as_deref(), None | Some("alternate")))
        .or_else(|| links.first())
        .map(|l| l.href.trim())
        .filter(|h| !h.is_empty())
}

/// Resolves `href` against `base`; keeps only http(s) results.
fn resolve(base: Option<&str>, href: &str) -> Option<String> {
    let joined = match url::Url::parse(href) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            url::Url::parse(base?).ok()?.join(href).ok()?
        }
        Err(_) => return None,
    };
    matches!(joined.scheme(), "http" | "https").then(|| joined.to_string())
}

fn text_of(t: &Text) -> String {
    if is_html(t.content_type.essence().to_string().as_str(), &t.content) {
        html_to_text(&t.content)
    } else {
        decode_entities(&t.content)
    }
}

/// A title as it read before mojibake repair (keys hashed from titles stay what they were).
fn key_text_of(t: &Text) -> String {
    let text = if is_html(t.content_type.essence().to_string().as_str(), &t.content) {
        html_to_text_with(&t.content, squeeze_ws)
    } else {
        decode_entities(&t.content)
    };
    squeeze_ws(&text)
}

fn is_html(mime: &str, content: &str) -> bool {
    match mime {
        "text/plain" => content.contains("</") || content.contains("<br") || content.contains("<p"),
        _ => true,
    }
}

/// The body as plain text, and the HTML it came from (when it was HTML): the longer of the
/// content and the summary.
fn body_of(e: &Entry) -> (String, Option<&str>) {
    let read = |mime: &str, raw: &'_ str| -> (String, bool) {
        if is_html(mime, raw) {
            (html_to_text(raw), true)
        } else {
            (plain_paragraphs(raw), false)
        }
    };
    let content = e.content.as_ref().and_then(|c| {
        let raw = c.body.as_deref()?;
        let (text, html) = read(&c.content_type.essence().to_string(), raw);
        Some((text, html.then_some(raw)))
    });
    let summary = e.summary.as_ref().map(|t| {
        let (text, html) = read(&t.content_type.essence().to_string(), &t.content);
        (text, html.then_some(t.content.as_str()))
    });
    match (content, summary) {
        (Some(c), Some(s)) => {
            if c.0.len() >= s.0.len() {
                c
            } else {
                s
            }
        }
        (Some(c), None) => c,
        (None, Some(s)) => s,
        (None, None) => (String::new(), None),
    }
}

fn authors_of(e: &Entry) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in &e.authors {
        let name = p.name.as_deref().map(author_name).unwrap_or_default();
        let name = if name.is_empty() {
            p.email.as_deref().map(author_name).unwrap_or_default()
        } else {
            name
        };
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// RSS `<author>` is often `email (Name)`: keep the name.
fn author_name(raw: &str) -> String {
    let raw = decode_entities(raw.trim());
    // feed-rs splits `email (Name)` into an email and the name `(Name)`.
    if let Some(inner) = raw.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        return collapse_ws(inner);
    }
    if let (Some(open), true) = (raw.find('('), raw.ends_with(')')) {
        let inner = raw[open + 1..raw.len() - 1].trim();
        if !inner.is_empty() && raw[..open].contains('@') {
            return collapse_ws(inner);
        }
    }
    collapse_ws(&raw)
}

/// Decodes HTML entities (named, decimal, hex).
pub fn decode_entities(s: &str) -> String {
    if s.contains('&') {
        html_escape::decode_html_entities(s).into_owned()
    } else {
        s.to_owned()
    }
}

/// Repairs mojibake and C1 characters ([`repair`]), then collapses whitespace as [`squeeze_ws`]
/// does: what every title, text paragraph and author name goes through.
pub fn collapse_ws(s: &str) -> String {
    squeeze_ws(&repair::repair(s))
}

/// Collapses runs of whitespace (including non-breaking spaces) to one space, drops control
/// characters (a JSON Feed can carry NUL, which PostgreSQL text rejects), and trims. Keys use
/// it as it is: a key never changes with the repairs [`collapse_ws`] makes.
pub fn squeeze_ws(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    // A space is owed before the next kept character (never at the start or the end).
    let mut space = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b > b' ' && b < 0x7f {
            // A run of printable ASCII is copied whole: most text is nothing else.
            let from = i;
            while i < bytes.len() && bytes[i] > b' ' && bytes[i] < 0x7f {
                i += 1;
            }
            if space {
                out.push(' ');
                space = false;
            }
            out.push_str(&s[from..i]);
            continue;
        }
        let c = if b < 0x80 {
            char::from(b)
        } else {
            s[i..].chars().next().unwrap_or(' ')
        };
        i += c.len_utf8();
        if c.is_whitespace() {
            space = !out.is_empty();
        } else if !c.is_control() {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Plain text with paragraphs separated by blank lines: each paragraph's whitespace collapsed.
pub fn plain_paragraphs(s: &str) -> String {
    let s = decode_entities(s).replace("\r\n", "\n").replace('\r', "\n");
    let mut paras = Vec::new();
    let mut cur = String::new();
    for line in s.split('\n') {
        if line.trim().is_empty() {
            if !cur.trim().is_empty() {
                paras.push(collapse_ws(&cur));
            }
            cur.clear();
        } else {
            cur.push(' ');
            cur.push_str(line);
        }
    }
    if !cur.trim().is_empty() {
        paras.push(collapse_ws(&cur));
    }
    paras.join("\n\n")
}

/// Elements whose start or end begins a new paragraph.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "tr",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "aside",
    "figure",
    "figcaption",
    "pre",
    "hr",
    "dl",
    "dt",
    "dd",
    "address",
    "main",
    "nav",
];

/// Elements whose content is never text.
const SKIP_TAGS: &[&str] = &["script", "style", "noscript", "template", "iframe", "svg"];

/// HTML to plain text: tags dropped, script/style content dropped, block elements and double `<br>`
/// become paragraph breaks, entities decoded, whitespace collapsed within paragraphs.
pub fn html_to_text(html: &str) -> String {
    html_to_text_with(html, collapse_ws)
}

/// [`html_to_text`] with the paragraph cleaner given.
fn html_to_text_with(html: &str, collapse: fn(&str) -> String) -> String {
    let mut paras: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut rest = html;
    let mut last_was_br = false;
    let flush = |cur: &mut String, paras: &mut Vec<String>| {
        let p = collapse(&decode_entities(cur));
        if !p.is_empty() {
            paras.push(p);
        }
        cur.clear();
    };
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            cur.push_str(rest);
            break;
        };
        cur.push_str(&rest[..lt]);
        if !rest[..lt].trim().is_empty() {
            last_was_br = false;
        }
        rest = &rest[lt..];
        if let Some(r) = rest.strip_prefix("<!--") {
            rest = r.find("-->").map_or("", |e| &r[e + 3..]);
            continue;
        }
        // A '<' that does not open a tag is text.
        let opens_tag = rest[1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!' || c == '?');
        if !opens_tag {
            cur.push('<');
            rest = &rest[1..];
            continue;
        }
        // An unbalanced quote inside a tag (`alt='Biden's'`) must not swallow the rest: fall back
        // to the first `>`.
        let Some(gt) = tag_end(rest).or_else(|| rest.find('>')) else {
            // Unclosed tag at the end: drop it.
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if !closing && SKIP_TAGS.contains(&name.as_str()) && !tag.ends_with('/') {
            let close = format!("</{name}");
            rest = find_ci(rest, &close).map_or("", |at| {
                let after = &rest[at..];
                after.find('>').map_or("", |e| &after[e + 1..])
            });
            continue;
        }
        if name == "br" {
            if last_was_br {
                flush(&mut cur, &mut paras);
            } else {
                cur.push('\n');
            }
            last_was_br = true;
            continue;
        }
        if BLOCK_TAGS.contains(&name.as_str()) {
            flush(&mut cur, &mut paras);
            last_was_br = false;
        } else if name == "td" || name == "th" || name == "img" {
            cur.push(' ');
        }
    }
    flush(&mut cur, &mut paras);
    paras.join("\n\n")
}

/// Index of the `>` that ends the tag starting at `s[0] == '<'`, skipping quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, b) in s.bytes().enumerate().skip(1) {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.len();
    hay.as_bytes()
        .windows(n)
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The byte-level collapse gives what the plain rule says: controls that are not
        /// whitespace dropped, whitespace runs one space, no space at either end.
        #[test]
        fn squeeze_ws_matches_the_rule(s in "[a-z \t\n\r\u{0}\u{1}\u{7f}\u{85}\u{a0}\u{2003}é€😀]{0,40}") {
            let kept: String = s.chars().filter(|c| c.is_whitespace() || !c.is_control()).collect();
            let want = kept.split(char::is_whitespace).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
            proptest::prop_assert_eq!(squeeze_ws(&s), want);
        }
    }

    #[test]
    fn a_huge_title_is_cut() {
        let long = "word ".repeat(1_000_000);
        let cut = cap_chars(long, MAX_TITLE_CHARS);
        assert!(cut.chars().count() <= MAX_TITLE_CHARS, "{}", cut.len());
        assert!(cut.ends_with('…'));
        assert_eq!(cap_chars("Short".to_owned(), MAX_TITLE_CHARS), "Short");
        let exact = "é".repeat(MAX_TITLE_CHARS);
        assert_eq!(cap_chars(exact.clone(), MAX_TITLE_CHARS), exact);
    }

    /// The same item in two feeds whose other items differ: the same language, so the same
    /// content hash and no new version.
    #[test]
    fn an_items_language_does_not_follow_its_neighbours() {
        let de = "<item><guid>de-1</guid><title>Gespräche gehen weiter</title><description>Die Regierung hat am Donnerstag erklärt, dass die Gespräche mit der Opposition trotz der Proteste in der Hauptstadt nächste Woche fortgesetzt werden.</description></item>";
        let en = |i: usize| {
            format!("<item><guid>en-{i}</guid><title>Talks go on {i}</title><description>The government said on Thursday that talks with the opposition would continue next week despite the protests in the capital, officials number {i} said.</description></item>")
        };
        let rules = Rules::new(&Default::default());
        let ctx = DocContext {
            base_url: Some("https://feed.test/rss"),
            source: Some("Feed"),
            source_is_wire: false,
            rules: &rules,
        };
        let story_in = |others: usize| {
            let items: String = (0..others).map(en).collect();
            let doc = format!(
                "<rss version=\"2.0\"><channel><title>F</title>{items}{de}</channel></rss>"
            );
            let parsed = crate::parse::parse(doc.as_bytes(), None, ctx.base_url).expect("parses");
            normalize_document(&parsed, &ctx, usize::MAX)
                .stories
                .into_iter()
                .find(|s| s.key.contains("de-1"))
                .expect("the German item")
        };
        let alone = story_in(0);
        let among = story_in(6);
        assert_eq!(alone.language.as_deref(), Some("de"));
        assert_eq!(among.language, alone.language);
        assert_eq!(among.content_hash(), alone.content_hash());
    }

    #[test]
    fn a_page_canonical_is_taken_only_on_the_same_site() {
        assert!(same_site(
            "https://www.example.com/a",
            "https://news.example.com/b"
        ));
        assert!(same_site("https://www.bbc.co.uk/a", "https://bbc.co.uk/b"));
        assert!(!same_site(
            "https://www.bbc.co.uk/a",
            "https://www.itv.co.uk/b"
        ));
        assert!(!same_site(
            "https://apnews.com/article/x",
            "https://www.outlet.com/x"
        ));
        assert!(!same_site("not a url", "https://www.outlet.com/x"));
    }

    fn check_html(input: &str, expected: &str) {
        assert_eq!(html_to_text(input), expected, "input: {input:?}");
    }

    #[test]
    fn html_to_text_keeps_paragraphs_and_drops_markup() {
        check_html(
            "<p>One <b>two</b></p><p>Three&nbsp;four</p>",
            "One two\n\nThree four",
        );
        check_html("a<br>b<br/><br />c", "a b\n\nc");
        check_html("<div>x<script>var a = '<p>';</script>y</div>", "xy");
        check_html("<STYLE>p{}</STYLE>Text", "Text");
        check_html("1 < 2 &amp; 3 &gt; 2", "1 < 2 & 3 > 2");
        check_html("<a href=\"x>y\">link</a> after", "link after");
        check_html("<!-- c --><p>x</p><p>", "x");
        check_html("Fish &#38; chips &#x2014; &rsquo;", "Fish & chips — ’");
        check_html("cut <b", "cut");
        check_html(
            "<img alt='Biden's visit'>After the image",
            "After the image",
        );
        check_html("a\u{0}b", "ab");
        check_html("", "");
    }

    #[test]
    fn plain_text_paragraphs() {
        assert_eq!(
            plain_paragraphs("a\nb\n\n  \n c  d\r\n\r\ne"),
            "a b\n\nc d\n\ne"
        );
    }

    #[test]
    fn stable_key_prefers_guid_then_link_then_hash() {
        assert_eq!(stable_key(Some(" g "), Some("u"), "t", None), "g");
        assert_eq!(stable_key(None, Some("u"), "t", None), "u");
        let a = stable_key(None, None, "t", None);
        assert!(a.starts_with("hash:"));
        assert_eq!(a, stable_key(None, None, "t", None), "deterministic");
        assert_ne!(a, stable_key(None, None, "t2", None));
        let long = "x".repeat(600);
        assert!(stable_key(Some(&long), None, "t", None).starts_with("hash:"));
        assert_eq!(stable_key(Some("a\u{0}b"), None, "t", None), "ab");
    }

    #[test]
    fn resolve_relative_links_and_refuse_other_schemes() {
        assert_eq!(
            resolve(Some("https://e.com/feeds/x.xml"), "../a/b.html").as_deref(),
            Some("https://e.com/a/b.html")
        );
        assert_eq!(resolve(None, "/a"), None);
        assert_eq!(resolve(Some("https://e.com/"), "javascript:alert(1)"), None);
    }

    #[test]
    fn a_permalink_guid_is_the_url_when_there_is_no_link() {
        let doc = "<rss version=\"2.0\"><channel><item><title>A</title><guid>https://e.com/a</guid></item><item><title>B</title><guid>b-1</guid></item></channel></rss>";
        let parsed = crate::parse::parse(doc.as_bytes(), None, None).expect("parses");
        let rules = Rules::default();
        let ctx = DocContext {
            base_url: None,
            source: None,
            source_is_wire: false,
            rules: &rules,
        };
        let n = normalize_document(&parsed, &ctx, 10);
        assert_eq!(n.stories[0].url.as_deref(), Some("https://e.com/a"));
        assert_eq!(n.stories[1].url, None);
    }

    #[test]
    fn author_names() {
        assert_eq!(author_name("jo@e.com (Jo Smith)"), "Jo Smith");
        assert_eq!(author_name(" Jo  Smith "), "Jo Smith");
        assert_eq!(author_name("(Jo Smith)"), "Jo Smith");
        assert_eq!(author_name("Smith (AP)"), "Smith (AP)");
    }
}
