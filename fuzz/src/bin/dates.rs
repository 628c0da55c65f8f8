//! `parse::dates::parse_date`, the parser every feed date goes through, on any text.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let text = String::from_utf8_lossy(data);
        let _ = wirefeed::parse::dates::parse_date(&text);
    });
}
