//! Feed dates: wirefeed's own reader for the date strings RSS, Atom and JSON Feed documents carry.
//!
//! Owns the accepted date grammars (RFC 822/1123/2822 and their sloppy variants, RFC 850, asctime,
//! ISO 8601 / RFC 3339 / W3C-DTF with its basic, ordinal and week forms, Greek month and day names,
//! Korean dates) and the table of zone abbreviations it trusts. It turns a string into an instant
//! in UTC or into `None`. It never reads the clock, never falls back to "now" and never guesses:
//! an unknown zone, an impossible date or an ambiguous form (`01/02/2024`, `2013-01-27-01`) is
//! `None`.

use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

mod localized;

/// Longest input considered; real feed dates, comment included, are far shorter.
const MAX_INPUT_LEN: usize = 256;

/// Years accepted, as written in the input.
const YEARS: RangeInclusive<i32> = 1900..=2200;

/// Zone abbreviations read with certainty, as minutes east of UTC. Anything else is `None`: many
/// abbreviations are ambiguous, and RFC 822's one-letter military zones were commonly sign-flipped.
const ZONES: &[(&str, i32)] = &[
    ("Z", 0),
    ("UT", 0),
    ("UTC", 0),
    ("GMT", 0),
    ("EST", -5 * 60),
    ("EDT", -4 * 60),
    ("CST", -6 * 60),
    ("CDT", -5 * 60),
    ("MST", -7 * 60),
    ("MDT", -6 * 60),
    ("PST", -8 * 60),
    ("PDT", -7 * 60),
    ("AKST", -9 * 60),
    ("AKDT", -8 * 60),
    ("HST", -10 * 60),
    // Season-less US forms, read as standard time.
    ("ET", -5 * 60),
    ("CT", -6 * 60),
    ("MT", -7 * 60),
    ("PT", -8 * 60),
    // The Atlantic zone as the season-less US forms are read (Canada's Maritimes, Puerto Rico).
    // Not "AST": Arabia Standard Time (+3) is as common, so that one stays unread.
    ("AT", -4 * 60),
    ("ADT", -3 * 60),
    ("WET", 0),
    ("WEST", 60),
    ("BST", 60),
    ("CET", 60),
    ("CEST", 2 * 60),
    // Middle European Time, CET's older name, and its German spelling.
    ("MET", 60),
    ("MEST", 2 * 60),
    ("MEZ", 60),
    ("MESZ", 2 * 60),
    ("EET", 2 * 60),
    ("EEST", 3 * 60),
    ("MSK", 3 * 60),
    ("IST", 5 * 60 + 30),
    ("JST", 9 * 60),
    ("KST", 9 * 60),
    ("AEST", 10 * 60),
    ("AEDT", 11 * 60),
    ("NZST", 12 * 60),
    ("NZDT", 13 * 60),
];

/// Zones that may carry an attached offset: `GMT+2`, `UTC-05:00`.
const OFFSET_BASES: &[&str] = &["UT", "UTC", "GMT"];

const MONTHS: &[(&str, u32)] = &[
    ("jan", 1),
    ("january", 1),
    ("feb", 2),
    ("february", 2),
    ("mar", 3),
    ("march", 3),
    ("apr", 4),
    ("april", 4),
    ("may", 5),
    ("jun", 6),
    ("june", 6),
    ("jul", 7),
    ("july", 7),
    ("aug", 8),
    ("august", 8),
    ("sep", 9),
    ("sept", 9),
    ("september", 9),
    ("oct", 10),
    ("october", 10),
    ("nov", 11),
    ("november", 11),
    ("dec", 12),
    ("december", 12),
];

const WEEKDAYS: &[&str] = &[
    "mon",
    "monday",
    "tue",
    "tues",
    "tuesday",
    "wed",
    "weds",
    "wednesday",
    "thu",
    "thur",
    "thurs",
    "thursday",
    "fri",
    "friday",
    "sat",
    "saturday",
    "sun",
    "sunday",
];

/// Korea has one zone and no daylight saving: a Korean date with no zone written is in it.
const KOREA_SECS: i32 = 9 * 3600;

/// Parses a feed date; `None` when it cannot be read with certainty (never "now", never a guess).
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() || s.len() > MAX_INPUT_LEN {
        return None;
    }
    // Dates in Korean or with Greek names are rewritten into the grammars below; other non-ASCII
    // is only allowed inside a trailing comment.
    let (rewritten, default_offset) = if s.is_ascii() {
        (None, 0)
    } else if let Some(k) = localized::korean(s) {
        (Some(k), KOREA_SECS)
    } else {
        (localized::greek(s), 0)
    };
    let s = strip_comment(rewritten.as_deref().unwrap_or(s))?;
    let mut c = Cursor {
        toks: tokenize(s)?,
        pos: 0,
        default_offset,
    };
    if starts_iso(&c) {
        parse_iso(&mut c)
    } else {
        parse_rfc(&mut c)
    }
}

/// A 4-, 7- or 8-digit lead is an ISO year, basic ordinal date or basic date; RFC 822 days have 1
/// or 2 digits.
fn starts_iso(c: &Cursor<'_>) -> bool {
    c.peek()
        .is_some_and(|t| t.kind == Kind::Num && matches!(t.text.len(), 4 | 7 | 8))
}

/// Drops a trailing RFC 822 comment, `... -0500 (EST)`, whose content is never trusted.
fn strip_comment(s: &str) -> Option<&str> {
    match s.find('(') {
        None if s.contains(')') => None,
        None => Some(s),
        Some(i) if s.ends_with(')') => s.get(..i).map(str::trim_end).filter(|h| !h.is_empty()),
        Some(_) => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Num,
    Word,
    Punct,
}

#[derive(Debug, Clone, Copy)]
struct Tok<'a> {
    kind: Kind,
    text: &'a str,
    /// Whitespace came before this token.
    spaced: bool,
}

impl Tok<'_> {
    fn is(&self, c: char) -> bool {
        self.kind == Kind::Punct && self.text.len() == 1 && self.text.starts_with(c)
    }
}

/// Splits into digit runs, letter runs and single punctuation marks. Any other character (all
/// non-ASCII included) makes the input unreadable, so every slice taken is on an ASCII boundary.
fn tokenize(s: &str) -> Option<Vec<Tok<'_>>> {
    let bytes = s.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut spaced = false;
    while let Some(&b) = bytes.get(i) {
        let start = i;
        i += 1;
        let kind = if b.is_ascii_whitespace() {
            spaced = true;
            continue;
        } else if b.is_ascii_digit() {
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            Kind::Num
        } else if b.is_ascii_alphabetic() {
            while bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
                i += 1;
            }
            Kind::Word
        } else if b",:.+-/".contains(&b) {
            Kind::Punct
        } else {
            return None;
        };
        toks.push(Tok {
            kind,
            text: s.get(start..i)?,
            spaced,
        });
        spaced = false;
    }
    Some(toks)
}

struct Cursor<'a> {
    toks: Vec<Tok<'a>>,
    pos: usize,
    /// Seconds east of UTC when no zone is written (0, except for Korean dates).
    default_offset: i32,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<Tok<'a>> {
        self.toks.get(self.pos).copied()
    }

    fn peek2(&self) -> Option<Tok<'a>> {
        self.toks.get(self.pos.checked_add(1)?).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn bump(&mut self) -> Option<Tok<'a>> {
        let t = self.peek()?;
        self.pos += 1;
        Some(t)
    }

    /// Consumes the punctuation mark `c` if it comes next; `tight` forbids space before it.
    fn eat(&mut self, c: char, tight: bool) -> bool {
        let hit = self.peek().is_some_and(|t| t.is(c) && !(tight && t.spaced));
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// Consumes a number written with a digit count in `digits`; `tight` forbids space before it.
    fn num(&mut self, digits: RangeInclusive<usize>, tight: bool) -> Option<u32> {
        let t = self.peek()?;
        if t.kind != Kind::Num || (tight && t.spaced) {
            return None;
        }
        let n = number(t.text, digits)?;
        self.pos += 1;
        Some(n)
    }

    /// Whether `h:mm` starts here.
    fn at_clock(&self) -> bool {
        self.peek().is_some_and(|t| t.kind == Kind::Num)
            && self.peek2().is_some_and(|t| t.is(':') && !t.spaced)
    }
}

/// A digit run of an accepted length (at most 9 digits, so it always fits).
fn number(digits: &str, len: RangeInclusive<usize>) -> Option<u32> {
    if !len.contains(&digits.len())
        || digits.len() > 9
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    digits.parse().ok()
}

/// Wall-clock time as written; validated when the instant is built.
#[derive(Debug, Clone, Copy)]
struct Clock {
    h: u32,
    m: u32,
    s: u32,
    nano: u32,
}

/// `h:mm[:ss[.frac]]`, hour of `hour_digits` digits.
fn clock_extended(c: &mut Cursor<'_>, hour_digits: RangeInclusive<usize>) -> Option<Clock> {
    let h = c.num(hour_digits, false)?;
    if !c.eat(':', true) {
        return None;
    }
    let m = c.num(2..=2, true)?;
    let mut clock = Clock {
        h,
        m,
        s: 0,
        nano: 0,
    };
    if c.eat(':', true) {
        clock.s = c.num(2..=2, true)?;
        clock.nano = fraction(c);
    }
    Some(clock)
}

/// ISO basic `hhmm` or `hhmmss[.frac]`.
fn clock_basic(c: &mut Cursor<'_>) -> Option<Clock> {
    let t = c.bump()?;
    let field = |r: std::ops::Range<usize>| number(t.text.get(r)?, 2..=2);
    let (h, m) = (field(0..2)?, field(2..4)?);
    match t.text.len() {
        4 => Some(Clock {
            h,
            m,
            s: 0,
            nano: 0,
        }),
        6 => Some(Clock {
            h,
            m,
            s: field(4..6)?,
            nano: fraction(c),
        }),
        _ => None,
    }
}

/// Optional `.digits` (or ISO's `,digits`) after the seconds, as nanoseconds; digits past the
/// ninth are dropped.
fn fraction(c: &mut Cursor<'_>) -> u32 {
    let mark = c
        .peek()
        .is_some_and(|t| (t.is('.') || t.is(',')) && !t.spaced);
    let digits = match c.peek2() {
        Some(t) if mark && t.kind == Kind::Num && !t.spaced => t.text,
        _ => return 0,
    };
    c.pos += 2;
    let mut nano = 0;
    let mut places = 0;
    for b in digits.bytes().take(9) {
        nano = nano * 10 + u32::from(b - b'0');
        places += 1;
    }
    for _ in places..9 {
        nano *= 10;
    }
    nano
}

/// The zone after a time or date: a numeric offset, a name, or both when they agree (`+0000 UTC`).
/// `Some(None)` when none is written; `None` when what is written is not a zone read with certainty.
/// Stops before anything that cannot start a zone.
fn zone(c: &mut Cursor<'_>) -> Option<Option<i32>> {
    let mut numeric = None;
    let mut named = None;
    loop {
        match c.peek() {
            Some(t) if t.is('+') || t.is('-') => {
                if numeric.is_some() {
                    return None;
                }
                c.pos += 1;
                numeric = Some(offset(c, t.is('-'), false)?);
            }
            Some(t) if t.kind == Kind::Word => {
                if named.is_some() {
                    return None;
                }
                c.pos += 1;
                let tz_database = t.text.eq_ignore_ascii_case("etc")
                    && c.peek().is_some_and(|s| s.is('/') && !s.spaced);
                named = Some(if tz_database {
                    c.pos += 1;
                    etc_zone(c)?
                } else {
                    named_zone(c, t.text)?
                });
            }
            _ => break,
        }
    }
    match (numeric, named) {
        (Some(a), Some(b)) if a != b => None,
        (a, b) => Some(a.or(b)),
    }
}

/// A zone abbreviation, with the offset `GMT+2` / `UTC-05:00` attach to it.
fn named_zone(c: &mut Cursor<'_>, name: &str) -> Option<i32> {
    let &(_, minutes) = ZONES.iter().find(|(z, _)| z.eq_ignore_ascii_case(name))?;
    let base = minutes * 60;
    let attached = c.peek().filter(|t| (t.is('+') || t.is('-')) && !t.spaced);
    match attached {
        Some(t) if OFFSET_BASES.iter().any(|b| b.eq_ignore_ascii_case(name)) => {
            c.pos += 1;
            offset(c, t.is('-'), true)
        }
        _ => Some(base),
    }
}

/// The tz database's fixed zones after `Etc/`: `Etc/GMT`, `Etc/UTC`, `Etc/GMT0` and
/// `Etc/GMT+5`, whose POSIX sign is inverted (`Etc/GMT+5` is five hours *behind* UTC).
fn etc_zone(c: &mut Cursor<'_>) -> Option<i32> {
    let name = c.bump()?;
    if name.kind != Kind::Word || name.spaced {
        return None;
    }
    const UTC_NAMES: &[&str] = &["UTC", "UCT", "Universal", "Zulu", "Greenwich"];
    if UTC_NAMES.iter().any(|n| n.eq_ignore_ascii_case(name.text)) {
        return Some(0);
    }
    if !name.text.eq_ignore_ascii_case("GMT") {
        return None;
    }
    let (negative, tight) = match c.peek() {
        Some(t) if (t.is('+') || t.is('-')) && !t.spaced => (t.is('-'), true),
        // `Etc/GMT0`.
        Some(t) if t.kind == Kind::Num && !t.spaced => (false, false),
        _ => return Some(0),
    };
    if tight {
        c.pos += 1;
    }
    let hours = c.num(1..=2, true)?;
    // Etc/GMT-14 to Etc/GMT+12; hours only, never minutes.
    let max = if negative { 14 } else { 12 };
    if hours > max || c.peek().is_some_and(|t| t.is(':') && !t.spaced) || (!tight && hours != 0) {
        return None;
    }
    let secs = i32::try_from(hours * 3600).ok()?;
    Some(if negative { secs } else { -secs })
}

/// Numeric offset after its sign, in seconds east: `hhmm`, `hh`, `hh:mm`; `loose` also allows a
/// one-digit hour (`GMT+2`).
fn offset(c: &mut Cursor<'_>, negative: bool, loose: bool) -> Option<i32> {
    let t = c.bump()?;
    if t.kind != Kind::Num || t.spaced {
        return None;
    }
    let (h, m) = match t.text.len() {
        4 => (
            number(t.text.get(0..2)?, 2..=2)?,
            number(t.text.get(2..4)?, 2..=2)?,
        ),
        1 | 2 if loose || t.text.len() == 2 => {
            let h = number(t.text, 1..=2)?;
            let m = if c.peek().is_some_and(|t| t.is(':') && !t.spaced) {
                c.pos += 1;
                c.num(2..=2, true)?
            } else {
                0
            };
            (h, m)
        }
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    let secs = i32::try_from(h * 3600 + m * 60).ok()?;
    Some(if negative { -secs } else { secs })
}

/// Builds the instant; `None` for impossible fields or a year outside [`YEARS`].
fn finish(date: NaiveDate, clock: Option<Clock>, offset_secs: i32) -> Option<DateTime<Utc>> {
    if !YEARS.contains(&date.year()) {
        return None;
    }
    let clock = clock.unwrap_or(Clock {
        h: 0,
        m: 0,
        s: 0,
        nano: 0,
    });
    let leap = clock.s == 60;
    let (date, time) = if clock.h == 24 {
        // ISO 8601's end of day is the next day's midnight.
        if clock.m != 0 || clock.s != 0 || clock.nano != 0 {
            return None;
        }
        (date.succ_opt()?, NaiveTime::MIN)
    } else if leap {
        let nano = clock.nano.checked_add(1_000_000_000)?;
        (
            date,
            NaiveTime::from_hms_nano_opt(clock.h, clock.m, 59, nano)?,
        )
    } else {
        (
            date,
            NaiveTime::from_hms_nano_opt(clock.h, clock.m, clock.s, clock.nano)?,
        )
    };
    let offset = FixedOffset::east_opt(offset_secs)?;
    let utc = NaiveDateTime::new(date, time).checked_sub_offset(offset)?;
    // Leap seconds only ever end a UTC day.
    if leap && (utc.hour(), utc.minute()) != (23, 59) {
        return None;
    }
    Some(utc.and_utc())
}

/// ISO 8601 / RFC 3339 / W3C-DTF: `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYY-DDD`, `YYYY-Www[-D]`,
/// and the basic `YYYYMMDD`, `YYYYDDD`, `YYYYWww[D]`, also `YYYY/MM/DD` and Google's
/// `YYYY-0MM-DD`; then optionally `T` or space, a time (`hh:mm[:ss]`, `hhmm[ss]`, `hh`), and a
/// zone. No zone means UTC. A date without a time takes only a zone that cannot be read as one
/// more date field: `2024-01-11+01:00` is a date in that zone, `2013-01-27-01` is nothing.
fn parse_iso(c: &mut Cursor<'_>) -> Option<DateTime<Utc>> {
    let first = c.bump()?;
    let basic = first.text.len() != 4;
    let date = match first.text.len() {
        8 => {
            let field = |r: std::ops::Range<usize>| number(first.text.get(r)?, 1..=4);
            NaiveDate::from_ymd_opt(
                i32::try_from(field(0..4)?).ok()?,
                field(4..6)?,
                field(6..8)?,
            )?
        }
        7 => NaiveDate::from_yo_opt(
            i32::try_from(number(first.text.get(0..4)?, 4..=4)?).ok()?,
            number(first.text.get(4..7)?, 3..=3)?,
        )?,
        _ => {
            let year = i32::try_from(number(first.text, 4..=4)?).ok()?;
            if c.at_end() {
                let jan1 = NaiveDate::from_ymd_opt(year, 1, 1)?;
                return finish(jan1, None, c.default_offset);
            }
            if at_week(c) {
                week_date(c, year, false)?
            } else {
                let sep = if c.eat('-', true) {
                    '-'
                } else if c.eat('/', true) {
                    '/'
                } else {
                    return None;
                };
                if sep == '-' && at_week(c) {
                    week_date(c, year, true)?
                } else {
                    calendar_or_ordinal(c, year, sep)?
                }
            }
        }
    };
    let clock = match c.peek() {
        Some(t) if t.kind == Kind::Word && t.text.eq_ignore_ascii_case("t") && !t.spaced => {
            c.pos += 1;
            let n = c.peek()?;
            if n.kind != Kind::Num || n.spaced {
                return None;
            }
            Some(match n.text.len() {
                2 if c.peek2().is_some_and(|t| t.is(':') && !t.spaced) => clock_extended(c, 2..=2)?,
                // `T23`: the hour alone.
                2 => {
                    c.pos += 1;
                    Clock {
                        h: number(n.text, 2..=2)?,
                        m: 0,
                        s: 0,
                        nano: 0,
                    }
                }
                _ => clock_basic(c)?,
            })
        }
        Some(t) if t.kind == Kind::Num && t.spaced && c.at_clock() => {
            Some(clock_extended(c, 2..=2)?)
        }
        // `20040105 234500`: a basic time after a basic date.
        Some(t) if t.kind == Kind::Num && t.spaced && basic => Some(clock_basic(c)?),
        _ => None,
    };
    if clock.is_none() && !date_zone_is_clear(c) {
        return None;
    }
    let offset = zone(c)?;
    if !c.at_end() {
        return None;
    }
    finish(date, clock, offset.unwrap_or(c.default_offset))
}

/// `YYYY-MM[-DD]`, `YYYY/MM/DD`, `YYYY-DDD` or `YYYY-0MM-DD` after the year and its separator.
fn calendar_or_ordinal(c: &mut Cursor<'_>, year: i32, sep: char) -> Option<NaiveDate> {
    let t = c.peek()?;
    if t.kind != Kind::Num || t.spaced {
        return None;
    }
    // A zero-padded three-digit month followed by a day: a known exporter's `2003-012-31`.
    let padded_month = t.text.len() == 3
        && t.text.starts_with('0')
        && c.peek2().is_some_and(|n| n.is(sep) && !n.spaced)
        && c.toks
            .get(c.pos + 2)
            .is_some_and(|d| d.kind == Kind::Num && d.text.len() == 2 && !d.spaced);
    match t.text.len() {
        3 if sep == '-' && !padded_month => {
            c.pos += 1;
            NaiveDate::from_yo_opt(year, number(t.text, 3..=3)?)
        }
        2 | 3 => {
            c.pos += 1;
            let month = number(t.text, 2..=3)?;
            if c.at_end() && sep == '-' && t.text.len() == 2 {
                return NaiveDate::from_ymd_opt(year, month, 1);
            }
            if !c.eat(sep, true) {
                return None;
            }
            NaiveDate::from_ymd_opt(year, month, c.num(2..=2, true)?)
        }
        _ => None,
    }
}

/// Whether an ISO week (`W`) comes next, tight.
fn at_week(c: &Cursor<'_>) -> bool {
    c.peek()
        .is_some_and(|t| t.kind == Kind::Word && t.text.eq_ignore_ascii_case("w") && !t.spaced)
}

/// An ISO week date after the year: `Www[D]` (basic) or `Www[-D]` (extended); no day is Monday.
fn week_date(c: &mut Cursor<'_>, year: i32, extended: bool) -> Option<NaiveDate> {
    c.pos += 1;
    let t = c.bump()?;
    if t.kind != Kind::Num || t.spaced {
        return None;
    }
    let (week, day) = match (t.text.len(), extended) {
        (2, true) => {
            let week = number(t.text, 2..=2)?;
            let day = if c.eat('-', true) {
                c.num(1..=1, true)?
            } else {
                1
            };
            (week, day)
        }
        (2, false) => (number(t.text, 2..=2)?, 1),
        (3, false) => (
            number(t.text.get(0..2)?, 2..=2)?,
            number(t.text.get(2..3)?, 1..=1)?,
        ),
        _ => return None,
    };
    let weekday = match day {
        1 => chrono::Weekday::Mon,
        2 => chrono::Weekday::Tue,
        3 => chrono::Weekday::Wed,
        4 => chrono::Weekday::Thu,
        5 => chrono::Weekday::Fri,
        6 => chrono::Weekday::Sat,
        7 => chrono::Weekday::Sun,
        _ => return None,
    };
    NaiveDate::from_isoywd_opt(year, week, weekday)
}

/// After a date with no time: nothing, a zone name, or an offset with its colon (`+01:00`). A
/// bare `-01` or `-0100` could as well be one more date field, so it is not read.
fn date_zone_is_clear(c: &Cursor<'_>) -> bool {
    match c.peek() {
        Some(t) if t.is('+') || t.is('-') => {
            let hours = c.peek2();
            let colon = c.toks.get(c.pos + 2);
            hours.is_some_and(|h| h.kind == Kind::Num && h.text.len() == 2 && !h.spaced)
                && colon.is_some_and(|t| t.is(':') && !t.spaced)
        }
        _ => true,
    }
}

/// RFC 822 family: `[weekday[,]] d month[,] yy[yy] [time] [zone]` (also RFC 850's `d-mon-yy`),
/// `[weekday] month d[,] yyyy [time] [zone]` and asctime's `[weekday] month d time [zone] yyyy`.
/// The weekday is ignored even when it contradicts the date; no zone means UTC.
fn parse_rfc(c: &mut Cursor<'_>) -> Option<DateTime<Utc>> {
    let weekday = c.peek().is_some_and(|t| {
        t.kind == Kind::Word && WEEKDAYS.iter().any(|w| w.eq_ignore_ascii_case(t.text))
    });
    if weekday {
        c.pos += 1;
        c.eat(',', true);
        // `Fri, 2006/09/15 08:19:53 EDT`.
        if starts_iso(c) {
            return parse_iso(c);
        }
    }
    match c.peek()?.kind {
        Kind::Num => day_first(c),
        Kind::Word => month_first(c),
        Kind::Punct => None,
    }
}

fn month_of(t: Tok<'_>) -> Option<u32> {
    if t.kind != Kind::Word {
        return None;
    }
    MONTHS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(t.text))
        .map(|&(_, m)| m)
}

/// Two-digit years follow RFC 2822: 00-49 are 2000-2049, 50-99 are 1950-1999.
fn year_of(t: Tok<'_>) -> Option<i32> {
    if t.kind != Kind::Num {
        return None;
    }
    let n = i32::try_from(number(t.text, 2..=4)?).ok()?;
    match t.text.len() {
        2 if n < 50 => Some(2000 + n),
        2 => Some(1900 + n),
        4 => Some(n),
        _ => None,
    }
}

fn day_first(c: &mut Cursor<'_>) -> Option<DateTime<Utc>> {
    let day = c.num(1..=2, false)?;
    let dashed = c.eat('-', true);
    let month_tok = c.bump()?;
    if dashed && (month_tok.spaced || !c.eat('-', true)) {
        return None;
    }
    let month = month_of(month_tok)?;
    // `13 Feb, 2012`.
    if !dashed {
        c.eat(',', true);
    }
    let year_tok = c.bump()?;
    if dashed && year_tok.spaced {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year_of(year_tok)?, month, day)?;
    c.eat(',', true);
    let clock = if c.at_clock() {
        Some(clock_extended(c, 1..=2)?)
    } else {
        None
    };
    let offset = zone(c)?;
    if !c.at_end() {
        return None;
    }
    finish(date, clock, offset.unwrap_or(c.default_offset))
}

fn month_first(c: &mut Cursor<'_>) -> Option<DateTime<Utc>> {
    let month = month_of(c.bump()?)?;
    let day = c.num(1..=2, false)?;
    c.eat(',', true);
    if c.at_clock() {
        // asctime and date(1): `Jan 11 15:04:05 [zone] 2024 [zone]`.
        let clock = clock_extended(c, 1..=2)?;
        let before = zone(c)?;
        let year = i32::try_from(c.num(4..=4, false)?).ok()?;
        let after = zone(c)?;
        if !c.at_end() || (before.is_some() && after.is_some()) {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(year, month, day)?;
        let offset = before.or(after).unwrap_or(c.default_offset);
        return finish(date, Some(clock), offset);
    }
    let year = i32::try_from(c.num(4..=4, false)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    c.eat(',', true);
    let clock = if c.at_clock() {
        Some(clock_extended(c, 1..=2)?)
    } else {
        None
    };
    let offset = zone(c)?;
    if !c.at_end() {
        return None;
    }
    finish(date, clock, offset.unwrap_or(c.default_offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&str>) {
        let want = expected.map(|e| {
            DateTime::parse_from_rfc3339(e)
                .expect("expectation is RFC 3339")
                .with_timezone(&Utc)
        });
        assert_eq!(parse_date(input), want, "input {input:?}");
    }

    fn check_all(cases: &[(&str, Option<&str>)]) {
        for &(input, expected) in cases {
            check(input, expected);
        }
    }

    #[test]
    fn rfc822_family() {
        check_all(&[
            (
                "Thu, 11 Jan 2024 15:04:05 +0000",
                Some("2024-01-11T15:04:05Z"),
            ),
            (
                "Thu, 11 Jan 2024 15:04:05 GMT",
                Some("2024-01-11T15:04:05Z"),
            ),
            ("11 Jan 2024 15:04:05 +0000", Some("2024-01-11T15:04:05Z")),
            ("Thu 11 Jan 2024 15:04:05 GMT", Some("2024-01-11T15:04:05Z")),
            // Wrong weekday: ignored.
            (
                "Mon, 11 Jan 2024 15:04:05 GMT",
                Some("2024-01-11T15:04:05Z"),
            ),
            (
                "Sunday, 11 Jan 2024 15:04:05 GMT",
                Some("2024-01-11T15:04:05Z"),
            ),
            ("Thu, 1 Feb 2024 15:04:05 GMT", Some("2024-02-01T15:04:05Z")),
            (
                "Thu, 01 Feb 2024 15:04:05 GMT",
                Some("2024-02-01T15:04:05Z"),
            ),
            (
                "Thu, 11 JAN 2024 15:04:05 GMT",
                Some("2024-01-11T15:04:05Z"),
            ),
            (
                "Thu, 11 jan 2024 15:04:05 GMT",
                Some("2024-01-11T15:04:05Z"),
            ),
            (
                "Thu, 11 January 2024 15:04:05 GMT",
                Some("2024-01-11T15:04:05Z"),
            ),
            (
                "Tue, 3 Sept 2024 15:04:05 GMT",
                Some("2024-09-03T15:04:05Z"),
            ),
            (
                "Tue, 3 SEPTEMBER 2024 15:04:05 GMT",
                Some("2024-09-03T15:04:05Z"),
            ),
            ("Thu, 11 Jan 24 15:04:05 GMT", Some("2024-01-11T15:04:05Z")),
            ("Thu, 11 Jan 49 15:04:05 GMT", Some("2049-01-11T15:04:05Z")),
            ("Wed, 11 Jan 50 15:04:05 GMT", Some("1950-01-11T15:04:05Z")),
            ("Mon, 11 Jan 99 15:04:05 GMT", Some("1999-01-11T15:04:05Z")),
            ("Thu, 11 Jan 2024 15:04 GMT", Some("2024-01-11T15:04:00Z")),
            ("Thu, 11 Jan 2024 5:04:05 GMT", Some("2024-01-11T05:04:05Z")),
            (
                "Thu, 11 Jan 2024 15:04:05.123 GMT",
                Some("2024-01-11T15:04:05.123Z"),
            ),
            ("Thu, 11 Jan 2024 15:04:05", Some("2024-01-11T15:04:05Z")),
            ("Thu, 11 Jan 2024", Some("2024-01-11T00:00:00Z")),
            (
                "Thu,  11  Jan   2024  15:04:05   GMT",
                Some("2024-01-11T15:04:05Z"),
            ),
            ("Thu,11 Jan 2024 15:04:05 GMT", Some("2024-01-11T15:04:05Z")),
            (
                "  Thu, 11 Jan 2024 15:04:05 GMT\n",
                Some("2024-01-11T15:04:05Z"),
            ),
            (
                "Thu, 11 Jan 2024 15:04:05 -0500 (EST)",
                Some("2024-01-11T20:04:05Z"),
            ),
            (
                "Thu, 11 Jan 2024 15:04:05 +0000 (Coordinated Universal Time — é)",
                Some("2024-01-11T15:04:05Z"),
            ),
            (
                "Thursday, 11-Jan-24 15:04:05 GMT",
                Some("2024-01-11T15:04:05Z"),
            ),
            ("Thu Jan 11 15:04:05 2024", Some("2024-01-11T15:04:05Z")),
            ("Thu Jan 11 15:04:05 UTC 2024", Some("2024-01-11T15:04:05Z")),
            ("Thu Jan  1 15:04:05 EST 2024", Some("2024-01-01T20:04:05Z")),
            ("Jan 11, 2024 15:04:05 GMT", Some("2024-01-11T15:04:05Z")),
            (
                "Thursday, January 11, 2024 3:04 PST",
                Some("2024-01-11T11:04:00Z"),
            ),
            (
                "Thu, 29 Feb 2024 23:59:59 +0000",
                Some("2024-02-29T23:59:59Z"),
            ),
            (
                "Sat, 31 Dec 2016 23:59:60 +0000",
                Some("2016-12-31T23:59:60Z"),
            ),
            (
                "Sun, 01 Jan 2017 00:59:60 +0100",
                Some("2016-12-31T23:59:60Z"),
            ),
        ]);
    }

    #[test]
    fn zones() {
        check_all(&[
            ("11 Jan 2024 15:04:05 +0100", Some("2024-01-11T14:04:05Z")),
            ("11 Jan 2024 15:04:05 +01:00", Some("2024-01-11T14:04:05Z")),
            ("11 Jan 2024 15:04:05 +01", Some("2024-01-11T14:04:05Z")),
            ("11 Jan 2024 15:04:05 -0500", Some("2024-01-11T20:04:05Z")),
            ("11 Jan 2024 15:04:05 -0000", Some("2024-01-11T15:04:05Z")),
            ("11 Jan 2024 15:04:05 +0530", Some("2024-01-11T09:34:05Z")),
            ("11 Jan 2024 15:04:05 Z", Some("2024-01-11T15:04:05Z")),
            ("11 Jan 2024 15:04:05 UT", Some("2024-01-11T15:04:05Z")),
            ("11 Jan 2024 15:04:05 UTC", Some("2024-01-11T15:04:05Z")),
            ("11 Jan 2024 15:04:05 gmt", Some("2024-01-11T15:04:05Z")),
            ("11 Jan 2024 15:04:05 EST", Some("2024-01-11T20:04:05Z")),
            ("11 Jul 2024 15:04:05 EDT", Some("2024-07-11T19:04:05Z")),
            ("11 Jan 2024 15:04:05 CST", Some("2024-01-11T21:04:05Z")),
            ("11 Jul 2024 15:04:05 CDT", Some("2024-07-11T20:04:05Z")),
            ("11 Jan 2024 15:04:05 MST", Some("2024-01-11T22:04:05Z")),
            ("11 Jul 2024 15:04:05 MDT", Some("2024-07-11T21:04:05Z")),
            ("11 Jan 2024 15:04:05 PST", Some("2024-01-11T23:04:05Z")),
            ("11 Jul 2024 15:04:05 PDT", Some("2024-07-11T22:04:05Z")),
            ("11 Jan 2024 15:04:05 AKST", Some("2024-01-12T00:04:05Z")),
            ("11 Jul 2024 15:04:05 AKDT", Some("2024-07-11T23:04:05Z")),
            ("11 Jan 2024 15:04:05 HST", Some("2024-01-12T01:04:05Z")),
            ("11 Jan 2024 15:04:05 ET", Some("2024-01-11T20:04:05Z")),
            ("11 Jul 2024 15:04:05 CT", Some("2024-07-11T21:04:05Z")),
            ("11 Jul 2024 15:04:05 MT", Some("2024-07-11T22:04:05Z")),
            ("11 Jul 2024 15:04:05 PT", Some("2024-07-11T23:04:05Z")),
            ("11 Jan 2024 15:04:05 CET", Some("2024-01-11T14:04:05Z")),
            ("11 Jul 2024 15:04:05 CEST", Some("2024-07-11T13:04:05Z")),
            ("11 Jan 2024 15:04:05 EET", Some("2024-01-11T13:04:05Z")),
            ("11 Jul 2024 15:04:05 EEST", Some("2024-07-11T12:04:05Z")),
            ("11 Jan 2024 15:04:05 WET", Some("2024-01-11T15:04:05Z")),
            ("11 Jul 2024 15:04:05 WEST", Some("2024-07-11T14:04:05Z")),
            ("11 Jul 2024 15:04:05 BST", Some("2024-07-11T14:04:05Z")),
            ("11 Jan 2024 15:04:05 MSK", Some("2024-01-11T12:04:05Z")),
            ("11 Jan 2024 15:04:05 IST", Some("2024-01-11T09:34:05Z")),
            ("11 Jan 2024 15:04:05 JST", Some("2024-01-11T06:04:05Z")),
            ("11 Jul 2024 15:04:05 AEST", Some("2024-07-11T05:04:05Z")),
            ("11 Jan 2024 15:04:05 AEDT", Some("2024-01-11T04:04:05Z")),
            ("11 Jul 2024 15:04:05 NZST", Some("2024-07-11T03:04:05Z")),
            ("11 Jan 2024 15:04:05 NZDT", Some("2024-01-11T02:04:05Z")),
            ("11 Jan 2024 15:04:05 GMT+2", Some("2024-01-11T13:04:05Z")),
            (
                "11 Jan 2024 15:04:05 GMT+0200",
                Some("2024-01-11T13:04:05Z"),
            ),
            (
                "11 Jan 2024 15:04:05 UTC-05:00",
                Some("2024-01-11T20:04:05Z"),
            ),
            ("11 Jan 2024 15:04:05 UTC-5", Some("2024-01-11T20:04:05Z")),
            (
                "11 Jan 2024 15:04:05 +0000 GMT",
                Some("2024-01-11T15:04:05Z"),
            ),
            (
                "11 Jan 2024 15:04:05 -0500 EST",
                Some("2024-01-11T20:04:05Z"),
            ),
            ("11 Jan 2024 23:30:00 -0500", Some("2024-01-12T04:30:00Z")),
        ]);
    }

    #[test]
    fn iso8601_family() {
        check_all(&[
            ("2024-01-11T15:04:05Z", Some("2024-01-11T15:04:05Z")),
            ("2024-01-11t15:04:05z", Some("2024-01-11T15:04:05Z")),
            ("2024-01-11T15:04:05+01:00", Some("2024-01-11T14:04:05Z")),
            ("2024-01-11T15:04:05-05:00", Some("2024-01-11T20:04:05Z")),
            ("2024-01-11T15:04:05+0100", Some("2024-01-11T14:04:05Z")),
            ("2024-01-11T15:04:05+01", Some("2024-01-11T14:04:05Z")),
            ("2024-01-11T15:04:05-00:00", Some("2024-01-11T15:04:05Z")),
            ("2024-01-11T15:04:05.5Z", Some("2024-01-11T15:04:05.5Z")),
            (
                "2024-01-11T15:04:05.123456Z",
                Some("2024-01-11T15:04:05.123456Z"),
            ),
            (
                "2024-01-11T15:04:05.123456789Z",
                Some("2024-01-11T15:04:05.123456789Z"),
            ),
            (
                "2024-01-11T15:04:05.1234567891234Z",
                Some("2024-01-11T15:04:05.123456789Z"),
            ),
            ("2024-01-11T15:04:05,25Z", Some("2024-01-11T15:04:05.25Z")),
            ("2024-01-11 15:04:05Z", Some("2024-01-11T15:04:05Z")),
            ("2024-01-11 15:04:05", Some("2024-01-11T15:04:05Z")),
            ("2024-01-11T15:04:05", Some("2024-01-11T15:04:05Z")),
            (
                "2024-01-11  15:04:05 +0000 UTC",
                Some("2024-01-11T15:04:05Z"),
            ),
            (
                "2024-01-11 15:04:05.999 -0500 EST",
                Some("2024-01-11T20:04:05.999Z"),
            ),
            ("2024-01-11T15:04Z", Some("2024-01-11T15:04:00Z")),
            ("2024-01-11T15:04+05:30", Some("2024-01-11T09:34:00Z")),
            ("2024-01-11", Some("2024-01-11T00:00:00Z")),
            ("2024-01-11+01:00", Some("2024-01-10T23:00:00Z")),
            ("2024-01", Some("2024-01-01T00:00:00Z")),
            ("2024", Some("2024-01-01T00:00:00Z")),
            ("2024-011", Some("2024-01-11T00:00:00Z")),
            ("2024/01/11 15:04:05", Some("2024-01-11T15:04:05Z")),
            ("20240111T150405Z", Some("2024-01-11T15:04:05Z")),
            ("20240111T150405.5+0100", Some("2024-01-11T14:04:05.5Z")),
            ("20240111T1504Z", Some("2024-01-11T15:04:00Z")),
            ("20240111", Some("2024-01-11T00:00:00Z")),
            ("2024-01-11T24:00:00Z", Some("2024-01-12T00:00:00Z")),
            ("2016-12-31T23:59:60Z", Some("2016-12-31T23:59:60Z")),
            ("1900-01-01T00:00:00Z", Some("1900-01-01T00:00:00Z")),
            ("2200-12-31T23:59:59Z", Some("2200-12-31T23:59:59Z")),
        ]);
    }

    #[test]
    fn unreadable_is_none() {
        check_all(&[
            ("", None),
            ("   ", None),
            ("garbage", None),
            ("now", None),
            ("2024-02-30", None),
            ("2023-02-29T00:00:00Z", None),
            ("2024-13-01", None),
            ("2024-00-10", None),
            ("2024-01-11T25:00:00Z", None),
            ("2024-01-11T15:60:00Z", None),
            ("2024-01-11T15:04:61Z", None),
            ("2024-01-11T15:04:60Z", None),
            ("2024-01-11T24:00:01Z", None),
            ("Thu, 30 Feb 2024 15:04:05 GMT", None),
            ("Thu, 32 Jan 2024 15:04:05 GMT", None),
            ("Thu, 11 Foo 2024 15:04:05 GMT", None),
            ("Thu, 11 Jan 2024 25:04:05 GMT", None),
            ("Thu, 11 Jan 2024 15:60:05 GMT", None),
            ("Thu, 11 Jan 2024 15:04:05 XYZ", None),
            ("Thu, 11 Jan 2024 15:04:05 CHAST", None),
            ("Thu, 11 Jan 2024 15:04:05 A", None),
            ("Thu, 11 Jan 2024 15:04:05 +2500", None),
            ("Thu, 11 Jan 2024 15:04:05 +01:75", None),
            ("Thu, 11 Jan 2024 15:04:05 +0000 EST", None),
            ("Thu, 11 Jan 2024 15:04:05 GMT junk", None),
            ("Thu, 11 Jan 2024 15:04:05 GMT (unclosed", None),
            ("Thu, 11 Jan 124 15:04:05 GMT", None),
            ("1899-12-31T23:59:59Z", None),
            ("2201-01-01T00:00:00Z", None),
            ("9999-01-01", None),
            ("01/11/2024", None),
            ("2024-1-11", None),
            ("2024-01-11T", None),
            ("2024-01-11 T15:04:05Z", None),
            ("2024 - 01 - 11", None),
            ("1704985445", None),
            ("2024-01-11T15:04:05Zé", None),
            ("2024—01—11", None),
            ("中 11 Jan 2024", None),
            ("Thu, 11 Jan 2024 15:04:05 GMT+", None),
            ("(GMT)", None),
        ]);
    }

    #[test]
    fn zones_of_lenient_feeds() {
        check_all(&[
            (
                "Thu, 30 Apr 2015 08:57:00 MET",
                Some("2015-04-30T07:57:00Z"),
            ),
            (
                "Thu, 30 Apr 2015 08:57:00 MEST",
                Some("2015-04-30T06:57:00Z"),
            ),
            ("30 Apr 2015 08:57:00 MESZ", Some("2015-04-30T06:57:00Z")),
            ("30 Jan 2015 08:57:00 MEZ", Some("2015-01-30T07:57:00Z")),
            (
                "Mon, 26 January 2004 16:31:00 AT",
                Some("2004-01-26T20:31:00Z"),
            ),
            (
                "Mon, 26 Jul 2004 16:31:00 ADT",
                Some("2004-07-26T19:31:00Z"),
            ),
            ("11 Jan 2024 15:04:05 KST", Some("2024-01-11T06:04:05Z")),
            (
                "Wed, 19 Aug 2009 18:28:00 Etc/GMT",
                Some("2009-08-19T18:28:00Z"),
            ),
            (
                "Wed, 19 Aug 2009 18:28:00 Etc/UTC",
                Some("2009-08-19T18:28:00Z"),
            ),
            (
                "Wed, 19 Aug 2009 18:28:00 etc/gmt0",
                Some("2009-08-19T18:28:00Z"),
            ),
            // POSIX signs: Etc/GMT+5 is five hours behind UTC, Etc/GMT-3 three ahead.
            (
                "Wed, 19 Aug 2009 18:28:00 Etc/GMT+5",
                Some("2009-08-19T23:28:00Z"),
            ),
            (
                "Wed, 19 Aug 2009 18:28:00 Etc/GMT-3",
                Some("2009-08-19T15:28:00Z"),
            ),
            (
                "2009-08-19T18:28:00 Etc/GMT-14",
                Some("2009-08-19T04:28:00Z"),
            ),
            // Attached to GMT without `Etc/`, the sign means what it says.
            ("19 Aug 2009 18:28:00 GMT+5", Some("2009-08-19T13:28:00Z")),
            ("19 Aug 2009 18:28:00 Etc/GMT+13", None),
            ("19 Aug 2009 18:28:00 Etc/GMT-15", None),
            ("19 Aug 2009 18:28:00 Etc/GMT+05:00", None),
            ("19 Aug 2009 18:28:00 Etc/GMT5", None),
            ("19 Aug 2009 18:28:00 Etc/Berlin", None),
            ("19 Aug 2009 18:28:00 Etc / GMT", None),
            ("19 Aug 2009 18:28:00 Etc/", None),
            // Arabia or Atlantic: not read.
            ("19 Aug 2009 18:28:00 AST", None),
        ]);
    }

    #[test]
    fn lenient_day_month_year_forms() {
        check_all(&[
            (
                "Mon, 13 Feb, 2012 06:28:00 UTC",
                Some("2012-02-13T06:28:00Z"),
            ),
            ("13 Feb, 2012", Some("2012-02-13T00:00:00Z")),
            ("Fri, 2006/09/15 08:19:53 EDT", Some("2006-09-15T12:19:53Z")),
            (
                "Thu Aug 30 2012 17:26:16 GMT+0200 (CEST)",
                Some("2012-08-30T15:26:16Z"),
            ),
            ("Mon, 13 Feb,, 2012", None),
            ("13-Feb,-2012", None),
        ]);
    }

    #[test]
    fn greek_and_korean_dates() {
        check_all(&[
            (
                "Κυρ, 11 Ιούλ 2004 12:00:00 EST",
                Some("2004-07-11T17:00:00Z"),
            ),
            (
                "Τρίτη, 3 Σεπτεμβρίου 2024 10:00:00 +0300",
                Some("2024-09-03T07:00:00Z"),
            ),
            ("15 Μαΐου 2023", Some("2023-05-15T00:00:00Z")),
            // Korean dates without a zone are Korea's (UTC+9, no daylight saving).
            ("2004년 05월 28일  01:31:15", Some("2004-05-27T16:31:15Z")),
            ("2004-05-25 오후 11:23:17", Some("2004-05-25T14:23:17Z")),
            ("2024. 1. 11. 오전 9:05", Some("2024-01-11T00:05:00Z")),
            ("2024년 1월 11일", Some("2024-01-10T15:00:00Z")),
            (
                "2024년 1월 11일 (목) 오후 3:04 +0000",
                Some("2024-01-11T15:04:00Z"),
            ),
            (
                "2024년 1월 11일 오후 3:04 KST",
                Some("2024-01-11T06:04:00Z"),
            ),
            ("11 Ιούλ 2004 12:00 μ.μ.", None),
            ("Αθήνα, 11 Jul 2004", None),
            ("2004년 13월 28일", None),
            ("2004-05-25 오후 13:23:17", None),
            ("2004-05-25 오후", None),
            ("2004년 05월 28일 01:31:15 XYZ", None),
        ]);
    }

    #[test]
    fn compact_iso_forms() {
        check_all(&[
            ("20040105T234500Z", Some("2004-01-05T23:45:00Z")),
            ("20040105T2345Z", Some("2004-01-05T23:45:00Z")),
            ("2004-01-05T2345Z", Some("2004-01-05T23:45:00Z")),
            ("2004-01-05T234500Z", Some("2004-01-05T23:45:00Z")),
            ("20040105T23:45:00Z", Some("2004-01-05T23:45:00Z")),
            ("20040105T234500+0100", Some("2004-01-05T22:45:00Z")),
            ("20040105T234500-05", Some("2004-01-06T04:45:00Z")),
            ("20040105 234500", Some("2004-01-05T23:45:00Z")),
            ("2004-01-05T23Z", Some("2004-01-05T23:00:00Z")),
            ("20040105T23", Some("2004-01-05T23:00:00Z")),
            ("2004005", Some("2004-01-05T00:00:00Z")),
            ("2004005T2345Z", Some("2004-01-05T23:45:00Z")),
            ("2004-W02-1", Some("2004-01-05T00:00:00Z")),
            ("2004W021", Some("2004-01-05T00:00:00Z")),
            ("2004-W02", Some("2004-01-05T00:00:00Z")),
            ("2004W02", Some("2004-01-05T00:00:00Z")),
            ("2004-W02-7T23:45Z", Some("2004-01-11T23:45:00Z")),
            ("2003-012-31T10:14:55+00:00", Some("2003-12-31T10:14:55Z")),
        ]);
    }

    #[test]
    fn malformed_iso_is_none() {
        check_all(&[
            // One field too many is not a zone.
            ("2013-01-27-01", None),
            ("2013-01-27-0100", None),
            ("2013-01-27+01", None),
            ("20130127-01", None),
            ("2013-01-28T11:30:00-06:00Textra", None),
            ("2004-W54-1", None),
            ("2004-W02-8", None),
            ("2004-W2-1", None),
            ("2004W0", None),
            ("2004W0211", None),
            ("2004-W02-1-1", None),
            ("2003366", None),
            ("2004000", None),
            ("20040105T2", None),
            ("20040105T2345:00Z", None),
            ("2004-01-05 2345", None),
            ("2003-013-31", None),
            ("2003-012", Some("2003-01-12T00:00:00Z")),
        ]);
    }

    /// xorshift64: deterministic pseudo-random numbers without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).expect("fits")
        }
    }

    #[test]
    fn never_panics() {
        const PIECES: &[&str] = &[
            "0",
            "1",
            "2",
            "5",
            "9",
            "12",
            "24",
            "60",
            "99",
            "2024",
            "1900",
            "20240111",
            "Jan",
            "Sept",
            "Thu",
            "T",
            "Z",
            "GMT",
            "UTC",
            "EST",
            "IST",
            "+",
            "-",
            ":",
            ".",
            ",",
            "/",
            "(",
            ")",
            " ",
            "  ",
            "é",
            "—",
            "中",
            "\u{0}",
            "\t",
            "x",
            "9999999999999999999999",
            "Etc/GMT",
            "W",
            "년",
            "월",
            "일",
            "오후",
            "Ιουλ",
            "Κυρ",
        ];
        const SEEDS: &[&str] = &[
            "Thu, 11 Jan 2024 15:04:05 +0000",
            "Thu, 11 Jan 2024 15:04:05 -0500 (EST)",
            "Thursday, 11-Jan-24 15:04:05 GMT+2",
            "Thu Jan 11 15:04:05 UTC 2024",
            "2024-01-11T15:04:05.123456789+05:30",
            "20240111T150405Z",
            "2024-011",
            "2004-W02-1T23:45Z",
            "Wed, 19 Aug 2009 18:28:00 Etc/GMT+5",
            "2004-05-25 오후 11:23:17",
            "Κυρ, 11 Ιούλ 2004 12:00:00 EST",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut inputs: Vec<String> = Vec::new();
        for _ in 0..3000 {
            let n = rng.below(12);
            inputs.push((0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect());
        }
        for seed in SEEDS {
            for _ in 0..400 {
                let mut chars: Vec<char> = seed.chars().collect();
                for _ in 0..=rng.below(3) {
                    let at = rng.below(chars.len() + 1);
                    let piece: Vec<char> = PIECES[rng.below(PIECES.len())].chars().collect();
                    match rng.below(4) {
                        0 if at < chars.len() => {
                            chars.remove(at);
                        }
                        1 => chars.truncate(at),
                        2 if at < chars.len() => {
                            chars.splice(at..=at, piece);
                        }
                        _ => {
                            chars.splice(at..at, piece);
                        }
                    }
                }
                inputs.push(chars.into_iter().collect());
            }
        }
        assert!(inputs.len() >= 5000);
        for input in &inputs {
            if let Some(t) = parse_date(input) {
                assert!(
                    (1899..=2201).contains(&t.year()),
                    "input {input:?} gave {t}"
                );
            }
        }
    }
}
