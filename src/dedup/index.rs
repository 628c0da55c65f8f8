//! The in-memory index of recent fingerprints: candidate lookup, verification of the
//! candidates, insertion, removal, eviction and cluster relabelling.
//!
//! Candidates are found over the whole text, not only its opening: a story is listed under a
//! bounded number of keys, its sketch's hashes [`KEY_STEP`] levels above the sketch's own level
//! (about 16, spread over the whole text by consistent sampling) and its opening's hashes at
//! [`LEDE_KEY_LEVEL`]; a new story looks up every hash it has at up to two levels below its own
//! sketch's (its probes). Any shared shingle at the coarser of the two texts' key levels is
//! thus found, wherever it sits, so a copy under a page's worth of chrome, or with its top cut,
//! still meets its original. Candidates are ranked by shared keys and the best
//! [`MAX_CANDIDATES`] are verified.
//!
//! Text many unrelated stories share is learned from the index itself, at run time: a key whose
//! postings span [`COMMON_CLUSTERS`] or more clusters (an outlet's furniture, a photo caption
//! reused on many pages, a widget) finds no candidates, so such text never creates a match on
//! its own.
//!
//! Never: does I/O or reads the clock; cluster ids are the caller's.

use std::collections::HashMap;

use super::fingerprint::{figures_agree, overlap, Fingerprint, FpRef, Overlap};
use super::MatchRules;

/// Stories one index key lists at most.
const MAX_POSTING: usize = 64;
/// Candidates verified per lookup, those sharing the most keys first.
pub(crate) const MAX_CANDIDATES: usize = 32;
/// Sketch hashes at least this many levels above the sketch's own level are index keys (about
/// a quarter of the sketch).
pub(crate) const KEY_STEP: u32 = 2;
/// Opening hashes with at least this many trailing zero bits are index keys (a quarter).
pub(crate) const LEDE_KEY_LEVEL: u32 = 2;
/// A key listed by stories of at least this many clusters is common text and finds nothing.
pub(crate) const COMMON_CLUSTERS: usize = 8;
/// Share of the larger text's opening the smaller must hold when the shared text is only a small
/// part of the larger (see [`MIN_RESEMBLANCE`]).
pub(crate) const MIN_ANCHOR: f64 = 0.3;
/// A text of fewer shingles (about a hundred words: a caption, a gallery of captions, a video
/// blurb, a credit) is too short to create a match on its own: it matches only a text it makes
/// up most of, or the opening of a longer one (a truncated copy). A longer story's photo
/// captions, shared with a caption page, are a small part of it and not its opening.
pub(crate) const THIN_SHINGLES: u32 = 100;
/// What "most" means for a short text: see [`THIN_SHINGLES`].
pub(crate) const THIN_RESEMBLANCE: f64 = 0.5;
/// Share of the larger text's opening a short text must hold to match as its truncation.
pub(crate) const THIN_ANCHOR: f64 = 0.4;
/// When the shared text is less than this share of the larger text, the smaller must hold the
/// larger's opening ([`MIN_ANCHOR`]): a truncated copy keeps its original's opening, while one
/// item of a digest, or a wire story quoted inside a longer piece, sits in its middle.
pub(crate) const MIN_RESEMBLANCE: f64 = 0.4;
/// A version (a wire write-thru: new top, paragraphs moved, added and cut) keeps less than
/// `min_containment` of the text before it but still a long passage of it: at least this many
/// shared shingles...
pub(crate) const VERSION_SHARED: usize = 48;
/// ...making up at least this share of the smaller text...
pub(crate) const VERSION_CONTAINMENT: f64 = 0.5;
/// ...and this share of the larger, with the figures kept.
pub(crate) const VERSION_RESEMBLANCE: f64 = 0.25;
/// A shared passage this long (shingles), holding at least [`LONG_CONTAINMENT`] of the
/// smaller text, is no template: the figures rule is waived (a version updates its figures).
pub(crate) const LONG_SHARED: usize = 150;
/// See [`LONG_SHARED`].
pub(crate) const LONG_CONTAINMENT: f64 = 0.6;

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

/// The index keys of a fingerprint: its sketch's hashes KEY_STEP levels up, and its opening's
/// hashes at LEDE_KEY_LEVEL, sorted and unique.
pub(crate) fn keys_of(f: FpRef<'_>) -> Vec<u32> {
    let level = u32::from(f.level) + KEY_STEP;
    let mut k: Vec<u32> = f
        .sketch
        .iter()
        .copied()
        .filter(|h| h.trailing_zeros() >= level)
        .chain(
            f.lede
                .iter()
                .copied()
                .filter(|h| h.trailing_zeros() >= LEDE_KEY_LEVEL),
        )
        .collect();
    k.sort_unstable();
    k.dedup();
    k
}

/// Why two fingerprints do or do not match under the rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    pub overlap: Overlap,
    /// The smaller text's figures are in the larger.
    pub figures: bool,
    /// The match holds.
    pub matches: bool,
    /// The first rule that failed, if any.
    pub failed: Option<&'static str>,
}

/// Judges two fingerprints (not their dates) by the rules: enough shared shingles, enough of the
/// smaller text contained in the larger, the figures kept unless the containment is strong, and
/// the shared text either a fair part of the larger text or its opening.
pub fn judge(a: FpRef<'_>, b: FpRef<'_>, rules: &MatchRules) -> Verdict {
    let o = overlap(a, b);
    // A long shared passage is no template: a wire version may update its figures.
    let figures = figures_agree(a, b) || (o.shared >= LONG_SHARED && o.small >= LONG_CONTAINMENT);
    let version = o.shared >= VERSION_SHARED
        && o.small >= VERSION_CONTAINMENT
        && o.large >= VERSION_RESEMBLANCE
        && figures;
    let failed = if o.shared < rules.min_shared {
        Some("too few shared shingles (min_shared)")
    } else if o.small < rules.min_containment && !version {
        Some("too little of the smaller text in the larger (min_containment), and not a version")
    } else if o.small < rules.strong_containment && !figures {
        Some("figures differ and the containment is not strong")
    } else if o.large < MIN_RESEMBLANCE && o.large_lede < MIN_ANCHOR {
        Some("the shared text is a small part of the larger text and not its opening")
    } else if a.shingles.min(b.shingles) < THIN_SHINGLES
        && o.large < THIN_RESEMBLANCE
        && o.large_lede < THIN_ANCHOR
    {
        Some(
            "the smaller text is too short to match on less than most of the larger or its opening",
        )
    } else {
        None
    };
    Verdict {
        overlap: o,
        figures,
        matches: failed.is_none(),
        failed,
    }
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

/// One stored story in the index.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) story: i64,
    pub(super) cluster: i64,
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
    /// Share of the smaller text in the larger.
    pub containment: f64,
    /// Share of the larger text the shared part makes up.
    pub resemblance: f64,
}

/// Recent fingerprints, found by their opening's shingles.
#[derive(Debug, Default)]
pub struct Index {
    pub(super) rules: MatchRules,
    pub(super) entries: Vec<Option<Entry>>,
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
        self.find_all(fp, at).into_iter().next()
    }

    /// Every verified match for a new story published at `at`, best first (most contained,
    /// then the earliest story), among the candidates sharing the most keys with it.
    pub fn find_all(&self, fp: &Fingerprint, at: i64) -> Vec<Match> {
        if fp.is_empty() {
            return Vec::new();
        }
        let mut seen: Vec<u32> = Vec::new();
        for h in fp.lookups().iter() {
            let Some(first) = self.postings.get(h) else {
                continue;
            };
            let more = self.more_postings.get(h).map_or(&[][..], Vec::as_slice);
            if more.len() + 1 >= COMMON_CLUSTERS && self.is_common(*first, more) {
                continue;
            }
            seen.push(*first);
            seen.extend_from_slice(more);
        }
        // Rank candidates by how many keys they share; verify only the best few. A copy shares
        // most of its keys with its original; stories that only share a stock phrase share one
        // or two.
        seen.sort_unstable();
        let mut ranked: Vec<(u32, u32)> = Vec::new();
        for run in seen.chunk_by(|a, b| a == b) {
            ranked.push((run.len() as u32, run[0]));
        }
        ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.truncate(MAX_CANDIDATES);
        // When some candidate shares several keys, one that shares a single key is a stock
        // phrase, not a copy: verifying it costs time and finds nothing.
        if ranked.first().is_some_and(|r| r.0 >= 4) {
            ranked.retain(|r| r.0 >= 2);
        }
        let mut found: Vec<Match> = Vec::new();
        for (_, slot) in ranked {
            let Some(e) = self.entries.get(slot as usize).and_then(Option::as_ref) else {
                continue;
            };
            if (e.at - at).abs() > self.rules.window_secs {
                continue;
            }
            let v = judge(fp.view(), e.fp.view(), &self.rules);
            if v.matches {
                found.push(Match {
                    story: e.story,
                    cluster: e.cluster,
                    shared: v.overlap.shared,
                    containment: v.overlap.small,
                    resemblance: v.overlap.large,
                });
            }
        }
        found.sort_by(|a, b| {
            b.containment
                .total_cmp(&a.containment)
                .then(a.story.cmp(&b.story))
        });
        found
    }

    /// Whether the stories listed under a key belong to COMMON_CLUSTERS clusters or more.
    fn is_common(&self, first: u32, more: &[u32]) -> bool {
        let mut clusters: Vec<i64> = std::iter::once(&first)
            .chain(more)
            .filter_map(|s| self.entries.get(*s as usize).and_then(Option::as_ref))
            .map(|e| e.cluster)
            .collect();
        clusters.sort_unstable();
        clusters.dedup();
        clusters.len() >= COMMON_CLUSTERS
    }

    /// Moves every story of cluster `from` to cluster `into`.
    pub fn relabel(&mut self, from: i64, into: i64) {
        for e in self.entries.iter_mut().flatten() {
            if e.cluster == from {
                e.cluster = into;
            }
        }
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
        for k in keys_of(fp.view()) {
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
            for k in keys_of(e.fp.view()) {
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
