//! Dedup fingerprints: `dedup::fingerprint` on two texts (the input split at its first NUL byte),
//! their comparison (`overlap`, `figures_agree`), the round trip through the stored form
//! (`to_bytes`/`from_bytes`), and `from_bytes` on the raw input (a damaged database column).

use wirefeed::dedup::{figures_agree, fingerprint, overlap, Fingerprint};

/// What `from_bytes(to_bytes(fp))` must give back: the stored form drops the lookup probes and
/// caps the shingle count and list lengths at `u16::MAX`.
fn stored(fp: &Fingerprint) -> Fingerprint {
    let cap = usize::from(u16::MAX);
    Fingerprint {
        level: fp.level,
        shingles: fp.shingles.min(u32::from(u16::MAX)),
        sketch: fp.sketch.clone(),
        lede: fp.lede[..fp.lede.len().min(cap)].to_vec(),
        numbers: fp.numbers[..fp.numbers.len().min(cap)].to_vec(),
        probes: Vec::new(),
    }
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let (a, b) = match data.iter().position(|&c| c == 0) {
            Some(i) => (&data[..i], &data[i + 1..]),
            None => (data, &data[..0]),
        };
        let fa = fingerprint(&String::from_utf8_lossy(a));
        let fb = fingerprint(&String::from_utf8_lossy(b));
        let _ = overlap(fa.view(), fb.view());
        let _ = figures_agree(fa.view(), fb.view());

        // A fingerprint the daemon stores must read back: a `None` or a different value here
        // would make the story unmatchable after a restart.
        let back = Fingerprint::from_bytes(&fa.to_bytes());
        assert_eq!(
            back.as_ref(),
            Some(&stored(&fa)),
            "stored fingerprint did not read back"
        );

        if let Some(damaged) = Fingerprint::from_bytes(data) {
            let _ = overlap(damaged.view(), fa.view());
            let _ = figures_agree(damaged.view(), fa.view());
        }
    });
}
