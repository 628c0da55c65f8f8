//! The gazetteer: every surface form the tagger matches and what it points to, compiled once
//! from the data shipped in `data/geo/` (generated at build time by `tools/gazetteer/`).
//!
//! Owns two matchers. The English one: country names and variants, demonyms, capitals, major
//! cities, filtered first-level divisions, curated people, institutions and sub-national names,
//! ambiguous names with their rule, region aliases; case-sensitive, whole tokens, longest first.
//! The multilingual one (`names_i18n.tsv`, `endings.tsv`): names, cities and country adjectives in
//! the region's own languages, matched on lower-cased text as a stem plus one ending of a closed
//! list (Srbij+a/e/i, Серби+я/и/ей), Serbian in both scripts, Chinese and Japanese without word
//! boundaries; plus the dateline tables (place names in capitals).
//!
//! Never: does I/O at run time (the data is compiled in), scores, or matches fuzzily.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::{Code, Region, TagError};

const NAMES: &str = include_str!("../../data/geo/names.tsv");
const CUES: &str = include_str!("../../data/geo/cues.tsv");
const AMBIGUOUS: &str = include_str!("../../data/geo/ambiguous.tsv");
const DATELINE_PLACES: &str = include_str!("../../data/geo/dateline_places.tsv");

/// How an ambiguous name is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Policy {
    /// The default country unless the story points to an alternative.
    Default,
    /// Only when the default country already has other evidence in the story.
    Evidence,
}

#[derive(Debug, Clone)]
pub(super) enum Target {
    Country {
        code: Code,
        weight: f64,
        kind: &'static str,
    },
    Ambiguous {
        default: Code,
        alternatives: Vec<Code>,
        person: bool,
        policy: Policy,
    },
    /// A region's name ("the Balkans").
    Region(usize),
    /// A region's sub-national cue that names no country of its own (North Caucasus republics).
    SubNational { region: usize, code: Option<Code> },
}

/// AP state abbreviations and US state names after "City, ": the place is in the US.
pub(super) const US_STATES: &[&str] = &[
    "Ala.",
    "Alaska",
    "Ariz.",
    "Ark.",
    "Calif.",
    "Colo.",
    "Conn.",
    "Del.",
    "Fla.",
    "Ga.",
    "Hawaii",
    "Idaho",
    "Ill.",
    "Ind.",
    "Iowa",
    "Kan.",
    "Ky.",
    "La.",
    "Maine",
    "Md.",
    "Mass.",
    "Mich.",
    "Minn.",
    "Miss.",
    "Mo.",
    "Mont.",
    "Neb.",
    "Nev.",
    "N.H.",
    "N.J.",
    "N.M.",
    "N.Y.",
    "N.C.",
    "N.D.",
    "Ohio",
    "Okla.",
    "Ore.",
    "Pa.",
    "R.I.",
    "S.C.",
    "S.D.",
    "Tenn.",
    "Texas",
    "Utah",
    "Vt.",
    "Va.",
    "Wash.",
    "W.Va.",
    "Wis.",
    "Wyo.",
    "D.C.",
    "Alabama",
    "Arizona",
    "Arkansas",
    "California",
    "Colorado",
    "Connecticut",
    "Delaware",
    "Florida",
    "Georgia",
    "Illinois",
    "Indiana",
    "Kansas",
    "Kentucky",
    "Louisiana",
    "Maryland",
    "Massachusetts",
    "Michigan",
    "Minnesota",
    "Mississippi",
    "Missouri",
    "Montana",
    "Nebraska",
    "Nevada",
    "New Hampshire",
    "New Jersey",
    "New Mexico",
    "New York",
    "North Carolina",
    "North Dakota",
    "Oklahoma",
    "Oregon",
    "Pennsylvania",
    "Rhode Island",
    "South Carolina",
    "South Dakota",
    "Tennessee",
    "Vermont",
    "Virginia",
    "Washington",
    "West Virginia",
    "Wisconsin",
    "Wyoming",
];

/// Folds a state or province name for comparison: case and dots ("MICH." = "Mich." = "Mich").
fn fold_region(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '.')
        .flat_map(char::to_lowercase)
        .collect()
}

pub(super) fn is_us_state(s: &str) -> bool {
    let f = fold_region(s);
    US_STATES.iter().any(|st| fold_region(st) == f)
        || matches!(f.as_str(), "penn" | "calif" | "tex" | "dc" | "wva")
}

pub(super) fn is_ca_province(s: &str) -> bool {
    let f = fold_region(s);
    CA_PROVINCES.iter().any(|p| fold_region(p) == f)
}

/// Canadian provinces after "City, ": the place is in Canada.
pub(super) const CA_PROVINCES: &[&str] = &[
    "Ontario",
    "Ont.",
    "Quebec",
    "Que.",
    "Alberta",
    "Alta.",
    "Manitoba",
    "Man.",
    "Saskatchewan",
    "Sask.",
    "Nova Scotia",
    "N.S.",
    "New Brunswick",
    "N.B.",
    "British Columbia",
    "B.C.",
    "Newfoundland",
    "P.E.I.",
];

/// The compiled gazetteer.
#[derive(Debug)]
pub(super) struct Gazetteer {
    pub(super) ac: AhoCorasick,
    pub(super) targets: Vec<Target>,
    /// Names of countries, capitals and cities → (country, weight, is a country's name), for
    /// datelines ("BELGRADE" → "Belgrade").
    pub(super) places: HashMap<String, (Code, f64, bool)>,
    /// Every city of 15,000 people or more, upper case → country of the most populous one:
    /// datelines only.
    pub(super) dateline_places: HashMap<&'static str, Code>,
    /// The region's own languages.
    pub(super) local: Local,
}

/// The gazetteer's names and what each points to, unique by name (a later entry replaces).
#[derive(Default)]
struct Forms {
    forms: Vec<String>,
    targets: Vec<Target>,
    index: HashMap<String, usize>,
}

impl Forms {
    fn add(&mut self, form: &str, t: Target) {
        if form.chars().count() < 2 {
            return;
        }
        if let Some(&i) = self.index.get(form) {
            self.targets[i] = t;
        } else {
            self.index.insert(form.to_owned(), self.forms.len());
            self.forms.push(form.to_owned());
            self.targets.push(t);
        }
    }
}

fn tsv_rows(data: &str) -> impl Iterator<Item = Vec<&str>> {
    data.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
}

impl Gazetteer {
    /// Compiles the shipped data and the regions' aliases and sub-national cues.
    pub(super) fn build(regions: &[Region]) -> Result<Gazetteer, TagError> {
        let mut f = Forms::default();
        let mut places: HashMap<String, (Code, f64, bool)> = HashMap::new();
        for row in tsv_rows(NAMES).chain(tsv_rows(CUES)) {
            let (Some(form), Some(code)) = (row.first(), row.get(1).and_then(|c| Code::parse(c)))
            else {
                continue;
            };
            let kind: &'static str = match row.get(2).copied().unwrap_or("") {
                "country" => "country",
                "demonym" => "demonym",
                "capital" => "capital",
                "city" => "city",
                "admin1" => "admin1",
                "person" => "person",
                "institution" => "institution",
                "subnational" => "subnational",
                _ => "place",
            };
            let weight = row
                .get(3)
                .and_then(|w| w.trim().parse::<f64>().ok())
                .unwrap_or(0.7)
                .clamp(0.0, 1.0);
            if matches!(kind, "capital" | "city" | "country") {
                let is_country = kind == "country";
                let e = places
                    .entry(form.to_string())
                    .or_insert((code, weight, is_country));
                if (is_country, weight) > (e.2, e.1) {
                    *e = (code, weight, is_country);
                }
            }
            f.add(form, Target::Country { code, weight, kind });
        }
        for row in tsv_rows(AMBIGUOUS) {
            let (Some(form), Some(default)) =
                (row.first(), row.get(1).and_then(|c| Code::parse(c)))
            else {
                continue;
            };
            let alts = row.get(2).copied().unwrap_or("");
            let note = row.get(3).copied().unwrap_or("");
            let policy = if note.contains("policy=evidence") {
                Policy::Evidence
            } else {
                Policy::Default
            };
            places
                .entry(form.to_string())
                .or_insert((default, 0.5, note.contains("kind=country")));
            f.add(
                form,
                Target::Ambiguous {
                    default,
                    alternatives: alts.split(',').filter_map(Code::parse).collect(),
                    person: alts.contains("PERSON"),
                    policy,
                },
            );
        }
        for (i, r) in regions.iter().enumerate() {
            for a in &r.aliases {
                // Two-letter aliases (V4) are too easily something else; "EU" is not.
                if (a.len() > 2 || a == "EU") && !f.index.contains_key(a.as_str()) {
                    f.add(a, Target::Region(i));
                }
            }
            for s in &r.sub_national {
                match f.index.get(s.as_str()).copied() {
                    None => f.add(
                        s,
                        Target::SubNational {
                            region: i,
                            code: None,
                        },
                    ),
                    Some(j) => {
                        if let Target::Country { code, .. } = f.targets[j] {
                            f.targets[j] = Target::SubNational {
                                region: i,
                                code: Some(code),
                            };
                        }
                    }
                }
            }
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&f.forms)
            .map_err(|e| TagError(format!("gazetteer: {e}")))?;
        let dateline_places = tsv_rows(DATELINE_PLACES)
            .filter_map(|r| Some((*r.first()?, Code::parse(r.get(1)?)?)))
            .collect();
        Ok(Gazetteer {
            ac,
            targets: f.targets,
            places,
            dateline_places,
            local: Local::build()?,
        })
    }
}

const NAMES_I18N: &str = include_str!("../../data/geo/names_i18n.tsv");
const ENDINGS: &str = include_str!("../../data/geo/endings.tsv");

/// Longest ending of any class, in characters: a longer run of letters after a stem is another
/// word, so the check after a match is bounded.
const MAX_ENDING_CHARS: usize = 6;

/// How a multilingual form meets the text around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Script {
    /// Cased alphabets (Latin, Cyrillic, Greek): whole words.
    Word,
    /// Arabic: whole words, after up to two attached particles (و ف ب ل ك).
    Arabic,
    /// Chinese and Japanese: no spaces between words; a katakana name must not sit inside a
    /// longer katakana word.
    Cjk,
}

/// How a multilingual form must be written in the text (the table is lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Case {
    /// Any case: adjectives, which most of these languages write in lower case; scripts
    /// without case.
    Any,
    /// A capital first letter: names.
    Cap,
    /// Every letter a capital: abbreviations (США, SAD: "Sad" is also "now").
    Upper,
}

/// One form of the multilingual table.
#[derive(Debug, Clone)]
pub(super) struct LocalForm {
    pub(super) code: Code,
    pub(super) weight: f64,
    pub(super) kind: &'static str,
    /// Ending classes (indices into `Local::endings`) whose endings may follow; none: exact.
    pub(super) classes: Vec<usize>,
    pub(super) case: Case,
    pub(super) script: Script,
    /// Written in the Latin alphabet: not read in English text, where the English gazetteer
    /// is the authority (German "Island", French "Suisse" in "Credit Suisse").
    pub(super) latin: bool,
}

/// Names, cities and country adjectives in the region's own languages, matched on lower-cased
/// text (see [`fold`]).
#[derive(Debug)]
pub(super) struct Local {
    pub(super) ac: AhoCorasick,
    /// Per pattern, its readings (one country; by case rule: `serb-` is a name in Polish and
    /// Romanian, written with a capital, and the French adjective `serbe`, written without).
    pub(super) forms: Vec<Vec<LocalForm>>,
    /// Per class, its endings (the empty one included: the bare stem).
    pub(super) endings: Vec<Vec<String>>,
}

fn static_kind(k: &str) -> &'static str {
    match k {
        "country" => "country",
        "capital" => "capital",
        "city" => "city",
        "demonym" => "demonym",
        "person" => "person",
        _ => "place",
    }
}

fn script_of(form: &str) -> Script {
    match form.chars().find(|c| c.is_alphabetic()).map(|c| c as u32) {
        Some(0x0600..=0x06FF | 0x0750..=0x077F | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF) => {
            Script::Arabic
        }
        Some(0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF) => Script::Cjk,
        _ => Script::Word,
    }
}

impl Local {
    pub(super) fn build() -> Result<Local, TagError> {
        let mut class_index: HashMap<&str, usize> = HashMap::new();
        let mut endings: Vec<Vec<String>> = Vec::new();
        for row in tsv_rows(ENDINGS) {
            let Some(name) = row.first() else { continue };
            let mut list: Vec<String> = row
                .get(1)
                .copied()
                .unwrap_or("")
                .split(',')
                .map(fold)
                .filter(|e| e.chars().count() <= MAX_ENDING_CHARS)
                .collect();
            list.push(String::new());
            list.sort_unstable();
            list.dedup();
            class_index.insert(name, endings.len());
            endings.push(list);
        }
        let mut forms: Vec<String> = Vec::new();
        let mut targets: Vec<Vec<LocalForm>> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for row in tsv_rows(NAMES_I18N) {
            let (Some(form), Some(code)) = (row.first(), row.get(1).and_then(|c| Code::parse(c)))
            else {
                continue;
            };
            if form.chars().count() < 2 {
                continue;
            }
            let kind = static_kind(row.get(2).copied().unwrap_or(""));
            let weight = row
                .get(3)
                .and_then(|w| w.trim().parse::<f64>().ok())
                .unwrap_or(0.7)
                .clamp(0.0, 1.0);
            let class = row.get(4).and_then(|c| class_index.get(c).copied());
            let case = match row.get(5).copied() {
                Some("cap") => Case::Cap,
                Some("upper") => Case::Upper,
                _ => Case::Any,
            };
            let reading = LocalForm {
                code,
                weight,
                kind,
                classes: class.into_iter().collect(),
                case,
                script: script_of(form),
                latin: form
                    .chars()
                    .find(|c| c.is_alphabetic())
                    .is_some_and(|c| (c as u32) < 0x0250),
            };
            match index.get(form).copied() {
                // The same stem from several languages: one reading per case rule, with the
                // endings of every language that writes it so.
                Some(i) if targets[i].iter().all(|r| r.code == code) => {
                    match targets[i].iter_mut().find(|r| r.case == case) {
                        Some(r) => {
                            for c in reading.classes {
                                if !r.classes.contains(&c) {
                                    r.classes.push(c);
                                }
                            }
                            if r.weight < weight {
                                (r.weight, r.kind) = (weight, kind);
                            }
                        }
                        None => targets[i].push(reading),
                    }
                }
                Some(_) => {}
                None => {
                    index.insert(form, forms.len());
                    forms.push(fold(form));
                    targets.push(vec![reading]);
                }
            }
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&forms)
            .map_err(|e| TagError(format!("multilingual gazetteer: {e}")))?;
        Ok(Local {
            ac,
            forms: targets,
            endings,
        })
    }

    /// Whether the form matched at `s..e` of `folded` (the text, lower-cased by [`fold`]; `orig`
    /// is the text itself, same offsets) stands as a word with an allowed ending; its end with
    /// the ending.
    pub(super) fn accept(
        &self,
        f: &LocalForm,
        orig: &str,
        folded: &str,
        s: usize,
        e: usize,
    ) -> Option<usize> {
        let written = match f.case {
            Case::Any => true,
            Case::Cap => orig[s..].chars().next().is_some_and(char::is_uppercase),
            Case::Upper => orig[s..e].chars().all(|c| !c.is_lowercase()),
        };
        if !written {
            return None;
        }
        match f.script {
            Script::Cjk => {
                let katakana = |c: char| matches!(c as u32, 0x30A1..=0x30FF);
                let inner = folded[s..e].chars().all(katakana);
                let before = folded[..s].chars().next_back().is_some_and(katakana);
                let after = folded[e..].chars().next().is_some_and(katakana);
                (!(inner && (before || after))).then_some(e)
            }
            Script::Word | Script::Arabic => {
                let mut prev = folded[..s].chars().rev();
                let ok_before = if f.script == Script::Arabic {
                    // Up to two attached particles, then a non-letter.
                    let mut n = 0;
                    loop {
                        match prev.next() {
                            Some(c) if c.is_alphanumeric() => {
                                if n < 2 && matches!(c, 'و' | 'ف' | 'ب' | 'ل' | 'ك') {
                                    n += 1;
                                } else {
                                    break false;
                                }
                            }
                            _ => break true,
                        }
                    }
                } else {
                    // A hyphen joins words, as in the English gazetteer ("Georgia-Pacific").
                    prev.next().is_none_or(|c| !c.is_alphanumeric() && c != '-')
                };
                if !ok_before {
                    return None;
                }
                let rest = &folded[e..];
                let mut end = 0;
                for (n, (i, c)) in rest.char_indices().enumerate() {
                    if !c.is_alphanumeric() {
                        break;
                    }
                    if n >= MAX_ENDING_CHARS {
                        return None;
                    }
                    end = i + c.len_utf8();
                }
                let ending = &rest[..end];
                if rest[end..].starts_with('-') {
                    return None;
                }
                if ending.is_empty() {
                    return Some(e);
                }
                f.classes
                    .iter()
                    .any(|&c| self.endings[c].iter().any(|x| x == ending))
                    .then_some(e + end)
            }
        }
    }
}

impl Gazetteer {
    /// The country of a place named in the region's own languages when the multilingual table
    /// reads the whole of `name` as one name ("БЕОГРАД", "Atina", "Приштина").
    pub(super) fn local_place(&self, name: &str) -> Option<Code> {
        let name = name.trim();
        if name.is_empty() || name.len() > 64 {
            return None;
        }
        let folded = fold(name);
        let m = self.local.ac.find(&folded)?;
        self.local.forms[m.pattern().as_usize()]
            .iter()
            .find(|f| {
                m.start() == 0
                    && matches!(f.kind, "country" | "capital" | "city")
                    && self.local.accept(f, name, &folded, 0, m.end()) == Some(folded.len())
            })
            .map(|f| f.code)
    }
}

/// Lower-cases text the way the multilingual table is written, keeping every character's UTF-8
/// length (so offsets into the result are offsets into the text): a character whose lower case
/// is longer or several characters stays as it is; Greek loses its accents and final sigma.
pub(super) fn fold(t: &str) -> String {
    if t.is_ascii() {
        return t.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        let mut l = c.to_lowercase();
        let lc = match (l.next(), l.next()) {
            (Some(x), None) if x.len_utf8() == c.len_utf8() => x,
            _ => c,
        };
        out.push(match lc {
            'ά' => 'α',
            'έ' => 'ε',
            'ή' => 'η',
            'ί' | 'ϊ' | 'ΐ' => 'ι',
            'ό' => 'ο',
            'ύ' | 'ϋ' | 'ΰ' => 'υ',
            'ώ' => 'ω',
            'ς' => 'σ',
            x => x,
        });
    }
    out
}
