"""Compile data/geo/news_regions.yaml into data/geo/regions.json, the form wirefeed loads.

Adds what the YAML leaves to M49 (the members of caribbean, oceania, sub_saharan_africa and
latin_america, whose `m49_by_country.tsv` is not in the shared data) and which regions are
roll-ups (a story is tagged with them only when no region inside them applies).
Also adds the continent-level roll-ups (europe, asia, africa, americas; oceania is a news region
already) from GeoNames' continent of each country, so every country rolls up to at least its
continent: `--region europe` finds a Swiss story. They are marked `continent`: a story gets them
with its other regions, but they are never its most specific region.
Run: python3 tools/gazetteer/regions.py [../shared/data/geo]
"""
import json
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SRC = ROOT / "data/geo/news_regions.yaml"
OUT = ROOT / "data/geo/regions.json"
GEO = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/data/geo"

# GeoNames continent codes -> continent roll-up (slug, label).
CONTINENTS = {"EU": ("europe", "Europe"), "AS": ("asia", "Asia"), "AF": ("africa", "Africa"),
              "NA": ("americas", "Americas"), "SA": ("americas", "Americas")}

# UN M49 (standard country or area codes for statistical use), as ISO 3166-1 alpha-2.
CARIBBEAN = "AI AG AW BS BB BQ VG KY CU CW DM DO GD GP HT JM MQ MS PR BL KN LC MF VC SX TT TC VI".split()
OCEANIA = "AU NZ NF FJ NC PG SB VU GU KI MH FM NR MP PW UM AS CK PF NU PN WS TK TO TV WF".split()
SUB_SAHARAN = (
    "BI KM DJ ER ET KE MG MW MU YT MZ RE RW SC SO SS TZ UG ZM ZW AO CM CF TD CG CD GQ GA ST "
    "BW LS NA ZA SZ BJ BF CV CI GM GH GN GW LR ML MR NE NG SN SL TG SH IO TF"
).split()
LATIN_AMERICA = CARIBBEAN + "BZ CR SV GT HN MX NI PA AR BO BR CL CO EC FK GF GY PY PE SR UY VE".split()
M49 = {
    "caribbean": CARIBBEAN,
    "oceania": OCEANIA,
    "sub_saharan_africa": SUB_SAHARAN,
    "latin_america": LATIN_AMERICA,
}
# Roll-ups: tagged only when none of the regions inside them applies.
ROLLUPS = {
    "post_soviet": ["baltics", "eastern_europe", "south_caucasus", "caucasus", "central_asia"],
    "mena": ["middle_east", "levant", "gulf", "maghreb", "north_africa"],
    "sub_saharan_africa": ["sahel", "horn_of_africa", "great_lakes_africa", "west_africa",
                           "central_africa", "east_africa", "southern_africa"],
    "latin_america": ["central_america", "caribbean", "south_america"],
}


# Names of EU institutions that make a story about a member state an EU story. "EU" is matched
# as written (capitals).
EXTRA_ALIASES = {
    "european_union": ["EU", "European Commission", "European Parliament", "European Council",
                       "Council of the EU", "European Court of Justice", "eurozone"],
}


def codes(values):
    # YAML 1.1 reads an unquoted NO (Norway) as false.
    return ["NO" if v is False else str(v) for v in values or []]


def main():
    regions = yaml.safe_load(SRC.read_text(encoding="utf-8"))["regions"]
    out = []
    for slug, r in regions.items():
        members = codes(r.get("members"))
        if not members and slug in M49:
            members = M49[slug]
        out.append({
            "slug": slug,
            "label": r.get("label", slug),
            "members": members,
            "periphery": codes(r.get("periphery")),
            "parent": r.get("parent"),
            "aliases": (r.get("aliases") or []) + [a for a in EXTRA_ALIASES.get(slug, [])
                                                   if a not in (r.get("aliases") or [])],
            "sub_national": r.get("sub_national") or [],
            "contains": ROLLUPS.get(slug, []),
        })
    by_continent = {}
    with open(GEO / "gazetteer/geonames_countryInfo.txt", encoding="utf-8") as f:
        for line in f:
            r = line.rstrip("\n").split("\t")
            if line.startswith("#") or len(r) < 9 or r[0] in ("CS", "AN"):
                continue
            if r[8] in CONTINENTS:
                by_continent.setdefault(CONTINENTS[r[8]], set()).add(r[0])
    by_continent[CONTINENTS["EU"]].add("XK")
    for (slug, label), members in sorted(by_continent.items()):
        inside = sorted(r["slug"] for r in out
                        if r["members"] and set(r["members"]) <= members)
        parents = sorted({r["parent"] for r in out if r["slug"] in inside and r["parent"]})
        out.append({
            "slug": slug,
            "label": label,
            "members": sorted(members),
            "periphery": [],
            "parent": None,
            "aliases": [],
            "sub_national": [],
            "contains": inside + [p for p in parents if p not in inside and p != slug],
            "continent": True,
        })
    OUT.write_text(json.dumps({"regions": out}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(out)} regions")


if __name__ == "__main__":
    main()
