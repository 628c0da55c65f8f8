//! Reprint and update detection: decides which stored story a new story is a copy or a version
//! of, across every outlet, so each underlying story is one cluster.
//!
//! Parts: `fingerprint` (what a text is reduced to, and how two compare), `index` (the
//! in-memory index of recent fingerprints: candidates over the whole text, verification), the
//! [`Matcher`] here (the daemon's shared index, batch placement and cluster merges), and
//! `eval` (scores the engine on labeled appearances).
//!
//! **Cluster merges and how far chaining goes.** A new story joins the cluster of its best
//! match. When it also matches stories of other clusters, it is a bridge, and the clusters
//! merge, but only on direct evidence: the bridging story itself must pass the full match
//! rules against a member of each cluster it merges *and* share at least
//! [`MERGE_RESEMBLANCE`] of the larger text with each (a copy or a wire version of both, not a
//! short item found inside a digest, nor a digest holding several items), and a story that
//! matches more than [`MAX_BRIDGED`] clusters merges none (text that specific to nothing is not
//! evidence). Chaining therefore goes exactly as far as there is a chain of stories each of
//! which is, by itself, a near copy of one already in the cluster: successive wire write-thrus
//! stay together though the first and last share little, while a chain of small overlaps (a
//! shared quote, a background paragraph, a caption) never links two clusters, because no single
//! story on it resembles both sides. Merges are decided by [`Matcher::plan`], executed by the
//! store, and then applied to the index by [`Matcher::commit_merges`].
//!
//! Never: does I/O, reads the clock, or looks at titles, URLs or sources to decide a match (those
//! vary freely between outlets); origin choice is the store's, from the wire flags.

pub mod eval;
pub mod fingerprint;
pub mod index;
pub mod plan;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

pub use fingerprint::{figures_agree, fingerprint, overlap, Fingerprint, FpRef, Overlap};
pub use index::{judge, Index, Match, Verdict};

/// Most clusters a story may match and still merge them (see the module header).
const MAX_BRIDGED: usize = 3;
/// Share of the larger text a bridging story must share with each cluster it merges.
const MERGE_RESEMBLANCE: f64 = 0.4;

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
        MatchRules::from(&crate::config::DedupConfig::default())
    }
}

impl From<&crate::config::DedupConfig> for MatchRules {
    /// The engine's rules from `[dedup]` (a window beyond a year, which `check` refuses, is a
    /// year).
    fn from(c: &crate::config::DedupConfig) -> MatchRules {
        const MAX_WINDOW_HOURS: u64 = 366 * 24;
        MatchRules {
            window_secs: (c.window_hours.min(MAX_WINDOW_HOURS) * 3600) as i64,
            min_containment: c.min_containment,
            strong_containment: c.strong_containment,
            min_shared: c.min_shared,
        }
    }
}

/// Where a new story goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Into a stored cluster.
    Existing(i64),
    /// Into the `n`th cluster this batch creates (numbered from 0 in batch order).
    New(usize),
}

/// Two stored clusters that are one story: every story of `from` moves to `into`, and `from`
/// disappears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merge {
    pub from: i64,
    pub into: i64,
}

/// The clusters of one batch's planning: which cluster each merged one now is (stored ids
/// positive, batch-new ones negative), and the merges of stored clusters decided so far.
#[derive(Debug, Default)]
struct Clusters {
    parent: HashMap<i64, i64>,
    merges: Vec<Merge>,
}

impl Clusters {
    /// The cluster `c` now is.
    fn find(&self, mut c: i64) -> i64 {
        // Every step goes to a cluster merged later, so this ends; the bound is a guard.
        for _ in 0..=self.parent.len() {
            match self.parent.get(&c) {
                Some(p) => c = *p,
                None => break,
            }
        }
        c
    }

    /// The cluster a story with these matches (best first) joins, merging the clusters it
    /// bridges; `None` when it matched nothing.
    fn settle(&mut self, found: &[Match]) -> Option<i64> {
        // Each cluster once, with its best match, best first.
        let mut best: Vec<(i64, &Match)> = Vec::new();
        for m in found {
            let c = self.find(m.cluster);
            if !best.iter().any(|(b, _)| *b == c) {
                best.push((c, m));
            }
        }
        let (first, _) = *best.first()?;
        // A story that matches many clusters is not specific evidence about any two of them (a
        // digest, a page of captions): it joins the best and merges nothing.
        if best.len() > MAX_BRIDGED {
            return Some(first);
        }
        let bridged: Vec<i64> = best
            .iter()
            .enumerate()
            .filter(|(i, (_, m))| *i == 0 || m.resemblance >= MERGE_RESEMBLANCE)
            .map(|(_, (c, _))| *c)
            .collect();
        if best[0].1.resemblance < MERGE_RESEMBLANCE || bridged.len() < 2 {
            return Some(first);
        }
        // A stored cluster survives a batch-new one; among stored ones, the best match's.
        let root = bridged.iter().copied().find(|c| *c >= 0).unwrap_or(first);
        for c in bridged {
            if c == root {
                continue;
            }
            if c >= 0 {
                self.merges.push(Merge {
                    from: c,
                    into: root,
                });
            }
            self.parent.insert(c, root);
        }
        Some(root)
    }
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
    /// Changes nothing: see [`Matcher::commit`]. The placements of [`Matcher::plan`], without
    /// its merges.
    pub fn place(&self, batch: &[Arrival<'_>]) -> Vec<Placement> {
        self.plan(batch).0
    }

    /// Places a batch like [`Matcher::place`], and returns the merges of stored clusters the
    /// batch's stories call for: a story that is a copy or version of members of several
    /// clusters (a bridge, see the module header for how far that goes) joins the best one and
    /// the others merge into it. A batch-new cluster that meets a stored one joins it. Each
    /// merge's `into` is the cluster the bridging story's placement names (after every merge
    /// of the batch), so the store applies merges after placements. Changes nothing: see
    /// [`Matcher::commit`] and [`Matcher::commit_merges`].
    pub fn plan(&self, batch: &[Arrival<'_>]) -> (Vec<Placement>, Vec<Merge>) {
        let idx = self.index();
        let mut local = Index::new(idx.rules);
        let mut clusters = Clusters::default();
        let mut new_clusters = 0i64;
        let mut labels = Vec::with_capacity(batch.len());
        for (i, a) in batch.iter().enumerate() {
            // Stored matches first: on equal containment a stored cluster wins.
            let mut found = idx.find_all(a.fingerprint, a.at);
            found.extend(local.find_all(a.fingerprint, a.at));
            found.sort_by(|x, y| y.containment.total_cmp(&x.containment));
            let label = match clusters.settle(&found) {
                Some(c) => c,
                None => {
                    // Batch clusters carry negative ids: -(n + 1) for the nth new one.
                    new_clusters += 1;
                    -new_clusters
                }
            };
            local.insert(i as i64, label, a.at, a.fingerprint.clone());
            labels.push(label);
        }
        // Resolve every label through the batch's merges; number the batch-new clusters that
        // remain in order of first appearance (the first member is the origin).
        let mut order: HashMap<i64, usize> = HashMap::new();
        let placements = labels
            .iter()
            .map(|l| match clusters.find(*l) {
                c if c < 0 => {
                    let n = order.len();
                    Placement::New(*order.entry(c).or_insert(n))
                }
                c => Placement::Existing(c),
            })
            .collect();
        let merges = clusters
            .merges
            .iter()
            .map(|m| Merge {
                from: m.from,
                into: clusters.find(m.into),
            })
            .collect();
        (placements, merges)
    }

    /// Relabels the index after the database committed `merges` (in order): every story of
    /// `from` now belongs to `into`.
    pub fn commit_merges(&self, merges: &[Merge]) {
        if merges.is_empty() {
            return;
        }
        let mut idx = self.index();
        for m in merges {
            idx.relabel(m.from, m.into);
        }
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
    use super::fingerprint::{LEDE_SHINGLES, SKETCH_MAX};
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
        // Probes are for looking a new story up; storage does not keep them.
        let mut stored = fp.clone();
        stored.probes.clear();
        assert_eq!(Fingerprint::from_bytes(&fp.to_bytes()), Some(stored));
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

    /// A made-up word: letters only (a word with a digit would count as a figure).
    fn word(mut n: usize) -> String {
        let mut w = String::new();
        loop {
            w.push(char::from(b'a' + (n % 26) as u8));
            n /= 26;
            if n == 0 {
                break;
            }
        }
        w
    }

    /// Paragraph `n`: twenty words no other paragraph has.
    fn para(n: usize) -> String {
        let words: Vec<String> = (0..20).map(|j| format!("{}{}", word(n), word(j))).collect();
        words.join(" ") + "."
    }

    fn text(paras: impl IntoIterator<Item = usize>) -> String {
        paras.into_iter().map(para).collect::<Vec<_>>().join("\n\n")
    }

    fn arrive(fp: &Fingerprint, at: i64) -> Arrival<'_> {
        Arrival {
            at,
            fingerprint: fp,
        }
    }

    /// Places one story at a time, as the eval does, applying merges; returns each story's
    /// final cluster (its cluster id is its own index when it starts one).
    fn run(m: &Matcher, texts: &[String]) -> Vec<i64> {
        let mut clusters = Vec::new();
        let mut merged: HashMap<i64, i64> = HashMap::new();
        for (i, t) in texts.iter().enumerate() {
            let fp = fingerprint(t);
            let (placed, merges) = m.plan(&[arrive(&fp, i as i64)]);
            let c = match placed[0] {
                Placement::Existing(c) => c,
                Placement::New(_) => i as i64,
            };
            m.commit(vec![(i as i64, c, i as i64, fp)], i as i64);
            m.commit_merges(&merges);
            for g in merges {
                merged.insert(g.from, g.into);
            }
            clusters.push(c);
        }
        clusters
            .into_iter()
            .map(|mut c| {
                while let Some(n) = merged.get(&c) {
                    c = *n;
                }
                c
            })
            .collect()
    }

    fn distinct(clusters: &[i64]) -> usize {
        let mut c = clusters.to_vec();
        c.sort_unstable();
        c.dedup();
        c.len()
    }

    #[test]
    fn number_formats_are_written_one_way() {
        let a = fingerprint("Fourth quarter profit rose 15 pct to 1.5 mln dlrs, the company said.");
        let b = fingerprint("4th quarter profit rose 15% to 1.5 million dlrs, the company said.");
        let c =
            fingerprint("4th quarter profit rose 15 percent to 1.5 mln dlrs, the company said.");
        assert_eq!(a, b);
        assert_eq!(a, c);
        // Another figure is another fingerprint.
        let d = fingerprint("Fourth quarter profit rose 25 pct to 1.5 mln dlrs, the company said.");
        assert_ne!(a.numbers, d.numbers);
    }

    #[test]
    fn templated_briefs_with_other_figures_stay_apart_and_reformatted_ones_join() {
        let brief = |shr: &str, net: &str, revs: &str| {
            format!(
                "Shr profit {shr} cts vs profit four cts\n\nNet profit {net} vs profit 16,000\n\nRevs {revs} mln vs 2.3 mln\n\nNOTE: annual dividend payable April 10 to holders of record on March 27."
            )
        };
        let mut idx = Index::new(MatchRules::default());
        idx.insert(1, 10, 0, fingerprint(&brief("15", "72,000", "7.1")));
        // The same brief reformatted by an outlet.
        let same = brief("15", "72000", "7.1").replace("four cts", "4 cts");
        assert_eq!(
            idx.find(&fingerprint(&same), 60).map(|m| m.cluster),
            Some(10)
        );
        // Another company's brief in the same template.
        assert_eq!(
            idx.find(&fingerprint(&brief("22", "91,000", "8.4")), 60),
            None
        );
    }

    #[test]
    fn a_copy_is_found_under_page_chrome_captions_and_with_its_top_cut() {
        let original = text(0..8);
        let mut idx = Index::new(MatchRules::default());
        idx.insert(1, 10, 0, fingerprint(&original));
        // Thirty lines of page furniture and two captions of its own above the copy.
        let mut page: Vec<String> = (0..30)
            .map(|i| format!("{} {} {}", word(1000 + i), word(2000 + i), word(3000 + i)))
            .collect();
        page.push(para(500));
        page.push(para(501));
        page.push(original.clone());
        let page = page.join("\n\n");
        assert_eq!(
            idx.find(&fingerprint(&page), 60).map(|m| m.cluster),
            Some(10)
        );
        // The last six of eight paragraphs, and a copy whose top half is gone.
        assert_eq!(
            idx.find(&fingerprint(&text(2..8)), 60).map(|m| m.cluster),
            Some(10)
        );
        // A long original and a copy of its last three fifths: keys are spread over the whole
        // text, not only its opening.
        let long = text(100..160);
        idx.insert(2, 20, 0, fingerprint(&long));
        assert_eq!(
            idx.find(&fingerprint(&text(124..160)), 60)
                .map(|m| m.cluster),
            Some(20)
        );
    }

    #[test]
    fn a_story_bridging_two_stored_clusters_merges_them() {
        let m = Matcher::new(MatchRules::default());
        // Two halves of one story, stored apart (they share nothing).
        m.commit(
            vec![
                (1, 10, 0, fingerprint(&text(0..8))),
                (2, 20, 0, fingerprint(&text(8..16))),
            ],
            2,
        );
        let whole = fingerprint(&text(0..15));
        let (placed, merges) = m.plan(&[arrive(&whole, 60)]);
        assert_eq!(placed, vec![Placement::Existing(10)]);
        assert_eq!(merges, vec![Merge { from: 20, into: 10 }]);
        // Planning changed nothing; committing the merges relabels the index.
        assert_eq!(
            m.index()
                .find(&fingerprint(&text(8..16)), 60)
                .map(|x| x.cluster),
            Some(20)
        );
        m.commit_merges(&merges);
        assert_eq!(
            m.index()
                .find(&fingerprint(&text(8..16)), 60)
                .map(|x| x.cluster),
            Some(10)
        );
    }

    #[test]
    fn a_batch_new_cluster_that_meets_a_stored_one_joins_it() {
        let m = Matcher::new(MatchRules::default());
        m.commit(vec![(1, 10, 0, fingerprint(&text(0..8)))], 1);
        let second_half = fingerprint(&text(8..16));
        let whole = fingerprint(&text(0..16));
        let other = fingerprint(&text(50..58));
        let (placed, merges) = m.plan(&[
            arrive(&second_half, 60),
            arrive(&other, 61),
            arrive(&whole, 62),
        ]);
        assert_eq!(
            placed,
            vec![
                Placement::Existing(10),
                Placement::New(0),
                Placement::Existing(10)
            ]
        );
        assert!(merges.is_empty());
    }

    #[test]
    fn write_thrus_stay_together_though_first_and_last_share_nothing() {
        // Sixteen versions, each keeping seven of the previous version's eight paragraphs.
        let m = Matcher::new(MatchRules::default());
        let versions: Vec<String> = (0..16).map(|v| text(v..v + 8)).collect();
        let clusters = run(&m, &versions);
        assert_eq!(distinct(&clusters), 1, "{clusters:?}");
    }

    #[test]
    fn a_chain_of_small_overlaps_does_not_glue_stories_together() {
        // Background passage k: three paragraphs' worth of words.
        let bg = |k: usize| {
            format!(
                "{} {} {}",
                para(2000 + 3 * k),
                para(2001 + 3 * k),
                para(2002 + 3 * k)
            )
        };
        // Twenty stories, each with six paragraphs of its own and two background passages,
        // the second shared with the next story; and after each, a short piece that is just
        // the passage two stories share (it is found inside both).
        let mut all = Vec::new();
        for k in 0..20 {
            all.push(format!(
                "{}

{}

{}",
                text(10 * k..10 * k + 6),
                bg(k),
                bg(k + 1)
            ));
        }
        for k in 0..19 {
            all.push(bg(k + 1));
        }
        let m = Matcher::new(MatchRules::default());
        let clusters = run(&m, &all);
        assert_eq!(distinct(&clusters[..20]), 20, "{clusters:?}");
    }

    #[test]
    fn a_digest_of_several_stories_merges_none_of_them() {
        let m = Matcher::new(MatchRules::default());
        let items: Vec<String> = (0..3).map(|i| text(10 * i..10 * i + 3)).collect();
        let mut all = items.clone();
        all.push(items.join("\n\n"));
        let clusters = run(&m, &all);
        assert_eq!(distinct(&clusters[..3]), 3, "{clusters:?}");
    }

    #[test]
    fn one_caption_on_500_pages_merges_nothing_and_stays_fast() {
        let caption = "A police officer stands next to the entrance of a media center with a poster in the capital on Sunday, a day before the meeting of the two presidents.";
        // Caption pages (the caption and a few words of their own), then stories that carry
        // the caption below their opening paragraphs.
        let mut all: Vec<String> = (0..500)
            .map(|i| {
                format!(
                    "{}

{caption}

{}",
                    word(7000 + i),
                    word(9000 + i)
                )
            })
            .collect();
        all.extend((0..50).map(|i| {
            let p = 200 + 5 * i;
            format!(
                "{}

{caption}

{}",
                text(p..p + 2),
                text(p + 2..p + 4)
            )
        }));
        let m = Matcher::new(MatchRules::default());
        let start = std::time::Instant::now();
        let clusters = run(&m, &all);
        assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
        // Whatever the near-identical caption pages do among themselves, no story joins them
        // or another story.
        let pages: std::collections::HashSet<i64> = clusters[..500].iter().copied().collect();
        assert_eq!(distinct(&clusters[500..]), 50, "{:?}", &clusters[500..]);
        assert!(clusters[500..].iter().all(|c| !pages.contains(c)));
    }

    #[test]
    fn a_story_matching_fifty_clusters_merges_none_and_stays_fast() {
        let m = Matcher::new(MatchRules::default());
        let mut all: Vec<String> = (0..50).map(|i| text(4 * i..4 * i + 4)).collect();
        // A page holding all fifty, and then one holding the first two equally.
        all.push(text(0..200));
        let start = std::time::Instant::now();
        let clusters = run(&m, &all);
        assert!(start.elapsed().as_secs() < 5);
        assert_eq!(distinct(&clusters[..50]), 50);
    }

    #[test]
    fn empty_all_chrome_and_huge_bodies_are_bounded() {
        let m = Matcher::new(MatchRules::default());
        let chrome: String = (0..200)
            .map(|i| format!("{} {}", word(5000 + i), word(6000 + i)))
            .collect::<Vec<_>>()
            .join("\n\n");
        let huge = (0..100_000).map(word).collect::<Vec<_>>().join(" ");
        let start = std::time::Instant::now();
        let fp = fingerprint(&huge);
        assert!(fp.sketch.len() <= SKETCH_MAX && fp.probes.len() <= 8 * SKETCH_MAX);
        let texts = vec![
            String::new(),
            chrome.clone(),
            chrome,
            huge.clone(),
            huge,
            text(0..5),
        ];
        let clusters = run(&m, &texts);
        assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
        // The empty body matches nothing; the huge body matches its copy and nothing else.
        assert_eq!(clusters[0], 0);
        assert_eq!(clusters[3], clusters[4]);
        assert_eq!(clusters[5], 5);
    }
}
