//! Article pages: `extract::decode_page` (BOM, `<meta>` charset sniffing, windows-1252 fallback) on
//! any bytes, then `extract::extract` (readability) on the text it decoded.
//!
//! `fuzz_nohook!`: `extract` deliberately catches panics inside the readability crate and returns
//! `None`, so only a panic that escapes wirefeed aborts.

fn main() {
    afl::fuzz_nohook!(|data: &[u8]| {
        let html = wirefeed::extract::decode_page(data, None);
        let _ = wirefeed::extract::extract(&html, Some("https://fuzz.test/a.html"));
    });
}
