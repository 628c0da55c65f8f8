//! Bytes that are not valid UTF-8 and that nothing labelled usably (or that were labelled UTF-8
//! wrongly): UTF-8 with a few stray bytes is kept as UTF-8, anything else is read as the legacy
//! encoding the bytes look like (chardetng, Firefox's detector for unlabelled Web pages).
//!
//! Owns: the choice between "damaged UTF-8" and "legacy bytes", and the detector call.
//! Never: overrides a BOM or a usable legacy declaration (the caller settles those first), reads
//! more than [`DETECT_MAX_BYTES`] into the detector, or panics on any input.

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// Most bytes handed to the detector: its guess is settled long before, and a 16 MiB body would
/// only cost time.
const DETECT_MAX_BYTES: usize = 256 * 1024;

/// Valid multi-byte UTF-8 must outweigh invalid bytes this many times for the bytes to be read as
/// UTF-8 with stray damage. Legacy CJK text forms valid UTF-8 by accident now and then (a lead
/// byte 0xC2-0xDF before a trail byte 0xA1-0xBF), but never mostly.
const UTF8_MAJORITY: usize = 4;

/// Decodes bytes that are not valid UTF-8. `tld` is the host's top-level domain, a hint.
pub(super) fn not_utf8(bytes: &[u8], tld: Option<&str>) -> (String, &'static str) {
    if mostly_utf8(bytes) {
        return (utf8_with_strays(bytes), UTF_8.name());
    }
    let enc = detect(bytes, tld);
    let (text, _) = enc.decode_without_bom_handling(bytes);
    (text.into_owned(), enc.name())
}

/// Whether the non-ASCII bytes are mostly well-formed UTF-8 sequences.
fn mostly_utf8(bytes: &[u8]) -> bool {
    let mut valid = 0usize;
    let mut invalid = 0usize;
    for chunk in bytes.utf8_chunks() {
        valid += chunk.valid().bytes().filter(|b| !b.is_ascii()).count();
        invalid += chunk.invalid().len();
    }
    valid >= invalid.saturating_mul(UTF8_MAJORITY)
}

/// UTF-8 with its few invalid bytes mended: a sequence cut short (a CMS truncating a summary by
/// bytes) is dropped; any other stray byte is read as windows-1252, the usual source of a lone
/// `0xE9` or `0x92` pasted into a UTF-8 page.
fn utf8_with_strays(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        let bad = chunk.invalid();
        if !bad.is_empty() && !truncated_sequence(bad) {
            let (text, _) = WINDOWS_1252.decode_without_bom_handling(bad);
            out.push_str(&text);
        }
    }
    out
}

/// A UTF-8 lead byte followed by fewer continuation bytes than it needs.
fn truncated_sequence(bad: &[u8]) -> bool {
    let Some((&lead, rest)) = bad.split_first() else {
        return false;
    };
    let needed = match lead {
        0xC2..=0xDF => 1,
        0xE0..=0xEF => 2,
        0xF0..=0xF4 => 3,
        _ => return false,
    };
    rest.len() < needed && rest.iter().all(|b| (0x80..=0xBF).contains(b))
}

/// The legacy encoding the bytes look like; never UTF-8 (they are not valid UTF-8).
fn detect(bytes: &[u8], tld: Option<&str>) -> &'static Encoding {
    let sample = &bytes[..bytes.len().min(DETECT_MAX_BYTES)];
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(sample, sample.len() == bytes.len());
    // The detector panics on a label that is not lower-case ASCII without dots.
    let tld = tld.filter(|t| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    detector.guess(tld.map(str::as_bytes), chardetng::Utf8Detection::Deny)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn legacy(enc: &'static Encoding, text: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = enc.encode(text);
        assert!(!unmappable, "{text:?} fits {}", enc.name());
        bytes.into_owned()
    }

    /// An RSS document around `title` and `body`, in `enc`, with no declaration.
    fn feed(enc: &'static Encoding, title: &str, body: &str) -> Vec<u8> {
        let mut doc = b"<rss version=\"2.0\"><channel><title>x</title><item><title>".to_vec();
        doc.extend(legacy(enc, title));
        doc.extend_from_slice(b"</title><description>");
        doc.extend(legacy(enc, body));
        doc.extend_from_slice(b"</description></item></channel></rss>");
        doc
    }

    #[test]
    fn undeclared_legacy_documents_are_detected() {
        let cases: &[(&'static Encoding, &str, &str)] = &[
            (
                encoding_rs::EUC_JP,
                "駅前の図書館が新しくなりました",
                "市の中央図書館は改装を終え、月曜日から利用者を迎えています。子供向けの本棚も広がりました。",
            ),
            (
                encoding_rs::SHIFT_JIS,
                "駅前の図書館が新しくなりました",
                "市の中央図書館は改装を終え、月曜日から利用者を迎えています。子供向けの本棚も広がりました。",
            ),
            (
                encoding_rs::GBK,
                "城市图书馆重新开放",
                "经过一年的装修，市中心图书馆星期一重新向读者开放，儿童阅览室也扩大了。",
            ),
            (
                encoding_rs::BIG5,
                "城市圖書館重新開放",
                "經過一年的裝修，市中心圖書館星期一重新向讀者開放，兒童閱覽室也擴大了。",
            ),
            (
                encoding_rs::EUC_KR,
                "시립 도서관이 다시 문을 열었습니다",
                "일 년 동안의 공사를 마치고 시내 중앙 도서관이 월요일부터 시민들을 맞이하고 있습니다.",
            ),
            (
                encoding_rs::WINDOWS_1251,
                "Городская библиотека снова открыта",
                "После года ремонта центральная библиотека города в понедельник снова принимает читателей.",
            ),
            (
                encoding_rs::KOI8_R,
                "Городская библиотека снова открыта",
                "После года ремонта центральная библиотека города в понедельник снова принимает читателей.",
            ),
        ];
        for &(enc, title, body) in cases {
            let (text, name) = crate::parse::decode(&feed(enc, title, body), None);
            // KOI8-U is KOI8-R with a few Ukrainian letters in box-drawing places: the detector
            // names the superset, which reads Russian text alike.
            let superset = enc == encoding_rs::KOI8_R && name == "KOI8-U";
            assert!(
                name == enc.name() || superset,
                "{} guessed as {name}",
                enc.name()
            );
            assert!(text.contains(title) && text.contains(body), "{text}");
        }
    }

    #[test]
    fn a_declared_utf8_document_that_is_not_is_detected() {
        let mut doc = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>".to_vec();
        doc.extend(feed(
            encoding_rs::WINDOWS_1251,
            "Новости дня",
            "Сегодня в городе открылся новый мост через реку.",
        ));
        let (text, name) = crate::parse::decode(&doc, Some("utf-8"));
        assert_eq!(name, "windows-1251");
        assert!(text.contains("Новости дня"), "{text}");
    }

    #[test]
    fn utf8_with_a_stray_byte_stays_utf8() {
        // A UTF-8 page with one windows-1252 apostrophe pasted in, and a summary cut mid-letter.
        let mut doc =
            "<rss><channel><item><title>Café crème and naïve résumé</title><description>It"
                .as_bytes()
                .to_vec();
        doc.push(0x92);
        doc.extend_from_slice("s open. 東京".as_bytes());
        doc.extend_from_slice(&"駅".as_bytes()[..2]);
        doc.extend_from_slice(b"</description></item></channel></rss>");
        let (text, name) = crate::parse::decode(&doc, Some("utf-8"));
        assert_eq!(name, "UTF-8");
        assert!(text.contains("Café crème and naïve résumé"), "{text}");
        assert!(text.contains("It’s open. 東京</description>"), "{text}");
    }

    #[test]
    fn the_tld_steers_the_guess_and_a_bad_one_is_ignored() {
        // Short Cyrillic that both windows-1251 and KOI8-R could be; .ru, .com or garbage must
        // all give an answer without panicking.
        let bytes = legacy(encoding_rs::WINDOWS_1251, "<t>Привет, мир</t>");
        for tld in [
            Some("ru"),
            Some("com"),
            Some("RU"),
            Some("co.uk"),
            Some(""),
            None,
        ] {
            let (_, name) = not_utf8(&bytes, tld);
            assert!(!name.is_empty());
        }
    }

    #[test]
    fn a_lone_latin1_letter_is_windows_1252() {
        let (text, name) = crate::parse::decode(b"<t>caf\xe9</t>", None);
        assert_eq!((text.as_str(), name), ("<t>café</t>", "windows-1252"));
    }

    #[test]
    fn truncated_sequences_are_recognised() {
        assert!(truncated_sequence(&[0xE6, 0x97]));
        assert!(truncated_sequence(&[0xC3]));
        assert!(!truncated_sequence(&[0x92]));
        assert!(!truncated_sequence(&[0xE6, 0x41]));
        assert!(!truncated_sequence(&[]));
    }
}
