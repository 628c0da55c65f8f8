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
mod gazetteer;
mod regions;
mod score;
mod topics;

use serde::Serialize;

pub use regions::Region;
pub use topics::TopicSpec;

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
    pub(crate) fn weight(self) -> f64 {
        match self {
            Zone::Dateline => 6.0,
            Zone::Title => 2.5,
            Zone::Lead => 1.5,
            Zone::Body => 1.0,
        }
    }
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

/// The tagger: gazetteer, regions and topics, built once.
#[derive(Debug)]
pub struct Tagger {
    gaz: gazetteer::Gazetteer,
    regions: Vec<Region>,
    region_members: Vec<(Vec<Code>, Vec<Code>)>,
    topics: Vec<topics::Topic>,
}

/// Why a config's tagging section cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TagError(pub String);

impl Tagger {
    /// Builds the tagger from the shipped data, the config's region overrides and its topics.
    pub fn new(regions_cfg: &[Region], topics: &[TopicSpec]) -> Result<Tagger, TagError> {
        let regions = regions::load(regions_cfg)?;
        let gaz = gazetteer::Gazetteer::build(&regions)?;
        let region_members = regions::members(&regions);
        let topics = topics
            .iter()
            .map(topics::compile)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Tagger {
            gaz,
            regions,
            region_members,
            topics,
        })
    }

    /// Every region it tags with: the shipped ones, then the config's (overrides in place).
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// Whether `code` (ISO 3166-1 alpha-2, any case) is a country the tagger can write: one its
    /// gazetteer names a place of, or one a region holds.
    pub fn knows_country(&self, code: &str) -> bool {
        let Some(c) = Code::parse(&code.to_ascii_uppercase()) else {
            return false;
        };
        self.gaz.places.values().any(|(p, _, _)| *p == c)
            || self.regions.iter().any(|r| {
                r.members
                    .iter()
                    .chain(&r.periphery)
                    .any(|m| m.eq_ignore_ascii_case(code))
            })
    }

    /// The shipped gazetteer and regions, no topics.
    pub fn builtin() -> Result<Tagger, TagError> {
        Tagger::new(&[], &[])
    }
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
            Region {
                slug: "adriatic".to_owned(),
                label: Some("Adriatic".to_owned()),
                members: vec!["HR".to_owned(), "ME".to_owned(), "AL".to_owned()],
                periphery: vec![],
                parent: Some("southern_europe".to_owned()),
                aliases: vec![],
                sub_national: vec![],
                contains: vec![],
                continent: false,
            },
            // The Baltics redefined to hold Finland too.
            Region {
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
                continent: false,
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
        let topics = vec![TopicSpec {
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
        let bad = vec![TopicSpec {
            name: "bad".to_owned(),
            any: vec!["re:(".to_owned()],
            all: vec![],
            none: vec![],
        }];
        assert!(Tagger::new(&[], &bad).is_err());
    }

    fn codes(tags: &Tags) -> Vec<&str> {
        tags.countries.iter().map(|c| c.code.as_str()).collect()
    }

    #[test]
    fn a_serbian_story_gets_the_same_tags_in_either_script() {
        let t = tagger();
        let cyrl = tag(
            &t,
            Some("БЕОГРАД"),
            "Вучић: Србија неће признати независност Косова",
            "Председник Србије Александар Вучић рекао је данас у Београду да Србија никада неће признати Косово.\n\nОн је додао да ће о томе разговарати са представницима Европске уније.",
        );
        let latn = tag(
            &t,
            Some("BEOGRAD"),
            "Vučić: Srbija neće priznati nezavisnost Kosova",
            "Predsednik Srbije Aleksandar Vučić rekao je danas u Beogradu da Srbija nikada neće priznati Kosovo.\n\nOn je dodao da će o tome razgovarati sa predstavnicima Evropske unije.",
        );
        assert_eq!(cyrl.primary(), Some("RS"), "{cyrl:?}");
        assert_eq!(codes(&cyrl), codes(&latn), "{cyrl:?} {latn:?}");
        let seen = |tags: &Tags| -> Vec<String> {
            let mut v: Vec<String> = tags.evidence.iter().map(|e| e.code.clone()).collect();
            v.sort();
            v
        };
        assert_eq!(seen(&cyrl), seen(&latn));
        assert!(seen(&cyrl).contains(&"XK".to_owned()), "{cyrl:?}");
        assert_eq!(t.most_specific(&cyrl), vec!["western_balkans"]);
    }

    #[test]
    fn inflected_names_and_lower_case_adjectives_count() {
        let t = tagger();
        // Russian cases of Serbia, and the Croatian locative of Germany.
        let ru = tag(
            &t,
            None,
            "Переговоры о будущем Сербии",
            "Делегация Сербии прибыла в столицу. Сербский министр встретился с коллегами.",
        );
        assert_eq!(ru.primary(), Some("RS"), "{ru:?}");
        let hr = tag(
            &t,
            None,
            "Izbori u Njemačkoj",
            "U Njemačkoj su u nedjelju održani izbori, a njemački kancelar čestitao je pobjedniku.",
        );
        assert_eq!(hr.primary(), Some("DE"), "{hr:?}");
        // "le président serbe" in a story from Tirana.
        let fr = tag(
            &t,
            None,
            "Le président serbe attendu à Tirana",
            "Le président serbe doit rencontrer lundi à Tirana le Premier ministre albanais.",
        );
        let c = codes(&fr);
        assert!(c.contains(&"RS") && c.contains(&"AL"), "{fr:?}");
        // A closed list of endings: a stem does not take any letters ("Francis" is not France).
        let pope = tag(
            &t,
            None,
            "Pope Francis visits",
            "Pope Francis spoke on Sunday.",
        );
        assert!(!codes(&pope).contains(&"FR"), "{pope:?}");
    }

    #[test]
    fn chinese_and_japanese_names_match_without_spaces_but_not_inside_longer_words() {
        let t = tagger();
        let zh = tag(
            &t,
            None,
            "塞尔维亚总统访问北京",
            "塞尔维亚总统周一抵达北京，与中国领导人会谈。",
        );
        assert!(
            codes(&zh).contains(&"RS") && codes(&zh).contains(&"CN"),
            "{zh:?}"
        );
        let ja = tag(
            &t,
            None,
            "ドイツで選挙",
            "ドイツの首都ベルリンで日曜日に選挙が行われた。",
        );
        assert_eq!(ja.primary(), Some("DE"), "{ja:?}");
        // マリ (Mali) inside a longer katakana word (マリオ, a name) is not Mali.
        let mario = tag(
            &t,
            None,
            "マリオの新作",
            "マリオの新しいゲームが発売された。",
        );
        assert!(!codes(&mario).contains(&"ML"), "{mario:?}");
    }

    #[test]
    fn every_country_rolls_up_to_its_continent() {
        let t = tagger();
        let swiss = tag(
            &t,
            Some("ZURICH, Switzerland"),
            "Swiss central bank holds rates",
            "Switzerland's central bank kept its rate unchanged on Thursday.",
        );
        assert_eq!(swiss.primary(), Some("CH"));
        assert!(
            swiss.regions.iter().any(|r| r.slug == "europe"),
            "{swiss:?}"
        );
        // A continent is never the most specific region.
        assert!(t.most_specific(&swiss).is_empty(), "{swiss:?}");
        let serbia = tag(
            &t,
            Some("BELGRADE, Serbia"),
            "Serbia votes",
            "Serbia voted.",
        );
        assert!(
            serbia.regions.iter().any(|r| r.slug == "europe"),
            "{serbia:?}"
        );
        assert_eq!(t.most_specific(&serbia), vec!["western_balkans"]);
    }

    #[test]
    fn hostile_input_neither_panics_nor_slows_down() {
        let t = tagger();
        // Mixed scripts in one word and one story, transliteration variants, right-to-left text.
        let mixed = tag(
            &t,
            None,
            "Vučić, Vucic и Вучић: Srbiја",
            "Вучић met Vucic\u{200f} in Београд; Сербия ja Srbija. صربيا وكوسوفو \u{202e}Kosovo\u{202c} 日本",
        );
        assert_eq!(mixed.primary(), Some("RS"), "{mixed:?}");
        // Unknown language: still what its names give.
        let unknown = tag(
            &t,
            None,
            "Mbiri",
            "Ndege ya Serbia iliwasili Belgrade jana.",
        );
        assert_eq!(unknown.primary(), Some("RS"), "{unknown:?}");
        // 5,000 place names in one story, in several scripts: bounded time.
        let mut body = String::new();
        for i in 0..5000 {
            body.push_str(["Paris ", "Србија ", "東京 ", "Kosova ", "Berlin, "][i % 5]);
        }
        let start = std::time::Instant::now();
        let many = tag(&t, None, "List", &body);
        assert!(!many.countries.is_empty());
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        // Letters with no lower case of the same length, combining marks, lone endings.
        for odd in [
            "İSTANBUL İzmir",
            "ǅ ǈ ǋ ẞ",
            "a\u{301}\u{301}\u{301}",
            "ия ами",
            "",
        ] {
            let _ = tag(&t, Some(odd), odd, odd);
        }
    }
}
