//! The language of a story, as an ISO 639-1 code; Serbian with its script (`sr-Cyrl`, `sr-Latn`).
//!
//! Owns the choice between what the feed declares and what the text says: the text is read with
//! whatlang (trigrams, no model download); a declaration wins unless the text reliably says a
//! language that is not a close relative of the declared one (feeds often declare their CMS's
//! default `en-us` over text in another language). Serbian, Croatian and Bosnian, which trigrams
//! cannot tell apart, are then told apart by the words only one of them uses (Croatian `tko`,
//! `tisuća`, its month names; Serbian ekavian `vreme`, `posle`, `šta`; Bosnian ijekavian with
//! `šta`, `hiljada`, `historija`), and Serbian gets its script from its letters. Never: touches
//! I/O.

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

/// English function words that are not words of the other common Latin-script languages of
/// the news ("in", "a", "was", "will", "die" are left out for that reason).
const ENGLISH_FUNCTION_WORDS: &[&str] = &[
    "the", "of", "and", "to", "that", "is", "for", "with", "said", "has", "have", "are", "were",
    "by", "from", "it", "this", "be", "on", "at", "his", "her", "their", "would", "been", "after",
    "not", "but", "which", "who", "its", "they", "had",
];

/// At least a fifth of the first words (twelve or more) are English function words: what
/// English prose always shows and no other language's does.
fn plainly_english(text: &str) -> bool {
    let mut words = 0usize;
    let mut hits = 0usize;
    for w in text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
    {
        words += 1;
        if w.len() <= 5
            && ENGLISH_FUNCTION_WORDS
                .iter()
                .any(|f| f.eq_ignore_ascii_case(w))
        {
            hits += 1;
        }
    }
    words >= 12 && hits * 5 >= words
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

/// The story's language from its declaration (item, else feed) and its own text: nothing of
/// its neighbours in the feed, so the same item reads the same whatever else the feed carries
/// (a language that followed the neighbours made a new version each time they changed).
pub fn language(declared: Option<&str>, title: &str, body: &str) -> Option<String> {
    let declared = declared.and_then(declared_code);
    let text = head(
        if body.len() >= MIN_CHARS { body } else { title },
        DETECT_BYTES,
    );
    // The full detector costs more than the rest of normalization together; a declaration the
    // text plainly bears out needs no second opinion.
    if declared.as_deref() == Some("en") && plainly_english(text) {
        return declared;
    }
    let detected = detect(text);
    let code = match (declared, detected) {
        (Some(d), Some(t)) if !close(&d, t) => Some(t.to_owned()),
        (Some(d), _) => Some(d),
        (None, t) => t.map(str::to_owned),
    }?;
    Some(match code.as_str() {
        "sr" | "hr" | "bs" | "sh" | "me" | "cnr" => south_slavic(&code, title, body),
        _ => code,
    })
}

/// How much of a story is read to tell Serbian, Croatian and Bosnian apart.
const SOUTH_SLAVIC_BYTES: usize = 4000;

/// Words only one of the three standards uses (lower case, whole words). Croatian: its own
/// vocabulary and month names; Serbian: ekavian forms and eastern words; Bosnian: the eastern
/// words that, with ijekavian forms, mark it apart from both.
const HR_WORDS: &[&str] = &[
    "tko",
    "tisuća",
    "tisuće",
    "tijekom",
    "glede",
    "obitelj",
    "obitelji",
    "izvješće",
    "sveučilište",
    "zrakoplov",
    "nogomet",
    "kruh",
    "vlak",
    "siječnja",
    "veljače",
    "ožujka",
    "travnja",
    "svibnja",
    "lipnja",
    "srpnja",
    "kolovoza",
    "rujna",
    "listopada",
    "studenoga",
    "prosinca",
    "povijest",
    "kazalište",
    "općina",
    "priopćenje",
    "sudjelovati",
    "tjedan",
    "tjedna",
    "stoljeća",
    "uvjet",
];
const SR_WORDS: &[&str] = &[
    "vreme",
    "vremena",
    "posle",
    "pre",
    "dete",
    "deca",
    "reč",
    "reči",
    "mesto",
    "mesta",
    "sveta",
    "tokom",
    "hiljada",
    "hiljade",
    "istorija",
    "voz",
    "hleb",
    "fudbal",
    "univerzitet",
    "opština",
    "nedelje",
    "nedelja",
    "vek",
    "veka",
    "uslov",
    "uslovi",
    "saopštenje",
    "decembra",
    "novembra",
    "oktobra",
    "gde",
    "deo",
    "predsednik",
    "predsednika",
    "deluje",
    "uprkos",
    "dela",
    "lepo",
    "celu",
    "ceo",
    "treba da",
    "beograd",
];
const BS_WORDS: &[&str] = &[
    "historija",
    "historije",
    "hljeb",
    "sedmica",
    "sedmice",
    "šta",
];
const IJEKAVIAN: &[&str] = &[
    "vrijeme", "vremena", "poslije", "prije", "dijete", "djeca", "riječ", "riječi", "mjesto",
    "mjesta", "svijeta", "gdje", "dio", "dijela", "lijepo", "cijelu", "cijeli", "vijeće",
    "sjednica",
];

/// Serbian (with its script), Croatian or Bosnian, from the words of the text; the language
/// given when the words do not say.
fn south_slavic(given: &str, title: &str, body: &str) -> String {
    let text = format!("{title}\n{}", head(body, SOUTH_SLAVIC_BYTES));
    let (mut cyrillic, mut latin) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        match c as u32 {
            0x0400..=0x04FF => cyrillic += 1,
            _ if c.is_ascii_alphabetic() || "čćžšđČĆŽŠĐ".contains(c) => latin += 1,
            _ => {}
        }
    }
    if cyrillic > latin {
        // Macedonian letters say Macedonian; Serbian Cyrillic is the only other written here.
        return if text.contains(['ѓ', 'ќ', 'ѕ', 'Ѓ', 'Ќ', 'Ѕ']) {
            "mk".to_owned()
        } else {
            "sr-Cyrl".to_owned()
        };
    }
    let lower = text.to_lowercase();
    let count = |words: &[&str]| -> usize {
        lower
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty() && words.contains(w))
            .count()
    };
    let (hr, sr, bs, ije) = (
        count(HR_WORDS),
        count(SR_WORDS),
        count(BS_WORDS),
        count(IJEKAVIAN),
    );
    let ekavian_serbian = sr > ije && sr > hr;
    if ekavian_serbian {
        "sr-Latn".to_owned()
    } else if hr > 0 && hr >= bs {
        "hr".to_owned()
    } else if bs > 0 && ije > 0 {
        "bs".to_owned()
    } else if sr > 0 && ije == 0 {
        "sr-Latn".to_owned()
    } else {
        match given {
            "sr" => "sr-Latn".to_owned(),
            g => g.to_owned(),
        }
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
            // Close relatives: the declaration stands, refined by the words and the script.
            (Some("sr"), "", SR, Some("sr-Latn")),
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
    fn an_english_declaration_over_plain_english_stands_and_over_other_text_does_not() {
        assert!(plainly_english(EN));
        assert!(!plainly_english(DE));
        assert!(!plainly_english(SR));
        let fr = "Le gouvernement a déclaré jeudi que les discussions avec l'opposition se poursuivraient la semaine prochaine malgré les manifestations.";
        assert!(!plainly_english(fr));
        let es = "El gobierno dijo el jueves que las conversaciones con la oposición continuarían la próxima semana a pesar de las protestas en la capital.";
        assert!(!plainly_english(es));
        assert_eq!(language(Some("en-us"), "", DE).as_deref(), Some("de"));
        assert_eq!(language(Some("en"), "", EN).as_deref(), Some("en"));
        assert!(!plainly_english("the of and"), "too few words to say");
    }

    #[test]
    fn a_story_reads_the_same_whatever_its_neighbours() {
        let ru = "Правительство заявило в четверг, что переговоры с оппозицией продолжатся на следующей неделе.";
        assert_eq!(language(None, "", ru).as_deref(), Some("ru"));
        assert_eq!(language(None, "", DE).as_deref(), Some("de"));
        assert_eq!(language(None, "", EN).as_deref(), Some("en"));
    }

    #[test]
    fn serbian_croatian_and_bosnian_are_told_apart_and_serbian_keeps_its_script() {
        let sr_cyrl = "Председник Србије Александар Вучић изјавио је у четвртак да ће Србија наставити разговоре.";
        let hr = "Hrvatska vlada priopćila je tijekom tjedna da tko god sudjeluje mora poštovati uvjete, a do prosinca će biti poznato više.";
        let bs = "Vijeće ministara je prije sjednice saopćilo da šta god bude odlučeno, historija će to pamtiti.";
        for declared in [Some("sr"), Some("hr"), Some("bs"), None] {
            let got = language(declared, "", sr_cyrl);
            if declared.is_some() || got.is_some() {
                assert_eq!(got.as_deref(), Some("sr-Cyrl"), "{declared:?}");
            }
        }
        assert_eq!(language(Some("sr"), "", hr).as_deref(), Some("hr"));
        assert_eq!(language(Some("hr"), "", bs).as_deref(), Some("bs"));
        assert_eq!(language(Some("hr"), "", SR).as_deref(), Some("sr-Latn"));
        // Too little to tell: the declaration stands, Serbian with the Latin script it is in.
        assert_eq!(language(Some("hr"), "", "Oui.").as_deref(), Some("hr"));
        let mk = "Владата на Македонија соопшти дека ќе се одржи средба со претставниците.";
        assert_eq!(language(Some("sr"), "", mk).as_deref(), Some("mk"));
    }

    #[test]
    fn declared_codes() {
        assert_eq!(declared_code("en-US").as_deref(), Some("en"));
        assert_eq!(declared_code("sr_Latn").as_deref(), Some("sr"));
        assert_eq!(declared_code("english"), None);
    }
}
