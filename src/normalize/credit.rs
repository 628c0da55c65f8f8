//! Wire credit, dateline and outlet boilerplate: separates a story's own text from what an outlet or
//! wire wrapped around it.
//!
//! Owns the rules that recognise, in a plain-text body whose paragraphs are separated by blank lines:
//! header lines above the story (`- Associated Press - Thursday, January 11, 2024`, `By The
//! Associated Press`, `Reuters`, wire update notes such as `(Adds analyst comment)`), the dateline
//! that opens the first paragraph (`BELGRADE, Serbia (AP) —`, `LONDON, March 12 (Reuters) -`),
//! footer lines below it (copyright, comment policy, "contributed to this report", Reuters
//! sign-offs, newsletter pitches), and lines inserted between paragraphs (`ADVERTISEMENT`,
//! `RELATED: …`); and the mapping from a credit string to a wire service's short name.
//!
//! Never: does I/O, reads the clock, or rewrites the text of a paragraph it keeps (apart from
//! cutting the dateline off the first one). A body in which nothing is recognised comes back
//! byte-for-byte unchanged.
//!
//! Decisions worth knowing:
//! - A dateline is only taken from the first kept paragraph, before a dash separator (`—`, `–`,
//!   `―`, `--`, a spaced `-` or `_`, or `&mdash;`/`&ndash;`) within its first 64 characters. The
//!   place is at most 7 words; its city part is 1–4 UPPERCASE or Titlecase words. Beyond that shape
//!   it also needs one of: a wire tag such as `(AP)` (a non-wire tag such as `(KABC)` only with an
//!   uppercase city), a Reuters date (`, March 12`), an uppercase city (`BELGRADE, Serbia`,
//!   `WASHINGTON`), or a Titlecase city that is followed by a known state/province/country
//!   (`Belgrade, Serbia`) or is itself a well-known dateline city (`Washington`). A lone place with
//!   no tag, date or comma (`WASHINGTON —`) must be followed by text that starts like a sentence,
//!   and a first word such as `NATO`, `BREAKING` or `EDITOR'S` never makes a dateline.
//! - `wire_service` comes from, in order: the dateline's wire tag, a header line, a footer that
//!   names a wire (wire copyright, Reuters `Reporting by …` sign-off, the old `Reuter` sign-off),
//!   then the first author that names one.
//! - Header lines are removed only when a real paragraph follows them; footer lines are removed
//!   from the end but never the last remaining paragraph.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

/// The result of separating a story's body from its wire credit, dateline and outlet boilerplate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Credited {
    /// The body without header lines, dateline, footer lines and inserted lines.
    pub body: String,
    /// Short name of the wire service that wrote the story: "AP", "Reuters", "AFP", "UPI",
    /// "Bloomberg", "DPA", "PA", "ANSA", "EFE", "Xinhua", "Kyodo", "Yonhap", "Anadolu", "TASS",
    /// "Interfax", "CP" (Canadian Press), "AAP", "PTI", "IANS", "KUNA", "WAFA", "Tanjug", "Hina",
    /// "BTA", "Agerpres", "MTI", "CTK", "PAP", and a few more (see [`wire_in_credit`]).
    pub wire_service: Option<String>,
    /// The dateline place, e.g. "BELGRADE, Serbia", "LONDON", "WASHINGTON", "SANTIAGO, Chile",
    /// "SANTA CRUZ, Calif.".
    pub dateline: Option<String>,
    /// The boilerplate paragraphs/lines removed (header, footer, inserted lines), for explanations.
    pub removed: Vec<String>,
}

/// The longest dateline prefix (place, date and tag) looked at, in characters.
const MAX_PREFIX_CHARS: usize = 64;
/// Header, footer and inserted lines are short; longer paragraphs are never tested against them.
const MAX_HEADER_LEN: usize = 160;
const MAX_FOOTER_LEN: usize = 400;
const MAX_INSERTED_LEN: usize = 250;

const MONTHS: &str =
    "January|February|March|April|May|June|July|August|September|October|November|\
December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec";

/// `- Associated Press - Thursday, January 11, 2024` (the leading dash is optional).
static DATED_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)^(?:[-–—]\s*)?[^-–—\s][^–—]{{0,79}}?\s+[-–—]\s+(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?(?:{MONTHS})\.?\s+\d{{1,2}},?\s+\d{{4}}\.?$"
    ))
    .expect("dated header regex")
});

/// The same header run into the first paragraph: `- Associated Press - Thursday, January 11, 2024 BELGRADE …`.
static DATED_HEADER_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)^[-–—]\s*[^-–—\s][^–—]{{0,79}}?\s+[-–—]\s+(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?(?:{MONTHS})\.?\s+\d{{1,2}},?\s+\d{{4}}\s+"
    ))
    .expect("dated header prefix regex")
});

/// `Updated 3:47 p.m. EST`, `Published: March 12, 2024`.
static STAMP_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)^(?:last\s+)?(?:published|updated|posted)(?:\s+(?:on|at))?\s*:?\s+(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?(?:(?:{MONTHS})\.?\s+\d{{1,2}}(?:,?\s+\d{{4}})?|\d{{1,2}}[:/.]\d{{2}}(?:[:/.]\d{{2,4}})?|\d{{4}}-\d{{2}}-\d{{2}})[\w\s:.,/|+-]{{0,40}}$"
    ))
    .expect("stamp header regex")
});

/// Wire update notes: `(Adds analyst comment)`, `(Recasts with new figures)`.
static UPDATE_NOTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\((?:adds|recasts|updates|updated|corrects|corrected|changes|repeats|repeat|rewrites|refiles|removes|inserts|fixes|restores|deletes|edits|amends|clarifies|re-?sends|writes\s+through|writethru|moves|withdraws|combines|expands|tops|overwrites|replaces|new)\b[^()]{0,200}\)$",
    )
    .expect("update note regex")
});

/// Footer lines (tested from the end of the story).
static FOOTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(?:
            copyright\b | © | \(c\)\s
          | all\s+rights\s+reserved\.?$
          | this\s+material\s+may\s+not\s+be\s+published
          | please\s+read\s+our\s+comment\s+policy
          | sign\s+up\b | click\s+here\b | read\s+more\b | follow\s+us\b
          | follow\s+(?:ap|the\s+associated\s+press|reuters|afp)\b
          | (?:find|see)\s+more\s+of\s+ap['’]?s\s+coverage
          | subscribe\s+(?:to|now|here|today)\b
          | download\s+(?:the|our)\b
          | our\s+standards\s*:
          | the\s+associated\s+press\s+receives\s+support\b
          | the\s+ap\s+is\s+solely\s+responsible
          | this\s+(?:story|article)\s+(?:was|has\s+been|is)\s+(?:originally\s+|first\s+)?(?:published|produced|distributed)\b
          | _{3,}$ | [-*=]{3,}$ | \(end\)$ | end$ | -30-$ | \#{3}$
        )",
    )
    .expect("footer regex")
});

/// `Associated Press writer X in Y contributed to this report.`
static CONTRIBUTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bcontributed\b[^.]{0,40}\b(?:report|story|article|reporting)\s*\.?\)?$")
        .expect("contributed regex")
});

/// Reuters sign-off: `Reporting by X; Editing by Y`.
static SIGNOFF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\(?\s*(?:additional\s+)?(?:reporting|writing|editing|compiled|compiling)\s+by\b",
    )
    .expect("signoff regex")
});

/// The old Reuters sign-off line, `Reuter`.
static REUTER_SIGNOFF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^reuters?\.{0,3}$").expect("reuter regex"));

/// Whole inserted lines: `ADVERTISEMENT`, `Story continues below advertisement`.
static INSERTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(?:
            advertisement | advert | ad | sponsored(?:\s+content)?
          | (?:story|article)\s+continues\s+(?:below|after)(?:\s+(?:this\s+)?(?:advertisement|ad))?
          | continue\s+reading\s+(?:below|the\s+main\s+story)
          | scroll\s+(?:down\s+)?to\s+continue(?:\s+with\s+content)?
        )(?:\s*[-–—:]\s*(?:scroll|continue)[^.]{0,40})?\.?$",
    )
    .expect("inserted regex")
});

/// Inserted lines that start with a label: `RELATED: …`, `READ MORE: …`.
static INSERTED_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(?:
            related(?:\s+(?:stories|story|articles?|content|coverage|links?|news|video))?
          | read\s+more | read\s+also | also\s+read | see\s+also | more\s+on\s+this
          | watch | listen | recommended(?:\s+reading)? | must\s+read | editor['’]s\s+picks?
          | top\s+stories
        )\s*:",
    )
    .expect("inserted label regex")
});

/// A Reuters date at the end of the place: `LONDON, March 12`.
static DATE_TAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?:^|,)\s*(?:{MONTHS})\.?\s+\d{{1,2}}(?:,\s*\d{{4}})?$"
    ))
    .expect("date tail regex")
});

/// A date in local conventions at the end of the place: `SARAJEVO, 5. decembra`, `МОСКВА, 5
/// декабря`, `ATHEN, 5. Dezember 2025`, `PARIS, 5 décembre`: a day, one month word, maybe a year.
static LOCAL_DATE_TAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|,)\s*\d{1,2}\.?\s+\p{L}{3,12}\.?(?:\s+\d{4}\.?)?$")
        .expect("local date tail regex")
});

/// Wire names matched case-insensitively as whole words anywhere in a credit. Longer names that
/// contain shorter ones come first.
const NAMES: &[(&str, &str)] = &[
    ("australian associated press", "AAP"),
    ("associated press", "AP"),
    ("agence france-presse", "AFP"),
    ("agence france presse", "AFP"),
    ("france-presse", "AFP"),
    ("thomson reuters", "Reuters"),
    ("reuters", "Reuters"),
    ("reuter", "Reuters"),
    ("united press international", "UPI"),
    ("bloomberg news", "Bloomberg"),
    ("deutsche presse-agentur", "DPA"),
    ("deutsche presse agentur", "DPA"),
    ("pa media", "PA"),
    ("press association", "PA"),
    ("agenzia nazionale stampa associata", "ANSA"),
    ("agencia efe", "EFE"),
    ("xinhua", "Xinhua"),
    ("kyodo", "Kyodo"),
    ("yonhap", "Yonhap"),
    ("anadolu", "Anadolu"),
    ("itar-tass", "TASS"),
    ("tass", "TASS"),
    ("interfax", "Interfax"),
    ("canadian press", "CP"),
    ("press trust of india", "PTI"),
    ("indo-asian news service", "IANS"),
    ("kuwait news agency", "KUNA"),
    ("wafa news agency", "WAFA"),
    ("palestinian news agency", "WAFA"),
    ("tanjug", "Tanjug"),
    ("танјуг", "Tanjug"),
    ("тањуг", "Tanjug"),
    ("fonet", "FoNet"),
    ("фонет", "FoNet"),
    ("beta news agency", "Beta"),
    ("agencija beta", "Beta"),
    ("агенција бета", "Beta"),
    ("fena", "Fena"),
    ("mina news agency", "MINA"),
    ("mia news agency", "MIA"),
    ("macedonian information agency", "MIA"),
    ("athens-macedonian news agency", "ANA-MPA"),
    ("albanian telegraphic agency", "ATA"),
    ("anadolu ajansı", "Anadolu"),
    ("анадолу", "Anadolu"),
    ("итар-тасс", "TASS"),
    ("тасс", "TASS"),
    ("риа новости", "RIA Novosti"),
    ("интерфакс", "Interfax"),
    ("інтерфакс", "Interfax"),
    ("укрінформ", "Ukrinform"),
    ("укринформ", "Ukrinform"),
    ("синьхуа", "Xinhua"),
    ("синхуа", "Xinhua"),
    ("新华社", "Xinhua"),
    ("共同通信", "Kyodo"),
    ("агенция франс прес", "AFP"),
    ("франс пресс", "AFP"),
    ("франс-пресс", "AFP"),
    ("croatian news agency", "Hina"),
    ("bulgarian news agency", "BTA"),
    ("agerpres", "Agerpres"),
    ("hungarian news agency", "MTI"),
    ("czech news agency", "CTK"),
    ("polish press agency", "PAP"),
    ("polska agencja prasowa", "PAP"),
    ("bernama", "Bernama"),
    ("antara news", "Antara"),
    ("jiji press", "Jiji"),
    ("ria novosti", "RIA Novosti"),
    ("europa press", "Europa Press"),
    ("agência lusa", "Lusa"),
    ("belga", "Belga"),
    ("ritzau", "Ritzau"),
    ("notimex", "Notimex"),
    ("prensa latina", "Prensa Latina"),
    ("ukrinform", "Ukrinform"),
    ("islamic republic news agency", "IRNA"),
    ("middle east news agency", "MENA"),
    ("saudi press agency", "SPA"),
    ("emirates news agency", "WAM"),
    ("qatar news agency", "QNA"),
    ("philippine news agency", "PNA"),
    ("austria presse agentur", "APA"),
];

/// Wire acronyms matched case-sensitively as whole words anywhere in a credit.
const ACRONYMS: &[(&str, &str)] = &[
    ("AP", "AP"),
    ("AFP", "AFP"),
    ("UPI", "UPI"),
    ("DPA", "DPA"),
    ("dpa", "DPA"),
    ("ANSA", "ANSA"),
    ("EFE", "EFE"),
    ("AAP", "AAP"),
    ("PTI", "PTI"),
    ("IANS", "IANS"),
    ("KUNA", "KUNA"),
    ("WAFA", "WAFA"),
    ("BTA", "BTA"),
    ("MTI", "MTI"),
    ("CTK", "CTK"),
    ("ČTK", "CTK"),
    ("PAP", "PAP"),
    ("TASS", "TASS"),
    ("ANP", "ANP"),
    ("ANA-MPA", "ANA-MPA"),
    ("ΑΠΕ-ΜΠΕ", "ANA-MPA"),
    ("FENA", "Fena"),
    ("АФП", "AFP"),
    ("БТА", "BTA"),
    ("ТАСС", "TASS"),
    ("IRNA", "IRNA"),
    ("MENA", "MENA"),
];

/// Ambiguous short names that count only when they are the whole credit (`(PA)`, `By CP Staff`).
const WHOLE_ONLY: &[(&str, &str)] = &[
    ("PA", "PA"),
    ("CP", "CP"),
    ("AA", "Anadolu"),
    ("HINA", "Hina"),
    ("Hina", "Hina"),
    ("Lusa", "Lusa"),
    ("LUSA", "Lusa"),
    ("Jiji", "Jiji"),
    ("APA", "APA"),
    ("NTB", "NTB"),
    ("TT", "TT"),
    ("STT", "STT"),
    ("SPA", "SPA"),
    ("WAM", "WAM"),
    ("QNA", "QNA"),
    ("PNA", "PNA"),
    ("RIA", "RIA Novosti"),
    ("РИА", "RIA Novosti"),
    ("Beta", "Beta"),
    ("BETA", "Beta"),
    ("Бета", "Beta"),
    ("БЕТА", "Beta"),
    ("FoNet", "FoNet"),
    ("FONET", "FoNet"),
    ("Fena", "Fena"),
    ("MINA", "MINA"),
    ("Mina", "MINA"),
    ("MIA", "MIA"),
    ("МИА", "MIA"),
    ("ATA", "ATA"),
    ("ХИНА", "Hina"),
    ("Bloomberg", "Bloomberg"),
    ("BLOOMBERG", "Bloomberg"),
    ("Antara", "Antara"),
    ("ANTARA", "Antara"),
];

/// Names from [`WHOLE_ONLY`] that also count as the last comma-separated part of a byline
/// (`By Jane Roe, Bloomberg`); the short acronyms do not (`Harrisburg, PA`).
const WHOLE_OR_LAST: &[&str] = &[
    "Bloomberg",
    "Hina",
    "Lusa",
    "Jiji",
    "Antara",
    "Beta",
    "FoNet",
    "Fena",
];

/// Words that may trail a credit line without making it more than a credit (`Reuters Staff`).
const CREDIT_SUFFIXES: &[&str] = &[
    "staff",
    "reporters",
    "reporter",
    "writer",
    "writers",
    "correspondent",
    "wire",
    "report",
    "reports",
];

/// Lowercase words allowed inside a byline or a place name.
const CONNECTORS: &[&str] = &[
    "and", "of", "the", "de", "des", "van", "von", "der", "den", "da", "das", "do", "dos", "del",
    "della", "di", "du", "la", "las", "le", "les", "los", "el", "al", "am", "an", "en", "sur",
    "upon", "on", "y", "e", "bin", "ibn",
];

/// Lowercase words allowed in a byline besides names.
const BYLINE_WORDS: &[&str] = &[
    "staff",
    "writer",
    "writers",
    "reporter",
    "reporters",
    "correspondent",
    "editor",
    "news",
    "wire",
    "reports",
    "service",
    "services",
    "in",
    "for",
    "at",
    "with",
    "contributor",
    "business",
    "political",
    "sports",
    "science",
    "medical",
    "chief",
    "senior",
    "special",
];

/// First words that never start a dateline even in capitals.
const NOT_PLACES: &[&str] = &[
    "NATO",
    "UN",
    "EU",
    "US",
    "USA",
    "UK",
    "OPEC",
    "NASA",
    "FBI",
    "CIA",
    "NSA",
    "IMF",
    "WHO",
    "WTO",
    "OECD",
    "ASEAN",
    "GOP",
    "NFL",
    "NBA",
    "MLB",
    "NHL",
    "FIFA",
    "UEFA",
    "CEO",
    "FDA",
    "EPA",
    "SEC",
    "FED",
    "ECB",
    "AP",
    "AFP",
    "REUTERS",
    "BREAKING",
    "UPDATE",
    "UPDATED",
    "UPDATES",
    "EXCLUSIVE",
    "ANALYSIS",
    "OPINION",
    "EDITORIAL",
    "COMMENTARY",
    "WATCH",
    "LIVE",
    "NOTE",
    "EDITOR'S",
    "EDITORS",
    "EDITOR’S",
    "EDITOR",
    "CORRECTION",
    "CLARIFICATION",
    "PHOTOS",
    "PHOTO",
    "VIDEO",
    "FILE",
    "URGENT",
    "FLASH",
    "BULLETIN",
    "ALERT",
    "DEVELOPING",
    "REVIEW",
    "OBITUARY",
    "FACT",
    "SPOILER",
    "WARNING",
    "I",
    "A",
    "WE",
    "IT",
    "OK",
    "OMG",
    "LOL",
    "WOW",
    "YES",
    "NO",
];

/// States, provinces and countries (lowercase, trailing dot dropped) that make a Titlecase city a
/// dateline: `Belgrade, Serbia`, `Portland, Ore.`.
const REGIONS: &str = "alabama|alaska|arizona|arkansas|california|colorado|connecticut|delaware|\
florida|georgia|hawaii|idaho|illinois|indiana|iowa|kansas|kentucky|louisiana|maine|maryland|\
massachusetts|michigan|minnesota|mississippi|missouri|montana|nebraska|nevada|new hampshire|\
new jersey|new mexico|new york|north carolina|north dakota|ohio|oklahoma|oregon|pennsylvania|\
rhode island|south carolina|south dakota|tennessee|texas|utah|vermont|virginia|washington|\
west virginia|wisconsin|wyoming|d.c|ala|ariz|ark|calif|colo|conn|del|fla|ga|ill|ind|kan|kans|ky|\
la|md|mass|mich|minn|miss|mo|mont|neb|nebr|nev|n.h|n.j|n.m|n.y|n.c|n.d|okla|ore|pa|r.i|s.c|s.d|\
tenn|tex|vt|va|wash|w.va|wis|wyo|al|ak|az|ar|ca|co|ct|de|fl|hi|id|il|in|ia|ks|me|mi|mn|ms|mt|ne|\
nv|nh|nj|nm|ny|nc|nd|oh|ok|or|ri|sc|sd|tn|tx|ut|wa|wv|wi|wy|dc|puerto rico|guam|alberta|\
british columbia|manitoba|new brunswick|newfoundland|nova scotia|ontario|quebec|québec|\
saskatchewan|prince edward island|yukon|nunavut|northwest territories|new south wales|victoria|\
queensland|tasmania|western australia|south australia|northern territory|england|scotland|wales|\
northern ireland|jersey|guernsey|isle of man|afghanistan|albania|algeria|andorra|angola|\
antigua|argentina|armenia|australia|austria|azerbaijan|bahamas|bahrain|bangladesh|barbados|\
belarus|belgium|belize|benin|bhutan|bolivia|bosnia|bosnia-herzegovina|bosnia and herzegovina|\
botswana|brazil|brunei|bulgaria|burkina faso|burma|burundi|cambodia|cameroon|canada|cape verde|\
central african republic|chad|chile|china|colombia|comoros|congo|costa rica|croatia|cuba|cyprus|\
czech republic|czechia|czechoslovakia|denmark|djibouti|dominica|dominican republic|east timor|\
ecuador|egypt|el salvador|equatorial guinea|eritrea|estonia|eswatini|ethiopia|fiji|finland|\
france|gabon|gambia|germany|west germany|east germany|ghana|greece|grenada|guatemala|guinea|\
guinea-bissau|guyana|haiti|honduras|hong kong|hungary|iceland|india|indonesia|iran|iraq|ireland|\
israel|italy|ivory coast|jamaica|japan|jordan|kazakhstan|kenya|kiribati|kosovo|kuwait|kyrgyzstan|\
laos|latvia|lebanon|lesotho|liberia|libya|liechtenstein|lithuania|luxembourg|macedonia|\
north macedonia|madagascar|malawi|malaysia|maldives|mali|malta|mauritania|mauritius|mexico|\
micronesia|moldova|monaco|mongolia|montenegro|morocco|mozambique|myanmar|namibia|nauru|nepal|\
netherlands|new zealand|nicaragua|niger|nigeria|north korea|norway|oman|pakistan|palau|panama|\
papua new guinea|paraguay|peru|philippines|poland|portugal|qatar|romania|russia|rwanda|samoa|\
san marino|saudi arabia|senegal|serbia|seychelles|sierra leone|singapore|slovakia|slovenia|\
solomon islands|somalia|south africa|south korea|south sudan|spain|sri lanka|sudan|suriname|\
swaziland|sweden|switzerland|syria|taiwan|tajikistan|tanzania|thailand|togo|tonga|\
trinidad and tobago|trinidad|tunisia|turkey|türkiye|turkmenistan|tuvalu|uganda|ukraine|\
united arab emirates|uae|united kingdom|u.k|uruguay|uzbekistan|vanuatu|vatican city|venezuela|\
vietnam|yemen|yugoslavia|zambia|zimbabwe|soviet union|u.s.s.r|west bank|gaza|gaza strip|\
greenland|bermuda|cayman islands|gibraltar|macau|macao|new caledonia|tahiti|faroe islands|\
crimea|chechnya|kurdistan|tibet|xinjiang|sicily|sardinia|corsica|bavaria|catalonia|\
kashmir|punjab|ontario|alsace";

/// Cities that stand alone in datelines, accepted in Titlecase (`Washington —`).
const CITIES: &str = "atlanta|baltimore|boston|chicago|cincinnati|cleveland|dallas|denver|detroit|\
honolulu|houston|indianapolis|las vegas|los angeles|miami|milwaukee|minneapolis|new orleans|\
new york|oklahoma city|philadelphia|phoenix|pittsburgh|st. louis|st louis|salt lake city|\
san antonio|san diego|san francisco|seattle|washington|united nations|london|paris|tokyo|beijing|\
peking|moscow|berlin|bonn|rome|brussels|geneva|zurich|zürich|frankfurt|madrid|lisbon|vienna|\
amsterdam|the hague|stockholm|oslo|copenhagen|helsinki|warsaw|prague|budapest|athens|istanbul|\
ankara|cairo|jerusalem|tel aviv|beirut|baghdad|tehran|dubai|riyadh|doha|kabul|islamabad|\
new delhi|mumbai|bangkok|singapore|hong kong|shanghai|taipei|seoul|manila|jakarta|kuala lumpur|\
sydney|melbourne|wellington|ottawa|toronto|montreal|mexico city|havana|brasilia|brasília|\
sao paulo|são paulo|rio de janeiro|buenos aires|santiago|lima|bogota|bogotá|caracas|\
johannesburg|nairobi|lagos|kyiv|kiev|minsk|vatican city|luxembourg|monaco|gibraltar|macau|\
kuwait city|guatemala city|panama city|quebec city|san marino|djibouti|dublin|edinburgh|\
brussels|milan|munich|hamburg|osaka|mumbai|karachi|dhaka|hanoi|canberra|auckland|vancouver|\
calgary|belgrade|sarajevo|zagreb|bucharest|sofia|kiev|tbilisi|yerevan|baku|damascus|amman|\
abu dhabi|manama|muscat|khartoum|addis ababa|kinshasa|dakar|accra|abuja|harare|pretoria|\
cape town|algiers|tunis|rabat|tripoli|gaza|ramallah|tokyo";

static REGION_SET: LazyLock<HashSet<&'static str>> = LazyLock::new(|| REGIONS.split('|').collect());
static CITY_SET: LazyLock<HashSet<&'static str>> = LazyLock::new(|| CITIES.split('|').collect());

/// Separates the body from credit, dateline and boilerplate. `authors` are the item's author names
/// (a byline like "By The Associated Press" or an author "Reuters" / "AP" credits a wire);
/// `extra` are per-source boilerplate patterns from the config (each matches a whole paragraph or
/// line). An `extra` pattern removes every paragraph (trimmed) in which it finds a match, so
/// anchor it (`^…$`) to remove only paragraphs that are nothing but the boilerplate.
pub fn credit(body: &str, authors: &[String], extra: &[Regex]) -> Credited {
    let paras = paragraphs(body);
    let n = paras.len();
    // The text each paragraph keeps; `None` when removed as boilerplate.
    let mut kept: Vec<Option<&str>> = paras.iter().map(|p| Some(*p)).collect();
    let mut changed = false;
    let mut header_wire: Option<&'static str> = None;
    let mut footer_wire: Option<&'static str> = None;
    // Text cut off the front of the first paragraph (a header run into it).
    let mut merged_header: Option<(usize, &str)> = None;

    // Inserted lines and configured patterns, anywhere.
    for (i, p) in paras.iter().enumerate() {
        if is_inserted(p) || extra.iter().any(|re| re.is_match(p)) {
            kept[i] = None;
            changed = true;
        }
    }

    // Header lines above the first real paragraph.
    let mut first = kept.iter().position(Option::is_some);
    while let Some(i) = first {
        let Some(next) = (i + 1..n).find(|&j| kept[j].is_some()) else {
            break;
        };
        let p = paras[i];
        if !is_header(p) {
            break;
        }
        if header_wire.is_none() {
            header_wire = wire_in_credit(p);
        }
        kept[i] = None;
        changed = true;
        first = Some(next);
    }
    if let Some(i) = first {
        let p = paras[i];
        if let Some(m) = DATED_HEADER_PREFIX.find(p) {
            let rest = &p[m.end()..];
            if !rest.trim().is_empty() {
                let head = p[..m.end()].trim();
                if header_wire.is_none() {
                    header_wire = wire_in_credit(head);
                }
                merged_header = Some((i, head));
                kept[i] = Some(rest.trim_start());
                changed = true;
            }
        }
    }

    // Footer lines, repeatedly from the end; never the last remaining paragraph.
    let mut last = kept.iter().rposition(Option::is_some);
    while let (Some(i), Some(f)) = (last, first) {
        if i <= f {
            break;
        }
        let p = paras[i];
        let Some(wire) = footer(p) else {
            break;
        };
        if footer_wire.is_none() {
            footer_wire = wire;
        }
        kept[i] = None;
        changed = true;
        last = (0..i).rev().find(|&j| kept[j].is_some());
    }

    // Dateline at the start of the first real paragraph.
    let mut dateline = None;
    let mut dateline_wire = None;
    let mut dateline_only = None;
    if let Some(i) = first {
        if let Some(text) = kept[i] {
            let next = (i + 1..n).find_map(|j| kept[j]);
            if let Some(d) = parse_dateline(text, next) {
                dateline = d.place.map(str::to_owned);
                dateline_wire = d.wire;
                if d.rest.is_empty() {
                    kept[i] = None;
                    dateline_only = Some(i);
                } else {
                    kept[i] = Some(d.rest);
                }
                changed = true;
            }
        }
    }

    let wire_service = dateline_wire
        .or(header_wire)
        .or(footer_wire)
        .or_else(|| authors.iter().find_map(|a| wire_in_credit(a)))
        .map(str::to_owned);

    if !changed {
        return Credited {
            body: body.to_owned(),
            wire_service,
            dateline,
            removed: Vec::new(),
        };
    }

    let mut removed = Vec::new();
    let mut out = String::with_capacity(body.len());
    for (i, p) in paras.iter().enumerate() {
        if let Some((j, head)) = merged_header {
            if i == j {
                removed.push(head.to_owned());
            }
        }
        match kept[i] {
            Some(text) => {
                if !out.is_empty() {
                    out.push_str("\n\n");
                }
                out.push_str(text);
            }
            // A paragraph that was only the dateline is not boilerplate.
            None if dateline_only == Some(i) => {}
            None => removed.push((*p).to_owned()),
        }
    }
    Credited {
        body: out,
        wire_service,
        dateline,
        removed,
    }
}

/// Wire service named by a byline/author/credit string ("The Associated Press", "AP", "Reuters",
/// "Agence France-Presse", "By JOHN SMITH Associated Press" …), if any.
pub fn wire_in_credit(s: &str) -> Option<&'static str> {
    if s.len() > 1000 {
        return None;
    }
    if let Some(w) = whole_credit(s) {
        return Some(w);
    }
    if let Some((_, last)) = s.rsplit_once(',') {
        if let Some(w) = whole_credit(last).filter(|w| WHOLE_OR_LAST.contains(w)) {
            return Some(w);
        }
    }
    let lower = s.to_lowercase();
    if let Some(i) = first_word_in_list(&NAME_FINDER, &lower) {
        return Some(NAMES[i].1);
    }
    first_word_in_list(&ACRONYM_FINDER, s).map(|i| ACRONYMS[i].1)
}

/// Every wire name (lowercase) and every acronym in one automaton each: a credit is read once,
/// not once per name.
static NAME_FINDER: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::new(NAMES.iter().map(|(n, _)| n)).expect("wire names")
});
static ACRONYM_FINDER: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::new(ACRONYMS.iter().map(|(a, _)| a)).expect("wire acronyms")
});

/// The earliest entry of the finder's list found in `hay` as a whole word (what searching the
/// list in order with `contains_word` gives).
fn first_word_in_list(finder: &aho_corasick::AhoCorasick, hay: &str) -> Option<usize> {
    finder
        .find_overlapping_iter(hay)
        .filter(|m| {
            let before = hay[..m.start()].chars().next_back();
            let after = hay[m.end()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
        .map(|m| m.pattern().as_usize())
        .min()
}

/// The wire a credit line names when the line is nothing but that name (with `By`, `From`, `The`,
/// parentheses, dashes and words such as `Staff` around it).
fn whole_credit(s: &str) -> Option<&'static str> {
    let mut t = s.trim().trim_matches(|c: char| {
        c == '(' || c == ')' || c == '-' || c == '–' || c == '—' || c == '.' || c.is_whitespace()
    });
    for prefix in ["by ", "from ", "the "] {
        if t.len() >= prefix.len()
            && t.is_char_boundary(prefix.len())
            && t[..prefix.len()].eq_ignore_ascii_case(prefix)
        {
            t = t[prefix.len()..].trim_start();
        }
    }
    loop {
        let before = t;
        for suffix in CREDIT_SUFFIXES {
            if let Some(stem) = strip_suffix_word(t, suffix) {
                t = stem;
            }
        }
        if t == before {
            break;
        }
    }
    if t.is_empty() {
        return None;
    }
    if let Some(&(_, w)) = WHOLE_ONLY.iter().find(|(a, _)| *a == t) {
        return Some(w);
    }
    if let Some(&(_, w)) = ACRONYMS.iter().find(|(a, _)| *a == t) {
        return Some(w);
    }
    let lower = t.to_lowercase();
    NAMES
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|&(_, w)| w)
}

/// `t` without a trailing whole word `word` (ASCII case-insensitive) and the space before it.
fn strip_suffix_word<'a>(t: &'a str, word: &str) -> Option<&'a str> {
    if t.len() <= word.len() {
        return None;
    }
    let cut = t.len() - word.len();
    if !t.is_char_boundary(cut) || !t[cut..].eq_ignore_ascii_case(word) {
        return None;
    }
    let stem = &t[..cut];
    stem.ends_with(char::is_whitespace)
        .then(|| stem.trim_end().trim_end_matches(','))
}

/// Whether `needle` occurs in `hay` with no letter or digit on either side.
#[cfg(test)]
fn contains_word(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(i, m)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + m.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The paragraphs of `body`: runs of lines separated by blank (or whitespace-only) lines, trimmed.
fn paragraphs(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut end = 0;
    let mut pos = 0;
    for line in body.split('\n') {
        let line_end = pos + line.len();
        if line.trim().is_empty() {
            if let Some(s) = start.take() {
                out.push(body[s..end].trim());
            }
        } else {
            if start.is_none() {
                start = Some(pos);
            }
            end = line_end;
        }
        pos = line_end + 1;
    }
    if let Some(s) = start {
        out.push(body[s..end].trim());
    }
    out
}

/// An inserted line: `ADVERTISEMENT`, `RELATED: …`, `Story continues below advertisement`.
fn is_inserted(p: &str) -> bool {
    p.len() <= MAX_INSERTED_LEN && (INSERTED.is_match(p) || INSERTED_LABEL.is_match(p))
}

/// A header line above the story.
fn is_header(p: &str) -> bool {
    if p.len() > MAX_HEADER_LEN {
        return false;
    }
    DATED_HEADER.is_match(p)
        || UPDATE_NOTE.is_match(p)
        || STAMP_HEADER.is_match(p)
        || whole_credit(p).is_some()
        || is_byline(p)
        || is_wire_reports(p)
}

/// `From wire reports`, `Staff and wire reports`.
fn is_wire_reports(p: &str) -> bool {
    let t = p.trim_end_matches('.').to_ascii_lowercase();
    matches!(
        t.as_str(),
        "wire reports"
            | "from wire reports"
            | "staff and wire reports"
            | "from staff and wire reports"
            | "news services"
            | "from news services"
            | "wire services"
            | "from wire services"
    )
}

/// `By JOHN DOE, Associated Press`, `By Jane Smith and John Doe`; not `By the time they arrived …`.
fn is_byline(p: &str) -> bool {
    let Some(rest) = p.strip_prefix("By ").or_else(|| p.strip_prefix("BY ")) else {
        return false;
    };
    if p.ends_with(['?', '!', ':', ';']) {
        return false;
    }
    let words: Vec<&str> = rest.split_whitespace().collect();
    if words.is_empty() || words.len() > 12 {
        return false;
    }
    let credited = wire_in_credit(p).is_some();
    if p.ends_with('.') && !credited {
        // Only an initial or an abbreviation such as `Jr.` may end a byline.
        let last = words.last().map_or("", |w| w.trim_end_matches('.'));
        if last.chars().count() > 2 {
            return false;
        }
    }
    words.iter().all(|w| {
        let w = w.trim_matches(|c: char| matches!(c, ',' | ';' | '(' | ')' | '.'));
        if w.is_empty() || w == "&" {
            return true;
        }
        let first = w
            .chars()
            .next()
            .is_some_and(|c| c.is_uppercase() || c.is_numeric());
        let lower = w.to_lowercase();
        first || CONNECTORS.contains(&lower.as_str()) || BYLINE_WORDS.contains(&lower.as_str())
    })
}

/// `Some(wire)` for a footer line (`wire` is the wire it credits, if any), `None` otherwise.
fn footer(p: &str) -> Option<Option<&'static str>> {
    if p.len() > MAX_FOOTER_LEN {
        return None;
    }
    if SIGNOFF.is_match(p) || REUTER_SIGNOFF.is_match(p) {
        return Some(Some("Reuters"));
    }
    if FOOTER.is_match(p) {
        let lower = p.trim_start().to_lowercase();
        let copyright =
            lower.starts_with("copyright") || lower.starts_with('©') || lower.starts_with("(c)");
        return Some(if copyright { wire_in_credit(p) } else { None });
    }
    if p.len() <= 300 && CONTRIBUTED.is_match(p) {
        return Some(None);
    }
    None
}

/// A dateline found at the start of a paragraph.
#[derive(Debug)]
struct Dateline<'a> {
    place: Option<&'a str>,
    wire: Option<&'static str>,
    /// The paragraph after the dateline (empty when the paragraph was only the dateline).
    rest: &'a str,
}

/// The dateline at the start of `p`, if it has one. `next` is the following paragraph, used when
/// `p` is nothing but the dateline.
fn parse_dateline<'a>(p: &'a str, next: Option<&str>) -> Option<Dateline<'a>> {
    let (sep_start, sep_end) = find_separator(p)?;
    let prefix = p[..sep_start].trim_end();
    let rest = p[sep_end..].trim_start();
    if prefix.is_empty() {
        return None;
    }

    // A trailing `(AP)`-style tag.
    let (mut before, tag) = match prefix.strip_suffix(')') {
        Some(inner_end) => {
            let lp = inner_end.rfind('(')?;
            let inner = inner_end[lp + 1..].trim();
            let ok = (1..=30).contains(&inner.chars().count())
                && inner.chars().next().is_some_and(char::is_alphabetic)
                && inner
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '.' | '&' | '-' | '\''));
            if !ok {
                return None;
            }
            (inner_end[..lp].trim_end(), Some(inner))
        }
        None => (prefix, None),
    };
    let tag_wire = tag.and_then(wire_in_credit);

    // A Reuters date: `LONDON, March 12`.
    let mut dated = false;
    if let Some(m) = DATE_TAIL
        .find(before)
        .or_else(|| LOCAL_DATE_TAIL.find(before))
    {
        before = &before[..m.start()];
        dated = true;
    }
    let place = before.trim().trim_end_matches(',').trim_end();
    if place.is_empty() {
        // `(AP) — text`: a wire tag with no place.
        return tag_wire.map(|w| Dateline {
            place: None,
            wire: Some(w),
            rest,
        });
    }
    let shape = place_shape(place)?;
    if NOT_PLACES.contains(&shape.first_word_upper.as_str()) {
        return None;
    }

    let follows = if rest.is_empty() { next? } else { rest };
    let accepted = if tag.is_some() {
        tag_wire.is_some() || shape.city_upper
    } else if dated {
        true
    } else if let Some(regions) = shape.regions {
        // `CITY, Region` is distinctive enough to stand without a sentence check.
        shape.city_upper || regions.split(',').any(|r| is_region(r.trim()))
    } else if !starts_sentence(follows) {
        false
    } else {
        shape.city_upper || CITY_SET.contains(place.to_lowercase().as_str())
    };
    accepted.then_some(Dateline {
        place: Some(place),
        wire: tag_wire,
        rest,
    })
}

fn is_region(r: &str) -> bool {
    let lower = r.to_lowercase();
    REGION_SET.contains(lower.trim_end_matches('.'))
}

/// Text that starts like a sentence: a capital, a digit or an opening quote/bracket.
fn starts_sentence(s: &str) -> bool {
    s.chars().next().is_some_and(|c| {
        c.is_uppercase()
            || c.is_numeric()
            || matches!(
                c,
                '"' | '“' | '‘' | '\'' | '(' | '[' | '<' | '$' | '€' | '£' | '«' | '„'
            )
    })
}

/// The byte range of the first dash separator within the first [`MAX_PREFIX_CHARS`] characters.
fn find_separator(p: &str) -> Option<(usize, usize)> {
    let bytes = p.as_bytes();
    let spaced = |i: usize| i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b')');
    let space_at = |i: usize| matches!(bytes.get(i), Some(b' ' | b'\t' | b'\r' | b'\n'));
    for (count, (i, c)) in p.char_indices().enumerate() {
        if count > MAX_PREFIX_CHARS {
            return None;
        }
        match c {
            '—' | '–' | '―' => return Some((i, i + c.len_utf8())),
            '-' if bytes.get(i + 1) == Some(&b'-') => {
                if bytes.get(i + 2) == Some(&b'-') {
                    return None;
                }
                return Some((i, i + 2));
            }
            '-' | '_' if spaced(i) && space_at(i + 1) => return Some((i, i + 1)),
            '&' => {
                for ent in [
                    "&mdash;", "&ndash;", "&#8212;", "&#8211;", "&#x2014;", "&#x2013;",
                ] {
                    if p[i..].starts_with(ent) {
                        return Some((i, i + ent.len()));
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// What a dateline place looks like.
#[derive(Debug)]
struct PlaceShape<'a> {
    /// Every non-connector word of the city part is in capitals.
    city_upper: bool,
    /// The text after the city's comma (`Serbia`, `Calif.`), if any.
    regions: Option<&'a str>,
    /// The first word, uppercased (for the stop list).
    first_word_upper: String,
}

/// The shape of a place, or `None` if it cannot be a dateline place.
fn place_shape(place: &str) -> Option<PlaceShape<'_>> {
    if place.chars().count() > 48 {
        return None;
    }
    let (city, regions) = match place.split_once(',') {
        Some((c, r)) => (c.trim(), Some(r.trim())),
        None => (place, None),
    };
    let city_words: Vec<&str> = city.split_whitespace().collect();
    if city_words.is_empty() || city_words.len() > 4 {
        return None;
    }
    let mut city_upper = true;
    for (k, w) in city_words.iter().enumerate() {
        match word_kind(w) {
            WordKind::Upper => {}
            WordKind::Title => city_upper = false,
            WordKind::Connector if k > 0 => {}
            _ => return None,
        }
    }
    let mut total = city_words.len();
    if let Some(r) = regions {
        let parts: Vec<&str> = r.split(',').map(str::trim).collect();
        if parts.len() > 2 {
            return None;
        }
        for part in parts {
            let words: Vec<&str> = part.split_whitespace().collect();
            if words.is_empty() || words.len() > 3 {
                return None;
            }
            total += words.len();
            for (k, w) in words.iter().enumerate() {
                match word_kind(w) {
                    WordKind::Upper | WordKind::Title => {}
                    WordKind::Connector if k > 0 || *w == "the" => {}
                    _ => return None,
                }
            }
        }
    }
    if total > 7 {
        return None;
    }
    Some(PlaceShape {
        city_upper,
        regions,
        first_word_upper: city_words[0].to_uppercase(),
    })
}

#[derive(Debug, PartialEq, Eq)]
enum WordKind {
    Upper,
    Title,
    Connector,
    Other,
}

fn word_kind(w: &str) -> WordKind {
    if !w
        .chars()
        .all(|c| c.is_alphabetic() || matches!(c, '.' | '-' | '\'' | '’'))
    {
        return WordKind::Other;
    }
    let Some(first) = w.chars().find(|c| c.is_alphabetic()) else {
        return WordKind::Other;
    };
    let has_lower = w.chars().any(char::is_lowercase);
    if !has_lower && first.is_uppercase() {
        WordKind::Upper
    } else if first.is_uppercase() {
        WordKind::Title
    } else if CONNECTORS.contains(&w) || w.starts_with("d'") || w.starts_with("l'") {
        WordKind::Connector
    } else {
        WordKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One case: input body and authors, then the expected body, wire service and dateline.
    fn check(
        name: &str,
        body: &str,
        authors: &[&str],
        want_body: &str,
        want_wire: Option<&str>,
        want_dateline: Option<&str>,
    ) -> Credited {
        let authors: Vec<String> = authors.iter().map(|a| (*a).to_owned()).collect();
        let got = credit(body, &authors, &[]);
        assert_eq!(got.body, want_body, "{name}: body");
        assert_eq!(got.wire_service.as_deref(), want_wire, "{name}: wire");
        assert_eq!(got.dateline.as_deref(), want_dateline, "{name}: dateline");
        got
    }

    const WT_FIXTURE: &str = "- Associated Press - Thursday, January 11, 2024\n\nBELGRADE, Serbia — The United States has received Kosovo’s request to purchase Javelin anti-tank missiles, the U.S. ambassador to Serbia on Thursday told President Aleksandar Vučić, who expressed “deep disappointment.”\n\nCopyright © 2024 The Washington Times, LLC.\n\nPlease read our comment policy before commenting.";

    #[test]
    fn washington_times_ap_reprint() {
        let got = check(
            "fixture",
            WT_FIXTURE,
            &[],
            "The United States has received Kosovo’s request to purchase Javelin anti-tank missiles, the U.S. ambassador to Serbia on Thursday told President Aleksandar Vučić, who expressed “deep disappointment.”",
            Some("AP"),
            Some("BELGRADE, Serbia"),
        );
        assert_eq!(
            got.removed,
            vec![
                "- Associated Press - Thursday, January 11, 2024",
                "Copyright © 2024 The Washington Times, LLC.",
                "Please read our comment policy before commenting.",
            ]
        );
    }

    #[test]
    fn washington_times_with_middle_paragraph() {
        let body = WT_FIXTURE.replace(
            "\n\nCopyright",
            "\n\nThe harbor pilots met on Friday.\n\nCopyright",
        );
        let got = credit(&body, &[], &[]);
        assert!(got
            .body
            .starts_with("The United States has received Kosovo’s request"));
        assert!(got.body.ends_with("The harbor pilots met on Friday."));
        assert!(!got.body.contains("Copyright") && !got.body.contains("Associated Press"));
    }

    /// (name, body, want body, wire, dateline)
    type DatelineCase = (
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
    );

    #[test]
    fn datelines() {
        let cases: &[DatelineCase] = &[
            // (name, body, want body, wire, dateline)
            (
                "ap tagged",
                "NEW YORK (AP) — Stocks rose.",
                "Stocks rose.",
                Some("AP"),
                Some("NEW YORK"),
            ),
            (
                "ap state",
                "SANTA CRUZ, Calif. (AP) — Surfers gathered.",
                "Surfers gathered.",
                Some("AP"),
                Some("SANTA CRUZ, Calif."),
            ),
            (
                "ap country",
                "SANTIAGO, Chile (AP) — Miners voted.",
                "Miners voted.",
                Some("AP"),
                Some("SANTIAGO, Chile"),
            ),
            (
                "ap en dash",
                "WASHINGTON (AP) – Lawmakers met.",
                "Lawmakers met.",
                Some("AP"),
                Some("WASHINGTON"),
            ),
            (
                "ap double hyphen",
                "WASHINGTON (AP) -- Lawmakers met.",
                "Lawmakers met.",
                Some("AP"),
                Some("WASHINGTON"),
            ),
            (
                "ap hyphen",
                "WASHINGTON (AP) - Lawmakers met.",
                "Lawmakers met.",
                Some("AP"),
                Some("WASHINGTON"),
            ),
            (
                "ap no space dash",
                "WASHINGTON (AP)—Lawmakers met.",
                "Lawmakers met.",
                Some("AP"),
                Some("WASHINGTON"),
            ),
            (
                "reuters dated",
                "LONDON, March 12 (Reuters) - Shares fell.",
                "Shares fell.",
                Some("Reuters"),
                Some("LONDON"),
            ),
            (
                "reuters abbreviated month",
                "ELGIN, Ill., Sept. 3 (Reuters) - Output rose.",
                "Output rose.",
                Some("Reuters"),
                Some("ELGIN, Ill."),
            ),
            (
                "reuters em dash",
                "TOKYO, Feb 2 (Reuters) — Output rose.",
                "Output rose.",
                Some("Reuters"),
                Some("TOKYO"),
            ),
            (
                "reuters undated",
                "LONDON (Reuters) - Shares fell.",
                "Shares fell.",
                Some("Reuters"),
                Some("LONDON"),
            ),
            (
                "reuters tag dropped",
                "LONDON, March 12 - Shares fell.",
                "Shares fell.",
                None,
                Some("LONDON"),
            ),
            (
                "reuters title case dated",
                "Detroit, March 2 - Car sales rose.",
                "Car sales rose.",
                None,
                Some("Detroit"),
            ),
            (
                "afp",
                "PARIS (AFP) - Strikers marched.",
                "Strikers marched.",
                Some("AFP"),
                Some("PARIS"),
            ),
            (
                "afp title case",
                "Paris (AFP) - Strikers marched.",
                "Strikers marched.",
                Some("AFP"),
                Some("Paris"),
            ),
            (
                "dpa tag",
                "BERLIN (dpa) - Trains stopped.",
                "Trains stopped.",
                Some("DPA"),
                Some("BERLIN"),
            ),
            (
                "pa tag",
                "LONDON (PA) - Rain fell.",
                "Rain fell.",
                Some("PA"),
                Some("LONDON"),
            ),
            (
                "tag dropped",
                "BELGRADE, Serbia — Talks resumed.",
                "Talks resumed.",
                None,
                Some("BELGRADE, Serbia"),
            ),
            (
                "tag dropped hyphen",
                "WASHINGTON - Lawmakers met.",
                "Lawmakers met.",
                None,
                Some("WASHINGTON"),
            ),
            (
                "tag dropped double hyphen",
                "NEW YORK -- Stocks rose.",
                "Stocks rose.",
                None,
                Some("NEW YORK"),
            ),
            (
                "title case region",
                "Belgrade, Serbia — Talks resumed.",
                "Talks resumed.",
                None,
                Some("Belgrade, Serbia"),
            ),
            (
                "title case state abbrev",
                "Portland, Ore. – Rain fell.",
                "Rain fell.",
                None,
                Some("Portland, Ore."),
            ),
            (
                "title case known city",
                "Washington — Lawmakers met.",
                "Lawmakers met.",
                None,
                Some("Washington"),
            ),
            (
                "multi word upper",
                "RIO DE JANEIRO (AP) — Carnival began.",
                "Carnival began.",
                Some("AP"),
                Some("RIO DE JANEIRO"),
            ),
            (
                "st louis",
                "ST. LOUIS (AP) — Rain fell.",
                "Rain fell.",
                Some("AP"),
                Some("ST. LOUIS"),
            ),
            (
                "hyphenated city",
                "WINSTON-SALEM, N.C. (AP) — Rain fell.",
                "Rain fell.",
                Some("AP"),
                Some("WINSTON-SALEM, N.C."),
            ),
            (
                "accented city",
                "SÃO PAULO, Brazil (AP) — Rain fell.",
                "Rain fell.",
                Some("AP"),
                Some("SÃO PAULO, Brazil"),
            ),
            (
                "station tag",
                "LOS ANGELES (KABC) -- Fire crews arrived.",
                "Fire crews arrived.",
                None,
                Some("LOS ANGELES"),
            ),
            (
                "entity dash",
                "WASHINGTON (AP) &mdash; Lawmakers met.",
                "Lawmakers met.",
                Some("AP"),
                Some("WASHINGTON"),
            ),
            (
                "region with article",
                "UTRECHT, the Netherlands (AP) — Cyclists rode.",
                "Cyclists rode.",
                Some("AP"),
                Some("UTRECHT, the Netherlands"),
            ),
            (
                "comma form before lowercase text",
                "CUZCO, Peru — officials reopened the road.",
                "officials reopened the road.",
                None,
                Some("CUZCO, Peru"),
            ),
            (
                "tag only",
                "(AP) — Lawmakers met.",
                "Lawmakers met.",
                Some("AP"),
                None,
            ),
            (
                "dateline own paragraph",
                "WASHINGTON (AP) —\n\nLawmakers met.",
                "Lawmakers met.",
                Some("AP"),
                Some("WASHINGTON"),
            ),
        ];
        for (name, body, want, wire, dl) in cases {
            check(name, body, &[], want, *wire, *dl);
        }
    }

    #[test]
    fn not_datelines() {
        let cases: &[(&str, &str)] = &[
            (
                "sentence with dashes",
                "The president said — in a speech — that taxes would fall.",
            ),
            ("acronym then dash", "NATO — the alliance — met on Monday."),
            (
                "acronym with capital after",
                "NATO — The alliance met on Monday.",
            ),
            (
                "all caps phrase with lowercase",
                "NATO leaders met — and agreed on a plan.",
            ),
            ("breaking label", "BREAKING — The president resigned."),
            (
                "editor's note",
                "EDITOR'S NOTE — This story contains graphic details.",
            ),
            ("title case name", "John Smith — a farmer — lost his crop."),
            (
                "title case unknown region",
                "Yesterday, Congress — in a rare move — passed it.",
            ),
            ("ticker tag", "Apple Inc. (AAPL) — Shares rose."),
            (
                "lowercase after untagged",
                "WASHINGTON — the capital, is hot.",
            ),
            ("hyphenated word", "A well-known writer died on Monday."),
            (
                "dash too late",
                "The committee, which met for nine hours in a closed session on Tuesday — agreed.",
            ),
            ("triple hyphen", "WASHINGTON --- Lawmakers met."),
            ("numbers", "2024 — A year in review."),
            (
                "title case names pair",
                "Smith, Jones — The pair met again.",
            ),
            (
                "known city lowercase after",
                "London — the city that never sleeps.",
            ),
        ];
        for (name, body) in cases {
            check(name, body, &[], body, None, None);
        }
    }

    #[test]
    fn headers() {
        let cases: &[(&str, &str, &str, Option<&str>)] = &[
            (
                "by the ap",
                "By The Associated Press\n\nLawmakers met on Monday.",
                "Lawmakers met on Monday.",
                Some("AP"),
            ),
            (
                "associated press",
                "Associated Press\n\nLawmakers met.",
                "Lawmakers met.",
                Some("AP"),
            ),
            (
                "reuters",
                "Reuters\n\nShares fell.",
                "Shares fell.",
                Some("Reuters"),
            ),
            (
                "reuters staff",
                "By Reuters Staff\n\nShares fell.",
                "Shares fell.",
                Some("Reuters"),
            ),
            (
                "ap tag line",
                "(AP)\n\nLawmakers met.",
                "Lawmakers met.",
                Some("AP"),
            ),
            (
                "afp",
                "AFP\n\nStrikers marched.",
                "Strikers marched.",
                Some("AFP"),
            ),
            (
                "agence",
                "Agence France-Presse\n\nStrikers marched.",
                "Strikers marched.",
                Some("AFP"),
            ),
            (
                "byline with wire",
                "By JOHN DOE, Associated Press\n\nLawmakers met.",
                "Lawmakers met.",
                Some("AP"),
            ),
            (
                "byline wire writer",
                "By JANE ROE AP Business Writer\n\nMarkets rose.",
                "Markets rose.",
                Some("AP"),
            ),
            (
                "staff byline",
                "By Jane Roe and John Doe\n\nMarkets rose.",
                "Markets rose.",
                None,
            ),
            (
                "outlet dated header",
                "- The Washington Times - Monday, January 8, 2024\n\nLawmakers met.",
                "Lawmakers met.",
                None,
            ),
            (
                "update note",
                "Reuters\n\n(Adds analyst comment, paragraphs 4-5)\n\nShares fell.",
                "Shares fell.",
                Some("Reuters"),
            ),
            (
                "canadian press",
                "The Canadian Press\n\nSnow fell.",
                "Snow fell.",
                Some("CP"),
            ),
            (
                "header then dateline",
                "By The Associated Press\n\nNEW YORK (AP) — Stocks rose.",
                "Stocks rose.",
                Some("AP"),
            ),
            (
                "header run into paragraph",
                "- Associated Press - Thursday, January 11, 2024 LONDON — Rain fell.",
                "Rain fell.",
                Some("AP"),
            ),
            (
                "time stamp",
                "Updated March 12, 2024 3:45 p.m. EST\n\nRain fell.",
                "Rain fell.",
                None,
            ),
        ];
        for (name, body, want, wire) in cases {
            let got = credit(body, &[], &[]);
            assert_eq!(got.body, *want, "{name}: body");
            assert_eq!(got.wire_service.as_deref(), *wire, "{name}: wire");
            assert!(!got.removed.is_empty(), "{name}: removed");
        }
    }

    #[test]
    fn not_headers() {
        let cases: &[&str] = &[
            "By the time firefighters arrived, the barn was gone.\n\nNobody was hurt.",
            "By Monday, the company had hired 40 workers.\n\nIt plans more.",
            "Reuters reported the deal on Monday.\n\nShares rose.",
            "AP sources say the vote slipped\n\nIt was delayed.",
            "Updated figures show 5 percent growth\n\nEconomists were surprised.",
            // A lone credit with nothing after it is the story, not a header.
            "Reuters",
        ];
        for body in cases {
            let got = credit(body, &[], &[]);
            assert_eq!(got.body, *body);
            assert!(got.removed.is_empty(), "{body}");
        }
    }

    #[test]
    fn the_automaton_finds_what_the_list_in_order_finds() {
        let mut hays: Vec<String> = Vec::new();
        for (i, (n, _)) in NAMES.iter().enumerate() {
            let (m, _) = NAMES[(i * 7 + 3) % NAMES.len()];
            hays.push(format!("by {m} and {n} staff"));
            hays.push(format!("x{n}"));
            hays.push(format!("{n}s, {n}"));
        }
        for (i, (a, _)) in ACRONYMS.iter().enumerate() {
            let (b, _) = ACRONYMS[(i * 5 + 1) % ACRONYMS.len()];
            hays.push(format!("({b}) {a}"));
            hays.push(format!("{a}x {b}"));
        }
        for hay in &hays {
            let lower = hay.to_lowercase();
            let want = NAMES.iter().position(|(n, _)| contains_word(&lower, n));
            assert_eq!(first_word_in_list(&NAME_FINDER, &lower), want, "{hay}");
            let want = ACRONYMS.iter().position(|(a, _)| contains_word(hay, a));
            assert_eq!(first_word_in_list(&ACRONYM_FINDER, hay), want, "{hay}");
        }
    }

    #[test]
    fn footers() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("ap copyright", "Markets rose.\n\nCopyright 2024 The Associated Press. All rights reserved. This material may not be published, broadcast, rewritten or redistributed.", Some("AP")),
            ("reuters copyright", "Markets rose.\n\n© 2024 Reuters", Some("Reuters")),
            ("thomson copyright", "Markets rose.\n\n(c) Copyright Thomson Reuters 2024", Some("Reuters")),
            ("outlet copyright", "Markets rose.\n\nCopyright 2024 Valley Ledger. All rights reserved.", None),
            ("comment policy", "Markets rose.\n\nPlease read our comment policy before commenting.", None),
            ("contributed", "Markets rose.\n\nAssociated Press writer Jane Roe in Boston contributed to this report.", None),
            ("named contributed", "Markets rose.\n\nJohn Doe contributed to this report.", None),
            ("reuters signoff", "Markets rose.\n\nReporting by Jane Roe; Editing by John Doe", Some("Reuters")),
            ("old reuter signoff", "Markets rose.\n\nReuter", Some("Reuters")),
            ("reuter signoff dots", "Markets rose.\n\nREUTER...", Some("Reuters")),
            ("newsletter", "Markets rose.\n\nSign up for our morning newsletter to get the day's news.", None),
            ("click here", "Markets rose.\n\nClick here to read the full report.", None),
            ("read more", "Markets rose.\n\nRead more: Why markets rise in spring", None),
            ("follow us", "Markets rose.\n\nFollow us on Facebook and Instagram.", None),
            ("stacked", "Markets rose.\n\nReporting by Jane Roe; Editing by John Doe\n\nOur Standards: The Thomson Reuters Trust Principles.\n\nSign up for our newsletter.", Some("Reuters")),
        ];
        for (name, body, wire) in cases {
            check(name, body, &[], "Markets rose.", *wire, None);
        }
    }

    #[test]
    fn footer_never_removes_the_last_paragraph() {
        check(
            "only footer",
            "Please read our comment policy before commenting.",
            &[],
            "Please read our comment policy before commenting.",
            None,
            None,
        );
    }

    #[test]
    fn inserted_lines() {
        let cases: &[(&str, &str)] = &[
            ("caps", "ADVERTISEMENT"),
            ("title", "Advertisement"),
            ("related caps", "RELATED: Storm closes mountain roads"),
            ("related title", "Related: Storm closes mountain roads"),
            (
                "related story",
                "RELATED STORY: Storm closes mountain roads",
            ),
            ("read more", "READ MORE: Storm closes mountain roads"),
            ("continues", "Story continues below advertisement"),
        ];
        for (name, line) in cases {
            let body = format!("First paragraph here.\n\n{line}\n\nSecond paragraph here.");
            let got = check(
                name,
                &body,
                &[],
                "First paragraph here.\n\nSecond paragraph here.",
                None,
                None,
            );
            assert_eq!(got.removed, vec![line.to_string()], "{name}");
        }
    }

    #[test]
    fn inserted_lines_everywhere_with_dateline() {
        check(
            "mixed",
            "ADVERTISEMENT\n\nLONDON (Reuters) - Shares fell.\n\nADVERTISEMENT\n\nBonds rose.\n\nRELATED: Gold slips\n\n© 2024 Reuters",
            &[],
            "Shares fell.\n\nBonds rose.",
            Some("Reuters"),
            Some("LONDON"),
        );
    }

    #[test]
    fn extra_patterns() {
        let extra = vec![
            Regex::new(r"^Subscribe to The Example Times").expect("regex"),
            Regex::new(r"(?i)^listen to this article$").expect("regex"),
        ];
        let body = "Listen to this article\n\nFarmers met.\n\nSubscribe to The Example Times for $1.\n\nThey voted.";
        let got = credit(body, &[], &extra);
        assert_eq!(got.body, "Farmers met.\n\nThey voted.");
        assert_eq!(got.removed.len(), 2);
        assert_eq!(got.wire_service, None);
    }

    #[test]
    fn author_credits() {
        let cases: &[(&[&str], Option<&str>)] = &[
            (&["Associated Press"], Some("AP")),
            (&["By The Associated Press"], Some("AP")),
            (&["Reuters"], Some("Reuters")),
            (&["AP"], Some("AP")),
            (&["Jane Roe", "Agence France-Presse"], Some("AFP")),
            (&["Jane Roe"], None),
            (&[], None),
        ];
        let body = "Farmers met on Tuesday.\n\nThey voted to strike.";
        for (authors, wire) in cases {
            check("author", body, authors, body, *wire, None);
        }
    }

    #[test]
    fn dateline_tag_wins_over_author() {
        check(
            "tag over author",
            "LONDON (Reuters) - Shares fell.",
            &["Associated Press"],
            "Shares fell.",
            Some("Reuters"),
            Some("LONDON"),
        );
    }

    #[test]
    fn local_datelines_and_the_regions_wires() {
        let cases: &[(&str, &str, Option<&str>, &str)] = &[
            (
                "БЕОГРАД - Председник је рекао.",
                "Председник је рекао.",
                None,
                "БЕОГРАД",
            ),
            (
                "PRIŠTINA – Vlada je saopštila.",
                "Vlada je saopštila.",
                None,
                "PRIŠTINA",
            ),
            (
                "SARAJEVO, 5. decembra (Hina) - Vijeće ministara je odlučilo.",
                "Vijeće ministara je odlučilo.",
                Some("Hina"),
                "SARAJEVO",
            ),
            (
                "ATINA (ANA-MPA) – Vlada je saopštila.",
                "Vlada je saopštila.",
                Some("ANA-MPA"),
                "ATINA",
            ),
            (
                "БЕОГРАД (Танјуг) - Влада је саопштила.",
                "Влада је саопштила.",
                Some("Tanjug"),
                "БЕОГРАД",
            ),
            (
                "BEOGRAD (Beta) - Vlada je saopštila.",
                "Vlada je saopštila.",
                Some("Beta"),
                "BEOGRAD",
            ),
            (
                "BEOGRAD (FoNet) - Vlada je saopštila.",
                "Vlada je saopštila.",
                Some("FoNet"),
                "BEOGRAD",
            ),
            (
                "SARAJEVO (FENA) - Vlada je saopćila.",
                "Vlada je saopćila.",
                Some("Fena"),
                "SARAJEVO",
            ),
            (
                "PODGORICA (MINA) - Vlada je saopštila.",
                "Vlada je saopštila.",
                Some("MINA"),
                "PODGORICA",
            ),
            (
                "СКОПЈЕ (МИА) - Владата соопшти.",
                "Владата соопшти.",
                Some("MIA"),
                "СКОПЈЕ",
            ),
            (
                "СОФИЯ (БТА) - Правителството обяви.",
                "Правителството обяви.",
                Some("BTA"),
                "СОФИЯ",
            ),
            (
                "TIRANA (ATA) - Qeveria njoftoi.",
                "Qeveria njoftoi.",
                Some("ATA"),
                "TIRANA",
            ),
            (
                "ANKARA (AA) - Hükümet açıkladı.",
                "Hükümet açıkladı.",
                Some("Anadolu"),
                "ANKARA",
            ),
            (
                "МОСКВА, 5 декабря (ТАСС) - Правительство заявило.",
                "Правительство заявило.",
                Some("TASS"),
                "МОСКВА",
            ),
            (
                "МОСКВА (РИА Новости) - Правительство заявило.",
                "Правительство заявило.",
                Some("RIA Novosti"),
                "МОСКВА",
            ),
            (
                "КИЇВ (Укрінформ) - Уряд заявив.",
                "Уряд заявив.",
                Some("Ukrinform"),
                "КИЇВ",
            ),
            (
                "BERLIN, 5. Dezember (dpa) - Die Regierung teilte mit.",
                "Die Regierung teilte mit.",
                Some("DPA"),
                "BERLIN",
            ),
            (
                "ROMA, 5 dicembre (ANSA) - Il governo ha detto.",
                "Il governo ha detto.",
                Some("ANSA"),
                "ROMA",
            ),
        ];
        for (body, rest, wire, place) in cases {
            let got = credit(body, &[], &[]);
            assert_eq!(got.body, *rest, "{body}");
            assert_eq!(got.wire_service.as_deref(), *wire, "{body}");
            assert_eq!(got.dateline.as_deref(), Some(*place), "{body}");
        }
        // A number and a word after a comma that is not a date's shape stays text.
        let plain = "Vlada je, 5 puta, odbila.";
        assert_eq!(credit(plain, &[], &[]).body, plain);
    }

    #[test]
    fn staff_stories_unchanged() {
        let cases: &[&str] = &[
            "The city council met on Tuesday.\n\nIt approved the budget.",
            "  Leading spaces and odd\n\n\n\nblank lines stay as they are.  ",
            "Crowds gathered — some with signs — outside the hall.",
            "",
            "Kosovo’s leaders met; “deep disappointment” followed.",
        ];
        for body in cases {
            let got = credit(body, &[], &[]);
            assert_eq!(got.body, *body);
            assert_eq!(
                got,
                Credited {
                    body: (*body).to_owned(),
                    ..Credited::default()
                }
            );
        }
    }

    #[test]
    fn wire_in_credit_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("The Associated Press", Some("AP")),
            ("AP", Some("AP")),
            ("Reuters", Some("Reuters")),
            ("Thomson Reuters", Some("Reuters")),
            ("Agence France-Presse", Some("AFP")),
            ("By JOHN SMITH Associated Press", Some("AP")),
            ("Australian Associated Press", Some("AAP")),
            ("United Press International", Some("UPI")),
            ("Bloomberg News", Some("Bloomberg")),
            ("dpa", Some("DPA")),
            ("Xinhua News Agency", Some("Xinhua")),
            ("Kyodo News", Some("Kyodo")),
            ("Yonhap", Some("Yonhap")),
            ("Anadolu Agency", Some("Anadolu")),
            ("The Canadian Press", Some("CP")),
            ("Press Trust of India", Some("PTI")),
            ("ČTK", Some("CTK")),
            ("PA", Some("PA")),
            ("(CP)", Some("CP")),
            ("By PA Reporters", Some("PA")),
            ("Jane Roe", None),
            ("Happy Press", None),
            ("Harrisburg, PA", None),
            ("CAPITAL", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(wire_in_credit(s), *want, "{s}");
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        let inputs = [
            "—",
            "- —",
            "(",
            ")",
            "()—",
            "é—é",
            "ÉÉÉ, É (É) — é",
            "By ",
            "BY",
            "(AP)",
            "&mdash",
            "A&mdash; b",
            "Σ — \u{0301}",
            "\n\n\n",
            "\r\n\r\n",
            "—\n\n—\n\n—",
            "LONDON, March 12 (Reuters) -",
            "日本 — 東京",
            "ТОКИО, Япония — Текст.",
        ];
        for s in inputs {
            let _ = credit(s, &[s.to_owned()], &[]);
            let _ = wire_in_credit(s);
            for cut in 0..=s.len() {
                if s.is_char_boundary(cut) {
                    let _ = credit(&s[..cut], &[], &[]);
                }
            }
        }
        let long = "Ü".repeat(5000);
        let _ = credit(&long, std::slice::from_ref(&long), &[]);
    }
}
