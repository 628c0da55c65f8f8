//! Raw feed bytes to entries: character decoding, a small shim for known real-world breakage, then
//! feed-rs; items that cannot be read are skipped one by one and reported, never the whole document.
//!
//! Owns: feed dates ([`dates`], our own reader, handed to feed-rs), charset detection (BOM, then
//! the XML declaration, then the HTTP charset, then UTF-8; bytes that are not UTF-8 and declare
//! nothing, or declare UTF-8 wrongly, are read as the encoding they look like, `charset`), the
//! pre-parse shim, and per-item salvage of malformed documents.
//! Never: touches the network or the clock, or panics on any input.

mod charset;
pub mod dates;

use encoding_rs::Encoding;
use feed_rs::model::Entry;

/// Marker returned by our id generator: feed-rs calls it only when an item has no id of its own, so
/// its presence means "no raw id" and normalization derives a stable key instead.
const MISSING_ID: &str = "\u{0}wirefeed:no-id";

/// The result of parsing one document.
#[derive(Debug)]
pub struct ParsedFeed {
    /// The entries read, in document order.
    pub entries: Vec<ParsedEntry>,
    /// Items that could not be read, with the reason.
    pub skipped: Vec<Skipped>,
    /// The feed-level language (`<language>`, `xml:lang`), if any.
    pub language: Option<String>,
    /// RSS `<ttl>` in minutes, if any.
    pub ttl_mins: Option<u32>,
    /// The feed's own title (RSS/Atom channel title, JSON Feed `title`), trimmed, if any.
    pub title: Option<String>,
    /// The character encoding the bytes were decoded from.
    pub encoding: &'static str,
}

/// One entry with its raw identifier kept apart from feed-rs's generated one.
#[derive(Debug)]
pub struct ParsedEntry {
    /// The guid/id exactly as the document gave it, trimmed; `None` when it had none.
    pub raw_id: Option<String>,
    /// The entry as feed-rs read it.
    pub entry: Entry,
}

/// An item that was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Position of the item in the document (0-based), when known.
    pub index: Option<usize>,
    /// Why it was skipped.
    pub reason: String,
}

/// Why a whole document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The bytes are an HTML page, not a feed.
    #[error("not a feed: the document is an HTML page")]
    HtmlPage,
    /// The document is empty.
    #[error("not a feed: the document is empty")]
    Empty,
    /// No feed root (rss, RDF, feed, JSON Feed object) was found.
    #[error("not a feed: {0}")]
    NotAFeed(String),
    /// A feed, but no item in it could be read.
    #[error("malformed feed: {0}")]
    Malformed(String),
}

impl ParseError {
    /// The error kind recorded on the feed row.
    pub fn error_kind(&self) -> crate::model::ErrorKind {
        match self {
            ParseError::HtmlPage | ParseError::Empty | ParseError::NotAFeed(_) => {
                crate::model::ErrorKind::NotAFeed
            }
            ParseError::Malformed(_) => crate::model::ErrorKind::Parse,
        }
    }

    /// Its stored spelling: `not_a_feed` or `parse`.
    pub fn kind(&self) -> &'static str {
        self.error_kind().as_str()
    }
}

/// Parses a document. `http_charset` is the `charset` parameter of the response's Content-Type;
/// `base_url` resolves relative links (the feed's URL).
pub fn parse(
    bytes: &[u8],
    http_charset: Option<&str>,
    base_url: Option<&str>,
) -> Result<ParsedFeed, ParseError> {
    let (text, encoding) = decode_from(bytes, http_charset, tld_of(base_url).as_deref());
    let text = shim(&text);
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(ParseError::Empty);
    }
    if looks_like_html(trimmed) {
        return Err(ParseError::HtmlPage);
    }
    match feed_rs_parse(&text, base_url) {
        Ok(feed) => Ok(from_feed(feed, Vec::new(), encoding)),
        Err(whole) => {
            if trimmed.starts_with('{') {
                return salvage_json(&text, base_url, encoding, &whole);
            }
            salvage(&text, base_url, encoding, &whole)
        }
    }
}

/// One feed-rs parse with a fresh parser. A fresh one each time because a feed-rs 3.0 parser that
/// failed inside an item is left in a state where its next parse panics (its MediaRSS scope is never
/// closed); and any panic inside feed-rs is caught and reported as a parse error, so no input can
/// take the process down.
fn feed_rs_parse(text: &str, base_url: Option<&str>) -> Result<feed_rs::model::Feed, String> {
    let attempt = std::panic::catch_unwind(|| {
        feed_rs::parser::Builder::new()
            .base_uri(base_url)
            .id_generator(|_, _, _| MISSING_ID.to_owned())
            // Our own date parser: real feeds' sloppy dates, and null (never a guess) otherwise.
            .timestamp_parser(|s| dates::parse_date(s.trim()))
            .build()
            .parse(text.as_bytes())
    });
    match attempt {
        Ok(Ok(feed)) => Ok(feed),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the feed parser failed on this input".to_owned()),
    }
}

fn from_feed(
    feed: feed_rs::model::Feed,
    skipped: Vec<Skipped>,
    encoding: &'static str,
) -> ParsedFeed {
    let entries = feed
        .entries
        .into_iter()
        .map(|entry| {
            let id = entry.id.trim();
            let raw_id = (id != MISSING_ID && !id.is_empty()).then(|| id.to_owned());
            ParsedEntry { raw_id, entry }
        })
        .collect();
    ParsedFeed {
        entries,
        skipped,
        language: feed.language,
        ttl_mins: feed.ttl,
        title: feed
            .title
            .map(|t| t.content.trim().to_owned())
            .filter(|t| !t.is_empty()),
        encoding,
    }
}

/// Decodes bytes to text: BOM, then the XML declaration's encoding, then the HTTP charset, then
/// UTF-8 if the bytes are valid UTF-8, else (nothing declared, or UTF-8 declared over bytes that
/// are not) the encoding the bytes look like (see [`decode_from`]).
pub fn decode(bytes: &[u8], http_charset: Option<&str>) -> (String, &'static str) {
    decode_from(bytes, http_charset, None)
}

/// [`decode`], with the top-level domain the bytes came from (`jp`, `ru`, `com`) as a hint for
/// the encoding detector: an undeclared legacy document is guessed among the encodings used there.
pub fn decode_from(
    bytes: &[u8],
    http_charset: Option<&str>,
    tld: Option<&str>,
) -> (String, &'static str) {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return (text.into_owned(), enc.name());
    }
    let declared = xml_declared_encoding(bytes)
        .and_then(|label| Encoding::for_label(label.as_bytes()))
        .or_else(|| http_charset.and_then(|c| Encoding::for_label(c.trim().as_bytes())));
    // A UTF-16 label on bytes without a BOM is almost always a lie about an ASCII-compatible file.
    let declared = declared.filter(|e| e.is_ascii_compatible());
    match declared {
        // A legacy declaration over bytes that are valid UTF-8 with multi-byte sequences in them
        // is a stale label (a site moved to UTF-8 and kept its old header or declaration):
        // legacy text is valid UTF-8 only by rare accident, and decoding real UTF-8 as
        // windows-1251 or latin-1 would store mojibake.
        Some(enc) if enc != encoding_rs::UTF_8 && !utf8_with_non_ascii(bytes) => {
            let (text, _) = enc.decode_without_bom_handling(bytes);
            (text.into_owned(), enc.name())
        }
        // Valid UTF-8 (declared or not) is the fast path. Anything else declared nothing usable
        // or declared UTF-8 wrongly: the bytes say what they are.
        _ => match std::str::from_utf8(bytes) {
            Ok(s) => (s.to_owned(), encoding_rs::UTF_8.name()),
            Err(_) => charset::not_utf8(bytes, tld),
        },
    }
}

/// The rightmost label of a URL's host name, lower-cased, as the encoding detector takes it.
fn tld_of(url: Option<&str>) -> Option<String> {
    let parsed = url::Url::parse(url?).ok()?;
    let url::Host::Domain(host) = parsed.host()? else {
        return None;
    };
    let label = host
        .trim_end_matches('.')
        .rsplit('.')
        .next()?
        .to_ascii_lowercase();
    let usable = !label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    usable.then_some(label)
}

/// Valid UTF-8 holding at least one non-ASCII character.
fn utf8_with_non_ascii(bytes: &[u8]) -> bool {
    !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok()
}

/// The `encoding="…"` of an XML declaration at the start of the bytes, if any.
fn xml_declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(512)];
    let start = find(head, b"<?xml")?;
    if head[..start].iter().any(|b| !b.is_ascii_whitespace()) {
        return None;
    }
    let end = start + find(&head[start..], b"?>")?;
    let decl = std::str::from_utf8(&head[start..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    let close = value.find(quote)?;
    Some(value[..close].to_owned())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Known real-world breakage, mended before feed-rs sees the text (which is now UTF-8):
/// - the XML declaration's encoding is rewritten to UTF-8, since the text has been decoded;
/// - `<rss>` with no `version` (feed-rs rejects it) is read as RSS 2.0;
/// - control characters that XML forbids are dropped.
fn shim(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text.trim_start_matches('\u{feff}');
    // Drop leading garbage whitespace so an XML declaration is at the start.
    let lead = rest.len() - rest.trim_start().len();
    rest = &rest[lead..];
    if rest.starts_with("<?xml") {
        if let Some(end) = rest.find("?>") {
            out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
            rest = &rest[end + 2..];
        }
    }
    // `<rss>` or `<rss xmlns…>` without a version attribute, as the root element only.
    let root = skip_prolog(rest);
    if let Some(tail) = root.strip_prefix("<rss") {
        let at = rest.len() - root.len();
        let after = tail.chars().next();
        let tag_end = root.find('>');
        if let (Some(tag_end), Some(c)) = (tag_end, after) {
            if (c == '>' || c.is_whitespace()) && !root[..tag_end].contains("version") {
                push_clean(&mut out, &rest[..at + 4]);
                out.push_str(" version=\"2.0\"");
                rest = &rest[at + 4..];
            }
        }
    }
    push_clean(&mut out, rest);
    out
}

fn push_clean(out: &mut String, s: &str) {
    if has_forbidden_in_xml(s) {
        out.extend(s.chars().filter(|c| !forbidden_in_xml(*c)));
    } else {
        out.push_str(s);
    }
}

/// True when `s` holds a character XML forbids: checked on bytes (a C0 control is one byte below
/// 0x20; U+FFFE and U+FFFF are `EF BF BE` and `EF BF BF`), which the compiler vectorizes, instead
/// of decoding every character of a multi-megabyte document.
fn has_forbidden_in_xml(s: &str) -> bool {
    let b = s.as_bytes();
    // Whole chunks folded without an early exit, so the loop vectorizes.
    let control = b.chunks(64).any(|chunk| {
        chunk.iter().fold(false, |hit, &c| {
            hit | (c < 0x20 && c != b'\t' && c != b'\n' && c != b'\r')
        })
    });
    control
        || memchr::memchr_iter(0xEF, b)
            .any(|i| b.get(i + 1) == Some(&0xBF) && b.get(i + 2).is_some_and(|&c| c >= 0xBE))
}

fn forbidden_in_xml(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

fn looks_like_html(trimmed: &str) -> bool {
    let head: String = trimmed
        .chars()
        .take(512)
        .collect::<String>()
        .to_ascii_lowercase();
    let head = skip_prolog(&head);
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// Skips an XML declaration and comments at the start.
fn skip_prolog(mut s: &str) -> &str {
    loop {
        s = s.trim_start();
        if s.starts_with("<?") {
            match s.find("?>") {
                Some(e) => s = &s[e + 2..],
                None => return s,
            }
        } else if s.starts_with("<!--") {
            match s.find("-->") {
                Some(e) => s = &s[e + 3..],
                None => return s,
            }
        } else {
            return s;
        }
    }
}

/// A document feed-rs rejected as a whole: read each item on its own, inside the document's own
/// envelope, and keep those that parse.
fn salvage(
    text: &str,
    base_url: Option<&str>,
    encoding: &'static str,
    whole: &str,
) -> Result<ParsedFeed, ParseError> {
    let (tag, chunks) = match item_chunks(text, "item") {
        c if !c.is_empty() => ("item", c),
        _ => ("entry", item_chunks(text, "entry")),
    };
    let Some(first) = chunks.first() else {
        return Err(if has_feed_root(text) {
            ParseError::Malformed(whole.to_owned())
        } else {
            ParseError::NotAFeed(whole.to_owned())
        });
    };
    let prefix = &text[..first.start];
    let open = open_tags(prefix);
    let suffix: String = open
        .iter()
        .rev()
        .map(|t| format!("</{}>", t.name))
        .collect();
    // The channel's own values (language, ttl) from the head once; each item is then parsed
    // inside a small envelope (the prolog when short, and the open tags with their namespace
    // declarations), so the work is linear in the document, not items times head.
    let channel = feed_rs_parse(&format!("{prefix}{suffix}"), base_url).ok();
    let root_at = open.first().map_or(prefix.len(), |t| t.at.start);
    let mut head = String::new();
    if root_at <= PROLOG_MAX {
        head.push_str(&prefix[..root_at]);
    }
    for t in &open {
        head.push_str(&prefix[t.at.clone()]);
    }
    let mut kept = Salvaged::default();
    for (index, chunk) in chunks.iter().enumerate() {
        crate::budget::check("salvage");
        let Some(end) = chunk.end else {
            kept.add(
                index,
                Err(format!("<{tag}> is not closed (truncated document?)")),
            );
            continue;
        };
        let doc = format!("{head}{}{suffix}", &text[chunk.start..end]);
        kept.add(index, feed_rs_parse(&doc, base_url));
    }
    kept.finish(channel, encoding, whole)
}

/// A JSON Feed feed-rs rejected as a whole (one item of the wrong shape fails them all): read
/// each item on its own inside the feed's envelope, with scalars where strings belong read as
/// strings (`"id": 123` is the id "123", as lenient readers take it), and keep those that parse.
/// Linear: each item is parsed once or twice, inside an envelope without the other items.
fn salvage_json(
    text: &str,
    base_url: Option<&str>,
    encoding: &'static str,
    whole: &str,
) -> Result<ParsedFeed, ParseError> {
    let not_a_feed = || ParseError::NotAFeed(whole.to_owned());
    let Ok(serde_json::Value::Object(mut envelope)) = serde_json::from_str(text) else {
        return Err(not_a_feed());
    };
    let is_json_feed = envelope
        .get("version")
        .and_then(|v| v.as_str())
        .is_some_and(|v| v.contains("jsonfeed.org"));
    let Some(serde_json::Value::Array(items)) = envelope.remove("items") else {
        return Err(not_a_feed());
    };
    if !is_json_feed {
        return Err(not_a_feed());
    }
    // Each item is parsed inside the envelope: keep it small (no large feed-level values), so
    // the work stays linear in the document whatever its feed-level fields hold.
    envelope.retain(|_, v| {
        !v.is_array() && !v.is_object() && v.to_string().len() <= ENVELOPE_VALUE_MAX
    });
    let mut kept = Salvaged::default();
    let parse_one = |item: &serde_json::Value| {
        envelope_with(&envelope, item).and_then(|doc| feed_rs_parse(&doc, base_url))
    };
    for (index, item) in items.into_iter().enumerate() {
        crate::budget::check("salvage");
        let parsed = parse_one(&item).or_else(|first| {
            let coerced = coerce_scalars(item);
            parse_one(&coerced).map_err(|_| first)
        });
        kept.add(index, parsed);
    }
    kept.finish(None, encoding, whole)
}

/// Largest feed-level value kept in the envelope each salvaged item is parsed in.
const ENVELOPE_VALUE_MAX: usize = 4096;

/// The feed's envelope holding one item, as JSON text.
fn envelope_with(
    envelope: &serde_json::Map<String, serde_json::Value>,
    item: &serde_json::Value,
) -> Result<String, String> {
    if !item.is_object() {
        return Err("the item is not a JSON object".to_owned());
    }
    let mut doc = envelope.clone();
    doc.insert(
        "items".to_owned(),
        serde_json::Value::Array(vec![item.clone()]),
    );
    serde_json::to_string(&doc).map_err(|e| e.to_string())
}

/// An item's top-level numbers and booleans as strings (where JSON Feed wants strings).
fn coerce_scalars(item: serde_json::Value) -> serde_json::Value {
    match item {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::Number(n) => serde_json::Value::String(n.to_string()),
                        serde_json::Value::Bool(b) => serde_json::Value::String(b.to_string()),
                        other => other,
                    };
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}

/// What a salvage kept: the entries of the items that parsed, and why the others did not.
#[derive(Default)]
struct Salvaged {
    kept: Option<feed_rs::model::Feed>,
    skipped: Vec<Skipped>,
}

impl Salvaged {
    /// Item `index` read alone.
    fn add(&mut self, index: usize, parsed: Result<feed_rs::model::Feed, String>) {
        match parsed {
            Ok(mut feed) => match self.kept.as_mut() {
                Some(k) => k.entries.append(&mut feed.entries),
                None => self.kept = Some(feed),
            },
            Err(reason) => self.skipped.push(Skipped {
                index: Some(index),
                reason,
            }),
        }
    }

    /// The feed, with the channel's own language and ttl when read apart; malformed (with the
    /// whole document's error) when no item survived.
    fn finish(
        self,
        channel: Option<feed_rs::model::Feed>,
        encoding: &'static str,
        whole: &str,
    ) -> Result<ParsedFeed, ParseError> {
        match self.kept {
            Some(mut feed) if !feed.entries.is_empty() => {
                if let Some(c) = channel {
                    feed.language = c.language.or(feed.language);
                    feed.ttl = c.ttl.or(feed.ttl);
                }
                Ok(from_feed(feed, self.skipped, encoding))
            }
            _ => Err(ParseError::Malformed(whole.to_owned())),
        }
    }
}

/// Longest prolog (declaration, DOCTYPE with its entities) carried into each salvaged item's
/// envelope; a longer one is left out (its items may then fail on its entities, alone).
const PROLOG_MAX: usize = 16 * 1024;

fn has_feed_root(text: &str) -> bool {
    let head = skip_prolog(text);
    ["<rss", "<rdf:RDF", "<RDF", "<feed"]
        .iter()
        .any(|r| head.starts_with(r))
}

struct Chunk {
    start: usize,
    end: Option<usize>,
}

/// Byte ranges of `<tag …>…</tag>` at any depth, in order; the last may be unclosed.
fn item_chunks(text: &str, tag: &str) -> Vec<Chunk> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(at) = text[pos..].find(&open) {
        let start = pos + at;
        let next = text[start + open.len()..].chars().next();
        if !matches!(next, Some(c) if c == '>' || c == '/' || c.is_whitespace()) {
            pos = start + open.len();
            continue;
        }
        match text[start..].find(&close) {
            Some(e) => {
                let end = start + e + close.len();
                out.push(Chunk {
                    start,
                    end: Some(end),
                });
                pos = end;
            }
            None => {
                out.push(Chunk { start, end: None });
                break;
            }
        }
    }
    out
}

/// Deepest envelope kept around salvaged items.
const ENVELOPE_DEPTH_MAX: usize = 32;

/// An element opened and not closed: its name and where its start tag is.
struct OpenTag {
    name: String,
    at: std::ops::Range<usize>,
}

/// Elements opened and not closed in `prefix`, outermost first.
fn open_tags(prefix: &str) -> Vec<OpenTag> {
    let mut stack: Vec<OpenTag> = Vec::new();
    let mut pos = 0;
    while let Some(lt) = prefix[pos..].find('<') {
        let start = pos + lt;
        let rest = &prefix[start + 1..];
        if let Some(r) = rest.strip_prefix("!--") {
            pos = r
                .find("-->")
                .map_or(prefix.len(), |e| prefix.len() - r.len() + e + 3);
            continue;
        }
        if let Some(r) = rest.strip_prefix("![CDATA[") {
            pos = r
                .find("]]>")
                .map_or(prefix.len(), |e| prefix.len() - r.len() + e + 3);
            continue;
        }
        let Some(gt) = rest.find('>') else { break };
        let tag = &rest[..gt];
        let end = start + 1 + gt + 1;
        pos = end;
        if tag.starts_with('?') || tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim();
            if let Some(i) = stack.iter().rposition(|t| t.name == name) {
                stack.truncate(i);
            }
        } else {
            let name = tag.split_whitespace().next().unwrap_or("");
            // A feed's envelope is a few elements deep; deeper nesting before the first item is
            // not kept (and bounds the work of matching end tags).
            if !name.is_empty() && stack.len() < ENVELOPE_DEPTH_MAX {
                stack.push(OpenTag {
                    name: name.to_owned(),
                    at: start..end,
                });
            }
        }
    }
    stack
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The byte scan finds exactly the characters XML forbids.
        #[test]
        fn forbidden_scan_matches_the_characters(s in "[a-z<>\t\n\r\u{0}\u{8}\u{b}\u{1f}\u{7f}\u{fffd}\u{fffe}\u{ffff}\u{feff}é]{0,80}") {
            proptest::prop_assert_eq!(has_forbidden_in_xml(&s), s.chars().any(forbidden_in_xml));
        }
    }

    fn rss(items: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title><link>https://e.com/</link>{items}</channel></rss>"
        )
    }

    #[test]
    fn rss_without_version_is_read_as_rss2() {
        let doc = "<rss><channel><title>T</title><item><title>A</title><link>https://e.com/a</link></item></channel></rss>";
        let f = parse(doc.as_bytes(), None, None).expect("parses");
        assert_eq!(f.entries.len(), 1);
    }

    #[test]
    fn raw_id_is_kept_and_missing_id_is_none() {
        let doc = rss("<item><guid>g-1</guid><title>A</title></item><item><title>B</title><link>https://e.com/b</link></item>");
        let f = parse(doc.as_bytes(), None, None).expect("parses");
        assert_eq!(f.entries[0].raw_id.as_deref(), Some("g-1"));
        assert_eq!(f.entries[1].raw_id, None);
    }

    #[test]
    fn charset_from_declaration_then_http_then_sniffing() {
        // "Vučić" in windows-1250: č = 0xE8, ć = 0xE6.
        let mut doc =
            b"<?xml version=\"1.0\" encoding=\"windows-1250\"?><rss version=\"2.0\"><channel><item><title>Vu"
                .to_vec();
        doc.extend_from_slice(&[0xE8, b'i', 0xE6]);
        doc.extend_from_slice(b"</title></item></channel></rss>");
        let f = parse(&doc, None, None).expect("parses");
        assert_eq!(f.encoding, "windows-1250");
        let title = f.entries[0].entry.title.as_ref().map(|t| t.content.clone());
        assert_eq!(title.as_deref(), Some("Vučić"));

        // Same bytes, no declaration, charset from HTTP.
        let body = &doc[doc.windows(4).position(|w| w == b"<rss").expect("has rss")..];
        let f = parse(body, Some("windows-1250"), None).expect("parses");
        let title = f.entries[0].entry.title.as_ref().map(|t| t.content.clone());
        assert_eq!(title.as_deref(), Some("Vučić"));

        // No label at all and not UTF-8: windows-1252.
        let (_, enc) = decode(&[b'a', 0xE9, b'b'], None);
        assert_eq!(enc, "windows-1252");
    }

    #[test]
    fn a_legacy_label_over_utf8_text_is_read_as_utf8() {
        let doc = "<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss version=\"2.0\"><channel><item><title>Београд и Србија</title></item></channel></rss>";
        let f = parse(doc.as_bytes(), Some("windows-1251"), None).expect("parses");
        assert_eq!(f.encoding, "UTF-8");
        let title = f.entries[0].entry.title.as_ref().map(|t| t.content.clone());
        assert_eq!(title.as_deref(), Some("Београд и Србија"));
        // Real windows-1251 bytes still decode as declared.
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Београд и Србија");
        let mut doc = b"<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss version=\"2.0\"><channel><item><title>".to_vec();
        doc.extend_from_slice(&cp1251);
        doc.extend_from_slice(b"</title></item></channel></rss>");
        let f = parse(&doc, None, None).expect("parses");
        assert_eq!(f.encoding, "windows-1251");
        let title = f.entries[0].entry.title.as_ref().map(|t| t.content.clone());
        assert_eq!(title.as_deref(), Some("Београд и Србија"));
    }

    #[test]
    fn one_json_feed_item_of_the_wrong_shape_does_not_lose_the_others() {
        let doc = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "J", "language": "en",
            "items": [
              {"id": "a", "title": "First", "content_text": "one"},
              {"id": 123, "title": "Numbered id", "content_text": "two"},
              {"id": "c", "title": ["not", "a", "string"], "content_text": "three"},
              "not an item",
              {"id": "d", "title": "Last", "content_text": "four"}
            ]}"#;
        let f = parse(doc.as_bytes(), None, None).expect("salvaged");
        let ids: Vec<&str> = f
            .entries
            .iter()
            .filter_map(|e| e.raw_id.as_deref())
            .collect();
        assert_eq!(ids, ["a", "123", "d"], "{:?}", f.skipped);
        assert_eq!(f.skipped.len(), 2, "{:?}", f.skipped);
        assert_eq!(f.language.as_deref(), Some("en"));
        // Not a feed at all stays an error.
        assert!(parse(br#"{"hello": "world"}"#, None, None).is_err());
        assert!(parse(b"{not json", None, None).is_err());
    }

    #[test]
    fn utf8_bom_wins() {
        let mut doc = vec![0xEF, 0xBB, 0xBF];
        doc.extend_from_slice(rss("<item><title>é</title></item>").as_bytes());
        let f = parse(&doc, Some("iso-8859-1"), None).expect("parses");
        assert_eq!(f.encoding, "UTF-8");
        assert_eq!(
            f.entries[0]
                .entry
                .title
                .as_ref()
                .map(|t| t.content.as_str()),
            Some("é")
        );
    }

    #[test]
    fn one_broken_item_does_not_lose_the_others() {
        let doc = rss(
            "<item><title>Good 1</title><guid>1</guid></item><item><title>Bad</title><guid>2</guid><description>a <b>b</description></item><item><title>Good 3</title><guid>3</guid></item>",
        );
        let f = parse(doc.as_bytes(), None, None).expect("salvaged");
        let titles: Vec<_> = f
            .entries
            .iter()
            .filter_map(|e| e.entry.title.as_ref().map(|t| t.content.clone()))
            .collect();
        assert_eq!(titles, vec!["Good 1", "Good 3"]);
        assert_eq!(f.skipped.len(), 1);
        assert_eq!(f.skipped[0].index, Some(1));
    }

    #[test]
    fn truncated_document_keeps_complete_items() {
        let doc = rss("<item><title>One</title><guid>1</guid></item><item><title>Two</title><guid>2</guid></item>");
        let cut = &doc[..doc.find("<guid>2").expect("has guid 2")];
        let f = parse(cut.as_bytes(), None, None).expect("salvaged");
        assert_eq!(f.entries.len(), 1);
        assert_eq!(f.skipped.len(), 1);
    }

    #[test]
    fn html_empty_and_garbage_are_clear_errors() {
        let check = |input: &str, kind: &str| {
            let err = parse(input.as_bytes(), None, None).expect_err(input);
            assert_eq!(err.kind(), kind, "{input}: {err}");
        };
        check("<!DOCTYPE html><html><body>hi</body></html>", "not_a_feed");
        check("  \n ", "not_a_feed");
        check("hello world", "not_a_feed");
        check("{\"not\": \"a feed\"}", "not_a_feed");
        check("<rss version=\"2.0\"><channel><title>x", "parse");
    }

    #[test]
    fn the_version_shim_touches_only_the_root() {
        let doc = "{\"version\": \"https://jsonfeed.org/version/1.1\", \"title\": \"<rss> tips\", \"items\": [{\"id\": \"1\", \"content_text\": \"About <rss> feeds\"}]}";
        let f = parse(doc.as_bytes(), None, None).expect("JSON Feed stays valid");
        assert_eq!(f.entries.len(), 1);
    }

    #[test]
    fn control_characters_are_dropped() {
        let doc = rss("<item><title>A\u{1}B</title></item>");
        let f = parse(doc.as_bytes(), None, None).expect("parses");
        assert_eq!(
            f.entries[0]
                .entry
                .title
                .as_ref()
                .map(|t| t.content.as_str()),
            Some("AB")
        );
    }

    #[test]
    fn open_tags_tracks_the_envelope() {
        assert_eq!(
            open_tags(
                "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>x</title><image/>"
            )
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
            vec!["rss", "channel"]
        );
    }
}
