//! Dates written in Korean, or with Greek month and day names, rewritten into the ASCII forms
//! the date grammars read.
//!
//! Owns: the Korean date forms (`2004년 05월 28일 01:31:15`, `2004-05-25 오후 11:23:17`,
//! `2024. 1. 11. 오전 9:05`) and the Greek month and weekday names (`Κυρ, 11 Ιούλ 2004`,
//! `11 Ιουλίου 2004`).
//! Never: guesses a zone other than Korea's for a Korean date that writes none, reads a
//! 12-hour clock without its 오전/오후, or accepts a Greek word it does not know.

use std::sync::LazyLock;

use regex::Regex;

/// A Korean date: year, month and day with 년/월/일 or with `-`, `.` or `/`; an optional
/// weekday (`(화)`, `화요일`); an optional 오전 (a.m.) or 오후 (p.m.); an optional time; and
/// whatever follows (a zone, read by the grammar).
static KOREAN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^([0-9]{4})\s*(?:년\s*([0-9]{1,2})\s*월\s*([0-9]{1,2})\s*일",
        r"|([-./])\s*([0-9]{1,2})\s*([-./])\s*([0-9]{1,2})\s*\.?)",
        r"\s*(\(\s*[월화수목금토일]\s*\)|[월화수목금토일]요일)?",
        r"\s*(오전|오후)?",
        r"\s*(?:([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?",
        r"\s*(.*)$",
    ))
    .ok()
});

/// A Korean date as ISO 8601 (`2004-05-28T01:31:15`, then the zone written, if any); `None`
/// when `s` is not one.
pub(super) fn korean(s: &str) -> Option<String> {
    let caps = KOREAN.as_ref()?.captures(s)?;
    let num = |i: usize| caps.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let year = num(1)?;
    let markers = caps.get(2).is_some();
    let (month, day) = if markers {
        (num(2)?, num(3)?)
    } else {
        // Both separators alike: `2004-05-25`, `2024. 1. 11.`.
        if caps.get(4)?.as_str() != caps.get(6)?.as_str() {
            return None;
        }
        (num(5)?, num(7)?)
    };
    let weekday = caps.get(8).is_some();
    let meridiem = caps.get(9).map(|m| m.as_str());
    // Without a Korean word the string is not Korean.
    if !markers && !weekday && meridiem.is_none() {
        return None;
    }
    let mut out = format!("{year:04}-{month:02}-{day:02}");
    match (num(10), meridiem) {
        (Some(hour), meridiem) => {
            let hour = match meridiem {
                None => hour,
                // 오전 12시 is half past midnight's hour, 오후 12시 noon's.
                Some("오전") if hour <= 12 => hour % 12,
                Some(_) if (1..=12).contains(&hour) => hour % 12 + 12,
                Some(_) => return None,
            };
            let minute = num(11)?;
            let second = num(12).unwrap_or(0);
            out.push_str(&format!("T{hour:02}:{minute:02}:{second:02}"));
        }
        (None, Some(_)) => return None,
        (None, None) => {}
    }
    let rest = caps.get(13).map_or("", |m| m.as_str().trim());
    if !rest.is_empty() {
        out.push(' ');
        out.push_str(rest);
    }
    Some(out)
}

/// Greek month and weekday stems (lower case, without accents), longest first where one is
/// the start of another, with the English names the grammar reads. A prefix match reads the
/// abbreviations (`Ιούλ`) and the full and genitive names (`Ιούλιος`, `Ιουλίου`) alike.
const GREEK_NAMES: &[(&str, &str)] = &[
    ("ιαν", "Jan"),
    ("φεβ", "Feb"),
    ("μαρ", "Mar"),
    ("απρ", "Apr"),
    ("μαι", "May"),
    ("ιουν", "Jun"),
    ("ιον", "Jun"),
    ("ιουλ", "Jul"),
    ("ιολ", "Jul"),
    ("αυγ", "Aug"),
    ("σεπ", "Sep"),
    ("οκτ", "Oct"),
    ("νοε", "Nov"),
    ("δεκ", "Dec"),
    ("κυρ", "Sun"),
    ("δευ", "Mon"),
    ("τρι", "Tue"),
    ("τετ", "Wed"),
    ("πεμ", "Thu"),
    ("παρ", "Fri"),
    ("σαβ", "Sat"),
];

/// Longest Greek word read as a month or day name (`Σεπτεμβρίου` has 11 letters).
const GREEK_MAX_CHARS: usize = 12;

fn is_greek(c: char) -> bool {
    matches!(c, '\u{370}'..='\u{3FF}' | '\u{1F00}'..='\u{1FFF}')
}

/// A Greek letter in lower case without its accent (tonos, dialytika).
fn greek_plain(c: char) -> char {
    match c {
        'ά' | 'Ά' => 'α',
        'έ' | 'Έ' => 'ε',
        'ή' | 'Ή' => 'η',
        'ί' | 'Ί' | 'ϊ' | 'Ϊ' | 'ΐ' => 'ι',
        'ό' | 'Ό' => 'ο',
        'ύ' | 'Ύ' | 'ϋ' | 'Ϋ' | 'ΰ' => 'υ',
        'ώ' | 'Ώ' => 'ω',
        'ς' => 'σ',
        _ => c.to_lowercase().next().unwrap_or(c),
    }
}

fn greek_name(word: &str) -> Option<&'static str> {
    if word.chars().count() > GREEK_MAX_CHARS {
        return None;
    }
    let plain: String = word.chars().map(greek_plain).collect();
    GREEK_NAMES
        .iter()
        .find(|(stem, _)| plain.starts_with(stem))
        .map(|&(_, english)| english)
}

/// `s` with its Greek month and weekday names in English; `None` when it has no Greek word or
/// one that is not a month or day name.
pub(super) fn greek(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut word = String::new();
    let mut any = false;
    for c in s.chars() {
        if is_greek(c) {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            out.push_str(greek_name(&word)?);
            word.clear();
            any = true;
        }
        out.push(c);
    }
    if !word.is_empty() {
        out.push_str(greek_name(&word)?);
        any = true;
    }
    any.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn korean_forms_become_iso() {
        let cases: &[(&str, Option<&str>)] = &[
            ("2004년 05월 28일  01:31:15", Some("2004-05-28T01:31:15")),
            ("2004년5월28일", Some("2004-05-28")),
            ("2004-05-25 오후 11:23:17", Some("2004-05-25T23:23:17")),
            ("2004-05-25 오전 12:05:00", Some("2004-05-25T00:05:00")),
            ("2004-05-25 오후 12:05:00", Some("2004-05-25T12:05:00")),
            ("2024. 1. 11. 오전 9:05", Some("2024-01-11T09:05:00")),
            (
                "2024년 1월 11일 (목) 오후 3:04 +0900",
                Some("2024-01-11T15:04:00 +0900"),
            ),
            ("2024년 1월 11일 목요일", Some("2024-01-11")),
            // Not Korean, or not readable.
            ("2004-05-25 11:23:17", None),
            ("2004-05/25 오후 11:23:17", None),
            ("2004-05-25 오후 13:23:17", None),
            ("2004-05-25 오후", None),
            ("Thu, 11 Jan 2024", None),
        ];
        for &(input, want) in cases {
            assert_eq!(korean(input).as_deref(), want, "input {input:?}");
        }
    }

    #[test]
    fn greek_names_become_english() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "Κυρ, 11 Ιούλ 2004 12:00:00 EST",
                Some("Sun, 11 Jul 2004 12:00:00 EST"),
            ),
            ("Τρίτη, 3 Σεπτεμβρίου 2024", Some("Tue, 3 Sep 2024")),
            ("15 Μαΐου 2023", Some("15 May 2023")),
            ("15 ΜΑΡ 2023", Some("15 Mar 2023")),
            ("1 Ιουν 2023", Some("1 Jun 2023")),
            ("Παρ, 1 Δεκ 2023", Some("Fri, 1 Dec 2023")),
            // A Greek word that is not a month or day, or no Greek at all.
            ("11 Ιούλ 2004 12:00 μ.μ.", None),
            ("Αθήνα 11 Jul 2004", None),
            ("11 Jul 2004 (é)", None),
        ];
        for &(input, want) in cases {
            assert_eq!(greek(input).as_deref(), want, "input {input:?}");
        }
    }
}
