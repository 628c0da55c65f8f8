//! The language of a story, as an ISO 639-1 code.
//!
//! Owns the choice between what the feed declares and what the text says: the text is read with
//! whatlang (trigrams, no model download); a declaration wins unless the text reliably says a
//! language that is not a close relative of the declared one (feeds often declare their CMS's
//! default `en-us` over text in another language). Never: touches I/O.

/// `en-US` → `en`; anything that is not a 2- or 3-letter primary subtag is dropped.
pub fn declared_code(raw: &str) -> Option<String> {
    let primary = raw.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    (matches!(primary.len(), 2 | 3) && primary.chars().all(|c| c.is_ascii_lowercase()))
        .then_some(primary)
}

/// Languages whose texts are easily taken for one another: a declaration inside a group stands.
const CLOSE: &[&[&str]] = &[
    &["sr", "hr", "bs", "sl", "mk", "me", "sh"],
    &["no", "nb", "nn", "da", "sv"],
    &["id", "ms"],
    &["cs", "sk"],
    &["ru", "uk", "be", "bg"],
    &["es", "ca", "gl", "pt"],
    &["hi", "ur", "mr", "ne"],
    &["fa", "prs", "tg"],
    &["af", "nl"],
];

fn close(a: &str, b: &str) -> bool {
    a == b || CLOSE.iter().any(|g| g.contains(&a) && g.contains(&b))
}

/// whatlang's ISO 639-3 codes to ISO 639-1.
fn iso639_1(lang: whatlang::Lang) -> Option<&'static str> {
    Some(match lang.code() {
        "afr" => "af",
        "aka" => "ak",
        "amh" => "am",
        "ara" => "ar",
        "aze" => "az",
        "bel" => "be",
        "ben" => "bn",
        "bul" => "bg",
        "cat" => "ca",
        "ces" => "cs",
        "cmn" => "zh",
        "dan" => "da",
        "deu" => "de",
        "ell" => "el",
        "eng" => "en",
        "epo" => "eo",
        "est" => "et",
        "fin" => "fi",
        "fra" => "fr",
        "guj" => "gu",
        "heb" => "he",
        "hin" => "hi",
        "hrv" => "hr",
        "hun" => "hu",
        "hye" => "hy",
        "ind" => "id",
        "ita" => "it",
        "jav" => "jv",
        "jpn" => "ja",
        "kan" => "kn",
        "kat" => "ka",
        "khm" => "km",
        "kor" => "ko",
        "lat" => "la",
        "lav" => "lv",
        "lit" => "lt",
        "mal" => "ml",
        "mar" => "mr",
        "mkd" => "mk",
        "mya" => "my",
        "nep" => "ne",
        "nld" => "nl",
        "nob" => "nb",
        "ori" => "or",
        "pan" => "pa",
        "pes" => "fa",
        "pol" => "pl",
        "por" => "pt",
        "ron" => "ro",
        "rus" => "ru",
        "sin" => "si",
        "slk" => "sk",
        "slv" => "sl",
        "sna" => "sn",
        "spa" => "es",
        "srp" => "sr",
        "swe" => "sv",
        "tam" => "ta",
        "tel" => "te",
        "tgl" => "tl",
        "tha" => "th",
        "tuk" => "tk",
        "tur" => "tr",
        "ukr" => "uk",
        "urd" => "ur",
        "uzb" => "uz",
        "vie" => "vi",
        "yid" => "yi",
        "zul" => "zu",
        _ => return None,
    })
}

/// Shortest text worth detecting; shorter texts keep the declaration.
const MIN_CHARS: usize = 40;
/// How much of a text is read for detection.
const DETECT_BYTES: usize = 400;

/// What the text of a whole document says, read once: whatlang's full detection has a fixed cost
/// far above everything else in normalization, and a feed's stories share a language far more
/// often than not. A story in another script than the document's is still read on its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct DocLanguage {
    detected: Option<&'static str>,
    script: Option<whatlang::Script>,
}

fn head(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn detect(text: &str) -> Option<&'static str> {
    (text.chars().count() >= MIN_CHARS)
        .then(|| whatlang::detect(text))
        .flatten()
        .filter(whatlang::Info::is_reliable)
        .and_then(|info| iso639_1(info.lang()))
}

/// Reads the language of a document from the start of its stories' texts.
pub fn detect_document<'a>(texts: impl Iterator<Item = &'a str>) -> DocLanguage {
    let mut sample = String::new();
    for t in texts {
        if sample.len() >= 4 * DETECT_BYTES {
            break;
        }
        sample.push_str(head(t, DETECT_BYTES));
        sample.push('\n');
    }
    DocLanguage {
        detected: detect(&sample),
        script: whatlang::detect_script(&sample),
    }
}

/// The story's language from its declaration (item, else feed), its text and its document's.
pub fn language(
    declared: Option<&str>,
    title: &str,
    body: &str,
    doc: &DocLanguage,
) -> Option<String> {
    let declared = declared.and_then(declared_code);
    let text = head(
        if body.len() >= MIN_CHARS { body } else { title },
        DETECT_BYTES,
    );
    let detected = if text.chars().count() < MIN_CHARS {
        None
    } else if doc.detected.is_some() && whatlang::detect_script(text) == doc.script {
        doc.detected
    } else {
        detect(text)
    };
    match (declared, detected) {
        (Some(d), Some(t)) if !close(&d, t) => Some(t.to_owned()),
        (Some(d), _) => Some(d),
        (None, t) => t.map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EN: &str = "The government said on Thursday that talks with the opposition would continue next week despite the protests in the capital.";
    const DE: &str = "Die Regierung hat am Donnerstag erklärt, dass die Gespräche mit der Opposition trotz der Proteste in der Hauptstadt nächste Woche fortgesetzt werden.";
    const SR: &str = "Predsednik je izjavio u četvrtak da je Srbija posvećena miru i da će nastaviti da odgovorno deluje u regionu, uprkos napetostima.";

    #[test]
    fn declaration_and_detection() {
        let cases: &[(Option<&str>, &str, &str, Option<&str>)] = &[
            (Some("en-US"), "", EN, Some("en")),
            (None, "", EN, Some("en")),
            (None, "", DE, Some("de")),
            // A CMS default over text that is clearly another language.
            (Some("en-us"), "", DE, Some("de")),
            // Close relatives: the declaration stands.
            (Some("sr"), "", SR, Some("sr")),
            // Too short to tell: the declaration, or nothing.
            (Some("fr"), "", "Oui.", Some("fr")),
            (None, "Short", "", None),
            (Some("english"), "", "", None),
        ];
        for (declared, title, body, want) in cases {
            // Alone, and inside a document that reads as that same text.
            let alone = DocLanguage::default();
            let doc = detect_document([*body].into_iter());
            for d in [&alone, &doc] {
                assert_eq!(
                    language(*declared, title, body, d).as_deref(),
                    *want,
                    "{declared:?} {body}"
                );
            }
        }
    }

    #[test]
    fn a_story_in_another_script_than_its_document_is_read_on_its_own() {
        let doc = detect_document([EN, EN].into_iter());
        let ru = "Правительство заявило в четверг, что переговоры с оппозицией продолжатся на следующей неделе.";
        assert_eq!(language(None, "", ru, &doc).as_deref(), Some("ru"));
        assert_eq!(
            language(None, "", DE, &doc).as_deref(),
            Some("en"),
            "same script: the document's reading"
        );
    }

    #[test]
    fn declared_codes() {
        assert_eq!(declared_code("en-US").as_deref(), Some("en"));
        assert_eq!(declared_code("sr_Latn").as_deref(), Some("sr"));
        assert_eq!(declared_code("english"), None);
    }
}
