//! Scoring: where in a story each name was found (dateline strongest, then title, lead and body)
//! and what the story is about, from the gazetteer's matches.
//!
//! Owns the dateline reading ("CITY, Country", "CITY, ST", "CITY" alone), the scan of the
//! title, lead and body with both matchers, person-name guards ("Michael Jordan"), the
//! resolution of ambiguous names from the story's unambiguous evidence, and the ranking into a
//! primary country and secondary ones. Never: builds tables, or decides regions and topics.

use std::collections::HashMap;

use super::gazetteer::{
    fold, is_ca_province, is_us_state, Policy, Target, CA_PROVINCES, US_STATES,
};
use super::regions::RegionHit;
use super::{Code, CountryTag, Evidence, Tagger, Tags, Text, Zone, US};

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

/// What a mention of the United States counts for in a story datelined elsewhere.
const US_ABROAD: f64 = 0.5;

/// Share of the top score a secondary country needs.
const SECONDARY_SHARE: f64 = 0.25;

impl Tagger {
    /// Tags one story.
    pub fn tag(&self, text: Text<'_>) -> Tags {
        let mut ev: Vec<Evidence> = Vec::new();
        let mut pending: Vec<(usize, Zone, String, usize)> = Vec::new();
        let mut region_hits: Vec<RegionHit> = Vec::new();
        if let Some(d) = text.dateline {
            self.dateline(d, &mut ev);
        }
        let (lead, rest) = split_lead(text.body);
        let english = is_english(text.title, lead);
        for (zone, t) in [
            (Zone::Title, text.title),
            (Zone::Lead, lead),
            (Zone::Body, rest),
        ] {
            // All-caps titles (wire slugs) name places in capitals: no case-sensitive match.
            if zone == Zone::Title && is_shouting(t) {
                continue;
            }
            self.scan(t, zone, english, &mut ev, &mut pending, &mut region_hits);
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
            } = &self.gaz.targets[*i]
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
            .gaz
            .places
            .get(title_case(city).as_str())
            .map(|p| p.0)
            .or_else(|| {
                self.gaz
                    .dateline_places
                    .get(city.to_uppercase().as_str())
                    .copied()
            })
            .or_else(|| self.gaz.local_place(city));
        if let Some(second) = second {
            let second_tc = title_case(second);
            let named = self.gaz.places.get(second_tc.as_str());
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
        if let Some((c, w, _)) = self.gaz.places.get(&title_case(city)) {
            return push(*c, ev, 0.6 + 0.4 * w);
        }
        if let Some(c) = self.gaz.dateline_places.get(city.to_uppercase().as_str()) {
            return push(*c, ev, 0.8);
        }
        // A dateline in the place's own language: "БЕОГРАД", "ATINA", "ПРИШТИНА".
        if let Some(c) = self.gaz.local_place(city) {
            push(c, ev, 0.9);
        }
    }

    fn scan(
        &self,
        t: &str,
        zone: Zone,
        english: bool,
        ev: &mut Vec<Evidence>,
        pending: &mut Vec<(usize, Zone, String, usize)>,
        region_hits: &mut Vec<RegionHit>,
    ) {
        // Spans the English gazetteer read: the multilingual one does not read them again.
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for m in self.gaz.ac.find_iter(t) {
            let (s, e) = (m.start(), m.end());
            if !boundary_before(t, s) || !boundary_after(t, e) {
                continue;
            }
            spans.push((s, e));
            let form = &t[s..e];
            let target = &self.gaz.targets[m.pattern().as_usize()];
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
        self.scan_local(t, zone, english, &spans, ev);
    }

    /// The region's own languages: names, cities and adjectives on the lower-cased text, each a
    /// stem and an ending of its language (Srbij+e, Серби+и, serb+e), outside what the English
    /// gazetteer already read.
    fn scan_local(
        &self,
        t: &str,
        zone: Zone,
        english: bool,
        spans: &[(usize, usize)],
        ev: &mut Vec<Evidence>,
    ) {
        // English text in ASCII holds no form this table may read there (only non-Latin ones).
        if english && t.is_ascii() {
            return;
        }
        let local = &self.gaz.local;
        let folded = fold(t);
        let mut k = 0;
        for m in local.ac.find_iter(&folded) {
            let (s, e) = (m.start(), m.end());
            while k < spans.len() && spans[k].1 <= s {
                k += 1;
            }
            if spans.get(k).is_some_and(|&(a, _)| a < e) {
                continue;
            }
            let Some((f, end)) = local.forms[m.pattern().as_usize()]
                .iter()
                .filter(|f| !(english && f.latin))
                .find_map(|f| Some((f, local.accept(f, t, &folded, s, e)?)))
            else {
                continue;
            };
            ev.push(Evidence {
                code: f.code.as_str().to_owned(),
                text: t[s..end].to_owned(),
                zone,
                weight: zone.weight() * f.weight,
            });
        }
    }
}

/// Whether a story reads as English: its common short words make up a good share of the first
/// words of its title and lead. Latin-script names of other languages are not read in it.
fn is_english(title: &str, lead: &str) -> bool {
    const COMMON: &[&str] = &[
        "the", "of", "and", "to", "in", "is", "for", "on", "that", "with", "said", "was", "by",
        "from", "at", "its", "it", "has", "have", "will", "would", "be", "are",
    ];
    let (mut words, mut common) = (0usize, 0usize);
    for w in title
        .split_whitespace()
        .chain(lead.split_whitespace())
        .take(80)
    {
        words += 1;
        let w = w.trim_matches(|c: char| !c.is_alphanumeric());
        if COMMON.iter().any(|c| c.eq_ignore_ascii_case(w)) {
            common += 1;
        }
    }
    common >= 3 && common * 8 >= words
}

pub(super) fn round3(x: f64) -> f64 {
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
