//! Text fingerprints for reprint detection, and the comparison of two fingerprints.
//!
//! A fingerprint is made from a story's article prose: the body's paragraphs of fewer than
//! [`PROSE_PARAGRAPH_WORDS`] words (section names, bylines, share buttons, "Advertisement",
//! datelines on their own line) are left out whenever the rest holds at least
//! [`PROSE_MIN_WORDS`] words, so a copy wrapped in another outlet's page chrome fingerprints like
//! its original. Texts with less prose (tables, briefs) keep every paragraph. Tokens are folded
//! (case, marks) and number formats are written one way ("4th"/"fourth"/"4", "mln"/"million",
//! "pct"/"percent"/"%", "1,500"/"1500"). The fingerprint holds the word 4-shingle hashes of the
//! whole prose sampled consistently (hashes with at least `level` trailing zero bits, at most
//! [`SKETCH_MAX`] of them), every hash of the opening, and the first figures.
//!
//! Comparison ([`overlap`]) estimates how much of the smaller text is in the larger and how much
//! of the larger the shared part is, at the higher of the two sampling levels; short texts are
//! also compared exactly on their openings. [`figures_agree`] checks that the smaller's figures
//! are in the larger.
//!
//! Never: keeps state between stories, does I/O, or looks at anything but the body text.

/// Words per shingle.
const SHINGLE_WORDS: usize = 4;
/// Most hashes a fingerprint's sketch keeps; longer texts are sampled at a coarser level.
pub(crate) const SKETCH_MAX: usize = 64;
/// Shingles at the start of a text kept in full: short texts are verified exactly on them, and
/// the opening is one of the places candidates are found by.
pub(crate) const LEDE_SHINGLES: usize = 48;
/// Figures kept per fingerprint, from the start of the text.
const NUMBERS_MAX: usize = 16;
/// Share of the shorter text's figures the longer must have: the same notice on another day, or
/// another company's results in the same template, differs in its figures.
const MIN_NUMBER_SHARE: f64 = 0.75;
/// Fewest shared sampled hashes whose count is scaled up by the sampling rate.
const MIN_SAMPLE: usize = 5;
/// A paragraph of fewer words is page furniture, not prose, when the text has prose enough.
pub const PROSE_PARAGRAPH_WORDS: usize = 12;
/// Words of prose a text needs before its short paragraphs are left out.
pub const PROSE_MIN_WORDS: usize = 40;
/// Levels below the sketch's at which a fingerprint's probes (lookup hashes) are kept: a long
/// text is looked up with about four times its sketch, so a short copy sampled at a finer level
/// is still found inside it.
const PROBE_SPAN: u8 = 2;
/// Bytes of a serialized fingerprint's header (format version, level, shingle count).
const HEADER_BYTES: usize = 4;
/// Version 2: prose selection and number formats; version 1 (every paragraph, formats as
/// written) has the same layout and is still read: it compares a little worse, never wrongly.
const FORMAT_VERSION: u8 = 2;

/// A story's text fingerprint: the 32-bit hashes of its word shingles whose number of trailing
/// zero bits is at least `level` (consistent sampling: two fingerprints compare exactly at the
/// higher of their levels), sorted, plus every hash of its opening.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fingerprint {
    /// Sampling level: hashes kept have at least this many trailing zero bits.
    pub level: u8,
    /// Shingles in the whole text (before sampling).
    pub shingles: u32,
    /// Sampled hashes, sorted and unique.
    pub sketch: Vec<u32>,
    /// Every hash of the opening's shingles, sorted and unique.
    pub lede: Vec<u32>,
    /// Hashes of the first figures in the text (numbers in any format), sorted and unique.
    pub numbers: Vec<u32>,
    /// The hashes this story is looked up by (its shingles at up to [`PROBE_SPAN`] levels below
    /// the sketch's), sorted and unique. Only for the lookup of a new story: not serialized.
    pub probes: Vec<u32>,
}

impl Fingerprint {
    /// Serialized for `stories.fingerprint`: a header, the opening's hash count, the opening,
    /// then the sketch, all little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let lede = &self.lede[..self.lede.len().min(usize::from(u16::MAX))];
        let numbers = &self.numbers[..self.numbers.len().min(usize::from(u16::MAX))];
        let mut out = Vec::with_capacity(
            HEADER_BYTES + 4 + 4 * (lede.len() + numbers.len() + self.sketch.len()),
        );
        out.push(FORMAT_VERSION);
        out.push(self.level);
        out.extend_from_slice(&(self.shingles.min(u32::from(u16::MAX)) as u16).to_le_bytes());
        out.extend_from_slice(&(lede.len() as u16).to_le_bytes());
        out.extend_from_slice(&(numbers.len() as u16).to_le_bytes());
        for h in lede.iter().chain(numbers).chain(&self.sketch) {
            out.extend_from_slice(&h.to_le_bytes());
        }
        out
    }

    /// Reads what `to_bytes` wrote (this format version or the first); `None` for anything else
    /// (another format version, damage).
    pub fn from_bytes(b: &[u8]) -> Option<Fingerprint> {
        if b.len() < HEADER_BYTES + 4 || !(1..=FORMAT_VERSION).contains(&b[0]) {
            return None;
        }
        let level = b[1];
        let shingles = u32::from(u16::from_le_bytes([b[2], b[3]]));
        let nkeys = usize::from(u16::from_le_bytes([b[4], b[5]]));
        let nnumbers = usize::from(u16::from_le_bytes([b[6], b[7]]));
        let rest = &b[HEADER_BYTES + 4..];
        if !rest.len().is_multiple_of(4) || rest.len() / 4 < nkeys + nnumbers || level > 31 {
            return None;
        }
        let words: Vec<u32> = rest
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let (lede, rest) = words.split_at(nkeys);
        let (numbers, sketch) = rest.split_at(nnumbers);
        Some(Fingerprint {
            level,
            shingles,
            sketch: sketch.to_vec(),
            lede: lede.to_vec(),
            numbers: numbers.to_vec(),
            probes: Vec::new(),
        })
    }

    /// True when the text had too few words to fingerprint: such a story only ever matches
    /// itself.
    pub fn is_empty(&self) -> bool {
        self.sketch.is_empty()
    }

    /// Borrowed parts, for comparison.
    pub fn view(&self) -> FpRef<'_> {
        FpRef {
            level: self.level,
            shingles: self.shingles,
            sketch: &self.sketch,
            lede: &self.lede,
            numbers: &self.numbers,
        }
    }

    /// The hashes a new story looks up: its probes, or, for a fingerprint read back from
    /// storage (which has none), its sketch and opening.
    pub(crate) fn lookups(&self) -> std::borrow::Cow<'_, [u32]> {
        if !self.probes.is_empty() {
            return std::borrow::Cow::Borrowed(&self.probes);
        }
        let mut p: Vec<u32> = self.sketch.iter().chain(&self.lede).copied().collect();
        p.sort_unstable();
        p.dedup();
        std::borrow::Cow::Owned(p)
    }
}

/// Folds a character for matching: case, typographic quotes and dashes, and letters with marks
/// to their base where that is one char (é → e). Returns `None` for a separator.
fn fold(c: char) -> Option<char> {
    if c.is_alphanumeric() {
        let c = c.to_lowercase().next().unwrap_or(c);
        Some(match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' | 'č' | 'ć' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'š' => 's',
            'ž' => 'z',
            'đ' => 'd',
            c => c,
        })
    } else {
        None
    }
}

/// Han ideographs and Japanese kana.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// FNV-1a over bytes, finished with a 64-bit mix.
fn hash_token(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// How a folded token is hashed, and whether it is a figure: number formats outlets write
/// differently come out one way ("4th", "fourth" → "4"; "million" → "mln"; "percent" →
/// "pct"). Numbers up to twelve are not figures: outlets write them as words or digits at will
/// ("four cts", "4 cts"), and as words they are everywhere ("one of the", "two years").
fn canonical(tok: &str) -> (&str, bool) {
    let digits = tok.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        let number = if digits < tok.len() && matches!(&tok[digits..], "st" | "nd" | "rd" | "th") {
            &tok[..digits]
        } else {
            tok
        };
        let small = number.len() <= 2 && number.parse::<u8>().is_ok_and(|n| n <= 12);
        return (number, !small);
    }
    let word = match tok {
        "one" | "first" => "1",
        "two" | "second" => "2",
        "three" | "third" => "3",
        "four" | "fourth" => "4",
        "five" | "fifth" => "5",
        "six" | "sixth" => "6",
        "seven" | "seventh" => "7",
        "eight" | "eighth" => "8",
        "nine" | "ninth" => "9",
        "ten" | "tenth" => "10",
        "eleven" | "eleventh" => "11",
        "twelve" | "twelfth" => "12",
        "million" | "mln" | "mn" => "mln",
        "billion" | "bln" | "bn" => "bln",
        "trillion" | "trn" | "tln" => "tln",
        "percent" | "pct" => "pct",
        _ => return (tok, tok.bytes().any(|b| b.is_ascii_digit())),
    };
    (word, false)
}

/// A text's tokens, hashed: runs of letters and digits, case and marks folded, number formats
/// made one (see [`canonical`]); a comma or period between digits with three digits after it is
/// a thousands separator and joins the number ("4,790,000" and "4790000" are one token); "%"
/// is the token "pct". Figures' hashes go to `numbers` too.
fn token_hashes(text: &str, out: &mut Vec<u64>, numbers: &mut Vec<u32>) {
    let mut buf = String::new();
    let push = |buf: &mut String, out: &mut Vec<u64>, numbers: &mut Vec<u32>| {
        if buf.is_empty() {
            return;
        }
        let (tok, figure) = canonical(buf);
        let t = hash_token(tok);
        out.push(t);
        if figure {
            numbers.push((t >> 32) as u32);
        }
        buf.clear();
    };
    let mut prev: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if is_cjk(c) {
            // Han and kana are written without spaces: each character is a word.
            push(&mut buf, out, numbers);
            buf.push(c);
            push(&mut buf, out, numbers);
        } else if let Some(f) = fold(c) {
            buf.push(f);
        } else if (c == ',' || c == '.')
            && !buf.is_empty()
            && prev.is_some_and(|p| p.is_ascii_digit())
            && thousands_follow(chars.clone())
        {
            // A thousands separator: the number goes on.
        } else if c == '%' {
            push(&mut buf, out, numbers);
            buf.push_str("pct");
            push(&mut buf, out, numbers);
        } else {
            push(&mut buf, out, numbers);
        }
        prev = Some(c);
    }
    push(&mut buf, out, numbers);
}

/// Whether exactly three digits follow (then no digit).
fn thousands_follow(mut rest: impl Iterator<Item = char>) -> bool {
    for _ in 0..3 {
        if !rest.next().is_some_and(|d| d.is_ascii_digit()) {
            return false;
        }
    }
    !rest.next().is_some_and(|d| d.is_ascii_digit())
}

/// The paragraphs of a body: runs of lines between blank (or whitespace-only) lines.
fn paragraphs(body: &str) -> impl Iterator<Item = &str> {
    let mut rest = body;
    std::iter::from_fn(move || {
        // Skip blank lines.
        let start: usize = rest
            .split_inclusive('\n')
            .take_while(|l| l.trim().is_empty())
            .map(str::len)
            .sum();
        rest = &rest[start..];
        if rest.is_empty() {
            return None;
        }
        let end: usize = rest
            .split_inclusive('\n')
            .take_while(|l| !l.trim().is_empty())
            .map(str::len)
            .sum();
        let (para, after) = rest.split_at(end);
        rest = after;
        Some(para)
    })
}

/// Whether a paragraph ends like a sentence: a full stop, question or exclamation mark, maybe
/// inside closing quotes or brackets.
fn ends_a_sentence(p: &str) -> bool {
    let end = p
        .trim_end()
        .trim_end_matches(['"', '\'', '”', '’', ')', ']', '»']);
    end.ends_with(['.', '!', '?', '…']) && !end.ends_with("..")
}

/// The tokens a fingerprint is made from, and their figures: the prose paragraphs when the
/// text has prose enough, else every paragraph.
pub(crate) fn matching_tokens(body: &str) -> (Vec<u64>, Vec<u32>, bool) {
    let mut paras: Vec<(Vec<u64>, Vec<u32>, bool)> = Vec::new();
    for p in paragraphs(body) {
        let (mut t, mut n) = (Vec::new(), Vec::new());
        token_hashes(p, &mut t, &mut n);
        if !t.is_empty() {
            let sentence = t.len() >= PROSE_PARAGRAPH_WORDS || ends_a_sentence(p);
            paras.push((t, n, sentence));
        }
    }
    let prose_words: usize = paras
        .iter()
        .filter(|(t, _, s)| *s && t.len() >= PROSE_PARAGRAPH_WORDS)
        .map(|(t, _, _)| t.len())
        .sum();
    let prose = prose_words >= PROSE_MIN_WORDS;
    let mut tokens = Vec::new();
    let mut numbers = Vec::new();
    for (t, n, sentence) in paras {
        if !prose || sentence {
            tokens.extend(t);
            numbers.extend(n);
        }
    }
    (tokens, numbers, prose)
}

/// Fingerprints a matching body (the story's body without dateline and boilerplate).
pub fn fingerprint(body: &str) -> Fingerprint {
    let (tokens, all_numbers, _) = matching_tokens(body);
    // The first NUMBERS_MAX distinct figures, in text order.
    let mut numbers: Vec<u32> = Vec::with_capacity(NUMBERS_MAX);
    for n in all_numbers {
        if numbers.len() == NUMBERS_MAX {
            break;
        }
        if !numbers.contains(&n) {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    if tokens.len() < SHINGLE_WORDS {
        return Fingerprint::default();
    }
    let shingles: Vec<u32> = tokens
        .windows(SHINGLE_WORDS)
        .map(|w| {
            let mut h = 0u64;
            for t in w {
                h = h.rotate_left(17) ^ t;
                h = h.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            }
            (mix(h) >> 32) as u32
        })
        .collect();
    let mut sorted = shingles.clone();
    sorted.sort_unstable();
    sorted.dedup();
    // The lowest level at which at most SKETCH_MAX distinct hashes remain.
    let mut per_level = [0usize; 33];
    for h in &sorted {
        per_level[h.trailing_zeros() as usize] += 1;
    }
    let mut at_least = sorted.len();
    let mut level = 0u8;
    while at_least > SKETCH_MAX && level < 31 {
        at_least -= per_level[usize::from(level)];
        level += 1;
    }
    let probe_level = u32::from(level.saturating_sub(PROBE_SPAN));
    let probes: Vec<u32> = sorted
        .iter()
        .copied()
        .filter(|h| h.trailing_zeros() >= probe_level)
        .collect();
    let sketch: Vec<u32> = probes
        .iter()
        .copied()
        .filter(|h| h.trailing_zeros() >= u32::from(level))
        .collect();
    let mut lede: Vec<u32> = shingles.iter().take(LEDE_SHINGLES).copied().collect();
    lede.sort_unstable();
    lede.dedup();
    let mut probes = probes;
    probes.extend_from_slice(&lede);
    probes.sort_unstable();
    probes.dedup();
    Fingerprint {
        level,
        shingles: shingles.len().min(u32::MAX as usize) as u32,
        sketch,
        lede,
        numbers,
        probes,
    }
}

/// A fingerprint's parts, borrowed: from a [`Fingerprint`] or from the index's packed copy.
#[derive(Debug, Clone, Copy)]
pub struct FpRef<'a> {
    pub(crate) level: u8,
    pub(crate) shingles: u32,
    pub(crate) sketch: &'a [u32],
    pub(crate) lede: &'a [u32],
    pub(crate) numbers: &'a [u32],
}

impl FpRef<'_> {
    /// True when the whole text is in its opening (short texts).
    fn all_in_lede(&self) -> bool {
        self.shingles as usize <= LEDE_SHINGLES
    }
}

/// How two texts overlap.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Overlap {
    /// Shared shingles (estimated from the samples when sampled).
    pub shared: usize,
    /// Share of the smaller text found in the larger (its containment).
    pub small: f64,
    /// Share of the larger text the shared part makes up.
    pub large: f64,
    /// Share of the larger text's opening found in the smaller text.
    pub large_lede: f64,
}

/// How much of the smaller of two texts is in the larger, and how much of the larger that is.
/// Compared on the sketches at the higher of their levels; a short text (all in its opening) is
/// also compared exactly, shingle by shingle, with the other's opening and sketch, and the
/// better of the two estimates counts.
pub fn overlap(a: FpRef<'_>, b: FpRef<'_>) -> Overlap {
    let (small, large) = if a.shingles <= b.shingles {
        (a, b)
    } else {
        (b, a)
    };
    let mut o = sampled_overlap(small, large);
    let in_small =
        |h: &u32| small.lede.binary_search(h).is_ok() || small.sketch.binary_search(h).is_ok();
    if !large.lede.is_empty() {
        let found = large.lede.iter().filter(|h| in_small(h)).count();
        o.large_lede = found as f64 / large.lede.len() as f64;
    }
    if small.lede.is_empty() {
        return o;
    }
    let shared = small
        .lede
        .iter()
        .filter(|h| large.lede.binary_search(h).is_ok() || large.sketch.binary_search(h).is_ok())
        .count();
    if !small.all_in_lede() {
        // A longer text: its opening, compared exactly, adds to the evidence of how much is
        // shared (a thin sample at a coarse level may show only a few hashes), while the shares
        // themselves stay the sampled estimates over the whole text.
        o.shared = o.shared.max(shared);
        return o;
    }
    let exact = shared as f64 / small.lede.len() as f64;
    if exact > o.small || (exact == o.small && shared > o.shared) {
        o.shared = shared;
        o.small = exact;
        o.large = o
            .large
            .max(shared as f64 / (large.shingles.max(1) as f64).max(shared as f64));
    }
    o
}

fn sampled_overlap(small: FpRef<'_>, large: FpRef<'_>) -> Overlap {
    let level = u32::from(small.level.max(large.level));
    // A merge walk over the two sorted sketches, counting only hashes at the common level.
    let keep = |h: &&u32| h.trailing_zeros() >= level;
    let (mut x, mut y) = (
        small.sketch.iter().filter(keep),
        large.sketch.iter().filter(keep),
    );
    let (mut nx, mut ny, mut shared) = (0usize, 0usize, 0usize);
    let (mut a, mut b) = (x.next(), y.next());
    while let (Some(p), Some(q)) = (a, b) {
        match p.cmp(q) {
            std::cmp::Ordering::Less => {
                nx += 1;
                a = x.next();
            }
            std::cmp::Ordering::Greater => {
                ny += 1;
                b = y.next();
            }
            std::cmp::Ordering::Equal => {
                nx += 1;
                ny += 1;
                shared += 1;
                a = x.next();
                b = y.next();
            }
        }
    }
    nx += usize::from(a.is_some()) + x.count();
    ny += usize::from(b.is_some()) + y.count();
    if nx == 0 || ny == 0 {
        return Overlap::default();
    }
    // Shared shingles, estimated from the sample: a long text compared at a coarse level shares
    // as many shingles as its sample shows times the sampling rate. A sample of fewer than
    // MIN_SAMPLE shared hashes is too thin to scale up.
    let estimate = if shared >= MIN_SAMPLE {
        shared.saturating_mul(1usize << level.min(20))
    } else {
        shared
    };
    Overlap {
        shared: estimate,
        small: shared as f64 / nx as f64,
        large: shared as f64 / ny.max(nx) as f64,
        large_lede: 0.0,
    }
}

/// Whether the shorter text's figures are (mostly) in the longer one.
pub fn figures_agree(a: FpRef<'_>, b: FpRef<'_>) -> bool {
    let (small, large) = if a.shingles <= b.shingles {
        (a, b)
    } else {
        (b, a)
    };
    if small.numbers.len() < 2 {
        return true;
    }
    // The longer text's list may have been cut at NUMBERS_MAX before reaching them.
    if large.numbers.len() >= NUMBERS_MAX {
        return true;
    }
    let shared = small
        .numbers
        .iter()
        .filter(|n| large.numbers.binary_search(n).is_ok())
        .count();
    shared as f64 >= MIN_NUMBER_SHARE * small.numbers.len() as f64
}
