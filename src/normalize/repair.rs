//! Mojibake and C1 repair: text that was UTF-8 but got read as windows-1252 or latin-1 somewhere
//! upstream ("donâ€™t", "CafÃ©", "ÐŸÑ€Ð¸Ð²ÐµÑ‚"), and C1 control characters (U+0080-U+009F) that
//! stand for windows-1252 punctuation (a document labelled ISO-8859-1, or `&#146;`).
//!
//! Owns: deciding, sequence by sequence, whether characters are the windows-1252 reading of UTF-8
//! bytes, and undoing it; mapping leftover C1 characters to their windows-1252 meaning.
//! Never: touches text without a suspicious character in it (the fast path costs one scan), or
//! repairs a pattern real text also makes: an accented capital at the end of a word before
//! punctuation ("AMANHÃ…", "IRMÃ”"), a lone accented letter before guillemets ("à « »"), a brand
//! sign after a capital ("NESTLÉ®") stay as they are unless the same text holds certain mojibake.

use std::borrow::Cow;

/// Most repair passes over one text: each undoes one layer of double encoding.
const MAX_PASSES: usize = 3;

/// Repairs mojibake and C1 characters in `s`; borrows `s` back when nothing looks broken.
pub fn repair(s: &str) -> Cow<'_, str> {
    if !suspicious(s) {
        return Cow::Borrowed(s);
    }
    let mut text = s.to_owned();
    for _ in 0..MAX_PASSES {
        match repair_pass(&text) {
            Some(next) if next != text => text = next,
            _ => break,
        }
        if !suspicious(&text) {
            break;
        }
    }
    Cow::Owned(map_c1(&text))
}

/// Whether `s` holds a C1 character, or a windows-1252 letter that can start a UTF-8 sequence
/// (U+00C2-U+00F4) directly before one that can continue it. Plain ASCII and ordinary accented
/// text ("é" before a letter) answer no after one scan.
pub fn suspicious(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_ascii() {
        return false;
    }
    let mut i = 0;
    while i + 1 < b.len() {
        match (b[i], b[i + 1]) {
            (0xC2, 0x80..=0x9F) => return true,
            (0xC3, 0x82..=0xB4) => {
                let next = s.get(i + 2..).and_then(|r| r.chars().next());
                if next.and_then(continuation_byte).is_some() {
                    return true;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

/// The byte a character stands for when UTF-8 continuation bytes (0x80-0xBF) were read as
/// windows-1252, or as latin-1 (the C1 range, and windows-1252's five unassigned bytes).
fn continuation_byte(c: char) -> Option<u8> {
    let b = match c {
        '\u{80}'..='\u{BF}' => return u8::try_from(u32::from(c)).ok(),
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8A,
        '‹' => 0x8B,
        'Œ' => 0x8C,
        'Ž' => 0x8E,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9A,
        '›' => 0x9B,
        'œ' => 0x9C,
        'ž' => 0x9E,
        'Ÿ' => 0x9F,
        _ => return None,
    };
    Some(b)
}

/// The windows-1252 character for a C1 control, `None` for the five bytes windows-1252 leaves
/// unassigned.
fn c1_meaning(c: char) -> Option<char> {
    let m = match c {
        '\u{80}' => '€',
        '\u{82}' => '‚',
        '\u{83}' => 'ƒ',
        '\u{84}' => '„',
        '\u{85}' => '…',
        '\u{86}' => '†',
        '\u{87}' => '‡',
        '\u{88}' => 'ˆ',
        '\u{89}' => '‰',
        '\u{8A}' => 'Š',
        '\u{8B}' => '‹',
        '\u{8C}' => 'Œ',
        '\u{8E}' => 'Ž',
        '\u{91}' => '‘',
        '\u{92}' => '’',
        '\u{93}' => '“',
        '\u{94}' => '”',
        '\u{95}' => '•',
        '\u{96}' => '–',
        '\u{97}' => '—',
        '\u{98}' => '˜',
        '\u{99}' => '™',
        '\u{9A}' => 'š',
        '\u{9B}' => '›',
        '\u{9C}' => 'œ',
        '\u{9E}' => 'ž',
        '\u{9F}' => 'Ÿ',
        _ => return None,
    };
    Some(m)
}

/// Leftover C1 characters as the windows-1252 punctuation they stand for; the unassigned five
/// are dropped.
fn map_c1(s: &str) -> String {
    if !s.chars().any(|c| ('\u{80}'..='\u{9F}').contains(&c)) {
        return s.to_owned();
    }
    s.chars()
        .filter_map(|c| {
            if ('\u{80}'..='\u{9F}').contains(&c) {
                c1_meaning(c)
            } else {
                Some(c)
            }
        })
        .collect()
}

/// Continuation characters that also follow a word in real text: an accented capital at the end
/// of a word may be followed by one of these without being mojibake.
fn trailing_punctuation(c: char) -> bool {
    matches!(
        c,
        '\u{A0}' | '’' | '”' | '»' | '›' | '…' | '–' | '—' | '•' | '·'
    )
}

/// One windows-1252 reading of a UTF-8 sequence: where it is and what it decodes to.
#[derive(Debug, Clone, Copy)]
struct Seq {
    /// Index of its first character in the char vector.
    start: usize,
    /// Number of characters it spans (2 to 4).
    len: usize,
    /// The UTF-8 lead byte.
    lead: u8,
    /// The first continuation byte.
    first: u8,
    decoded: char,
}

/// The sequence starting at `chars[i]`, if the characters there are a UTF-8 lead and its
/// continuations read as windows-1252, and the bytes form valid UTF-8.
fn seq_at(chars: &[char], i: usize) -> Option<Seq> {
    let lead = u8::try_from(u32::from(*chars.get(i)?)).ok()?;
    let conts = match lead {
        0xC2..=0xDF => 1,
        0xE0..=0xEF => 2,
        0xF0..=0xF4 => 3,
        _ => return None,
    };
    let mut bytes = [lead, 0, 0, 0];
    for (k, slot) in bytes.iter_mut().enumerate().skip(1).take(conts) {
        *slot = continuation_byte(*chars.get(i + k)?)?;
    }
    let decoded = std::str::from_utf8(&bytes[..=conts]).ok()?.chars().next()?;
    Some(Seq {
        start: i,
        len: conts + 1,
        lead,
        first: bytes[1],
        decoded,
    })
}

/// How sure a run of sequences is to be mojibake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Real text never looks like this.
    Certain,
    /// Real text can look like this; repaired only beside certain mojibake.
    Ambiguous,
    /// Left alone.
    No,
}

/// A decoded character that mojibake repair may produce: never a control, private-use or
/// noncharacter code point.
fn plausible(c: char) -> bool {
    let n = u32::from(c);
    !c.is_control() && !(0xE000..=0xF8FF).contains(&n) && (n & 0xFFFE) != 0xFFFE
}

fn judge(chars: &[char], run: &[Seq]) -> Verdict {
    if run.iter().any(|s| !plausible(s.decoded)) {
        return Verdict::No;
    }
    // Two sequences back to back: lead and continuation alternating twice never happens in
    // real text ("ÐŸÑ€Ð¸", "æ—¥æœ¬").
    if run.len() >= 2 {
        return Verdict::Certain;
    }
    let Some(&seq) = run.first() else {
        return Verdict::No;
    };
    let before = seq.start.checked_sub(1).and_then(|i| chars.get(i)).copied();
    let after = chars.get(seq.start + seq.len).copied();
    let first_char = chars.get(seq.start + 1).copied().unwrap_or(' ');
    // A capital ending a word, then punctuation: "AMANHÃ…" is Portuguese, "PÅ–" Norwegian.
    // Inside a word ("CÃ”TE" is CÔTE) it is mojibake, unless the sign is an apostrophe
    // ("JOÃ’S") or the repair would not be a letter ("MAÇÃ—RUIM").
    let inside_word =
        after.is_some_and(char::is_alphabetic) && seq.decoded.is_alphabetic() && first_char != '’';
    let word_final_capital =
        before.is_some_and(char::is_uppercase) && trailing_punctuation(first_char) && !inside_word;
    let decoded = u32::from(seq.decoded);
    match seq.lead {
        // "Â£", "Â°", "Â\u{a0}": no word ends in "Â" (Portuguese, French and Romanian
        // put a consonant after it), so it is never followed by a sign or a space.
        0xC2 => Verdict::Certain,
        // "Ã©", "Ã‰": the windows-1252 reading of Latin-1 letters.
        0xC3 if word_final_capital => Verdict::Ambiguous,
        0xC3 => Verdict::Certain,
        // Latin Extended-A/B ("Å‚" ł, "Ä‡" ć, "È™" ș), but not after a brand sign ("NESTLÉ®").
        0xC4..=0xC9 if (0x100..=0x24F).contains(&decoded) => {
            if matches!(first_char, '©' | '®' | '™') {
                Verdict::No
            } else if word_final_capital {
                Verdict::Ambiguous
            } else {
                Verdict::Certain
            }
        }
        // "â€™", "â‚¬", "â„¢": "â" before "€", "‚", "ƒ" or "„" is never French.
        0xE2 if seq.first <= 0x84 => Verdict::Certain,
        // Arrows, shapes, dingbats ("â–¶", "âœ“"), unless "â" ends a word before punctuation.
        0xE2 if before.is_some_and(char::is_alphabetic) && trailing_punctuation(first_char) => {
            Verdict::Ambiguous
        }
        0xE2 => Verdict::Certain,
        // An emoji ("ðŸ˜€"): "ð" before "Ÿ" is never Icelandic.
        0xF0 if seq.first == 0x9F => Verdict::Certain,
        // Anything else alone ("é »" in French is E9 A0 BB, a valid CJK sequence) is left.
        _ => Verdict::No,
    }
}

/// One repair pass: finds runs of sequences, judges each, and rebuilds the text when any is
/// repaired. `None` when nothing is.
fn repair_pass(s: &str) -> Option<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut runs: Vec<(Vec<Seq>, Verdict)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let mut run = Vec::new();
        let mut j = i;
        while let Some(seq) = seq_at(&chars, j) {
            j += seq.len;
            run.push(seq);
        }
        if run.is_empty() {
            i += 1;
            continue;
        }
        let verdict = judge(&chars, &run);
        runs.push((run, verdict));
        i = j;
    }
    let certain = runs.iter().any(|(_, v)| *v == Verdict::Certain);
    if !certain {
        return None;
    }
    // Text that is mojibake from end to end (every character a byte of valid UTF-8 read as
    // windows-1252) is decoded whole, lone sequences included ("Ð² ", "ï¼‰").
    if let Some(whole) = whole_text_decoded(&chars) {
        return Some(whole);
    }
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    for (run, verdict) in &runs {
        if *verdict == Verdict::No {
            continue;
        }
        let (Some(first), Some(last)) = (run.first(), run.last()) else {
            continue;
        };
        out.extend(&chars[at..first.start]);
        out.extend(run.iter().map(|s| s.decoded));
        at = last.start + last.len;
    }
    out.extend(&chars[at..]);
    Some(out)
}

/// The text as UTF-8, when every character is a byte of windows-1252 (or latin-1) and those
/// bytes are valid UTF-8.
fn whole_text_decoded(chars: &[char]) -> Option<String> {
    let mut bytes = Vec::with_capacity(chars.len());
    for &c in chars {
        let b = match u8::try_from(u32::from(c)) {
            Ok(b) => b,
            Err(_) => continuation_byte(c)?,
        };
        bytes.push(b);
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(repair(input), expected, "input {input:?}");
    }

    #[test]
    fn double_encoded_utf8_is_repaired() {
        check("donâ€™t", "don’t");
        check("CafÃ© au lait", "Café au lait");
        check("â€œQuotedâ€\u{9d} text", "“Quoted” text");
        check("Price: â‚¬5 â€“ cheap", "Price: €5 – cheap");
        check("Acmeâ„¢ widgets", "Acme™ widgets");
        check("informaciÃ³n polÃ\u{AD}tica", "información política");
        check("Ã\u{a0} Paris, Ã©tÃ© Ã©tait", "à Paris, été était");
        check("MÃ¼nchen und KÃ¶ln", "München und Köln");
        check("CAFÃ‰ IN SÃƒO PAULO", "CAFÉ IN SÃO PAULO");
        check("ESPAÃ‘A", "ESPAÑA");
        check("CÃ”TE D'IVOIRE", "CÔTE D'IVOIRE");
        check("10Â°C and Â£20", "10°C and £20");
        check("2016 USÂ\u{a0}election", "2016 US\u{a0}election");
        check("PrzemysÅ‚aw i Åšwiat", "Przemysław i Świat");
        check("ÐŸÑ€Ð¸Ð²ÐµÑ‚ Ð¼Ð¸Ñ€", "Привет мир");
        check("æ—¥æœ¬èªž", "日本語");
        check("Nice ðŸ˜€", "Nice 😀");
        // Mojibake from end to end: lone sequences too ("Ð²" alone would be left).
        check("ÐŸÐ¾ÐµÐ·Ð´ Ð² Ð³Ð¾Ñ€Ð¾Ð´", "Поезд в город");
        check(
            "\u{e4}\u{bc}š\u{e8}\u{ad}\u{b0}\u{ef}\u{bc}ˆ\u{e6}\u{9d}\u{b1}\u{e4}\u{ba}\u{ac}\u{ef}\u{bc}‰",
            "会議（東京）",
        );
        check("Ship it âœ“", "Ship it ✓");
        // Mojibake of mojibake.
        check("donÃ¢â‚¬â„¢t", "don’t");
    }

    #[test]
    fn c1_controls_become_windows_1252() {
        check("don\u{92}t", "don’t");
        check("\u{93}Hello\u{94} \u{96} \u{85}", "“Hello” – …");
        check("\u{80}5", "€5");
        // Unassigned in windows-1252: dropped.
        check("a\u{81}b\u{8d}c\u{9d}", "abc");
        // The latin-1 reading of UTF-8 bytes.
        check("don\u{e2}\u{80}\u{99}t", "don’t");
    }

    #[test]
    fn real_text_is_left_alone() {
        for text in [
            // Portuguese capitals ending a word, before punctuation.
            "AMANHÃ… VEREMOS",
            "A IRMÃ” DISSE",
            "NAÇÃO, SÃO PAULO, JOÃO",
            "CÂMARA e ÂNGULO",
            "MAÇÃ—RUIM",
            "JOÃ’S CAFE",
            // French: lone accented letters before guillemets with no-break spaces.
            "Il est allé à\u{a0}«\u{a0}Paris\u{a0}»",
            "Un café\u{a0}» puis",
            "château, pâte, âge, âme",
            // Danish and Norwegian.
            "»Hvad så…« sagde han. PÅ… nej",
            "brød, søster, æble",
            // Brand signs after capitals, multiplication, German.
            "NESTLÉ® and TÜV® and BRÄU™",
            "3×½ and 2×²",
            "GROß» und Straße",
            "EL NIÑO» y AÑO…",
            // Ordinary accented text and symbols.
            "Crème brûlée, naïve, Zürich, São Tomé, Kraków, İstanbul",
            "© 2024 Ünal — “quoted” – 5 € · 20 °C ± 2",
            "Ελληνικά, Русский, 日本語, 한국어",
            "",
            "plain ascii",
        ] {
            check(text, text);
        }
    }

    #[test]
    fn ambiguous_patterns_are_repaired_beside_certain_mojibake() {
        // "PÃ…" alone could be Portuguese; next to "Ã©" it is the Norwegian "PÅ" misread.
        check("PÃ… cafÃ©", "PÅ café");
        check("PÃ… SÃO", "PÃ… SÃO");
    }

    #[test]
    fn suspicious_is_a_cheap_gate() {
        assert!(!suspicious("plain ascii"));
        assert!(!suspicious("Crème brûlée"));
        assert!(!suspicious("São Paulo"));
        assert!(suspicious("CafÃ©"));
        assert!(suspicious("x\u{92}y"));
        assert!(suspicious("donâ€™t"));
        // A lead at the very end, and a lead before a non-continuation, are fine.
        assert!(!suspicious("É"));
        assert!(!suspicious("Ãx"));
    }

    #[test]
    fn bounded_on_hostile_input() {
        // Many layers of mojibake: at most MAX_PASSES are undone, and nothing panics.
        let mut s = String::from("don’t");
        for _ in 0..6 {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(s.as_bytes());
            s = text.into_owned();
        }
        let once = repair(&s).into_owned();
        assert!(once.len() < s.len(), "{once}");
        let long = "Ã©".repeat(50_000);
        assert_eq!(repair(&long).chars().count(), 50_000);
    }
}
