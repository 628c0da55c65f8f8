//! Issue 16's charset and date quirks, end to end: each `tests/fixtures/lenient/charset-*.xml`
//! document through `parse` and `normalize_document`, asserting the stories a reader would see.

use chrono::{DateTime, Utc};
use wirefeed::model::Story;
use wirefeed::normalize::{normalize_document, stable_key, DocContext, Rules};

/// The encoding a fixture was read as, and its stories.
fn read(name: &str, base_url: &str) -> (&'static str, Vec<Story>) {
    let path = format!(
        "{}/tests/fixtures/lenient/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let parsed = wirefeed::parse::parse(&bytes, None, Some(base_url))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let rules = Rules::new(&Default::default());
    let ctx = DocContext {
        base_url: Some(base_url),
        source: Some("Fixture"),
        source_is_wire: false,
        rules: &rules,
    };
    let normalized = normalize_document(&parsed, &ctx, usize::MAX);
    assert!(
        normalized.skipped.is_empty(),
        "{name}: {:?}",
        normalized.skipped
    );
    (parsed.encoding, normalized.stories)
}

fn at(rfc3339: &str) -> Option<DateTime<Utc>> {
    Some(
        DateTime::parse_from_rfc3339(rfc3339)
            .expect("expectation is RFC 3339")
            .with_timezone(&Utc),
    )
}

/// One expected story: its title, a sentence of its body, and its instant.
struct Want<'a> {
    title: &'a str,
    body: &'a str,
    published: Option<&'a str>,
}

fn check(name: &str, base_url: &str, encodings: &[&str], want: &[Want<'_>]) {
    let (encoding, stories) = read(name, base_url);
    assert!(
        encodings.contains(&encoding),
        "{name} read as {encoding}, want one of {encodings:?}"
    );
    assert_eq!(stories.len(), want.len(), "{name}");
    for (story, w) in stories.iter().zip(want) {
        assert_eq!(story.title, w.title, "{name}");
        assert!(
            story.body.contains(w.body),
            "{name}: body {:?} lacks {:?}",
            story.body,
            w.body
        );
        assert_eq!(
            story.published,
            w.published.and_then(at),
            "{name}: {}",
            w.title
        );
    }
}

#[test]
fn undeclared_japanese() {
    check(
        "charset-euc-jp-undeclared.xml",
        "https://news.example.jp/rss",
        &["EUC-JP"],
        &[
            Want {
                title: "港町に新しい市場が開かれました",
                body: "地元の漁師が取れたての魚を並べました。",
                published: Some("2024-10-05T00:00:00Z"),
            },
            Want {
                title: "山の駅で桜が満開に",
                body: "ホームに小さな案内板を置いています。",
                published: Some("2024-10-06T00:00:00Z"),
            },
        ],
    );
    check(
        "charset-shift-jis-undeclared.xml",
        "https://example.test/feed",
        &["Shift_JIS"],
        &[
            Want {
                title: "雪の日の図書館",
                body: "暖かい部屋で新聞を読む人がたくさんいました。",
                published: Some("2024-01-15T01:00:00Z"),
            },
            Want {
                title: "夏祭りの準備が始まる",
                body: "ちょうちんを飾る作業が始まりました。",
                published: Some("2024-07-16T09:00:00Z"),
            },
        ],
    );
}

#[test]
fn undeclared_chinese() {
    // GB18030 text is read by encoding_rs's GBK decoder, which is the GB18030 decoder.
    check(
        "charset-gb18030-undeclared.xml",
        "https://example.test/feed",
        &["GBK", "gb18030"],
        &[
            Want {
                title: "河边公园举办秋季音乐会",
                body: "一起听了两个小时的民乐演出。",
                published: Some("2024-10-12T12:00:00Z"),
            },
            Want {
                title: "老街的书店重新开门",
                body: "希望年轻人能再一次坐下来慢慢读书。",
                published: Some("2024-10-13T02:00:00Z"),
            },
        ],
    );
    check(
        "charset-big5-undeclared.xml",
        "https://news.example.tw/rss",
        &["Big5"],
        &[
            Want {
                title: "河邊公園舉辦秋季音樂會",
                body: "一起聽了兩個小時的民樂演出。",
                published: Some("2024-10-12T12:00:00Z"),
            },
            Want {
                title: "老街的書店重新開門",
                body: "希望年輕人能再一次坐下來慢慢讀書。",
                published: Some("2024-10-13T02:00:00Z"),
            },
        ],
    );
}

#[test]
fn undeclared_korean_with_korean_dates() {
    check(
        "charset-euc-kr-undeclared.xml",
        "https://example.test/feed",
        &["EUC-KR"],
        &[
            Want {
                title: "바닷가 마을에 새 도서관이 문을 열었다",
                body: "아이들은 주말마다 모여 책을 읽고 그림을 그립니다.",
                // `2024년 10월 05일 14:30:00`, Korea's time.
                published: Some("2024-10-05T05:30:00Z"),
            },
            Want {
                title: "산길 자전거 대회 열려",
                body: "많은 시민이 길가에서 응원했습니다.",
                // `2024-10-06 오후 3:15:00`.
                published: Some("2024-10-06T06:15:00Z"),
            },
        ],
    );
}

#[test]
fn undeclared_cyrillic() {
    check(
        "charset-koi8-r-undeclared.xml",
        "https://example.test/feed",
        // KOI8-U reads Russian exactly as KOI8-R does.
        &["KOI8-R", "KOI8-U"],
        &[
            Want {
                title: "В городе открылся новый каток",
                body: "коньки можно взять напрокат у входа.",
                published: Some("2024-12-14T09:00:00Z"),
            },
            Want {
                title: "Осенний фестиваль яблок",
                body: "угощали всех горячим пирогом.",
                published: Some("2024-09-15T09:00:00Z"),
            },
        ],
    );
    check(
        "charset-windows-1251-undeclared.xml",
        "https://example.test/feed",
        &["windows-1251"],
        &[
            Want {
                title: "Речной трамвай снова ходит по выходным",
                body: "Билеты продаются прямо на причале.",
                published: Some("2024-06-01T07:00:00Z"),
            },
            Want {
                title: "Школьники посадили сад",
                body: "пообещали ухаживать за ними всё лето.",
                published: Some("2024-06-02T07:00:00Z"),
            },
        ],
    );
}

#[test]
fn undeclared_greek_with_greek_dates() {
    check(
        "charset-iso-8859-7-undeclared.xml",
        "https://example.test/feed",
        &["ISO-8859-7", "windows-1253"],
        &[
            Want {
                title: "Νέα βιβλιοθήκη στο λιμάνι",
                body: "Τα παιδιά έρχονται κάθε απόγευμα",
                // `Κυρ, 06 Οκτ 2024 12:00:00 +0300`.
                published: Some("2024-10-06T09:00:00Z"),
            },
            Want {
                title: "Το πλοίο της γραμμής επιστρέφει",
                body: "ξεκινά πάλι τα δρομολόγια προς τα νησιά.",
                published: Some("2024-10-07T05:30:00Z"),
            },
        ],
    );
}

#[test]
fn a_wrong_utf8_declaration_falls_back_to_detection() {
    check(
        "charset-declared-utf8-but-windows-1251.xml",
        "https://example.test/feed",
        &["windows-1251"],
        &[Want {
            title: "Мост через реку откроют осенью",
            body: "новый мост через реку откроют для машин",
            published: Some("2024-06-03T07:00:00Z"),
        }],
    );
}

#[test]
fn c1_characters_read_as_windows_1252() {
    check(
        "charset-iso-8859-1-with-c1.xml",
        "https://example.test/feed",
        &["windows-1252"],
        &[
            Want {
                title: "It’s the “big” day",
                body: "Doors open at nine – bring a friend…",
                published: Some("2024-10-05T09:00:00Z"),
            },
            Want {
                // `&#150;` and `&#128;` are C1 characters in XML; they meant "–" and "€".
                title: "Café prices–up €2",
                body: "The owner’s note: “sorry”.",
                published: Some("2024-10-06T09:00:00Z"),
            },
        ],
    );
}

#[test]
fn double_encoded_utf8_is_repaired_and_real_text_kept() {
    check(
        "charset-mojibake-double-encoded-utf8.xml",
        "https://example.test/feed",
        &["UTF-8"],
        &[
            Want {
                title: "Don’t miss the Café reopening",
                body: "reopens Monday – with crème brûlée on the menu.",
                published: None,
            },
            Want {
                // Portuguese capitals before an ellipsis look like mojibake and are not.
                title: "ATÉ AMANHÃ…",
                body: "A Câmara votou o orçamento; a sessão continua amanhã às nove. Il a dit « à bientôt » en partant.",
                published: None,
            },
            Want {
                title: "Naïve résumé tips",
                body: "No guid and no link",
                published: Some("2024-10-07T10:00:00Z"),
            },
            Want {
                title: "Новости в городе",
                body: "Emoji too: 😀 and ✓",
                published: None,
            },
        ],
    );
}

#[test]
fn a_key_hashed_from_a_repaired_title_is_the_key_it_had() {
    let (_, stories) = read(
        "charset-mojibake-double-encoded-utf8.xml",
        "https://example.test/feed",
    );
    let story = &stories[2];
    assert_eq!(story.title, "Naïve résumé tips");
    // What the title read as before repair, and so what keyed the story until now.
    let as_read = "Na\u{c3}\u{af}ve r\u{c3}\u{a9}sum\u{c3}\u{a9} tips";
    assert_eq!(
        story.key,
        stable_key(None, None, as_read, at("2024-10-07T10:00:00Z"))
    );
    assert_ne!(
        story.key,
        stable_key(None, None, &story.title, story.published)
    );
    // Keys from guids are never touched by repair either.
    assert_eq!(stories[0].key, "m-1");
}
