//! Reprint and update detection: decides which stored story a new story is a copy or a version
//! of, across every outlet, so each underlying story is one cluster.
//!
//! Owns the text fingerprint (word shingles of the matching body, sampled consistently so two
//! fingerprints can be compared at a common rate), the in-memory index of recent fingerprints
//! (candidate lookup by the shingles of each story's opening, where every reprint, truncated or
//! not, overlaps its original), and verification (containment of the smaller text in the larger,
//! with stronger evidence demanded of short texts). `eval` scores it on labeled appearances.
//!
//! Never: does I/O, reads the clock, or looks at titles, URLs or sources to decide a match (those
//! vary freely between outlets); origin choice is the store's, from the wire flags.

pub mod eval;
pub mod plan;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

/// Words per shingle.
const SHINGLE_WORDS: usize = 4;
/// Most hashes a fingerprint's sketch keeps; longer texts are sampled at a coarser level.
const SKETCH_MAX: usize = 64;
/// Shingles at the start of a text kept in full: every reprint keeps a story's opening, and every
/// later version still contains it, so the opening is where candidates are found and where short
/// texts are verified exactly.
const LEDE_SHINGLES: usize = 48;
/// Figures kept per fingerprint, from the start of the text.
const NUMBERS_MAX: usize = 16;
/// Share of the shorter text's figures the longer must have: the same notice on another day, or
/// another company's results in the same template, differs in its figures.
const MIN_NUMBER_SHARE: f64 = 0.75;
/// Fewest shared sampled hashes whose count is scaled up by the sampling rate.
const MIN_SAMPLE: usize = 5;

/// Stories one index key lists at most.
const MAX_POSTING: usize = 64;
/// Candidates verified per lookup, those sharing the most keys first.
const MAX_CANDIDATES: usize = 24;
/// Index keys are the opening's hashes with at least this many trailing zero bits (a quarter).
const KEY_LEVEL: u32 = 2;
/// Bytes of a serialized fingerprint's header (format version, level, shingle count).
const HEADER_BYTES: usize = 4;
const FORMAT_VERSION: u8 = 1;

/// What decides a match, from `[dedup]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchRules {
    /// Candidates published further apart than this (seconds) are never compared.
    pub window_secs: i64,
    /// Share of the smaller text's sampled shingles found in the larger one, when the figures
    /// in the smaller are also in the larger.
    pub min_containment: f64,
    /// Share enough on its own, whatever the figures (an update that edits a figure).
    pub strong_containment: f64,
    /// Fewest shared sampled shingles for any match (short texts need stronger evidence).
    pub min_shared: usize,
}

impl Default for MatchRules {
    fn default() -> Self {
        Self {
            window_secs: 4 * 86400,
            min_containment: 0.7,
            strong_containment: 0.85,
            min_shared: 8,
        }
    }
}

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
    /// Hashes of the first figures in the text (tokens with a digit), sorted and unique.
    pub numbers: Vec<u32>,
}

impl Fingerprint {
    /// Serialized for `stories.fingerprint`: a header, the opening's hash count, the opening,
    /// then the sketch, all little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            HEADER_BYTES + 4 + 4 * (self.lede.len() + self.numbers.len() + self.sketch.len()),
        );
        out.push(FORMAT_VERSION);
        out.push(self.level);
        out.extend_from_slice(&(self.shingles.min(u32::from(u16::MAX)) as u16).to_le_bytes());
        out.extend_from_slice(&(self.lede.len() as u16).to_le_bytes());
        out.extend_from_slice(&(self.numbers.len() as u16).to_le_bytes());
        for h in self.lede.iter().chain(&self.numbers).chain(&self.sketch) {
            out.extend_from_slice(&h.to_le_bytes());
        }
        out
    }

    /// Reads what `to_bytes` wrote; `None` for anything else (another format version, damage).
    pub fn from_bytes(b: &[u8]) -> Option<Fingerprint> {
        if b.len() < HEADER_BYTES + 4 || b[0] != FORMAT_VERSION {
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
        })
    }

    /// True when the text had too few words to fingerprint: such a story only ever matches
    /// itself.
    pub fn is_empty(&self) -> bool {
        self.sketch.is_empty()
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

/// FNV-1a over the folded token, finished with a 64-bit mix.
struct TokenHasher(u64);

impl TokenHasher {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
    fn push(&mut self, c: char) {
        let mut buf = [0u8; 4];
        for b in c.encode_utf8(&mut buf).bytes() {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        mix(self.0)
    }
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// The hashes of a text's tokens: runs of letters and digits, case and marks folded; a comma or
/// period between digits with three digits after it is a thousands separator and joins the
/// number ("4,790,000" and "4790000" are one token).
fn token_hashes(text: &str) -> (Vec<u64>, Vec<u32>) {
    let mut out = Vec::with_capacity(text.len() / 5);
    let mut numbers = Vec::new();
    let mut h = TokenHasher::new();
    let mut len = 0usize;
    let mut digit = false;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_cjk(c) {
            // Han and kana are written without spaces: each character is a word.
            if len > 0 {
                let t = h.finish();
                out.push(t);
                if digit {
                    numbers.push((t >> 32) as u32);
                }
                h = TokenHasher::new();
                len = 0;
                digit = false;
            }
            let mut one = TokenHasher::new();
            one.push(c);
            out.push(one.finish());
        } else if let Some(f) = fold(c) {
            h.push(f);
            len += 1;
            digit |= c.is_ascii_digit();
        } else if len > 0
            && (c == ',' || c == '.')
            && chars[i - 1].is_ascii_digit()
            && chars
                .get(i + 1..i + 4)
                .is_some_and(|d| d.iter().all(char::is_ascii_digit))
            && !chars.get(i + 4).is_some_and(char::is_ascii_digit)
        {
            // A thousands separator: the number goes on.
        } else if len > 0 {
            let t = h.finish();
            out.push(t);
            if digit {
                numbers.push((t >> 32) as u32);
            }
            h = TokenHasher::new();
            len = 0;
            digit = false;
        }
        i += 1;
    }
    if len > 0 {
        let t = h.finish();
        out.push(t);
        if digit {
            numbers.push((t >> 32) as u32);
        }
    }
    (out, numbers)
}

/// Fingerprints a matching body (the story's body without dateline and boilerplate).
pub fn fingerprint(body: &str) -> Fingerprint {
    let (tokens, all_numbers) = token_hashes(body);
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
    // The lowest level at which at most SKETCH_MAX distinct hashes remain.
    let mut sorted = shingles.clone();
    sorted.sort_unstable();
    sorted.dedup();
    let mut level = 0u8;
    while sorted
        .iter()
        .filter(|h| h.trailing_zeros() >= u32::from(level))
        .count()
        > SKETCH_MAX
        && level < 31
    {
        level += 1;
    }
    let sketch: Vec<u32> = sorted
        .into_iter()
        .filter(|h| h.trailing_zeros() >= u32::from(level))
        .collect();
    let mut lede: Vec<u32> = shingles.iter().take(LEDE_SHINGLES).copied().collect();
    lede.sort_unstable();
    lede.dedup();
    Fingerprint {
        level,
        shingles: shingles.len().min(u32::MAX as usize) as u32,
        sketch,
        lede,
        numbers,
    }
}

/// A fingerprint's parts, borrowed: from a [`Fingerprint`] or from the index's packed copy.
#[derive(Debug, Clone, Copy)]
pub struct FpRef<'a> {
    level: u8,
    shingles: u32,
    sketch: &'a [u32],
    lede: &'a [u32],
    numbers: &'a [u32],
}

impl FpRef<'_> {
    /// True when the whole text is in its opening (short texts).
    fn all_in_lede(&self) -> bool {
        self.shingles as usize <= LEDE_SHINGLES
    }
}

/// The index's copy of a fingerprint: one allocation, `lede`, `numbers`, then `sketch`.
#[derive(Debug, Clone)]
struct Packed {
    level: u8,
    n_lede: u8,
    n_numbers: u8,
    shingles: u32,
    data: Box<[u32]>,
}

impl Packed {
    fn new(fp: &Fingerprint) -> Packed {
        let lede = &fp.lede[..fp.lede.len().min(usize::from(u8::MAX))];
        let numbers = &fp.numbers[..fp.numbers.len().min(usize::from(u8::MAX))];
        let data: Vec<u32> = lede
            .iter()
            .chain(numbers)
            .chain(&fp.sketch)
            .copied()
            .collect();
        Packed {
            level: fp.level,
            n_lede: lede.len() as u8,
            n_numbers: numbers.len() as u8,
            shingles: fp.shingles,
            data: data.into_boxed_slice(),
        }
    }

    fn view(&self) -> FpRef<'_> {
        let (lede, rest) = self.data.split_at(usize::from(self.n_lede));
        let (numbers, sketch) = rest.split_at(usize::from(self.n_numbers));
        FpRef {
            level: self.level,
            shingles: self.shingles,
            sketch,
            lede,
            numbers,
        }
    }
}

impl Fingerprint {
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

    /// The keys this story is found by: the opening's hashes at the key level.
    fn keys(&self) -> impl Iterator<Item = u32> + '_ {
        keys_of(&self.lede)
    }

    /// The hashes a query looks up: its opening's and its sketch's, at the key level.
    fn probes(&self) -> Vec<u32> {
        let mut p: Vec<u32> = self
            .keys()
            .chain(
                self.sketch
                    .iter()
                    .copied()
                    .filter(|h| h.trailing_zeros() >= KEY_LEVEL),
            )
            .collect();
        p.sort_unstable();
        p.dedup();
        p
    }
}

/// How much of the smaller of two texts is in the larger: (shared shingles, estimated from the
/// sample when sampled; containment). Compared
/// on the sketches at the higher of their levels; a short text (all in its opening) is also
/// compared exactly, shingle by shingle, with the other's opening and sketch, and the better of
/// the two estimates counts.
pub fn containment(a: FpRef<'_>, b: FpRef<'_>) -> (usize, f64) {
    let sampled = sampled_containment(a, b);
    let (small, large) = if a.shingles <= b.shingles {
        (a, b)
    } else {
        (b, a)
    };
    if small.lede.is_empty() {
        return sampled;
    }
    let shared = small
        .lede
        .iter()
        .filter(|h| large.lede.binary_search(h).is_ok() || large.sketch.binary_search(h).is_ok())
        .count();
    if !small.all_in_lede() {
        // A longer text: its opening, compared exactly, adds to the evidence of how much is
        // shared (a thin sample at a coarse level may show only a few hashes), while the share
        // itself stays the sampled estimate over the whole text.
        return (sampled.0.max(shared), sampled.1);
    }
    let exact = (shared, shared as f64 / small.lede.len() as f64);
    if exact.1 > sampled.1 || (exact.1 == sampled.1 && exact.0 > sampled.0) {
        exact
    } else {
        sampled
    }
}

fn sampled_containment(a: FpRef<'_>, b: FpRef<'_>) -> (usize, f64) {
    let level = u32::from(a.level.max(b.level));
    let at = |f: FpRef<'_>| -> Vec<u32> {
        f.sketch
            .iter()
            .copied()
            .filter(|h| h.trailing_zeros() >= level)
            .collect()
    };
    let (x, y) = (at(a), at(b));
    let (small, large) = if x.len() <= y.len() { (x, y) } else { (y, x) };
    if small.is_empty() {
        return (0, 0.0);
    }
    let shared = small
        .iter()
        .filter(|h| large.binary_search(h).is_ok())
        .count();
    // Shared shingles, estimated from the sample: a long text compared at a coarse level shares
    // as many shingles as its sample shows times the sampling rate. A sample of fewer than
    // MIN_SAMPLE shared hashes is too thin to scale up.
    let estimate = if shared >= MIN_SAMPLE {
        shared.saturating_mul(1usize << level.min(20))
    } else {
        shared
    };
    (estimate, shared as f64 / small.len() as f64)
}

/// The index keys of an opening: its hashes at the key level.
fn keys_of(lede: &[u32]) -> impl Iterator<Item = u32> + '_ {
    lede.iter()
        .copied()
        .filter(|h| h.trailing_zeros() >= KEY_LEVEL)
}

fn remove_posting(
    first: &mut HashMap<u32, u32>,
    more: &mut HashMap<u32, Vec<u32>>,
    key: u32,
    slot: u32,
) {
    let others = more.get_mut(&key);
    if first.get(&key) == Some(&slot) {
        // Promote another holder of the key, if any.
        match others.and_then(|v| v.pop().map(|s| (s, v.is_empty()))) {
            Some((next, now_empty)) => {
                first.insert(key, next);
                if now_empty {
                    more.remove(&key);
                }
            }
            None => {
                first.remove(&key);
            }
        }
    } else if let Some(v) = others {
        v.retain(|s| *s != slot);
        if v.is_empty() {
            more.remove(&key);
        }
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

/// One stored story in the index.
#[derive(Debug, Clone)]
struct Entry {
    story: i64,
    cluster: i64,
    /// Unix seconds of its publication (or first sighting).
    at: i64,
    fp: Packed,
}

/// A stored story a new one matched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    pub story: i64,
    pub cluster: i64,
    /// Shared sampled shingles.
    pub shared: usize,
    pub containment: f64,
}

/// Recent fingerprints, found by their opening's shingles.
#[derive(Debug, Default)]
pub struct Index {
    rules: MatchRules,
    entries: Vec<Option<Entry>>,
    /// Story id → slot in `entries`.
    slots: HashMap<i64, u32>,
    /// Key hash → slot of the first story that has it (most keys have one story).
    postings: HashMap<u32, u32>,
    /// Key hash → slots of the other stories that have it.
    more_postings: HashMap<u32, Vec<u32>>,
    free: Vec<u32>,
}

impl Index {
    pub fn new(rules: MatchRules) -> Index {
        Index {
            rules,
            ..Index::default()
        }
    }

    /// Stories held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The best match for a new story published at `at` (unix seconds): the candidate, within
    /// the window, whose text contains the new one's (or is contained in it) the most, if that
    /// passes the rules.
    pub fn find(&self, fp: &Fingerprint, at: i64) -> Option<Match> {
        if fp.is_empty() {
            return None;
        }
        let mut seen: Vec<u32> = Vec::new();
        for h in &fp.probes() {
            if let Some(slot) = self.postings.get(h) {
                seen.push(*slot);
                if let Some(more) = self.more_postings.get(h) {
                    seen.extend_from_slice(more);
                }
            }
        }
        // Rank candidates by how many keys they share; verify only the best few. A reprint shares
        // most of its opening's keys with its original; stories that only share a stock phrase
        // share one or two.
        seen.sort_unstable();
        let mut ranked: Vec<(u32, u32)> = Vec::new();
        for run in seen.chunk_by(|a, b| a == b) {
            ranked.push((run.len() as u32, run[0]));
        }
        ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.truncate(MAX_CANDIDATES);
        let mut best: Option<Match> = None;
        for (_, slot) in ranked {
            let Some(e) = self.entries.get(slot as usize).and_then(Option::as_ref) else {
                continue;
            };
            if (e.at - at).abs() > self.rules.window_secs {
                continue;
            }
            let (shared, c) = containment(fp.view(), e.fp.view());
            // Below the strong level, a match must also keep the figures.
            if shared < self.rules.min_shared
                || c < self.rules.min_containment
                || (c < self.rules.strong_containment && !figures_agree(fp.view(), e.fp.view()))
            {
                continue;
            }
            let better =
                best.is_none_or(|b| c > b.containment || (c == b.containment && e.story < b.story));
            if better {
                best = Some(Match {
                    story: e.story,
                    cluster: e.cluster,
                    shared,
                    containment: c,
                });
            }
        }
        best
    }

    /// Adds (or replaces) a stored story.
    pub fn insert(&mut self, story: i64, cluster: i64, at: i64, fp: Fingerprint) {
        if fp.is_empty() {
            return;
        }
        self.remove(story);
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.entries.push(None);
                (self.entries.len() - 1) as u32
            }
        };
        for k in fp.keys() {
            match self.postings.entry(k) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(slot);
                }
                std::collections::hash_map::Entry::Occupied(_) => {
                    // A key held by many stories keeps its first holders (a widely reprinted
                    // story's origin and early copies); later ones are found through them.
                    let more = self.more_postings.entry(k).or_default();
                    if more.len() + 1 < MAX_POSTING {
                        more.push(slot);
                    }
                }
            }
        }
        self.entries[slot as usize] = Some(Entry {
            story,
            cluster,
            at,
            fp: Packed::new(&fp),
        });
        self.slots.insert(story, slot);
    }

    /// Drops a story.
    pub fn remove(&mut self, story: i64) {
        let Some(slot) = self.slots.remove(&story) else {
            return;
        };
        if let Some(e) = self.entries[slot as usize].take() {
            for k in keys_of(e.fp.view().lede) {
                remove_posting(&mut self.postings, &mut self.more_postings, k, slot);
            }
        }
        self.free.push(slot);
    }

    /// Drops stories published before `t` (unix seconds): they are out of every future window.
    pub fn evict_before(&mut self, t: i64) {
        let old: Vec<i64> = self
            .entries
            .iter()
            .flatten()
            .filter(|e| e.at < t)
            .map(|e| e.story)
            .collect();
        for s in old {
            self.remove(s);
        }
    }

    /// Heap bytes held, counted from capacities: entries, packed fingerprints, postings and the
    /// id map (hash tables at their allocated size, one control byte per bucket).
    pub fn heap_bytes(&self) -> usize {
        let entry = std::mem::size_of::<Option<Entry>>();
        let fps: usize = self
            .entries
            .iter()
            .flatten()
            .map(|e| 4 * e.fp.data.len())
            .sum();
        let table = |cap: usize, kv: usize| {
            // hashbrown allocates a power of two of buckets at most 7/8 full.
            let buckets = if cap == 0 {
                0
            } else {
                (cap * 8 / 7).next_power_of_two()
            };
            buckets * (kv + 1)
        };
        let postings = table(self.postings.capacity(), 8)
            + table(
                self.more_postings.capacity(),
                4 + std::mem::size_of::<Vec<u32>>(),
            )
            + self
                .more_postings
                .values()
                .map(|v| 4 * v.capacity())
                .sum::<usize>();
        let slots = table(self.slots.capacity(), 16);
        self.entries.capacity() * entry + fps + postings + slots + self.free.capacity() * 4
    }
}

/// Where a new story goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement {
    /// Into a stored cluster.
    Existing(i64),
    /// Into the `n`th cluster this batch creates (numbered from 0 in batch order).
    New(usize),
}

/// One new story of a batch, as the matcher sees it.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    /// Unix seconds of its publication (or first sighting).
    pub at: i64,
    pub fingerprint: &'a Fingerprint,
}

/// The daemon's shared matcher: the index of recent fingerprints and how far it has caught up
/// with the database (the highest story id it has seen). The store places each batch of new
/// stories while holding the database's cluster lock, and commits them to the index only after
/// its transaction committed, so the index never holds a story the database does not.
#[derive(Debug)]
pub struct Matcher {
    index: Mutex<Index>,
    synced: AtomicI64,
}

impl Matcher {
    pub fn new(rules: MatchRules) -> Matcher {
        Matcher {
            index: Mutex::new(Index::new(rules)),
            synced: AtomicI64::new(0),
        }
    }

    pub fn rules(&self) -> MatchRules {
        self.index().rules
    }

    /// New rules for later matches (a config reload); the index is kept.
    pub fn set_rules(&self, rules: MatchRules) {
        self.index().rules = rules;
    }

    fn index(&self) -> std::sync::MutexGuard<'_, Index> {
        // The index holds no invariant a panic halfway could break for readers.
        self.index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The highest story id the index has caught up with.
    pub fn synced(&self) -> i64 {
        self.synced.load(Ordering::Acquire)
    }

    /// Stories held.
    pub fn len(&self) -> usize {
        self.index().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds stored stories (story, cluster, at, serialized fingerprint) and records that the
    /// index has caught up to `upto`. Unreadable fingerprints are skipped.
    pub fn load<'a>(&self, rows: impl IntoIterator<Item = (i64, i64, i64, &'a [u8])>, upto: i64) {
        let mut idx = self.index();
        for (story, cluster, at, bytes) in rows {
            if let Some(fp) = Fingerprint::from_bytes(bytes) {
                idx.insert(story, cluster, at, fp);
            }
        }
        self.synced.fetch_max(upto, Ordering::AcqRel);
    }

    /// Places a batch of new stories, in the order given: each is matched against the index and
    /// against the batch's earlier stories, and joins the best match's cluster, or starts one.
    /// Changes nothing: see [`Matcher::commit`].
    pub fn place(&self, batch: &[Arrival<'_>]) -> Vec<Placement> {
        let idx = self.index();
        let mut local = Index::new(idx.rules);
        let mut new_clusters = 0usize;
        let mut out = Vec::with_capacity(batch.len());
        for (i, a) in batch.iter().enumerate() {
            let stored = idx.find(a.fingerprint, a.at);
            // Batch clusters carry negative ids: -(n + 1) for the nth new one.
            let earlier = local.find(a.fingerprint, a.at);
            let best = match (stored, earlier) {
                (Some(s), Some(e)) if e.containment > s.containment => Some(e),
                (Some(s), _) => Some(s),
                (None, e) => e,
            };
            let (placement, label) = match best {
                Some(m) if m.cluster < 0 => (Placement::New((-m.cluster - 1) as usize), m.cluster),
                Some(m) => (Placement::Existing(m.cluster), m.cluster),
                None => {
                    new_clusters += 1;
                    (Placement::New(new_clusters - 1), -(new_clusters as i64))
                }
            };
            local.insert(i as i64, label, a.at, a.fingerprint.clone());
            out.push(placement);
        }
        out
    }

    /// Adds a committed batch (story, cluster, at, fingerprint) to the index; `upto` is the
    /// highest story id the database held when the batch committed under the lock.
    pub fn commit(&self, stories: Vec<(i64, i64, i64, Fingerprint)>, upto: i64) {
        let mut idx = self.index();
        for (story, cluster, at, fp) in stories {
            idx.insert(story, cluster, at, fp);
        }
        self.synced.fetch_max(upto, Ordering::AcqRel);
    }

    /// Drops stories published before `t` (unix seconds).
    pub fn evict_before(&self, t: i64) {
        self.index().evict_before(t);
    }

    /// Drops the stories of clusters that no longer exist (removed feeds, pruned stories).
    pub fn forget_clusters(&self, clusters: &[i64]) {
        let mut idx = self.index();
        let gone: Vec<i64> = idx
            .entries
            .iter()
            .flatten()
            .filter(|e| clusters.contains(&e.cluster))
            .map(|e| e.story)
            .collect();
        for s in gone {
            idx.remove(s);
        }
    }

    /// Heap bytes the index holds (see [`Index::heap_bytes`]).
    pub fn heap_bytes(&self) -> usize {
        self.index().heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEDE: &str = "The United States has received Kosovo's request to buy Javelin anti-tank missiles, the State Department said on Thursday, a move that has angered Serbia.";
    const MORE: &str = "Serbian President Aleksandar Vucic said he was deeply disappointed and would raise the matter with American officials in the coming days, adding that the weapons could only be used against Serbs.";
    const END: &str = "Kosovo's prime minister said the missiles were needed for defense and that the request had been planned for a long time by the government in Pristina.";

    fn story(parts: &[&str]) -> String {
        parts.join("\n\n")
    }

    #[test]
    fn typography_and_number_formats_do_not_change_the_fingerprint() {
        let a = fingerprint("He said “it’s done” — 4,790,000 units, at 20 dlrs.");
        let b = fingerprint("He said \"it's done\" -- 4790000 units, at 20 dlrs.");
        assert_eq!(a, b);
    }

    #[test]
    fn a_truncated_reprint_and_a_longer_update_match_their_original() {
        let rules = MatchRules::default();
        let mut idx = Index::new(rules);
        idx.insert(1, 10, 0, fingerprint(&story(&[LEDE, MORE, END])));
        let truncated = fingerprint(&story(&[LEDE, MORE]));
        let m = idx
            .find(&truncated, 3600)
            .expect("truncated reprint matches");
        assert_eq!(m.cluster, 10);
        let update = fingerprint(&story(&[
            "Kosovo's government confirmed on Friday that it had asked Washington for the missiles.",
            LEDE,
            MORE,
            END,
        ]));
        assert_eq!(idx.find(&update, 7200).map(|m| m.cluster), Some(10));
        // Out of the window: no match.
        assert_eq!(idx.find(&truncated, rules.window_secs + 1), None);
    }

    #[test]
    fn a_short_reprint_matches_a_long_original_sampled_at_a_coarse_level() {
        // A long original (sampled at level 2 or more) and a two-paragraph reprint of its
        // opening (more shingles than the whole-text opening but few at that level).
        let mut long = vec![LEDE, MORE];
        let filler: Vec<String> = (0..30)
            .map(|i| format!("Paragraph {i} adds detail number {i} about talks between the two governments, the monitors on the ground and the schedule of votes expected later this year."))
            .collect();
        long.extend(filler.iter().map(String::as_str));
        let original = fingerprint(&story(&long));
        assert!(original.level >= 2, "level {}", original.level);
        let reprint = fingerprint(&story(&long[..2]));
        assert!(reprint.shingles as usize > LEDE_SHINGLES && reprint.level == 0);
        let mut idx = Index::new(MatchRules::default());
        idx.insert(1, 10, 0, original);
        assert_eq!(idx.find(&reprint, 60).map(|m| m.cluster), Some(10));
    }

    #[test]
    fn a_different_story_on_the_same_dispute_stays_apart() {
        let mut idx = Index::new(MatchRules::default());
        idx.insert(1, 10, 0, fingerprint(&story(&[LEDE, MORE, END])));
        let other = fingerprint(&story(&[
            "Serbia's president on Friday accused Kosovo of preparing for war after it asked the United States for anti-tank missiles.",
            "Speaking in Belgrade, Vucic said Serbia would respond with diplomacy and would ask its partners in Moscow and Beijing for support at the United Nations.",
            "Officials in Pristina dismissed the remarks and said the purchase was purely defensive.",
        ]));
        assert_eq!(idx.find(&other, 3600), None);
    }

    #[test]
    fn short_texts_need_more_than_a_few_shared_words() {
        let mut idx = Index::new(MatchRules::default());
        idx.insert(
            1,
            10,
            0,
            fingerprint("Shares rose sharply in early trading."),
        );
        assert_eq!(
            idx.find(&fingerprint("Shares rose sharply in early trading."), 10),
            None
        );
    }

    #[test]
    fn bad_input_never_merges_by_accident_or_panics() {
        let mut idx = Index::new(MatchRules::default());
        idx.insert(1, 10, 0, fingerprint(&story(&[LEDE, MORE, END])));
        // Empty and one-word bodies have no fingerprint and match nothing.
        for body in ["", "   \n\n  ", "Brief.", "—", "\u{0}\u{1}"] {
            let fp = fingerprint(body);
            assert!(fp.is_empty(), "{body:?}");
            assert_eq!(idx.find(&fp, 0), None);
        }
        // A one-sentence brief sharing a phrase with a stored story stays apart.
        let brief = fingerprint("The United States has received a request, officials said.");
        assert_eq!(idx.find(&brief, 0), None);
        // Another script: Chinese is matched character by character, and two different Chinese
        // stories stay apart while a truncated copy joins.
        let zh = "美国国务院星期四表示已收到科索沃购买标枪反坦克导弹的请求。塞尔维亚总统武契奇对此深表失望，并表示将与美国官员讨论此事。科索沃总理说这些导弹用于防御。";
        let zh_other = "中国国家统计局星期一公布的数据显示，第一季度经济增长速度高于市场预期，消费和出口均有所回升，但房地产投资继续下降。";
        idx.insert(2, 20, 0, fingerprint(zh));
        assert_eq!(idx.find(&fingerprint(zh_other), 0), None);
        let zh_cut: String = zh.chars().take(40).collect();
        assert_eq!(
            idx.find(&fingerprint(&zh_cut), 0).map(|m| m.cluster),
            Some(20)
        );
        // A very long text keeps a bounded fingerprint.
        let long = story(&[LEDE, MORE, END]).repeat(2000);
        let fp = fingerprint(&long);
        assert!(fp.sketch.len() <= SKETCH_MAX && fp.lede.len() <= LEDE_SHINGLES);
    }

    #[test]
    fn fingerprints_survive_a_round_trip_and_reject_garbage() {
        let fp = fingerprint(&story(&[LEDE, MORE, END]));
        assert_eq!(Fingerprint::from_bytes(&fp.to_bytes()), Some(fp));
        assert_eq!(Fingerprint::from_bytes(b""), None);
        assert_eq!(Fingerprint::from_bytes(&[9, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(
            Fingerprint::from_bytes(&[1, 0, 0, 0, 5, 0, 0, 0, 1, 2, 3, 4]),
            None
        );
    }

    #[test]
    fn a_batch_is_placed_against_the_index_and_its_own_earlier_stories() {
        let m = Matcher::new(MatchRules::default());
        let original = fingerprint(&story(&[LEDE, MORE, END]));
        m.commit(vec![(1, 10, 0, original)], 1);
        let reprint = fingerprint(&story(&[LEDE, MORE]));
        let other = fingerprint(&story(&[
            "Floods closed the main road between the two towns on Sunday after three days of heavy rain across the valley.",
            "Officials said repairs would take a week and asked drivers to use the mountain pass instead.",
        ]));
        let other_again = fingerprint(&story(&[
            "Floods closed the main road between the two towns on Sunday after three days of heavy rain across the valley.",
        ]));
        let placed = m.place(&[
            Arrival {
                at: 60,
                fingerprint: &reprint,
            },
            Arrival {
                at: 60,
                fingerprint: &other,
            },
            Arrival {
                at: 90,
                fingerprint: &other_again,
            },
        ]);
        assert_eq!(
            placed,
            vec![
                Placement::Existing(10),
                Placement::New(0),
                Placement::New(0)
            ]
        );
        // Placing changed nothing.
        assert_eq!(m.len(), 1);
        assert_eq!(m.synced(), 1);
    }

    #[test]
    fn removed_and_evicted_stories_are_not_found() {
        let mut idx = Index::new(MatchRules::default());
        idx.insert(1, 10, 0, fingerprint(&story(&[LEDE, MORE])));
        idx.insert(2, 20, 100_000, fingerprint(&story(&[MORE, END])));
        idx.evict_before(50_000);
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.find(&fingerprint(&story(&[LEDE, MORE])), 10), None);
        idx.remove(2);
        assert!(idx.is_empty());
    }
}
