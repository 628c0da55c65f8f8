//! `Config::parse` (TOML, unknown-key collection, validation) on any text: a hand-edited config
//! must be reported as errors, never panic the daemon at startup or on reload.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let text = String::from_utf8_lossy(data);
        let _ = wirefeed::config::Config::parse(&text, "fuzz");
    });
}
