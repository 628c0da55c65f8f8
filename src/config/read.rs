//! Reading a config file so that one run finds every problem in it.
//!
//! Owns the tolerant reader: the text is parsed into a span-keeping TOML tree with recovery (so
//! every syntax error and duplicate key is listed, and the rest of the file is still read), then
//! deserialized; when deserialization fails, the failing value is named by its key path, taken out
//! of the tree (a table missing a required key is taken out whole, and the problem says so), and
//! deserialization runs again, a bounded number of times. What deserializes is then validated by
//! the caller, and every problem is given its line in the file.
//!
//! Never: reads files, the environment or the network; decides what a valid value is (that is
//! `Config::problems`).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use toml::de::{DeArray, DeTable, DeValue};
use toml::Spanned;

use super::Config;

/// Deserialization rounds before the reader gives up (each round finds one problem).
const MAX_ROUNDS: usize = 200;

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Seg {
    Key(String),
    Index(usize),
}

/// A key path such as `feeds[3].url`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct KeyPath(pub(super) Vec<Seg>);

impl KeyPath {
    /// Parses the paths `Config::problems` writes (`feeds[3].url`, `schedule`).
    pub(super) fn parse(s: &str) -> KeyPath {
        let mut segs = Vec::new();
        for part in s.split('.').filter(|p| !p.is_empty()) {
            let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
            if !key.is_empty() {
                segs.push(Seg::Key(key.to_owned()));
            }
            while let Some((index, more)) = rest.split_once(']') {
                if let Ok(i) = index.parse() {
                    segs.push(Seg::Index(i));
                }
                rest = more.strip_prefix('[').unwrap_or(more);
            }
        }
        KeyPath(segs)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Index(n) => write!(f, "[{n}]")?,
                Seg::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if bare {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// One problem of a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    /// The line in the file, when known.
    pub(super) line: Option<usize>,
    /// The key path (`feeds[3].url`); empty for a syntax error.
    pub(super) path: String,
    /// What is wrong.
    pub(super) message: String,
}

impl Problem {
    /// A problem of the value at `path`; its line is found later.
    pub(super) fn at(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            line: None,
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        // One line per problem, whatever a library's message looks like.
        let mut lines = self
            .message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty());
        if let Some(first) = lines.next() {
            f.write_str(first)?;
        }
        for l in lines {
            write!(f, " {l}")?;
        }
        Ok(())
    }
}

/// What the reader made of a file: the config as far as it could be read, and its problems.
pub(super) struct Read<'i> {
    /// `None` only when the file could not be read into a config at all.
    pub(super) config: Option<Config>,
    pub(super) problems: Vec<Problem>,
    /// Maps the config's paths back to the file: its indices and lines.
    pub(super) locator: Locator<'i>,
}

/// Maps a path in the config that deserialized (array entries left out shift the indices) back to
/// the path and line in the file.
pub(super) struct Locator<'i> {
    text: &'i str,
    /// The tree as the file wrote it (a table).
    original: Spanned<DeValue<'i>>,
    /// For each array (by its path in the file), the indices of the entries left out.
    removed: HashMap<KeyPath, BTreeSet<usize>>,
}

impl<'i> Locator<'i> {
    /// `path` (as in the config that deserialized) as the file numbers it.
    pub(super) fn in_file(&self, path: &KeyPath) -> KeyPath {
        let mut out = KeyPath::default();
        for seg in &path.0 {
            match seg {
                Seg::Key(_) => out.0.push(seg.clone()),
                Seg::Index(i) => {
                    let mut j = *i;
                    if let Some(gone) = self.removed.get(&out) {
                        for &g in gone {
                            if g <= j {
                                j += 1;
                            }
                        }
                    }
                    out.0.push(Seg::Index(j));
                }
            }
        }
        out
    }

    /// The line of `path` (as the file numbers it), or else of the nearest table or entry that
    /// holds it; `None` when not even that is in the file.
    pub(super) fn line(&self, path: &KeyPath) -> Option<usize> {
        let mut span = None;
        let mut cur = &self.original;
        for seg in &path.0 {
            let (s, next) = match (seg, cur.get_ref()) {
                (Seg::Key(k), DeValue::Table(t)) => match t.get_key_value(k.as_str()) {
                    // A table's value span can be empty (a dotted key): the key stands for it.
                    Some((key, v)) if v.span().is_empty() => (key.span(), v),
                    Some((_, v)) => (v.span(), v),
                    None => break,
                },
                (Seg::Index(i), DeValue::Array(a)) => match a.get(*i) {
                    Some(v) => (v.span(), v),
                    None => break,
                },
                _ => break,
            };
            span = Some(s);
            cur = next;
        }
        span.map(|s| line_of(self.text, s.start))
    }

    /// Takes the value at `path` (as in `work`) out of `work`, remembering an array entry's index.
    fn take_out(&mut self, work: &mut DeValue<'_>, path: &KeyPath) -> bool {
        let in_file = self.in_file(path);
        if !remove(work, path) {
            return false;
        }
        if let Some((Seg::Index(i), array)) = in_file.0.split_last() {
            self.removed
                .entry(KeyPath(array.to_vec()))
                .or_default()
                .insert(*i);
        }
        true
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Reads `text` into a config as far as it can, listing every problem on the way.
pub(super) fn read(text: &str) -> Read<'_> {
    let (root, errors) = DeTable::parse_recoverable(text);
    let root = Spanned::new(0..text.len(), DeValue::Table(root.into_inner()));
    let mut problems = Vec::new();
    // Syntax: one problem per line (the parser may add a follow-on error for the same line).
    let mut bad_lines = BTreeSet::new();
    let mut syntax = 0;
    for e in &errors {
        let line = e.span().map(|s| line_of(text, s.start));
        if line.is_some_and(|l| !bad_lines.insert(l)) {
            continue;
        }
        syntax += 1;
        if syntax > MAX_ROUNDS {
            continue;
        }
        let mut message = e.message().trim().to_owned();
        if let Some(name) = e
            .span()
            .and_then(|s| text.get(s))
            .filter(|n| !n.is_empty() && message == "duplicate key")
        {
            message = format!("duplicate key `{name}` (the first one is used)");
        }
        problems.push(Problem {
            line,
            path: String::new(),
            message: format!("syntax: {message}"),
        });
    }
    if syntax > MAX_ROUNDS {
        problems.push(Problem {
            line: None,
            path: String::new(),
            message: format!(
                "and {} more lines with syntax errors (is this a TOML file?)",
                syntax - MAX_ROUNDS
            ),
        });
    }
    // Values the parser made up while recovering (empty spans) or read from a line it could not
    // parse are not the user's: leave them out rather than report them again as wrong values.
    let mut reported: Vec<KeyPath> = Vec::new();
    let doubtful = unreliable(&root, &bad_lines, text);
    let mut work = root.get_ref().clone();
    let mut locator = Locator {
        text,
        original: root,
        removed: HashMap::new(),
    };
    for path in doubtful {
        let in_file = locator.in_file(&path);
        if locator.take_out(&mut work, &path) {
            reported.push(in_file);
        }
    }
    let mut unknown = HashSet::new();
    let mut config = None;
    for round in 0.. {
        if round == MAX_ROUNDS {
            problems.push(Problem {
                line: None,
                path: String::new(),
                message: format!(
                    "stopped after {MAX_ROUNDS} problems of this kind; fix these and check again"
                ),
            });
            break;
        }
        let DeValue::Table(table) = &work else { break };
        let de = toml::de::Deserializer::from(Spanned::new(0..text.len(), table.clone()));
        let mut ignored = Vec::new();
        let mut note = |p: serde_ignored::Path<'_>| ignored.push(ignored_path(&p));
        let result: Result<Config, _> =
            serde_path_to_error::deserialize(serde_ignored::Deserializer::new(de, &mut note));
        for p in ignored {
            let in_file = locator.in_file(&p);
            if unknown.insert(in_file.clone()) {
                problems.push(Problem {
                    line: locator.line(&in_file),
                    path: in_file.to_string(),
                    message: "unknown key".to_owned(),
                });
            }
        }
        let e = match result {
            Ok(c) => {
                config = Some(c);
                break;
            }
            Err(e) => e,
        };
        let path = error_path(e.path());
        let in_file = locator.in_file(&path);
        let mut message = e.inner().message().trim().to_owned();
        // serde's words: "missing field `name`".
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|m| m.split_once('`'))
            .map(|(name, _)| name.to_owned());
        if matches!(path.0.last(), Some(Seg::Index(_))) {
            message.push_str("; the entry is left out of the rest of the check");
        }
        // A table missing a key whose value was already reported (of the wrong type, on a line
        // that did not parse) is the same problem again: leave the table out without a word.
        let again = missing.is_some_and(|name| {
            let mut key = in_file.clone();
            key.0.push(Seg::Key(name));
            reported.contains(&key)
        });
        if !again {
            problems.push(Problem {
                line: locator
                    .line(&in_file)
                    .or_else(|| e.inner().span().map(|s| line_of(text, s.start))),
                path: in_file.to_string(),
                message,
            });
        }
        reported.push(in_file);
        if !locator.take_out(&mut work, &path) {
            // Nothing can be taken out (the problem is the whole file): the rest cannot be read.
            problems.push(Problem {
                line: None,
                path: String::new(),
                message: "the file cannot be read past this problem".to_owned(),
            });
            break;
        }
    }
    Read {
        config,
        problems,
        locator,
    }
}

/// Paths of the values (not tables or arrays) the parser made up or read from a bad line.
fn unreliable(
    root: &Spanned<DeValue<'_>>,
    bad_lines: &BTreeSet<usize>,
    text: &str,
) -> Vec<KeyPath> {
    fn walk(
        v: &Spanned<DeValue<'_>>,
        path: &mut KeyPath,
        out: &mut Vec<KeyPath>,
        bad: &dyn Fn(std::ops::Range<usize>) -> bool,
    ) {
        match v.get_ref() {
            DeValue::Table(t) => {
                for (k, x) in t.iter() {
                    path.0.push(Seg::Key(k.get_ref().to_string()));
                    walk(x, path, out, bad);
                    path.0.pop();
                }
            }
            DeValue::Array(a) => {
                // Backwards, so taking one out does not shift the ones still to take out.
                for (i, x) in a.iter().enumerate().rev() {
                    path.0.push(Seg::Index(i));
                    walk(x, path, out, bad);
                    path.0.pop();
                }
            }
            _ => {
                if bad(v.span()) {
                    out.push(path.clone());
                }
            }
        }
    }
    let bad =
        |s: std::ops::Range<usize>| s.is_empty() || bad_lines.contains(&line_of(text, s.start));
    let mut out = Vec::new();
    walk(root, &mut KeyPath::default(), &mut out, &bad);
    out
}

/// Takes the value at `path` out of the tree `root`.
fn remove(root: &mut DeValue<'_>, path: &KeyPath) -> bool {
    let Some((last, parent)) = path.0.split_last() else {
        return false;
    };
    let mut cur = root;
    for seg in parent {
        cur = match (seg, cur) {
            (Seg::Key(k), DeValue::Table(t)) => match t.get_mut(k.as_str()) {
                Some(v) => v.get_mut(),
                None => return false,
            },
            (Seg::Index(i), DeValue::Array(a)) => match a.get_mut(*i) {
                Some(v) => v.get_mut(),
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, cur) {
        (Seg::Key(k), DeValue::Table(t)) => t.remove(k.as_str()).is_some(),
        (Seg::Index(i), DeValue::Array(a)) if *i < a.len() => {
            let items = std::mem::replace(a, DeArray::new());
            *a = items
                .into_iter()
                .enumerate()
                .filter(|(j, _)| j != i)
                .map(|(_, v)| v)
                .collect();
            true
        }
        _ => false,
    }
}

fn ignored_path(p: &serde_ignored::Path<'_>) -> KeyPath {
    let mut segs = Vec::new();
    let mut cur = p;
    loop {
        match cur {
            serde_ignored::Path::Root => break,
            serde_ignored::Path::Seq { parent, index } => {
                segs.push(Seg::Index(*index));
                cur = parent;
            }
            serde_ignored::Path::Map { parent, key } => {
                segs.push(Seg::Key(key.clone()));
                cur = parent;
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => cur = parent,
        }
    }
    segs.reverse();
    KeyPath(segs)
}

/// The path of a deserialization error, as far as it names table keys and array indices.
fn error_path(p: &serde_path_to_error::Path) -> KeyPath {
    let mut segs = Vec::new();
    for seg in p.iter() {
        match seg {
            serde_path_to_error::Segment::Seq { index } => segs.push(Seg::Index(*index)),
            serde_path_to_error::Segment::Map { key } => segs.push(Seg::Key(key.clone())),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {
                break
            }
        }
    }
    KeyPath(segs)
}
