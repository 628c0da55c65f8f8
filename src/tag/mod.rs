//! Countries, regions and topics: what each story is about.
//!
//! Owns the gazetteer (compiled once from the data shipped in `data/geo/`: country names and
//! variants, demonyms, capitals, major cities, filtered first-level divisions, curated people,
//! institutions and sub-national names, ambiguous names with their rule), the scoring (dateline
//! strongest, then title, lead and body; ambiguous names resolved from the story's unambiguous
//! evidence, then priors), the news regions and their roll-ups, and the user's topics. `eval` scores
//! it on labeled stories.
//!
//! Never: does I/O at run time (the data is compiled in), or matches fuzzily: names match
//! case-sensitively on word boundaries, longest first.

pub mod eval;

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::{Deserialize, Serialize};

use crate::config::{RegionConfig, TopicConfig};

const NAMES: &str = include_str!("../../data/geo/names.tsv");
const CUES: &str = include_str!("../../data/geo/cues.tsv");
const AMBIGUOUS: &str = include_str!("../../data/geo/ambiguous.tsv");
const REGIONS: &str = include_str!("../../data/geo/regions.json");
const DATELINE_PLACES: &str = include_str!("../../data/geo/dateline_places.tsv");

/// Where in a story a name was found, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Zone {
    Dateline,
    Title,
    Lead,
    Body,
}

impl Zone {
    fn weight(self) -> f64 {
        match self {
            Zone::Dateline => 6.0,
            Zone::Title => 2.5,
            Zone::Lead => 1.5,
            Zone::Body => 1.0,
        }
    }
}

/// How an ambiguous name is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// The default country unless the story points to an alternative.
    Default,
    /// Only when the default country already has other evidence in the story.
    Evidence,
}

#[derive(Debug, Clone)]
enum Target {
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

/// An ISO 3166-1 alpha-2 code, packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code([u8; 2]);

impl Code {
    pub fn parse(s: &str) -> Option<Code> {
        let b = s.trim().as_bytes();
        (b.len() == 2 && b.iter().all(u8::is_ascii_uppercase)).then(|| Code([b[0], b[1]]))
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

const US: Code = Code(*b"US");

/// One news region: the shipped ones (`data/geo/regions.json`) and the config's `[[regions]]`
/// have one shape.
pub use crate::config::RegionConfig as Region;

#[derive(Debug, Deserialize)]
struct RegionFile {
    regions: Vec<Region>,
}

/// AP state abbreviations and US state names after "City, ": the place is in the US.
const US_STATES: &[&str] = &[
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

fn is_us_state(s: &str) -> bool {
    let f = fold_region(s);
    US_STATES.iter().any(|st| fold_region(st) == f)
        || matches!(f.as_str(), "penn" | "calif" | "tex" | "dc" | "wva")
}

fn is_ca_province(s: &str) -> bool {
    let f = fold_region(s);
    CA_PROVINCES.iter().any(|p| fold_region(p) == f)
}

/// Canadian provinces after "City, ": the place is in Canada.
const CA_PROVINCES: &[&str] = &[
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

/// Words that, standing before a capitalized name, make it a person's (titles), and sentence
/// openers that do not.
const NOT_A_FIRST_NAME: &[&str] = &[
    "The",
    "In",
    "On",
    "At",
    "From",
    "To",
    "For",
    "By",
    "With",
    "And",
    "But",
    "Of",
    "As",
    "If",
    "When",
    "While",
    "After",
    "Before",
    "Since",
    "A",
    "An",
    "Both",
    "Neighboring",
    "Neighbouring",
    "Northern",
    "Southern",
    "Eastern",
    "Western",
    "Central",
    "Across",
    "Inside",
    "Outside",
    "Near",
    "Visit",
    "Visiting",
    "Unlike",
    "Like",
    "Only",
    "Even",
    "Where",
    "Why",
    "How",
    "What",
    "That",
    "This",
    "Than",
    "Or",
    "Nor",
    "Against",
    "Between",
    "Among",
    "Under",
    "Over",
    "Into",
    "Through",
    "Towards",
    "Toward",
    "Upon",
    "Via",
    "Within",
    "Without",
    "Outlying",
];

/// The user's topic, compiled.
#[derive(Debug, Clone)]
struct Topic {
    name: String,
    any: Vec<regex::Regex>,
    all: Vec<regex::Regex>,
    none: Vec<regex::Regex>,
}

/// A region's name or sub-national cue found in a story.
#[derive(Debug, Clone, Copy)]
struct RegionHit {
    region: usize,
    zone: Zone,
    /// Among the first words of its title or lead.
    leading: bool,
    sub_national: bool,
}

/// A country a story is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CountryTag {
    pub code: String,
    pub score: f64,
    pub primary: bool,
}

/// A region a story is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionTag {
    pub slug: String,
    pub score: f64,
}

/// Why a country counted: a name, where it was, and what it added.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    pub code: String,
    pub text: String,
    pub zone: Zone,
    pub weight: f64,
}

/// The tags of one story.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tags {
    /// Primary first, then by score.
    pub countries: Vec<CountryTag>,
    /// The regions the countries roll up to, most specific first, then their parents.
    pub regions: Vec<RegionTag>,
    pub topics: Vec<String>,
    pub evidence: Vec<Evidence>,
}

impl Tags {
    pub fn primary(&self) -> Option<&str> {
        self.countries
            .iter()
            .find(|c| c.primary)
            .map(|c| c.code.as_str())
    }
}

/// What the tagger reads of a story.
#[derive(Debug, Clone, Copy)]
pub struct Text<'a> {
    pub title: &'a str,
    pub dateline: Option<&'a str>,
    pub body: &'a str,
}

/// What a mention of the United States counts for in a story datelined elsewhere.
const US_ABROAD: f64 = 0.5;

/// Share of the primary's score a secondary country needs to bring its region.
const REGION_SHARE: f64 = 0.4;

/// Share of the top score a secondary country needs.
const SECONDARY_SHARE: f64 = 0.25;

/// The tagger: gazetteer, regions and topics, built once.
#[derive(Debug)]
pub struct Tagger {
    ac: AhoCorasick,
    targets: Vec<Target>,
    /// Names of countries, capitals and cities → (country, weight, is a country's name), for
    /// datelines ("BELGRADE" → "Belgrade").
    places: HashMap<String, (Code, f64, bool)>,
    /// Every city of 15,000 people or more, upper case → country of the most populous one:
    /// datelines only.
    dateline_places: HashMap<&'static str, Code>,
    regions: Vec<Region>,
    region_members: Vec<(Vec<Code>, Vec<Code>)>,
    topics: Vec<Topic>,
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

/// Why a config's tagging section cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TagError(pub String);

impl Tagger {
    /// Builds the tagger from the shipped data, the config's region overrides and its topics.
    pub fn new(regions_cfg: &[RegionConfig], topics: &[TopicConfig]) -> Result<Tagger, TagError> {
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
        // Regions: the shipped ones, then the config's (replacing by slug, or added).
        let mut regions: Vec<Region> = serde_json::from_str::<RegionFile>(REGIONS)
            .map_err(|e| TagError(format!("data/geo/regions.json: {e}")))?
            .regions;
        for r in regions_cfg {
            match regions.iter_mut().find(|x| x.slug == r.slug) {
                Some(x) => *x = r.clone(),
                None => regions.push(r.clone()),
            }
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
        let region_members = regions
            .iter()
            .map(|r| {
                let parse = |v: &[String]| v.iter().filter_map(|c| Code::parse(c)).collect();
                (parse(&r.members), parse(&r.periphery))
            })
            .collect();
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&f.forms)
            .map_err(|e| TagError(format!("gazetteer: {e}")))?;
        let topics = topics
            .iter()
            .map(compile_topic)
            .collect::<Result<Vec<_>, _>>()?;
        let dateline_places = tsv_rows(DATELINE_PLACES)
            .filter_map(|r| Some((*r.first()?, Code::parse(r.get(1)?)?)))
            .collect();
        Ok(Tagger {
            ac,
            targets: f.targets,
            places,
            dateline_places,
            regions,
            region_members,
            topics,
        })
    }

    /// The shipped gazetteer and regions, no topics.
    pub fn builtin() -> Result<Tagger, TagError> {
        Tagger::new(&[], &[])
    }

    /// Tags one story.
    pub fn tag(&self, text: Text<'_>) -> Tags {
        let mut ev: Vec<Evidence> = Vec::new();
        let mut pending: Vec<(usize, Zone, String, usize)> = Vec::new();
        let mut region_hits: Vec<RegionHit> = Vec::new();
        if let Some(d) = text.dateline {
            self.dateline(d, &mut ev);
        }
        let (lead, rest) = split_lead(text.body);
        for (zone, t) in [
            (Zone::Title, text.title),
            (Zone::Lead, lead),
            (Zone::Body, rest),
        ] {
            // All-caps titles (wire slugs) name places in capitals: no case-sensitive match.
            if zone == Zone::Title && is_shouting(t) {
                continue;
            }
            self.scan(t, zone, &mut ev, &mut pending, &mut region_hits);
        }
        // The United States is an actor in most world news ("the U.S. said"): away from a US
        // dateline its mentions count for less.
        let dateline_country = ev
            .iter()
            .find(|e| e.zone == Zone::Dateline)
            .map(|e| e.code.clone());
        if dateline_country.as_deref().is_some_and(|c| c != "US") {
            for e in ev
                .iter_mut()
                .filter(|e| e.code == "US" && e.zone != Zone::Dateline)
            {
                e.weight *= US_ABROAD;
            }
        }
        // Ambiguous names, now that the unambiguous evidence is in.
        let mut score: HashMap<Code, f64> = HashMap::new();
        for e in &ev {
            if let Some(c) = Code::parse(&e.code) {
                *score.entry(c).or_default() += e.weight;
            }
        }
        let mut resolved = Vec::new();
        for (i, zone, form, _) in &pending {
            let Target::Ambiguous {
                default,
                alternatives,
                policy,
                ..
            } = &self.targets[*i]
            else {
                continue;
            };
            let alt = alternatives
                .iter()
                .filter(|a| score.get(*a).copied().unwrap_or(0.0) > 0.0)
                .max_by(|a, b| score[*a].total_cmp(&score[*b]));
            let default_has = score.get(default).copied().unwrap_or(0.0) > 0.0;
            let pick = match (alt, policy) {
                (Some(a), _) if !default_has => Some(*a),
                (_, Policy::Evidence) if !default_has => None,
                _ => Some(*default),
            };
            if let Some(c) = pick {
                resolved.push(Evidence {
                    code: c.as_str().to_owned(),
                    text: form.clone(),
                    zone: *zone,
                    weight: zone.weight() * 0.6,
                });
            }
        }
        for e in resolved {
            if let Some(c) = Code::parse(&e.code) {
                *score.entry(c).or_default() += e.weight;
            }
            ev.push(e);
        }
        let mut ranked: Vec<(Code, f64)> = score.into_iter().filter(|(_, s)| *s > 0.0).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let top = ranked.first().map_or(0.0, |r| r.1);
        let total: f64 = ranked.iter().map(|r| r.1).sum();
        let countries: Vec<CountryTag> = ranked
            .iter()
            .enumerate()
            .filter(|(i, (_, s))| *i == 0 || *s >= SECONDARY_SHARE * top)
            .map(|(i, (c, s))| CountryTag {
                code: c.as_str().to_owned(),
                score: round3(s / total.max(f64::EPSILON)),
                primary: i == 0,
            })
            .collect();
        let regions = self.regions_of(&countries, &region_hits);
        let topics = self.topics_of(text);
        Tags {
            countries,
            regions,
            topics,
            evidence: ev,
        }
    }

    /// Dateline evidence: "CITY, Country", "CITY, ST" (US), "CITY, Province" (Canada), "CITY",
    /// with or without Reuters' date ("SANTA CRUZ, Calif., Feb 26 -").
    fn dateline(&self, d: &str, ev: &mut Vec<Evidence>) {
        let d = d.trim().trim_end_matches(['-', '—', '–', ' ']);
        let parts: Vec<&str> = d.split(',').map(str::trim).collect();
        let city = parts.first().copied().unwrap_or("");
        let second = parts
            .get(1)
            .copied()
            .filter(|p| !p.is_empty() && !starts_with_month(p));
        let push = |code: Code, ev: &mut Vec<Evidence>, w: f64| {
            ev.push(Evidence {
                code: code.as_str().to_owned(),
                text: d.to_owned(),
                zone: Zone::Dateline,
                weight: Zone::Dateline.weight() * w,
            });
        };
        let city_code = self
            .places
            .get(title_case(city).as_str())
            .map(|p| p.0)
            .or_else(|| {
                self.dateline_places
                    .get(city.to_uppercase().as_str())
                    .copied()
            });
        if let Some(second) = second {
            let second_tc = title_case(second);
            let named = self.places.get(second_tc.as_str());
            // A country's name wins ("KYIV, Ukraine"); then the city's own country when the
            // second part names it ("TBILISI, Georgia"); then US states and Canadian provinces
            // ("ATHENS, Ga.", "LONDON, Ontario"); then the city's country over an ambiguous
            // second part ("BRAZZAVILLE, Congo").
            if let Some((c, _, true)) = named {
                return push(*c, ev, 1.0);
            }
            if let (Some(c), Some((s, _, _))) = (city_code, named) {
                if c == *s {
                    return push(c, ev, 1.0);
                }
            }
            if is_us_state(second) {
                return push(US, ev, 1.0);
            }
            if is_ca_province(second) {
                return push(Code(*b"CA"), ev, 1.0);
            }
            if let Some(c) = city_code {
                return push(c, ev, 1.0);
            }
            if let Some((c, _, _)) = named {
                return push(*c, ev, 1.0);
            }
        }
        if city.is_empty() {
            return;
        }
        if let Some((c, w, _)) = self.places.get(&title_case(city)) {
            return push(*c, ev, 0.6 + 0.4 * w);
        }
        if let Some(c) = self.dateline_places.get(city.to_uppercase().as_str()) {
            push(*c, ev, 0.8);
        }
    }

    fn scan(
        &self,
        t: &str,
        zone: Zone,
        ev: &mut Vec<Evidence>,
        pending: &mut Vec<(usize, Zone, String, usize)>,
        region_hits: &mut Vec<RegionHit>,
    ) {
        for m in self.ac.find_iter(t) {
            let (s, e) = (m.start(), m.end());
            if !boundary_before(t, s) || !boundary_after(t, e) {
                continue;
            }
            let form = &t[s..e];
            let target = &self.targets[m.pattern().as_usize()];
            // "Athens, Ga.", "London, Ontario": the place is in North America.
            let after = t[e..].strip_prefix(", ").unwrap_or("");
            let in_us = US_STATES
                .iter()
                .any(|st| after.starts_with(st) && boundary_after(after, st.len()));
            let in_ca = CA_PROVINCES
                .iter()
                .any(|p| after.starts_with(p) && boundary_after(after, p.len()));
            let mut add = |code: Code, w: f64| {
                ev.push(Evidence {
                    code: code.as_str().to_owned(),
                    text: form.to_owned(),
                    zone,
                    weight: zone.weight() * w,
                });
            };
            match target {
                _ if in_us => add(US, 1.0),
                _ if in_ca => add(Code(*b"CA"), 1.0),
                Target::Country { code, weight, kind } => {
                    // A name that is also a person's first or last name is not a place then.
                    if *kind == "person" || !looks_like_person(t, s, e) {
                        add(*code, *weight);
                    }
                }
                Target::Ambiguous { person, .. } => {
                    if !(*person && looks_like_person(t, s, e)) {
                        pending.push((m.pattern().as_usize(), zone, form.to_owned(), s));
                    }
                }
                Target::Region(r) => region_hits.push(RegionHit {
                    region: *r,
                    zone,
                    // Within the first words of its title or lead: "EU approves ...".
                    leading: zone != Zone::Body && t[..s].split_whitespace().count() < 3,
                    sub_national: false,
                }),
                Target::SubNational { region, code } => {
                    region_hits.push(RegionHit {
                        region: *region,
                        zone,
                        leading: false,
                        sub_national: true,
                    });
                    if let Some(c) = code {
                        add(*c, 0.9);
                    }
                }
            }
        }
    }

    /// Regions from the story's countries (core members; periphery only beside a core member),
    /// its region names and sub-national cues; the most specific first, then their parents.
    fn regions_of(&self, countries: &[CountryTag], hits: &[RegionHit]) -> Vec<RegionTag> {
        // A region needs the primary country, or countries weighing half as much as it: a
        // secondary country mentioned in passing does not move the story's region.
        let top = countries.first().map_or(0.0, |c| c.score);
        let codes: Vec<(Code, f64)> = countries
            .iter()
            .filter(|c| c.primary || c.score >= REGION_SHARE * top)
            .filter_map(|c| Code::parse(&c.code).map(|k| (k, c.score)))
            .collect();
        let mut score: HashMap<usize, f64> = HashMap::new();
        for (i, (core, periphery)) in self.region_members.iter().enumerate() {
            let slug = self.regions[i].slug.as_str();
            // The EU is a political grouping: it takes the institutions driving the story.
            if slug == "european_union" {
                continue;
            }
            let c: f64 = codes
                .iter()
                .filter(|(k, _)| core.contains(k))
                .map(|(_, s)| s)
                .sum();
            if c > 0.0 {
                let p: f64 = codes
                    .iter()
                    .filter(|(k, _)| periphery.contains(k))
                    .map(|(_, s)| s)
                    .sum();
                *score.entry(i).or_default() += c + p;
            }
        }
        // Region names count for a story that names no country (one about a whole region);
        // sub-national cues (Chechnya, Nagorno-Karabakh) count when the story leads with them;
        // the EU counts when its institutions lead a story about a member state.
        for h in hits {
            let r = &h.region;
            let slug = self.regions[*r].slug.as_str();
            if slug == "european_union" {
                // The EU's institutions lead a story about a member state ("EU approves Italian
                // aid"), not "a stalled EU bid".
                let member = codes
                    .iter()
                    .any(|(k, _)| self.region_members[*r].0.contains(k));
                if h.leading && member {
                    *score.entry(*r).or_default() += 0.5;
                }
            } else if codes.is_empty() {
                *score.entry(*r).or_default() += if h.zone == Zone::Body { 0.5 } else { 1.0 };
            } else if h.sub_national && h.zone != Zone::Body {
                *score.entry(*r).or_default() += 0.3;
            }
        }
        // Most specific: drop a region when one inside it applies (by parent, or a roll-up).
        let applied: Vec<usize> = score.keys().copied().collect();
        let inside = |outer: usize, inner: usize| -> bool {
            if outer == inner {
                return false;
            }
            let mut p = self.regions[inner].parent.as_deref();
            let mut guard = 0;
            while let (Some(slug), true) = (p, guard < 16) {
                if slug == self.regions[outer].slug {
                    return true;
                }
                p = self
                    .regions
                    .iter()
                    .find(|r| r.slug == slug)
                    .and_then(|r| r.parent.as_deref());
                guard += 1;
            }
            self.regions[outer]
                .contains
                .iter()
                .any(|s| *s == self.regions[inner].slug)
        };
        let mut specific: Vec<(usize, f64)> = applied
            .iter()
            .filter(|&&o| !applied.iter().any(|&i| inside(o, i)))
            .map(|&o| (o, score[&o]))
            .collect();
        specific.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut out: Vec<RegionTag> = specific
            .iter()
            .map(|(i, s)| RegionTag {
                slug: self.regions[*i].slug.clone(),
                score: round3(s.min(1.0)),
            })
            .collect();
        // Then what contains them, parents and roll-ups, so a filter on `balkans` finds Western
        // Balkans stories and one on `mena` finds Gulf stories.
        let mut i = 0;
        while i < out.len() {
            let (slug, score) = (out[i].slug.clone(), out[i].score);
            // Its parent (a named grouping such as `southern_europe`, defined as a region or
            // not) and the roll-ups that contain it.
            let mut containers: Vec<String> = self
                .regions
                .iter()
                .filter(|r| r.contains.contains(&slug))
                .map(|r| r.slug.clone())
                .collect();
            if let Some(parent) = self.parent_of(&slug) {
                containers.push(parent.to_owned());
            }
            for c in containers {
                if !out.iter().any(|r| r.slug == c) {
                    out.push(RegionTag { slug: c, score });
                }
            }
            i += 1;
        }
        out
    }

    /// The most specific of a story's regions (what the region test set labels).
    pub fn most_specific<'a>(&self, tags: &'a Tags) -> Vec<&'a str> {
        let contains = |outer: &str, inner: &str| {
            self.parent_of(inner) == Some(outer)
                || self
                    .regions
                    .iter()
                    .any(|r| r.slug == outer && r.contains.iter().any(|c| c == inner))
        };
        tags.regions
            .iter()
            .filter(|r| !tags.regions.iter().any(|x| contains(&r.slug, &x.slug)))
            .map(|r| r.slug.as_str())
            .collect()
    }

    fn parent_of(&self, slug: &str) -> Option<&str> {
        self.regions
            .iter()
            .find(|r| r.slug == slug)
            .and_then(|r| r.parent.as_deref())
    }

    fn topics_of(&self, text: Text<'_>) -> Vec<String> {
        if self.topics.is_empty() {
            return Vec::new();
        }
        let all = format!(
            "{}\n{}\n{}",
            text.title,
            text.dateline.unwrap_or(""),
            text.body
        );
        self.topics
            .iter()
            .filter(|t| {
                t.any.iter().any(|r| r.is_match(&all))
                    && t.all.iter().all(|r| r.is_match(&all))
                    && !t.none.iter().any(|r| r.is_match(&all))
            })
            .map(|t| t.name.clone())
            .collect()
    }
}

fn compile_topic(t: &TopicConfig) -> Result<Topic, TagError> {
    let phrase = |p: &String| -> Result<regex::Regex, TagError> {
        let pattern = match p.strip_prefix("re:") {
            Some(re) => re.to_owned(),
            None => format!(r"(?i)\b{}\b", regex::escape(p.trim()).replace(' ', r"\s+")),
        };
        regex::Regex::new(&pattern)
            .map_err(|e| TagError(format!("topic `{}`: pattern `{p}`: {e}", t.name)))
    };
    let list = |v: &[String]| v.iter().map(phrase).collect::<Result<Vec<_>, _>>();
    Ok(Topic {
        name: t.name.clone(),
        any: list(&t.any)?,
        all: list(&t.all)?,
        none: list(&t.none)?,
    })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The first paragraph, and the rest.
fn split_lead(body: &str) -> (&str, &str) {
    match body.find("\n\n") {
        Some(i) => (&body[..i], &body[i + 2..]),
        None => (body, ""),
    }
}

/// A title in capitals (Reuters' slugs): names in it are not in their written case.
fn is_shouting(t: &str) -> bool {
    let letters = t.chars().filter(|c| c.is_alphabetic()).count();
    letters > 0 && t.chars().filter(|c| c.is_uppercase()).count() * 10 >= letters * 9
}

fn starts_with_month(s: &str) -> bool {
    const MONTHS: &[&str] = &[
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS.iter().any(|m| s.starts_with(m))
}

/// "SANTA CRUZ" → "Santa Cruz"; names already in mixed case stay.
fn title_case(s: &str) -> String {
    if s.chars().any(char::is_lowercase) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.push(c);
        } else {
            out.extend(c.to_lowercase());
        }
        start = !c.is_alphanumeric() && c != '\'';
    }
    out
}

fn boundary_before(t: &str, s: usize) -> bool {
    t[..s]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_alphanumeric() && c != '-')
}

fn boundary_after(t: &str, e: usize) -> bool {
    t[e..]
        .chars()
        .next()
        .is_none_or(|c| !c.is_alphanumeric() && c != '-')
}

/// Whether a capitalized name at `s..e` reads as part of a person's name: another capitalized
/// word right before it that is not a sentence opener ("Michael Jordan"), or a capitalized word
/// right after it that is not a place word ("Chad Smith").
fn looks_like_person(t: &str, s: usize, e: usize) -> bool {
    let before = t[..s].trim_end_matches(' ');
    let joined_before = before.len() + 1 == s;
    if joined_before {
        let prev = before
            .rsplit(|c: char| !c.is_alphanumeric() && c != '.' && c != '\'')
            .next()
            .unwrap_or("");
        let sentence_start = before[..before.len() - prev.len()]
            .trim_end()
            .ends_with(['.', '!', '?', '"', '“', '”', '\n'])
            || before.len() == prev.len();
        // At a sentence's start a capitalized word may be an opener ("In Jordan"), which the
        // list catches, or a first name ("Michael Jordan"), which it does not.
        if prev.chars().next().is_some_and(char::is_uppercase)
            && prev.chars().skip(1).all(char::is_lowercase)
            && prev.len() > 1
            && !NOT_A_FIRST_NAME.contains(&prev)
            && (!sentence_start || prev.len() > 3)
        {
            return true;
        }
    }
    let after = &t[e..];
    if let Some(rest) = after.strip_prefix(' ') {
        let next: String = rest.chars().take_while(|c| c.is_alphabetic()).collect();
        let surname = next.chars().next().is_some_and(char::is_uppercase)
            && next.chars().skip(1).all(char::is_lowercase)
            && next.len() > 2;
        const PLACE_WORDS: &[&str] = &[
            "City",
            "River",
            "Delta",
            "Basin",
            "Province",
            "Region",
            "Republic",
            "State",
            "Valley",
            "Lake",
            "Sea",
            "Island",
            "Islands",
            "Bay",
            "Airport",
            "University",
            "Street",
            "Square",
        ];
        if surname && !PLACE_WORDS.contains(&next.as_str()) {
            // "Jordan Peterson" but not "Georgia Tech"-like pairs of two places.
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagger() -> Tagger {
        Tagger::builtin().expect("builtin tagger")
    }

    fn tag(t: &Tagger, dateline: Option<&str>, title: &str, body: &str) -> Tags {
        t.tag(Text {
            title,
            dateline,
            body,
        })
    }

    #[test]
    fn the_belgrade_story_is_about_serbia_and_kosovo_in_the_western_balkans() {
        let t = tagger();
        let tags = tag(
            &t,
            Some("BELGRADE, Serbia"),
            "US receives Kosovo request for Javelin missiles",
            "The United States has received Kosovo’s request to purchase Javelin anti-tank missiles, the U.S. ambassador to Serbia on Thursday told President Aleksandar Vučić, who expressed deep disappointment.\n\nKosovo is a former Serbian province. The U.S. and most Western nations recognize Kosovo’s statehood, while Serbia as well as ally Russia and China don’t.\n\nVučić noted the tanks it had received from Russia before its invasion of Ukraine, and Kosovo's drones came mostly from Turkey.",
        );
        assert_eq!(tags.primary(), Some("RS"), "{tags:?}");
        let codes: Vec<&str> = tags.countries.iter().map(|c| c.code.as_str()).collect();
        assert!(codes.contains(&"XK"), "{codes:?}");
        for passing in ["RU", "CN", "UA", "TR"] {
            assert!(!codes.contains(&passing), "{passing} in {codes:?}");
        }
        assert_eq!(t.most_specific(&tags), vec!["western_balkans"]);
        assert!(tags.regions.iter().any(|r| r.slug == "balkans"));
        // Roll-ups contain their parts too.
        let gulf = tag(
            &t,
            Some("RIYADH, Saudi Arabia"),
            "Saudi Arabia raises oil output",
            "Saudi Arabia said on Monday it would pump more oil.",
        );
        let slugs: Vec<&str> = gulf.regions.iter().map(|r| r.slug.as_str()).collect();
        assert!(
            slugs.contains(&"gulf") && slugs.contains(&"mena"),
            "{slugs:?}"
        );
        assert!(!t.most_specific(&gulf).contains(&"mena"));
    }

    #[test]
    fn georgia_jordan_and_us_datelines_are_told_apart() {
        let t = tagger();
        let tbilisi = tag(
            &t,
            Some("TBILISI, Georgia"),
            "Georgia's parliament passes a budget",
            "Lawmakers in Georgia approved the budget on Tuesday.",
        );
        assert_eq!(tbilisi.primary(), Some("GE"));
        let atlanta = tag(
            &t,
            Some("ATLANTA"),
            "Georgia lawmakers pass a budget",
            "Lawmakers in Georgia approved the state budget on Tuesday in Atlanta.",
        );
        assert_eq!(atlanta.primary(), Some("US"));
        let athens = tag(
            &t,
            Some("ATHENS, Ga."),
            "University expands campus",
            "The university said on Monday it would add two dormitories.",
        );
        assert_eq!(athens.primary(), Some("US"));
        let amman = tag(
            &t,
            Some("AMMAN, Jordan"),
            "Jordan hosts regional talks",
            "Jordan's king opened the talks on Sunday.",
        );
        assert_eq!(amman.primary(), Some("JO"));
        let hoops = tag(
            &t,
            Some("CHICAGO"),
            "Michael Jordan's sneakers sell at auction",
            "A pair of sneakers worn by Michael Jordan sold for a record price on Friday.",
        );
        assert_eq!(hoops.primary(), Some("US"));
        assert!(!hoops.countries.iter().any(|c| c.code == "JO"), "{hoops:?}");
    }

    #[test]
    fn regions_from_the_config_are_added_or_replace_shipped_ones() {
        let regions = vec![
            RegionConfig {
                slug: "adriatic".to_owned(),
                label: Some("Adriatic".to_owned()),
                members: vec!["HR".to_owned(), "ME".to_owned(), "AL".to_owned()],
                periphery: vec![],
                parent: Some("southern_europe".to_owned()),
                aliases: vec![],
                sub_national: vec![],
                contains: vec![],
            },
            // The Baltics redefined to hold Finland too.
            RegionConfig {
                slug: "baltics".to_owned(),
                label: None,
                members: vec![
                    "EE".to_owned(),
                    "LV".to_owned(),
                    "LT".to_owned(),
                    "FI".to_owned(),
                ],
                periphery: vec![],
                parent: None,
                aliases: vec![],
                sub_national: vec![],
                contains: vec![],
            },
        ];
        let t = Tagger::new(&regions, &[]).expect("tagger");
        let split = tag(
            &t,
            Some("ZAGREB, Croatia"),
            "Croatia opens new port",
            "Croatia opened a port on Monday.",
        );
        let slugs: Vec<&str> = split.regions.iter().map(|r| r.slug.as_str()).collect();
        assert!(
            slugs.contains(&"adriatic") && slugs.contains(&"balkans"),
            "{slugs:?}"
        );
        let helsinki = tag(
            &t,
            Some("HELSINKI, Finland"),
            "Finland budget",
            "Finland passed a budget.",
        );
        assert!(
            helsinki.regions.iter().any(|r| r.slug == "baltics"),
            "{helsinki:?}"
        );
    }

    #[test]
    fn topics_match_any_all_and_none() {
        let topics = vec![TopicConfig {
            name: "arms".to_owned(),
            any: vec!["missile".to_owned(), "re:(?i)\\bjavelins?\\b".to_owned()],
            all: vec![],
            none: vec!["toy".to_owned()],
        }];
        let t = Tagger::new(&[], &topics).expect("tagger");
        let yes = tag(
            &t,
            None,
            "Kosovo buys Javelins",
            "The missile deal was approved.",
        );
        assert_eq!(yes.topics, vec!["arms"]);
        let no = tag(
            &t,
            None,
            "Toy missile recalled",
            "A toy missile was recalled.",
        );
        assert!(no.topics.is_empty());
        let bad = vec![TopicConfig {
            name: "bad".to_owned(),
            any: vec!["re:(".to_owned()],
            all: vec![],
            none: vec![],
        }];
        assert!(Tagger::new(&[], &bad).is_err());
    }
}
