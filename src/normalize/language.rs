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

/// The story's language from its declaration (item, else feed) and its text.
pub fn language(declared: Option<&str>, title: &str, body: &str) -> Option<String> {
    let declared = declared.and_then(declared_code);
    let text = if body.len() >= MIN_CHARS {
        // The first part of the body is plenty, and keeps detection fast on long stories.
        let mut end = body.len().min(2000);
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        &body[..end]
    } else {
        title
    };
    let detected = (text.chars().count() >= MIN_CHARS)
        .then(|| whatlang::detect(text))
        .flatten()
        .filter(whatlang::Info::is_reliable)
        .and_then(|info| iso639_1(info.lang()));
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
            assert_eq!(
                language(*declared, title, body).as_deref(),
                *want,
                "{declared:?} {body}"
            );
        }
    }

    #[test]
    fn declared_codes() {
        assert_eq!(declared_code("en-US").as_deref(), Some("en"));
        assert_eq!(declared_code("sr_Latn").as_deref(), Some("sr"));
        assert_eq!(declared_code("english"), None);
    }
}
