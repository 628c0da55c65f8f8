//! Reading evaluation data from disk: a labeled file, gzipped (`.gz`) or not, as text, for
//! `eval tag`, `eval dedup` and `eval extract`. It sits apart from those stages so that reading a
//! file ties no core module to another.
//!
//! Never: parses the lines (each evaluation owns its format) or writes anything.

use std::io::Read;
use std::path::Path;

/// The whole text of `path`, decompressed when its name ends in `.gz`; invalid UTF-8 is replaced.
pub fn read_text(path: &Path) -> Result<String, String> {
    if path.extension().is_some_and(|e| e == "gz") {
        read_gz(path)
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// The decompressed text of a gzip file.
pub fn read_gz(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
