//! Shared by the benchmarks: deterministic real-shaped text, so every run serves the same bytes.

/// News-shaped words, with a few non-ASCII ones as real copy has.
pub const WORDS: &[&str] = &[
    "government",
    "minister",
    "said",
    "on",
    "Thursday",
    "the",
    "talks",
    "would",
    "continue",
    "despite",
    "opposition",
    "from",
    "lawmakers",
    "in",
    "capital",
    "where",
    "protesters",
    "gathered",
    "economy",
    "growth",
    "percent",
    "quarter",
    "officials",
    "announced",
    "new",
    "measures",
    "to",
    "support",
    "exports",
    "and",
    "reduce",
    "inflation",
    "which",
    "has",
    "risen",
    "sharply",
    "since",
    "last",
    "year",
    "according",
    "data",
    "released",
    "by",
    "central",
    "bank",
    "a",
    "spokesman",
    "for",
    "ministry",
    "told",
    "reporters",
    "that",
    "agreement",
    "was",
    "close",
    "but",
    "details",
    "Belgrade",
    "Kosovo's",
    "Vučić",
    "“deep",
    "disappointment,”",
    "—",
];

/// A xorshift generator of words.
pub struct Rng(pub u64);

impl Rng {
    /// The next draw, over the whole range.
    pub fn raw(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// The next draw, as an index into [`WORDS`].
    pub fn next(&mut self) -> usize {
        (self.raw() % (WORDS.len() as u64)) as usize
    }

    /// `n` words joined by spaces.
    pub fn words(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| WORDS[self.next()])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The median of some measurements.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}
