#!/usr/bin/env python3
"""Build the country tagger's gazetteer files in data/geo/ from the shared reference data.

    python3 tools/gazetteer/build.py [SHARED_GEO_DIR] [--out DIR]

SHARED_GEO_DIR defaults to ../shared/data/geo relative to the repository root. The script reads
only gazetteer/ and regions/ there (never eval/: the evaluation sets must not shape the rules),
plus the hand-written tables in tools/gazetteer/curated/, and writes:

    names.tsv         form, iso2, kind, weight       (kind: country|demonym|capital|city|admin1)
    ambiguous.tsv     form, default_iso2, alternatives, note
    cues.tsv          form, iso2, kind, weight       (kind: person|institution|place|subnational)
    news_regions.yaml copied verbatim
    NOTICE            attributions

Output is deterministic: every table is sorted, nothing depends on the clock, the locale, the
hash seed or files outside the inputs named above. A form appears in at most one of names.tsv,
cues.tsv and ambiguous.tsv (precedence: ambiguous > cues > names), so the tagger never has to
reconcile two entries for the same surface form.

Needs Python 3.11 and PyYAML. Exits non-zero, listing every problem, when the curated tables and
the sources disagree (a curated form that no longer exists in its source, two countries claiming
the same country name without a curated decision, ...).
"""

from __future__ import annotations

import argparse
import collections
import csv
import os
import re
import shutil
import sys
import unicodedata
from dataclasses import dataclass

try:
    import yaml
except ImportError:  # pragma: no cover - environment problem, not a data problem
    sys.exit("build.py needs PyYAML: pip install pyyaml")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CURATED = os.path.join(HERE, "curated")

# ----------------------------------------------------------------------------------------------
# Policy constants. Each one is a decision about English news text; the README repeats the why.
# ----------------------------------------------------------------------------------------------

KINDS = ("country", "demonym", "capital", "city", "admin1")
# When one form reaches the same country through several kinds, the first kind listed wins.
KIND_RANK = {k: i for i, k in enumerate(KINDS)}
CUE_KINDS = ("person", "institution", "place", "subnational")

BASE_WEIGHT = {
    "country": 1.0,
    "demonym": 0.8,
    "capital": 0.9,
    "city": 0.7,       # 200k..1M people
    "city_1m": 0.75,   # 1M people or more
    "admin1": 0.6,
    "admin1_us": 0.7,  # US states: always the US, whatever the reading
}

CITY_MIN_POPULATION = 200_000
# A place name that also names a place in another country loses weight: 0.05 when the other
# place is at most 1/20 of the leader's prominence, 0.1 when at most 1/10 or under
# PENALTY_BIG_OTHER people, 0.2 otherwise (cities15000 lists every place of 15k+ people).
PENALTY_BIG_OTHER = 50_000
# When two countries both have a place with the form, it goes to ambiguous.tsv if the runner-up
# has at least 1/AMBIG_RATIO of the leader's prominence, or at least AMBIG_ABS_POP people and
# 1/AMBIG_FAR_RATIO of the leader (Birmingham, Alabama vs Birmingham, England; but not Madrid,
# Colombia vs Madrid); the policy is "evidence" when the runner-up has at least half the
# leader's prominence, else "default".
AMBIG_ABS_POP = 100_000
AMBIG_RATIO = 5
AMBIG_FAR_RATIO = 15
# A national capital counts as three times its population when two places compete for a name
# (news mentions capitals far beyond their size), and at least as a 100k place.
CAPITAL_BOOST = 3
CAPITAL_MIN_PROMINENCE = 100_000

# admin1: countries whose first-level units are municipalities (average under 50k people, e.g.
# Slovenia's 212 obcine, Latvia's 119 novadi, Puerto Rico's 78 municipios, North Macedonia's 71
# opstini) or whose whole population is under 1M contribute no admin1 names: their units are
# villages and towns whose names collide with words and with places elsewhere.
ADMIN1_MIN_AVG_POPULATION = 50_000
ADMIN1_MIN_COUNTRY_POPULATION = 1_000_000
# Jamaica's parishes are named after English places and saints (Manchester, Portland, Hanover,
# Westmoreland, Saint Andrew, ...): every one of them points elsewhere first.
ADMIN1_SKIP_COUNTRIES = {"JM"}

# Words that carry no place identity on their own. An admin1 name made only of these ("Northern
# District", "Central Region", "Red Sea", "Federal Capital Territory") is dropped; a name with
# at least one other token ("West Bengal", "Central Serbia", "Blue Nile") is kept.
GENERIC_TOKENS = set(
    """
    north south east west northern southern eastern western central centre center centro
    upper lower middle greater inner outer far mid north-east north-west south-east south-west
    northeast northwest southeast southwest north-eastern north-western south-eastern
    south-western northeastern northwestern southeastern southwestern
    gulf coast coastal capital region regional district districts province provincial state
    states territory territories federal city municipality metropolitan metro area zone
    islands island isles isle lake lakes river rivers sea red white blue black green grand
    plateau plateaux delta valley mountain mountains highlands highland lowlands hills
    littoral maritime atlantic pacific savanes savannah savanna interior frontier border
    oblast oblast' krai kray rayon raion governorate prefecture department county parish
    republic autonomous special administrative division commune municipal sector
    of the and la le el al de du des da do dos das di del
    nord sud est ouest norte sur sul este oeste occidental oriental litoral atlantique
    plateaux collines lacs lagunes montagnes estuaire cascades haut haute hauts bas basse
    moyen bank
    """.split()
)

# Admin1 units named after a saint with a common first name (Jamaica's Saint James, Saint Ann,
# Saint Catherine parishes): the same names are churches, hospitals and places worldwide.
SAINT_FIRST_NAMES = set(
    """
    Andrew Ann Anne Catherine Elizabeth James Mary Thomas George John Paul Peter Patrick
    Michael David Luke Mark Matthew Philip Joseph Lucy Helena Helen Louis Denis Martin
    Nicholas Stephen Lawrence Barbara Joan Jean
    """.split()
)

# Affixes stripped from admin1 names to get the form used in running text; the full name is kept
# too ("Kherson Oblast" and "Kherson"). Order matters: longest first.
ADMIN1_SUFFIXES = (
    " Autonomous Republic", " Autonomous Region", " Autonomous Oblast", " Autonomous Okrug",
    " Oblast'", " Oblast’", " Oblast", " Governorate", " Province", " Region", " Rayon",
    " District", " Municipality", " Prefecture", " County", " Department", " Kray", " Krai",
    " Republic", " State", " Sahari", " City", "-do", "-si",
)
ADMIN1_PREFIXES = (
    "Opstina ", "Opština ", "Raionul ", "Muhafazat ", "Republic of ", "Province of ",
    "Provincia de ", "Departamento de ", "Estado de ", "Wilayat ", "Municipio ",
)

# Characters NFKD does not decompose, mapped the way English news transliterates them.
TRANSLIT = {
    "ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "ß": "ss",
    "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ı": "i", "ə": "a", "Ə": "A", "ħ": "h",
    "Ħ": "H", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "ŋ": "ng", "ʻ": "'", "ʼ": "'",
    "’": "'", "‘": "'", "`": "'", "´": "'", "ʿ": "'", "ʾ": "'", "‐": "-", "‑": "-",
    "–": "-", "—": "-",
}
APOSTROPHES = "’‘ʼʻ`´ʿʾ"

# Generated forms are kept only when they look like a proper name as English text writes it.
RE_BAD_GENERATED = re.compile(r"[0-9(),/&;:\[\]{}\"!?*]")


# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------


def fold(s: str) -> str:
    """ASCII-fold the way English copy drops diacritics: Vučić -> Vucic, São Paulo -> Sao Paulo."""
    s = "".join(TRANSLIT.get(ch, ch) for ch in s)
    s = unicodedata.normalize("NFKD", s)
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", s).strip()


def fold_variants(s: str) -> set[str]:
    """fold(s), plus the "Dj" spelling of Đ that English copy uses for South Slavic names
    (Đoković -> Djokovic, Đukanović -> Djukanovic) next to the plain "D" one."""
    out = {fold(s)}
    if "Đ" in s or "đ" in s:
        out.add(fold(s.replace("Đ", "Dj").replace("đ", "dj")))
    return out


def straight_quotes(s: str) -> str:
    for ch in APOSTROPHES:
        s = s.replace(ch, "'")
    return s


def key(s: str) -> str:
    """Comparison key for 'same name' across sources: folded, lower case, Saint/St. unified."""
    s = fold(s).lower()
    s = re.sub(r"\bst\.? ", "saint ", s)
    s = s.replace("-", " ")
    return re.sub(r"\s+", " ", s).strip()


def is_latin_text(s: str) -> bool:
    for ch in s:
        if ch.isalpha() and not unicodedata.name(ch, "").startswith("LATIN"):
            return False
    return True


def clean_countrynames_form(s: str) -> str:
    # countrynames stores CLDR forms with an odd "  -" for hyphens ("Timor  -Leste").
    s = re.sub(r"\s+-", "-", s)
    return re.sub(r"\s+", " ", s).strip()


def saint_variants(form: str) -> set[str]:
    out = set()
    m = re.match(r"^(Saint|St\.|St) (.+)$", form)
    if m:
        rest = m.group(2)
        out |= {f"Saint {rest}", f"St. {rest}", f"St {rest}"}
    return out


def initial_variants(form: str) -> set[str]:
    # newsmap's headline abbreviations "S Korea", "N Korean": also "S. Korea" and "S.Korea".
    m = re.match(r"^([A-Z]) (\w.*)$", form)
    if not m:
        return set()
    return {f"{m.group(1)}. {m.group(2)}", f"{m.group(1)}.{m.group(2)}"}


def read_tsv(path: str, ncols_min: int) -> list[list[str]]:
    """Read a curated TSV: '#' starts a comment line, blank lines are skipped."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) < ncols_min:
                raise SystemExit(f"{path}:{lineno}: expected {ncols_min}+ tab-separated columns: {line!r}")
            rows.append([c.strip() for c in cols] + [lineno])
    return rows


@dataclass(frozen=True)
class Cand:
    form: str
    iso2: str
    kind: str
    weight: float
    prominence: int  # people, for deciding between countries; 0 for country/demonym
    src: str
    curated: bool = False


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, msg: str) -> None:
        self.items.append(msg)

    def exit_if_any(self) -> None:
        if self.items:
            for m in self.items:
                print("ERROR:", m, file=sys.stderr)
            sys.exit(f"{len(self.items)} problem(s); nothing written")


# ----------------------------------------------------------------------------------------------
# Sources
# ----------------------------------------------------------------------------------------------


class Sources:
    def __init__(self, shared: str) -> None:
        g = os.path.join(shared, "gazetteer")
        self.shared = shared
        with open(os.path.join(g, "newsmap_english.yml"), encoding="utf-8") as f:
            self.newsmap = yaml.safe_load(f)
        with open(os.path.join(g, "countrynames_data.yaml"), encoding="utf-8") as f:
            self.countrynames = yaml.safe_load(f)
        self.country_info = self._country_info(os.path.join(g, "geonames_countryInfo.txt"))
        self.admin1 = self._admin1(os.path.join(g, "geonames_admin1CodesASCII.txt"))
        self.cities = self._cities(os.path.join(g, "cities15000_compact.tsv"))
        self.regions_path = os.path.join(shared, "regions", "news_regions.yaml")
        with open(self.regions_path, encoding="utf-8") as f:
            self.regions = yaml.safe_load(f)

    @staticmethod
    def _country_info(path: str) -> dict[str, dict]:
        out = {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#"):
                    continue
                p = line.rstrip("\n").split("\t")
                if len(p) < 8 or p[0] == "ISO":
                    continue
                # Trap: some fields carry stray spaces (" Willemstad" for Curacao).
                out[p[0]] = {
                    "iso2": p[0],
                    "name": p[4].strip(),
                    "capital": p[5].strip(),
                    "population": int(p[7] or 0),
                }
        return out

    @staticmethod
    def _admin1(path: str) -> list[dict]:
        out = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                cc = p[0].split(".")[0]
                out.append({"code": p[0], "iso2": cc, "name": p[1].strip(), "ascii": p[2].strip()})
        return out

    @staticmethod
    def _cities(path: str) -> list[dict]:
        out = []
        with open(path, encoding="utf-8", newline="") as f:
            r = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            hdr = next(r)
            for row in r:
                d = dict(zip(hdr, row))
                d["population"] = int(d["population"] or 0)
                d["alts"] = [a for a in d["latin_altnames"].split("|") if a]
                out.append(d)
        return out


# ----------------------------------------------------------------------------------------------
# The build
# ----------------------------------------------------------------------------------------------


class Builder:
    # Sovereign-state-like codes that exist in countryInfo but must not be emitted.
    OBSOLETE_CODES = {"CS", "AN"}  # Serbia and Montenegro (2006), Netherlands Antilles (2010)
    # newsmap uses KV for Kosovo; ISO/EU/IMF/World Bank practice (and regions file) is XK.
    NEWSMAP_CODE_FIX = {"KV": "XK"}

    def __init__(self, src: Sources) -> None:
        self.src = src
        self.p = Problems()
        self.cands: list[Cand] = []
        self.log: dict[str, list[str]] = collections.defaultdict(list)
        self.valid_iso2 = {c for c in src.country_info if c not in self.OBSOLETE_CODES} | {"XK"}
        self._load_curated()

    # ---- curated tables ------------------------------------------------------------------

    def _load_curated(self) -> None:
        c = CURATED
        self.stop = {}
        for form, reason, _ln in read_tsv(os.path.join(c, "stop_forms.tsv"), 2):
            self.stop[form] = reason
        self.demonym_rules = {}
        for prefix, expansion, _ln in read_tsv(os.path.join(c, "demonyms.tsv"), 2):
            words = [w.strip() for w in expansion.split(",") if w.strip() and w.strip() != "-"]
            self.demonym_rules[prefix] = words
        self.extra_rows = read_tsv(os.path.join(c, "names_extra.tsv"), 4)
        self.cn_allow = read_tsv(os.path.join(c, "countrynames_allow.tsv"), 5)
        self.city_aliases = read_tsv(os.path.join(c, "city_aliases.tsv"), 3)
        self.ambig_curated = read_tsv(os.path.join(c, "ambiguous.tsv"), 5)
        self.cues_curated = read_tsv(os.path.join(c, "cues.tsv"), 4)
        self.anchor_extra = collections.defaultdict(set)
        for iso2, forms, _ln in read_tsv(os.path.join(c, "country_anchors.tsv"), 2):
            self.anchor_extra[iso2] |= {f.strip() for f in forms.split(",") if f.strip()}

        # The FAIL list (words that must never match, compared case-insensitively). The shared
        # README calls it newsmap's; in the files it is the first key of countrynames_data.yaml
        # and newsmap_english.yml has none. Both are read so either placement works.
        fail = []
        for data in (self.src.newsmap, self.src.countrynames):
            for item in data.get("FAIL", []) or []:
                if isinstance(item, str):
                    fail.append(item.strip())
        if not fail:
            self.p.add("no FAIL list found in newsmap_english.yml or countrynames_data.yaml")
        self.fail_keys = {f.casefold() for f in fail}

    # ---- candidates --------------------------------------------------------------------

    def add(self, form: str, iso2: str, kind: str, weight: float, prominence: int, src: str,
            curated: bool = False) -> None:
        form = re.sub(r"\s+", " ", form).strip()
        if not form:
            return
        self.cands.append(Cand(form, iso2, kind, round(weight, 2), prominence, src, curated))

    def newsmap(self) -> None:
        """Country names, demonym prefixes (expanded to words) and capitals from newsmap."""
        capitals = {k: fold(v["capital"]).lower() for k, v in self.src.country_info.items()}
        city_keys = collections.defaultdict(dict)
        for c in self.src.cities:
            city_keys[c["cc"]].setdefault(key(c["name"]), c)
            for a in c["alts"]:
                city_keys[c["cc"]].setdefault(key(a), c)
        plain_demonyms = {
            "Thai", "Manx", "Nepali", "Philippine", "Ticos", "Llanitos", "Dutch", "Icelandic",
            "South Korean", "S Sudanese", "DR Congolese", "Democratic Republic Congolese",
        }
        # newsmap items that are artefacts of its tokeniser (stop words removed) or plainly not
        # names; the proper English forms come from geonames/countrynames/names_extra instead.
        skip = {"Democratic Republic Congo", "Democratic Republic Congolese"}
        used_rules = set()
        for cont, subs in self.src.newsmap.items():
            if cont == "FAIL":
                continue
            for _sub, countries in subs.items():
                for cc, items in countries.items():
                    iso2 = self.NEWSMAP_CODE_FIX.get(cc, cc)
                    # newsmap lists each country as [names..., demonyms..., capital/cities...]:
                    # a plain item after the first demonym is a place.
                    seen_demonym = False
                    for it in items:
                        if not isinstance(it, str) or not it.strip():
                            continue  # trap: "[Martinique, Martinican*, ]"
                        it = it.strip()  # trap: "Port-au-Prince " has a trailing space
                        if it in skip:
                            continue
                        if "*" in it:
                            seen_demonym = True
                            prefix = it.rstrip("*")
                            used_rules.add(prefix)
                            for w in self.expand_demonym(prefix):
                                kind = "country" if w.endswith(" Islands") else "demonym"
                                self.add(w, iso2, kind, BASE_WEIGHT[kind], 0, "newsmap*")
                            continue
                        k = key(it)
                        if it in plain_demonyms or re.search(r"(ese|ish|ois|oise|ais)$", it):
                            seen_demonym = True
                            self.add(it, iso2, "demonym", BASE_WEIGHT["demonym"], 0, "newsmap")
                        elif k == capitals.get(iso2) or (
                            k in city_keys[iso2] and self.is_capital_city(city_keys[iso2][k])
                        ):
                            c = city_keys[iso2].get(k)
                            self.add(it, iso2, "capital", BASE_WEIGHT["capital"],
                                     self.capital_prominence(c["population"] if c else 0), "newsmap")
                        elif k in city_keys[iso2]:
                            c = city_keys[iso2][k]
                            self.add(it, iso2, "city", self.city_weight(c["population"]),
                                     c["population"], "newsmap")
                        elif seen_demonym:
                            # A place newsmap names but cities15000 does not know by that
                            # spelling (Ashhabad, Nukunonu): a city of unknown size.
                            # Country-name variants also sit there ("DPRK", "Herzegovina").
                            names = {t for n in (items[0], self.src.country_info.get(iso2, {}).get("name", ""))
                                     for t in n.split()}
                            if it.isupper() or set(it.split()) & names:
                                self.add(it, iso2, "country", BASE_WEIGHT["country"], 0, "newsmap")
                                continue
                            self.log["newsmap-unmatched-place"].append(f"{iso2} {it}")
                            self.add(it, iso2, "city", BASE_WEIGHT["city"], 0, "newsmap")
                        else:
                            self.add(it, iso2, "country", BASE_WEIGHT["country"], 0, "newsmap")
        for prefix in sorted(set(self.demonym_rules) - used_rules):
            self.p.add(f"curated/demonyms.tsv: prefix {prefix!r} is not a newsmap wildcard")

    def expand_demonym(self, prefix: str) -> list[str]:
        """Turn a newsmap wildcard prefix into the concrete words English text uses.

        newsmap matches 'Serb*' as a glob, which also hits Serbia, and 'Turk*' hits Turkmen and
        Turkmenistan, 'Brit*' hits Britney, 'Somali*' hits Somaliland. We emit words instead.
        """
        if prefix in self.demonym_rules:
            return self.demonym_rules[prefix]
        if prefix.endswith(" Island"):
            base = prefix[: -len(" Island")]
            return [f"{base} Islands", f"{base} Islander", f"{base} Islanders"]
        if prefix.endswith(("ss", "z", "ese", "sh", "x")):
            return [prefix]
        return [prefix, prefix + "s"]

    def countrynames(self) -> None:
        """The English subset of pudo/countrynames.

        The file mixes ~100 languages, ISO codes, typos ('Engalnd', 'Britsh'), sub-units filed
        under the country ('Cornwall', 'Cleveland', 'Hamburg' under GB/DE), words ('War', 'Here',
        'Corn', 'Down', 'Poo') and catalogue forms ('Korea, Republic of'). Only two kinds of form
        are taken:
          1. automatic: an English country anchor (a newsmap/GeoNames short name, or one listed in
             curated/country_anchors.tsv) plus English state vocabulary only, in normal case:
             'Republic of Serbia', 'Hashemite Kingdom of Jordan', 'United Republic of Tanzania'.
             Rejected: all-caps, commas/parentheses (catalogue order), the anchor twice, other
             words (so 'Turkish Cypriot', 'NORTH CYPRUS' filed under TR do not come through).
          2. curated: curated/countrynames_allow.tsv names each further form and the key it must
             still be filed under, so a change upstream fails the build instead of drifting.
        """
        vocab_cap = {
            "Republic", "Democratic", "People's", "Federal", "Kingdom", "Islamic", "Arab",
            "Socialist", "State", "States", "United", "Union", "Commonwealth", "Principality",
            "Grand", "Duchy", "Sultanate", "Emirate", "Hashemite", "Plurinational", "Bolivarian",
            "Federation", "Independent", "Oriental", "Co-operative", "Cooperative", "Federative",
            "Great", "Lebanese", "Gabonese", "Portuguese", "Togolese", "Kyrgyz",
        }
        vocab_lower = {"of", "the", "and"}
        anchors = collections.defaultdict(set)
        for c in self.cands:
            if c.src == "newsmap" and c.kind == "country":
                anchors[c.iso2].add(c.form)
        for iso2, info in self.src.country_info.items():
            anchors[iso2].add(info["name"])
        for iso2, forms in self.anchor_extra.items():
            anchors[iso2] |= forms
        kept = 0
        for cc, forms in self.src.countrynames.items():
            if len(cc) != 2 or cc not in self.valid_iso2:
                continue  # FAIL, ZZ, UN, EU, YUCS, sub-national keys: curated use only
            for raw in forms:
                f = clean_countrynames_form(str(raw))
                if not f or not is_latin_text(f) or f.isupper() or RE_BAD_GENERATED.search(f):
                    continue
                if f in anchors[cc]:
                    continue  # already present from a better source
                for a in sorted(anchors[cc], key=len, reverse=True):
                    hits = re.findall(r"(?:^| )" + re.escape(a) + r"(?= |$)", f)
                    if len(hits) != 1:
                        continue
                    rest = re.sub(r"(?:^| )" + re.escape(a) + r"(?= |$)", " ", f, count=1).split()
                    if rest and all(t in vocab_cap or t in vocab_lower for t in rest) and f[0].isupper():
                        self.add(f, cc, "country", BASE_WEIGHT["country"], 0, "countrynames")
                        kept += 1
                    break
        self.log["countrynames"].append(f"automatic rule kept {kept} forms")

        index = collections.defaultdict(set)
        for cc, forms in self.src.countrynames.items():
            for raw in forms:
                index[cc].add(clean_countrynames_form(str(raw)))
        for form, cn_key, iso2, kind, weight, *rest in self.cn_allow:
            if form not in index.get(cn_key, ()):
                self.p.add(f"curated/countrynames_allow.tsv:{rest[-1]}: {form!r} is not filed under {cn_key} in countrynames_data.yaml")
                continue
            self.check_kind_iso(iso2, kind, "countrynames_allow.tsv", rest[-1], KINDS)
            self.add(form, iso2, kind, float(weight), 0, "countrynames+", curated=True)

    def geonames_countries(self) -> None:
        for iso2, info in sorted(self.src.country_info.items()):
            if iso2 in self.OBSOLETE_CODES:
                continue
            self.add(info["name"], iso2, "country", BASE_WEIGHT["country"], 0, "geonames")
            if info["capital"]:
                c = self.capital_city(iso2)
                pop = c["population"] if c else 0
                self.add(info["capital"], iso2, "capital", BASE_WEIGHT["capital"],
                         self.capital_prominence(pop), "geonames-capital")

    def capital_city(self, iso2: str) -> dict | None:
        if not hasattr(self, "_capitals"):
            self._capitals = {}
            by_cc = collections.defaultdict(list)
            for c in self.src.cities:
                by_cc[c["cc"]].append(c)
            for cc, info in self.src.country_info.items():
                cap = info["capital"]
                if not cap or cc in self.OBSOLETE_CODES:
                    continue
                ck = key(cap)
                best = None
                for c in by_cc[cc]:
                    if key(c["name"]) == ck or ck in {key(a) for a in c["alts"]}:
                        if best is None or c["population"] > best["population"]:
                            best = c
                if best is not None:
                    self._capitals[cc] = best
                else:
                    self.log["capitals"].append(f"{cc} capital {cap!r} not in cities15000 (kept from countryInfo)")
            self._capital_ids = {c["geonameid"] for c in self._capitals.values()}
        return self._capitals.get(iso2)

    def is_capital_city(self, city: dict) -> bool:
        self.capital_city("US")
        return city["geonameid"] in self._capital_ids

    @staticmethod
    def capital_prominence(pop: int) -> int:
        return max(pop * CAPITAL_BOOST, CAPITAL_MIN_PROMINENCE)

    @staticmethod
    def city_weight(pop: int) -> float:
        return BASE_WEIGHT["city_1m"] if pop >= 1_000_000 else BASE_WEIGHT["city"]

    def cities(self) -> None:
        self.capital_city("US")
        n = 0
        for c in self.src.cities:
            if c["cc"] not in self.valid_iso2:
                continue
            is_cap = c["geonameid"] in self._capital_ids
            if c["population"] < CITY_MIN_POPULATION and not is_cap:
                continue
            n += 1
            if is_cap:
                self.add(c["name"], c["cc"], "capital", BASE_WEIGHT["capital"],
                         self.capital_prominence(c["population"]), "cities15000")
            else:
                self.add(c["name"], c["cc"], "city", self.city_weight(c["population"]),
                         c["population"], "cities15000")
        self.log["cities"].append(f"{n} cities with >= {CITY_MIN_POPULATION} people or a national capital")
        # English exonyms and older names, each checked against the city's GeoNames altnames.
        by_name = collections.defaultdict(list)
        for c in self.src.cities:
            by_name[(c["name"], c["cc"])].append(c)
        for alias, city_name, iso2, *rest in self.city_aliases:
            cs = by_name.get((city_name, iso2))
            if not cs:
                self.p.add(f"curated/city_aliases.tsv:{rest[-1]}: no city {city_name!r} in {iso2}")
                continue
            c = max(cs, key=lambda x: x["population"])
            if alias not in c["alts"] and fold(alias) not in {fold(a) for a in c["alts"]}:
                self.p.add(f"curated/city_aliases.tsv:{rest[-1]}: {alias!r} is not a GeoNames alternate name of {city_name}")
                continue
            is_cap = c["geonameid"] in self._capital_ids
            kind = "capital" if is_cap else "city"
            weight = BASE_WEIGHT["capital"] if is_cap else self.city_weight(c["population"])
            prom = self.capital_prominence(c["population"]) if is_cap else c["population"]
            # Not "curated": aliases go through the same filters and the same cross-country
            # resolution as GeoNames names (Odessa is also a city in Texas).
            self.add(alias, iso2, kind, weight, prom, "city-alias")

    def admin1(self) -> None:
        count = collections.Counter(a["iso2"] for a in self.src.admin1)
        skipped = []
        for a in self.src.admin1:
            iso2 = a["iso2"]
            info = self.src.country_info.get(iso2)
            if not info or iso2 not in self.valid_iso2:
                continue
            avg = info["population"] / max(count[iso2], 1)
            if iso2 in ADMIN1_SKIP_COUNTRIES or (iso2 != "US" and (
                    info["population"] < ADMIN1_MIN_COUNTRY_POPULATION
                    or avg < ADMIN1_MIN_AVG_POPULATION)):
                skipped.append(iso2)
                continue
            weight = BASE_WEIGHT["admin1_us"] if iso2 == "US" else BASE_WEIGHT["admin1"]
            forms = set()
            for n in (a["name"], a["ascii"]):
                forms.add(n)
                core = n
                for pre in ADMIN1_PREFIXES:
                    if core.startswith(pre):
                        core = core[len(pre):]
                for suf in ADMIN1_SUFFIXES:
                    if core.endswith(suf) and len(core) > len(suf) + 3:
                        core = core[: -len(suf)]
                        break
                forms.add(core)
            for f in sorted(forms):
                if f != straight_quotes(f):
                    f = straight_quotes(f)
                toks = [t.lower().strip("'") for t in re.split(r"[\s-]+", f) if t]
                if all(t in GENERIC_TOKENS for t in toks):
                    self.log["admin1-generic"].append(f"{iso2} {f}")
                    continue
                m = re.match(r"^(?:Saint|St\.?) (\w+)$", f)
                if m and m.group(1) in SAINT_FIRST_NAMES:
                    self.log["admin1-saint"].append(f"{iso2} {f}")
                    continue
                self.add(f, iso2, "admin1", weight, int(avg), "admin1")
        self.log["admin1"].append("skipped (municipal level or tiny): " + " ".join(sorted(set(skipped))))

    def names_extra(self) -> None:
        for form, iso2, kind, weight, *rest in self.extra_rows:
            self.check_kind_iso(iso2, kind, "names_extra.tsv", rest[-1], KINDS)
            self.add(form, iso2, kind, float(weight), 0, "names_extra", curated=True)

    def check_kind_iso(self, iso2: str, kind: str, table: str, lineno, kinds) -> None:
        if iso2 not in self.valid_iso2:
            self.p.add(f"curated/{table}:{lineno}: unknown ISO2 {iso2!r}")
        if kind not in kinds:
            self.p.add(f"curated/{table}:{lineno}: kind {kind!r} not one of {kinds}")

    # ---- variants and filters ------------------------------------------------------------

    def with_variants(self, cands: list[Cand]) -> list[Cand]:
        out = []
        for c in cands:
            forms = {c.form, straight_quotes(c.form)}
            forms |= {fold(f) for f in list(forms)}  # no "Dj": Vietnamese Đ is plain D
            for f in list(forms):
                forms |= saint_variants(f)
                if c.kind in ("country", "demonym"):
                    forms |= initial_variants(f)
                if (c.kind == "capital" and re.search(r"\w-\w", f)) or (
                        c.kind == "country" and re.search(r"\b[A-Z]\w*-[A-Z]", f)):
                    forms.add(f.replace("-", " "))  # Port-au-Prince, Guinea-Bissau
            for f in sorted(forms):
                src = c.src if f == c.form else c.src + "~"
                out.append(Cand(f, c.iso2, c.kind, c.weight, c.prominence, src, c.curated))
        return out

    def keep_form(self, c: Cand) -> str | None:
        """None if the form may be emitted, else the reason it is dropped."""
        f = c.form
        if f.casefold() in self.fail_keys:
            return "newsmap FAIL list"
        if c.curated:
            return None
        if f in self.stop:
            return "stop_forms: " + self.stop[f]
        if len(f) < 4:
            return "shorter than 4 characters"
        if f.isupper():
            return "all capitals (codes are curated-only)"
        if RE_BAD_GENERATED.search(f):
            return "punctuation or digits"
        first = next((ch for ch in f if ch.isalpha()), "")
        if not first or not first.isupper():
            return "does not start with a capital letter"
        if not is_latin_text(f):
            return "not Latin script"
        return None

    # ---- resolution ------------------------------------------------------------------------

    def resolve(self) -> None:
        cands = self.with_variants(self.cands)
        # Curated (names_extra / allow lists / aliases) override generated rows for the same form.
        curated_forms = {c.form for c in cands if c.curated}
        by_form: dict[str, list[Cand]] = collections.defaultdict(list)
        dropped = collections.Counter()
        self.drop_examples = collections.defaultdict(list)
        for c in cands:
            if c.form in curated_forms and not c.curated:
                continue
            why = self.keep_form(c)
            if why:
                dropped[why.split(":")[0]] += 1
                if len(self.drop_examples[why.split(":")[0]]) < 12 and c.form not in self.drop_examples[why.split(":")[0]]:
                    self.drop_examples[why.split(":")[0]].append(c.form)
                continue
            by_form[c.form].append(c)
        self.dropped = dropped

        # The "other places" index: every cities15000 place and every kept admin1 name, so that
        # a name shared with a smaller place abroad loses weight or becomes ambiguous.
        others = collections.defaultdict(lambda: collections.defaultdict(int))
        for c in self.src.cities:
            for f in {c["name"]}:
                k = key(f)
                others[k][c["cc"]] = max(others[k][c["cc"]], c["population"])
        for c in self.cands:
            if c.kind == "admin1":
                k = key(c.form)
                others[k][c.iso2] = max(others[k][c.iso2], c.prominence)

        ambig_forms = {r[0] for r in self.ambig_curated}
        self.names: dict[str, tuple[str, str, float]] = {}
        self.auto_ambig: dict[str, tuple[str, list[str], str]] = {}
        shadowed = []
        for form in sorted(by_form):
            if form in ambig_forms:
                continue
            group = by_form[form]
            if any(c.curated for c in group):
                group = [c for c in group if c.curated]
                isos = {c.iso2 for c in group}
                if len(isos) > 1:
                    self.p.add(f"curated tables map {form!r} to several countries: {sorted(isos)}")
                    continue
                best = min(group, key=lambda c: (KIND_RANK[c.kind], -c.weight))
                self.names[form] = (best.iso2, best.kind, max(c.weight for c in group if c.kind == best.kind))
                continue
            per_iso = collections.defaultdict(list)
            for c in group:
                per_iso[c.iso2].append(c)
            named = {iso for iso, cs in per_iso.items() if any(c.kind in ("country", "demonym") for c in cs)}
            if len(named) > 1:
                self.p.add(f"{form!r} is a country name or demonym for {sorted(named)}: decide in curated/ambiguous.tsv or names_extra.tsv")
                continue
            if len(named) == 1:
                iso = named.pop()
                cs = per_iso[iso]
                for other_iso in per_iso:
                    if other_iso != iso:
                        shadowed.append(f"{form}: {iso} name beats {other_iso} place")
                best = min(cs, key=lambda c: (KIND_RANK[c.kind], -c.weight))
                self.names[form] = (iso, best.kind, max(c.weight for c in cs if c.kind == best.kind))
                continue
            # Places only: decide by prominence, using the full index of places abroad.
            prom = {iso: max(c.prominence for c in cs) for iso, cs in per_iso.items()}
            for iso, pop in others.get(key(form), {}).items():
                prom[iso] = max(prom.get(iso, 0), pop)
            ranked = sorted(prom.items(), key=lambda kv: (-kv[1], kv[0]))
            top_iso, top = ranked[0]
            if top_iso not in per_iso:
                # A bigger place abroad that we do not list (e.g. below the city threshold)
                # owns the name: "ambiguous with bigger places" -> drop.
                self.log["dropped-bigger-elsewhere"].append(
                    f"{form} ({'/'.join(sorted(per_iso))}) < {top_iso} {top}")
                continue
            cs = per_iso[top_iso]
            best = min(cs, key=lambda c: (KIND_RANK[c.kind], -c.weight))
            weight = max(c.weight for c in cs if c.kind == best.kind)
            if len(ranked) > 1:
                second_iso, second = ranked[1]
                if second * AMBIG_RATIO >= top or (second >= AMBIG_ABS_POP and second * AMBIG_FAR_RATIO >= top):
                    policy = "evidence" if second * 2 >= top else "default"
                    alts = [iso for iso, _ in ranked[1:] if iso != top_iso]
                    detail = ", ".join(f"{iso} {p:,}" for iso, p in ranked[:4])
                    self.auto_ambig[form] = (top_iso, alts, f"policy={policy}; kind={best.kind}; auto: places share the name (prominence {detail})")
                    continue
                # The further the runner-up is behind, the smaller the penalty.
                ratio = top / max(second, 1)
                weight -= 0.05 if ratio >= 20 else 0.1 if ratio >= 10 or second < PENALTY_BIG_OTHER else 0.2
            self.names[form] = (top_iso, best.kind, round(max(weight, 0.3), 2))
        self.log["shadowed"] = shadowed

    # ---- ambiguous, cues -----------------------------------------------------------------

    def ambiguous(self) -> None:
        self.ambig_rows = {}
        self.ambig_curated_forms = set()
        for form, default, alts, policy, note, *rest in self.ambig_curated:
            ln = rest[-1] if rest else "?"
            if default not in self.valid_iso2:
                self.p.add(f"curated/ambiguous.tsv:{ln}: unknown default {default!r}")
            for a in alts.split(","):
                if a and a not in self.valid_iso2 and a not in ("PERSON", "WORD", "REGION", "OTHER"):
                    self.p.add(f"curated/ambiguous.tsv:{ln}: unknown alternative {a!r}")
            if policy not in ("default", "evidence"):
                self.p.add(f"curated/ambiguous.tsv:{ln}: policy must be default or evidence")
            row = (default, alts, f"policy={policy}; {note}")
            for f in sorted({form, fold(form), straight_quotes(form)}):
                if f in self.ambig_rows and f != form:
                    continue
                self.ambig_rows[f] = row
                self.ambig_curated_forms.add(f)
        for form, (default, alts, note) in self.auto_ambig.items():
            if form not in self.ambig_rows:
                self.ambig_rows[form] = (default, ",".join(alts), note)
        for f in self.ambig_rows:
            self.names.pop(f, None)

    def cues(self) -> None:
        self.cue_rows = {}
        for form, iso2, kind, weight, *rest in self.cues_curated:
            ln = rest[-1]
            self.check_kind_iso(iso2, kind, "cues.tsv", ln, CUE_KINDS)
            w = float(weight)
            if not 0 < w <= 1:
                self.p.add(f"curated/cues.tsv:{ln}: weight {weight} outside (0, 1]")
            if form in self.ambig_curated_forms:
                self.p.add(f"curated/cues.tsv:{ln}: {form!r} is also in curated/ambiguous.tsv")
            for f in sorted({form, straight_quotes(form)} | fold_variants(form)):
                prev = self.cue_rows.get(f)
                if prev and prev[0] != iso2:
                    self.p.add(f"curated/cues.tsv:{ln}: {f!r} maps to {iso2} and {prev[0]}")
                if f != form and (f in self.ambig_curated_forms or f in self.stop):
                    continue  # a folded variant that is a word or an ambiguous name stays out
                if prev and f != form:
                    continue
                self.cue_rows[f] = (iso2, kind, w)
        # Every sub_national cue in the regions file must be covered.
        for rid, r in sorted(self.src.regions["regions"].items()):
            for f in r.get("sub_national", []) or []:
                if f not in self.cue_rows and f not in self.ambig_rows:
                    self.p.add(f"regions/{rid}: sub_national {f!r} missing from curated/cues.tsv")
        # A curated cue beats an automatic ambiguity ("Gaza" is also a province of Mozambique)
        # and a generated name for the same form.
        for f in self.cue_rows:
            if f in self.ambig_rows:
                self.log["cue-overrides-auto-ambiguous"].append(f"{f}: {self.ambig_rows[f][2]}")
                del self.ambig_rows[f]
        for f, (iso2, _k, _w) in self.cue_rows.items():
            prev = self.names.get(f)
            if prev and prev[0] != iso2:
                self.log["cue-overrides-name"].append(f"{f}: names {prev[0]} -> cue {iso2}")
            self.names.pop(f, None)

    def region_alias_report(self) -> None:
        for rid, r in sorted(self.src.regions["regions"].items()):
            for a in r.get("aliases", []) or []:
                for table, rows in (("names", self.names), ("cues", self.cue_rows), ("ambiguous", self.ambig_rows)):
                    if a in rows:
                        self.log["region-alias-collisions"].append(f"{a!r} (region {rid}) is also in {table}.tsv -> {rows[a][0]}")

    # ---- output ------------------------------------------------------------------------

    def write(self, out: str) -> None:
        os.makedirs(out, exist_ok=True)

        def w(name: str, header: str, rows: list[tuple]) -> None:
            path = os.path.join(out, name)
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                f.write(header + "\n")
                for r in rows:
                    for cell in r:
                        if "\t" in str(cell) or "\n" in str(cell):
                            raise SystemExit(f"tab or newline inside a cell: {r!r}")
                    f.write("\t".join(str(x) for x in r) + "\n")

        names = sorted((f, iso, kind, f"{wt:.2f}") for f, (iso, kind, wt) in self.names.items())
        w("names.tsv", "# form\tiso2\tkind\tweight", names)
        amb = sorted((f, d, a, n) for f, (d, a, n) in self.ambig_rows.items())
        w("ambiguous.tsv", "# form\tdefault_iso2\talternatives\tnote", amb)
        cues = sorted((f, iso, kind, f"{wt:.2f}") for f, (iso, kind, wt) in self.cue_rows.items())
        w("cues.tsv", "# form\tiso2\tkind\tweight", cues)
        shutil.copyfile(self.src.regions_path, os.path.join(out, "news_regions.yaml"))
        shutil.copyfile(os.path.join(HERE, "NOTICE.in"), os.path.join(out, "NOTICE"))

    def report(self, out: str) -> None:
        kinds = collections.Counter(k for _iso, k, _w in self.names.values())
        cue_kinds = collections.Counter(k for _iso, k, _w in self.cue_rows.values())
        print(f"names.tsv     {len(self.names):6d} forms  " + "  ".join(f"{k}={kinds[k]}" for k in KINDS))
        print(f"ambiguous.tsv {len(self.ambig_rows):6d} forms  (curated {len(self.ambig_curated)} + variants, auto {len([f for f in self.ambig_rows if 'auto:' in self.ambig_rows[f][2]])})")
        print(f"cues.tsv      {len(self.cue_rows):6d} forms  " + "  ".join(f"{k}={cue_kinds[k]}" for k in CUE_KINDS))
        print("dropped generated forms: " + ", ".join(f"{k}={v}" for k, v in sorted(self.dropped.items())))
        total = 0
        for name in sorted(os.listdir(out)):
            size = os.path.getsize(os.path.join(out, name))
            total += size
            print(f"  {name:20s} {size:9,d} bytes")
        print(f"  {'total':20s} {total:9,d} bytes")
        if os.environ.get("GAZETTEER_VERBOSE"):
            for k in sorted(self.log):
                for line in self.log[k]:
                    print(f"[{k}] {line}")
            for k, ex in sorted(self.drop_examples.items()):
                print(f"[dropped:{k}] {', '.join(ex)}")


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("shared", nargs="?", default=os.path.join(REPO, "..", "shared", "data", "geo"),
                    help="shared geo directory (default: ../shared/data/geo from the repo root)")
    ap.add_argument("--out", default=os.path.join(REPO, "data", "geo"), help="output directory")
    args = ap.parse_args(argv)
    shared = os.path.abspath(args.shared)
    for sub in ("gazetteer", "regions"):
        if not os.path.isdir(os.path.join(shared, sub)):
            sys.exit(f"{shared}/{sub} not found: pass the shared geo directory (…/shared/data/geo)")

    b = Builder(Sources(shared))
    b.newsmap()
    b.countrynames()
    b.geonames_countries()
    b.cities()
    b.admin1()
    b.names_extra()
    b.p.exit_if_any()
    b.resolve()
    b.ambiguous()
    b.cues()
    b.region_alias_report()
    b.p.exit_if_any()
    b.write(os.path.abspath(args.out))
    b.report(os.path.abspath(args.out))


if __name__ == "__main__":
    main(sys.argv[1:])
