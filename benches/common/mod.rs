//! Shared by the benchmarks: deterministic real-shaped text, so every run serves the same bytes,
//! settings from the environment, and the process's memory.
#![allow(dead_code)]

/// A number from the environment, or `default` when unset or unreadable.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A field of /proc/self/status in KiB (`VmRSS:`, `VmHWM:`), 0 when unreadable.
pub fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

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
