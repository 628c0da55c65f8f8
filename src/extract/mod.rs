//! Main-text extraction of article pages: turns a fetched HTML page into the story's plain text,
//! its title and its canonical URL.
//!
//! Owns the choice of extractor ([`dom_smoothie`], a Readability port, in formatted-text mode), the
//! generic clean-up applied to its output (boilerplate paragraphs recognised by
//! [`crate::normalize::credit`], copyright and comment-policy lines anywhere, short share/subscribe
//! and photo-credit lines), and the benchmark in [`eval`].
//!
//! Never: does I/O (the caller fetches and decodes the page), or holds rules for one site.

pub mod eval;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::LazyLock;

use dom_smoothie::{Config, Readability, TextMode};
use regex::Regex;
use url::Url;

use crate::normalize::credit::credit;

/// The main text of an article page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// Paragraphs separated by `"\n\n"`, whitespace inside each collapsed to single spaces.
    pub text: String,
    /// The article title, when the page names one.
    pub title: Option<String>,
    /// `<link rel="canonical">`, resolved against the page URL; http(s) only.
    pub canonical_url: Option<String>,
}

/// Regexes here use ASCII word boundaries (`(?-u:\b)`): Unicode ones make the regex crate leave
/// its fast DFA on any non-ASCII text, which costs more than the extraction itself.
///
/// Lines that are never story text wherever they appear: copyright and comment-policy notices.
static NOTICE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(?:copyright(?-u:\b)|©|\(c\)\s)
          | all\s+rights\s+reserved
          | comment(?:ing|s)?\s+(?:policy|guidelines)
          | comments?\s+(?:are|is)\s+(?:moderated|closed)
          | coment[aá]rios?(?-u:\b).{0,200}moderador",
    )
    .expect("notice regex")
});

/// The longest line tested against [`NOTICE`], in bytes.
const MAX_NOTICE_LEN: usize = 400;

/// Photo captions and credits: `… (AP Photo/Jane Doe)`, `Photo: Jane Doe, AP`, `Image 1 of 9`,
/// `Credit...Jane Doe/Agency`, `… | Getty Images`, slideshow captions glued to `2of4`.
static CAPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
            \([^()]*(?-u:\b)(?:photo|image|credit|getty|pictured)(?-u:\b)[^()]*\)\s*$
          | ^(?:photo|image|credit|picture|фото)s?\s*(?:\.{3}|:|by(?-u:\b))
          | getty\s+images\)?\.?\s*$
          | ^image\s+\d+\s+of(?-u:\b)
          | ^\d+of\d+\S
          | (?-u:\b)(?:AP|Reuters|AFP|Bloomberg|Getty\s+Images|Shutterstock)\s*$",
    )
    .expect("caption regex")
});

/// Share, subscribe, follow and related-links chrome (tested on short paragraphs only).
static PROMO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
            (?-u:\b)sign\s+up\s+(?:to|for|now)(?-u:\b) | (?-u:\b)newsletters?(?-u:\b) | (?-u:\b)subscrib(?:e|ing)(?-u:\b)
          | (?-u:\b)follow\s+(?:us|him|her|them|@|\w+\s+on\s+(?:twitter|facebook|instagram))
          | (?-u:\b)share\s+(?:it|this)(?-u:\b) | (?-u:\b)affiliate\s+commission(?-u:\b) | (?-u:\b)media\s+playback(?-u:\b)
          | (?-u:\b)you\s+may\s+also\s+like(?-u:\b) | (?-u:\b)more\s+great(?-u:\b).*(?-u:\b)stories(?-u:\b)
          | (?-u:\b)related\s+(?:posts?|coverage|stories)(?-u:\b) | (?-u:\b)email\s+the\s+author(?-u:\b)
          | ^write\s+to\s+.*@ | (?-u:\b)tell\s+us\s+what\s+you\s+think(?-u:\b) | ^top\s+stories(?-u:\b) | ^popular(?-u:\b)",
    )
    .expect("promo regex")
});

/// The longest paragraph tested against [`PROMO`], in bytes.
const MAX_PROMO_LEN: usize = 200;

/// An author bio closing the article: `Jane Doe is a freelance writer living in …`.
static BIO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\p{Lu}[\w.’'-]+(?:\s+\p{Lu}[\w.’'-]+){0,3}\s+(?:is|was|has\s+been|joined)\s+(?:an?\s+|the\s+)?(?:[\w-]+\s+){0,4}(?:writer|editor|reporter|correspondent|journalist|columnist|contributor|author|producer|native)(?-u:\b)",
    )
    .expect("bio regex")
});

/// Escaped markup that leaked into the text: `&lt;span …`.
static ESCAPED_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"&(?:amp;)?lt;/?[a-z]").expect("escaped tag regex"));

/// A word run, as the benchmark tokenises.
static WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[\p{L}\p{N}_]+").expect("word regex"));

/// The longest paragraph that can be a bare timestamp line, in bytes.
const MAX_STAMP_LEN: usize = 90;

/// Words a timestamp line (`Updated 5:27 am CST, Wednesday, November 20, 2019`) may consist of,
/// besides numbers.
const STAMP_WORDS: &[&str] = &[
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    // Portuguese, Spanish, French and German dates ("segunda-feira, 22 de janeiro de 2018 às 0:13").
    "de",
    "às",
    "las",
    "le",
    "um",
    "janeiro",
    "fevereiro",
    "março",
    "abril",
    "maio",
    "junho",
    "julho",
    "agosto",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
    "enero",
    "febrero",
    "marzo",
    "mayo",
    "junio",
    "julio",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
    "januar",
    "februar",
    "märz",
    "juni",
    "juli",
    "oktober",
    "dezember",
    "segunda",
    "terça",
    "quarta",
    "quinta",
    "sexta",
    "feira",
    "sábado",
    "domingo",
    "lunes",
    "martes",
    "miércoles",
    "jueves",
    "viernes",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
    "montag",
    "dienstag",
    "mittwoch",
    "donnerstag",
    "freitag",
    "samstag",
    "sonntag",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thurs",
    "fri",
    "sat",
    "sun",
    "am",
    "pm",
    "a",
    "m",
    "p",
    "et",
    "est",
    "edt",
    "pt",
    "pst",
    "pdt",
    "ct",
    "cst",
    "cdt",
    "mt",
    "utc",
    "gmt",
    "bst",
    "cet",
    "ist",
    "updated",
    "published",
    "posted",
    "first",
    "last",
    "original",
    "modified",
    "at",
    "on",
    "today",
    "yesterday",
    "th",
    "st",
    "nd",
    "rd",
];

/// Extracts the article from `html`. `page_url` (absolute) resolves relative links; an invalid one
/// is ignored. `None` when no article text is found. Never panics.
pub fn extract(html: &str, page_url: Option<&str>) -> Option<Extracted> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| extract_inner(html, page_url))) {
        Ok(extracted) => extracted,
        // The document budget stopping the work is not the extractor's failure: pass it on.
        Err(payload) if payload.is::<crate::budget::OverBudget>() => {
            std::panic::resume_unwind(payload)
        }
        Err(_) => None,
    }
}

fn extract_inner(html: &str, page_url: Option<&str>) -> Option<Extracted> {
    // The HTML parser's work grows with the square of the nesting depth: bound it first.
    let html =
        &*crate::normalize::sanitize::limit_depth(html, crate::normalize::sanitize::MAX_DEPTH);
    let base = page_url
        .and_then(|u| Url::parse(u.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let cfg = Config {
        text_mode: TextMode::Formatted,
        ..Config::default()
    };
    let mut reader = Readability::new(html, base.as_ref().map(Url::as_str), Some(cfg.clone()))
        .or_else(|_| Readability::new(html, None, Some(cfg)))
        .ok()?;

    let canonical_url = reader
        .doc
        .select("link[rel][href]")
        .iter()
        .filter(|l| {
            l.attr("rel").is_some_and(|r| {
                r.split_ascii_whitespace()
                    .any(|t| t.eq_ignore_ascii_case("canonical"))
            })
        })
        .find_map(|l| l.attr("href").and_then(|h| resolve(base.as_ref(), &h)));

    let article = reader.parse().ok()?;
    let text = clean(&article.text_content);
    if !text.chars().any(char::is_alphanumeric) {
        return None;
    }
    let title = Some(collapse(&article.title)).filter(|t| !t.is_empty());
    Some(Extracted {
        text,
        title,
        canonical_url,
    })
}

/// Decodes a fetched HTML page: a byte-order mark, then the HTTP charset, then a `<meta>` charset
/// in the first 4 KiB, then UTF-8 with a windows-1252 fallback.
pub fn decode_page(bytes: &[u8], http_charset: Option<&str>) -> String {
    let declared = http_charset
        .map(str::to_owned)
        .or_else(|| meta_charset(&bytes[..bytes.len().min(4096)]));
    crate::parse::decode(bytes, declared.as_deref()).0
}

/// The charset named by `<meta charset=…>` or `<meta http-equiv … content="…; charset=…">`.
fn meta_charset(head: &[u8]) -> Option<String> {
    let lower = head.to_ascii_lowercase();
    let at = lower.windows(8).position(|w| w == b"charset=")? + 8;
    let rest = &lower[at..];
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let end = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.')))
        .unwrap_or(rest.len());
    (end > 0).then(|| String::from_utf8_lossy(&rest[..end]).into_owned())
}

/// Resolves `href` against `base`; keeps only http(s) results.
fn resolve(base: Option<&Url>, href: &str) -> Option<String> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let url = match base {
        Some(b) => b.join(href).ok()?,
        None => Url::parse(href).ok()?,
    };
    matches!(url.scheme(), "http" | "https").then(|| url.into())
}

/// Collapses every run of whitespace to one space and trims.
fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether a paragraph is a copyright or comment-policy notice.
fn is_notice(p: &str) -> bool {
    p.len() <= MAX_NOTICE_LEN && NOTICE.is_match(p)
}

/// Whether a paragraph is share/subscribe/related-links chrome.
fn is_promo(p: &str) -> bool {
    p.len() <= MAX_PROMO_LEN && PROMO.is_match(p)
}

/// Whether a paragraph is only a date and time, perhaps with `Updated`/`Published`.
fn is_timestamp(p: &str) -> bool {
    if p.len() > MAX_STAMP_LEN {
        return false;
    }
    let mut any_number = false;
    for w in WORD.find_iter(p).map(|m| m.as_str().to_lowercase()) {
        let digits = w.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let suffix = &w[digits.len()..];
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            any_number = true;
            if suffix.is_empty() || matches!(suffix, "st" | "nd" | "rd" | "th" | "am" | "pm") {
                continue;
            }
            return false;
        }
        if !STAMP_WORDS.contains(&w.as_str()) {
            return false;
        }
    }
    any_number
}

/// Page controls and labels that stand alone on a line.
const CONTROL_WORDS: &[&str] = &[
    "caption",
    "close",
    "tags",
    "tags:",
    "share",
    "share this",
    "menu",
    "advertisement",
    "comments",
    "print",
    "email",
    "expand",
    "enlarge",
    "toggle caption",
    "hide caption",
    "show caption",
];

/// A wire byline on its own line: `Robert Burns, AP National Security Writer`.
static WIRE_BYLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:by\s+)?\p{Lu}[\w.’'-]+(?:\s+\p{Lu}[\w.’'-]+){0,3},\s+(?:the\s+)?(?:ap|associated\s+press|reuters|afp)(?:\s+[\w-]+){0,3}\s+(?:writer|correspondent|reporter|editor)$",
    )
    .expect("wire byline regex")
});

/// Whether a paragraph is never story text, wherever it appears.
fn is_chrome(p: &str) -> bool {
    is_notice(p)
        || CAPTION.is_match(p)
        || is_timestamp(p)
        || ESCAPED_TAG.is_match(p)
        || (p.len() <= 20 && CONTROL_WORDS.contains(&p.to_lowercase().as_str()))
        || (p.len() <= 100 && WIRE_BYLINE.is_match(p))
}

/// A photo caption's date: `… in Hanoi, Vietnam Wednesday, Nov. 20, 2019.`
static CAPTION_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday),\s+[a-z]{3,9}\.?\s+\d{1,2},\s+\d{4}",
    )
    .expect("caption date regex")
});

/// Drops a gallery's captions: a paragraph repeated on the page (once per slide) that is dated
/// like a photo caption. Repeated paragraphs without that mark (a recipe list in a meal plan)
/// stay.
fn drop_repeats(paras: &mut Vec<String>) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for p in paras.iter().filter(|p| p.len() > MAX_SEPARATOR_LEN) {
        *counts.entry(p.as_str()).or_insert(0) += 1;
    }
    let captions: Vec<String> = counts
        .into_iter()
        .filter(|(p, n)| *n >= 2 && CAPTION_DATE.is_match(p))
        .map(|(p, _)| p.to_owned())
        .collect();
    if !captions.is_empty() {
        paras.retain(|p| !captions.contains(p));
    }
}

/// Longest line that can be a listing's separator (share buttons, "Read more").
const MAX_SEPARATOR_LEN: usize = 80;

/// A page that is a listing (the article, then teasers of others cut short with an ellipsis, each
/// set off by the same share-button or "read more" line) keeps only the article: what comes before
/// the first separator after a substantial paragraph, without the separators.
fn cut_listing(paras: &mut Vec<String>) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for p in paras.iter().filter(|p| p.len() <= MAX_SEPARATOR_LEN) {
        *counts.entry(p.as_str()).or_insert(0) += 1;
    }
    // Interview questions and product lines repeat too, but end like sentences.
    let separators: Vec<String> = counts
        .into_iter()
        .filter(|(p, n)| *n >= 3 && !p.ends_with(['.', '?', '!', ':']))
        .map(|(p, _)| p.to_owned())
        .collect();
    if separators.is_empty() {
        return;
    }
    // The first separator after something of substance closes the article.
    let substantial = paras.iter().position(|p| p.len() > MAX_SEPARATOR_LEN * 2);
    let cut = substantial
        .and_then(|first| (first + 1..paras.len()).find(|&i| separators.contains(&paras[i])));
    if let Some(i) = cut {
        // A listing: what follows is teasers cut short with an ellipsis.
        let teasers = paras[i..]
            .iter()
            .filter(|p| p.ends_with('…') || p.ends_with("..."))
            .count();
        if teasers >= 2 {
            paras.truncate(i);
            paras.retain(|p| !separators.contains(p));
        }
    }
}

/// Turns the extractor's text into collapsed paragraphs and drops boilerplate ones.
fn clean(raw: &str) -> String {
    let mut paras: Vec<String> = raw
        .lines()
        .map(collapse)
        .filter(|p| !p.is_empty() && !is_chrome(p))
        .collect();
    cut_listing(&mut paras);
    drop_repeats(&mut paras);
    // Promo chrome in the second half usually opens the page's trailing chrome: cut from there.
    let half = paras.len() / 2;
    if let Some(i) = (half..paras.len()).find(|&i| is_promo(&paras[i])) {
        paras.truncate(i);
    }
    paras.retain(|p| !is_promo(p));
    while paras.len() > 1 && paras.last().is_some_and(|p| BIO.is_match(p)) {
        paras.pop();
    }
    if paras.is_empty() {
        return String::new();
    }
    // `credit` is used only to classify whole paragraphs as boilerplate: a dateline it would cut
    // off the first paragraph stays, since datelines are part of an article's text.
    let joined = paras.join("\n\n");
    let credited = credit(&joined, &[], &[]);
    let mut removed: HashMap<&str, usize> = HashMap::new();
    for r in &credited.removed {
        *removed.entry(r.as_str()).or_insert(0) += 1;
    }
    let mut out = String::with_capacity(joined.len());
    for p in &paras {
        if let Some(n) = removed.get_mut(p.as_str()).filter(|n| **n > 0) {
            *n -= 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_keeps_only_the_article_before_the_teasers() {
        let long = "The council met on Tuesday and voted to rebuild the old bridge over the river, a project that has waited for funding since the floods of two winters ago, when the water rose over the road.";
        let mut paras: Vec<String> = [
            long,
            "Share Facebook Email",
            "Another story begins here and is cut short before its end …",
            "Share Facebook Email",
            "A third story also begins and is cut short…",
            "Share Facebook Email",
        ]
        .iter()
        .map(|p| p.to_string())
        .collect();
        cut_listing(&mut paras);
        assert_eq!(paras, vec![long.to_owned()]);
        // Repeated questions in an interview are text, not separators.
        let q = "What inspired you?".to_owned();
        let mut interview = vec![
            q.clone(),
            long.to_owned(),
            q.clone(),
            long.to_owned(),
            q.clone(),
        ];
        let before = interview.clone();
        cut_listing(&mut interview);
        assert_eq!(interview, before);
    }

    #[test]
    fn gallery_captions_and_page_controls_go_and_repeated_text_stays() {
        let caption = "The minister, left, and his counterpart shake hands in Hanoi, Vietnam Wednesday, Nov. 20, 2019. The visit is his first.";
        let recipe = "Chicken salad (1 cup lettuce, 4 oz. cooked chicken, 1 tsp. olive oil, 1 Tbsp. vinegar), 1 cup grapes";
        let mut paras: Vec<String> = [caption, "Body text.", caption, recipe, recipe]
            .iter()
            .map(|p| p.to_string())
            .collect();
        drop_repeats(&mut paras);
        assert_eq!(paras, vec!["Body text.", recipe, recipe]);
        assert!(is_chrome("Caption"));
        assert!(is_chrome("Robert Burns, AP National Security Writer"));
        assert!(!is_chrome("Robert Burns, the poet, wrote in Scots."));
        assert!(is_chrome("segunda-feira, 22 de janeiro de 2018 às 0:13"));
        assert!(is_chrome(
            "Comentários com textos ininteligíveis não serão aprovados pelo moderador."
        ));
    }

    #[test]
    fn pages_are_decoded_by_http_then_meta_charset() {
        let latin = b"<html><head><meta charset=\"windows-1250\"></head><body>Vu\xe8i\xe6</body>";
        assert!(decode_page(latin, None).contains("Vučić"));
        let http = b"<html><head><meta charset=utf-8></head><body>caf\xe9</body>";
        assert!(decode_page(http, Some("iso-8859-1")).contains("café"));
        assert!(decode_page("plain ünïcode".as_bytes(), None).contains("ünïcode"));
        assert_eq!(
            meta_charset(b"<meta http-equiv=Content-Type content='text/html; charset=ISO-8859-2'>"),
            Some("iso-8859-2".to_owned())
        );
    }

    const PAGE: &str = r#"<!DOCTYPE html>
<html><head>
<title>Harbor pilots approve contract | Valley Ledger</title>
<link rel="canonical" href="/news/2024/harbor-pilots?ref=x">
</head><body>
<nav class="site-nav"><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sports">Sports</a></li></ul></nav>
<main><article>
<h1>Harbor pilots approve contract</h1>
<p>The harbor pilots voted on Friday to approve a three-year contract with the port authority, ending months of talks that had slowed traffic through the channel and worried shippers along the coast.</p>
<p>Under the deal, pilots will receive a raise of four percent a year and new rules on rest between assignments, which the union had sought since a collision two winters ago.</p>
<p>The port authority said the agreement would keep fees stable for shipping lines and that it expected the first vessels under the new schedule to arrive next month.</p>
<p>Copyright 2024 Valley Ledger. All rights reserved.</p>
</article></main>
<footer class="site-footer"><p>About us</p><p>Contact the newsroom</p><p>Privacy policy and terms of service</p></footer>
</body></html>"#;

    #[test]
    fn keeps_article_drops_chrome_and_resolves_canonical() {
        let got = extract(
            PAGE,
            Some("https://ledger.example/news/2024/harbor-pilots.html"),
        )
        .expect("article found");
        let paras: Vec<&str> = got.text.split("\n\n").collect();
        assert!(
            paras[0].starts_with("The harbor pilots voted on Friday"),
            "{paras:?}"
        );
        assert!(got.text.contains("raise of four percent a year"));
        assert!(got.text.contains("first vessels under the new schedule"));
        for chrome in [
            "Home",
            "Sports",
            "Copyright",
            "All rights reserved",
            "Contact the newsroom",
            "Privacy",
        ] {
            assert!(!got.text.contains(chrome), "{chrome} in {:?}", got.text);
        }
        assert!(got.text.lines().all(|l| l == l.trim() && !l.contains("  ")));
        assert_eq!(
            got.canonical_url.as_deref(),
            Some("https://ledger.example/news/2024/harbor-pilots?ref=x")
        );
        assert!(got
            .title
            .is_some_and(|t| t.contains("Harbor pilots approve contract")));
    }

    #[test]
    fn no_url_or_bad_url_still_extracts() {
        let got = extract(PAGE, Some("not a url")).expect("article found");
        assert_eq!(got.canonical_url, None);
        assert!(got.text.contains("raise of four percent"));
        assert!(extract(PAGE, None).is_some());
    }

    #[test]
    fn keeps_dateline_and_drops_inserted_lines() {
        assert_eq!(
            clean("BELGRADE, Serbia (AP) — Talks resumed on Monday.\nADVERTISEMENT\n  Both sides   met again.\nPlease read our comment policy before commenting."),
            "BELGRADE, Serbia (AP) — Talks resumed on Monday.\n\nBoth sides met again."
        );
    }

    #[test]
    fn drops_captions_timestamps_and_trailing_chrome() {
        let raw = "Updated 5:27 am CST, Wednesday, November 20, 2019\n\
            The council met on Tuesday.\n\
            A crowd waits outside the hall. (AP Photo/Jane Doe)\n\
            Image 1 of 9\n\
            It voted to widen the road.\n\
            Work starts in May 2020.\n\
            Sign up for our morning newsletter.\n\
            A headline about something else\n\
            Jane Doe is a freelance writer living in Springfield.";
        assert_eq!(
            clean(raw),
            "The council met on Tuesday.\n\nIt voted to widen the road.\n\nWork starts in May 2020."
        );
        assert!(is_timestamp("Nov. 20, 2019, 9:28 AM UTC"));
        assert!(!is_timestamp("May 2020 was warm."));
    }

    #[test]
    fn no_article_is_none() {
        assert_eq!(extract("", None), None);
        assert_eq!(extract("<html><body></body></html>", None), None);
        assert_eq!(extract("<<<>>>&&&", Some("https://x.example/")), None);
    }
}
