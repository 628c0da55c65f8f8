//! News regions: the shipped ones (`data/geo/regions.json`) and the config's `[[regions]]`, and
//! how a story's countries, region names and sub-national cues roll up to them (most specific
//! first, then parents and roll-ups).
//!
//! Owns the region type the config file uses (`[[regions]]` deserializes into [`Region`]).
//! Never: reads the config module, or matches text (the gazetteer finds region names).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::score::round3;
use super::{Code, CountryTag, RegionTag, TagError, Tagger, Tags, Zone};

const REGIONS: &str = include_str!("../../data/geo/regions.json");

/// Share of the primary's score a secondary country needs to bring its region.
const REGION_SHARE: f64 = 0.4;

/// One news region: a shipped one, or a config `[[regions]]` entry (a region of the user's, or an
/// override of a shipped one).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Region {
    /// Its identifier (`western_balkans`); a shipped region with this slug is replaced.
    pub slug: String,
    #[serde(default)]
    pub label: Option<String>,
    /// ISO 3166-1 alpha-2 codes of the countries that make a story part of it (XK for Kosovo).
    #[serde(default)]
    pub members: Vec<String>,
    /// Countries that count only together with a member.
    #[serde(default)]
    pub periphery: Vec<String>,
    /// The broader region it rolls up to.
    #[serde(default)]
    pub parent: Option<String>,
    /// Names of the region found in text ("the Balkans").
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Sub-national names that point to it.
    #[serde(default)]
    pub sub_national: Vec<String>,
    /// For a roll-up (such as `mena`): the regions inside it; it applies only when none of
    /// them does.
    #[serde(default)]
    pub contains: Vec<String>,
    /// A continent-level roll-up (`europe`, `asia`, `africa`, `americas`): every story in one of
    /// its countries gets it, with its other regions, but it is never the story's most specific
    /// region.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub continent: bool,
}

#[derive(Debug, Deserialize)]
struct RegionFile {
    regions: Vec<Region>,
}

/// A region's name or sub-national cue found in a story.
#[derive(Debug, Clone, Copy)]
pub(super) struct RegionHit {
    pub(super) region: usize,
    pub(super) zone: Zone,
    /// Among the first words of its title or lead.
    pub(super) leading: bool,
    pub(super) sub_national: bool,
}

/// The shipped regions, then the config's (replacing by slug, or added).
pub(super) fn load(config: &[Region]) -> Result<Vec<Region>, TagError> {
    let mut regions: Vec<Region> = serde_json::from_str::<RegionFile>(REGIONS)
        .map_err(|e| TagError(format!("data/geo/regions.json: {e}")))?
        .regions;
    for r in config {
        match regions.iter_mut().find(|x| x.slug == r.slug) {
            Some(x) => *x = r.clone(),
            None => regions.push(r.clone()),
        }
    }
    Ok(regions)
}

/// Each region's core members and periphery, parsed.
pub(super) fn members(regions: &[Region]) -> Vec<(Vec<Code>, Vec<Code>)> {
    regions
        .iter()
        .map(|r| {
            let parse = |v: &[String]| v.iter().filter_map(|c| Code::parse(c)).collect();
            (parse(&r.members), parse(&r.periphery))
        })
        .collect()
}

impl Tagger {
    /// Regions from the story's countries (core members; periphery only beside a core member),
    /// its region names and sub-national cues; the most specific first, then their parents.
    pub(super) fn regions_of(
        &self,
        countries: &[CountryTag],
        hits: &[RegionHit],
    ) -> Vec<RegionTag> {
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
        let continent = |slug: &str| self.regions.iter().any(|r| r.slug == slug && r.continent);
        tags.regions
            .iter()
            .filter(|r| !continent(&r.slug))
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
}

impl Tagger {
    /// The problems of the config's `[[regions]]` (this tagger built with them): each as the
    /// entry's index, the key and what is wrong. Member and periphery codes must be countries
    /// the gazetteer knows; `parent` and `contains` must name a region, or a grouping the shipped
    /// regions name (`southern_europe`); a slug is given once, and a parent chain never comes
    /// back to where it started.
    pub fn config_region_problems(&self, config: &[Region]) -> Vec<(usize, &'static str, String)> {
        let countries: std::collections::HashSet<Code> =
            self.gaz.places.values().map(|(c, _, _)| *c).collect();
        let shipped: Vec<Region> = serde_json::from_str::<RegionFile>(REGIONS)
            .map(|f| f.regions)
            .unwrap_or_default();
        let groupings: std::collections::HashSet<&str> = self
            .regions
            .iter()
            .map(|r| r.slug.as_str())
            .chain(shipped.iter().flat_map(|r| {
                r.parent
                    .as_deref()
                    .into_iter()
                    .chain(r.contains.iter().map(String::as_str))
            }))
            .collect();
        let mut out = Vec::new();
        for (i, r) in config.iter().enumerate() {
            let name = &r.slug;
            if name.trim().is_empty() {
                out.push((i, "slug", "must not be empty".to_owned()));
            } else if config[..i].iter().any(|x| x.slug == *name) {
                out.push((i, "slug", format!("region `{name}` is defined twice")));
            }
            for (field, codes) in [("members", &r.members), ("periphery", &r.periphery)] {
                for c in codes {
                    match Code::parse(c) {
                        None => out.push((
                            i,
                            field,
                            format!(
                                "region `{name}`: `{c}` is not an ISO 3166-1 alpha-2 code (two \
                                 capital letters, XK for Kosovo)"
                            ),
                        )),
                        Some(code) if !countries.contains(&code) => out.push((
                            i,
                            field,
                            format!(
                                "region `{name}`: `{c}` is not a country code the tagger knows"
                            ),
                        )),
                        Some(_) => {}
                    }
                }
            }
            let mut refs: Vec<(&'static str, &String)> =
                r.parent.iter().map(|p| ("parent", p)).collect();
            refs.extend(r.contains.iter().map(|c| ("contains", c)));
            for (field, target) in refs {
                if target == name {
                    out.push((i, field, format!("region `{name}` names itself")));
                } else if !groupings.contains(target.as_str()) {
                    out.push((
                        i,
                        field,
                        format!(
                            "region `{name}`: `{target}` is not a region (`wirefeed regions` lists \
                             them)"
                        ),
                    ));
                }
            }
            if r.parent.as_deref().is_some_and(|p| p != name) && self.parent_loops(name) {
                out.push((
                    i,
                    "parent",
                    format!("region `{name}`: its chain of parents comes back to it"),
                ));
            }
        }
        out
    }

    /// Whether following `slug`'s parents leads back to `slug`.
    fn parent_loops(&self, slug: &str) -> bool {
        let mut seen = std::collections::HashSet::new();
        let mut p = self.parent_of(slug);
        while let Some(s) = p {
            if s == slug {
                return true;
            }
            if !seen.insert(s) {
                return false;
            }
            p = self.parent_of(s);
        }
        false
    }
}
