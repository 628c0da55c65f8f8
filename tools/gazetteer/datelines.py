"""Write data/geo/dateline_places.tsv: every city of 15,000 people or more in GeoNames
(cities15000), by name, with the country of the most populous city of that name.

Used for datelines only, where a place name stands alone in capitals ("STAMFORD, Feb 26 -"): a
dateline always names a place, so small cities and names that are also English words are safe
there, unlike in running text. Contains data from GeoNames, geonames.org, CC BY 4.0.
Run: python3 tools/gazetteer/datelines.py [../shared/data/geo]
"""
import pathlib
import sys
import unicodedata

ROOT = pathlib.Path(__file__).resolve().parents[2]
GEO = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/data/geo"
OUT = ROOT / "data/geo/dateline_places.tsv"


def ascii_fold(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def main():
    best = {}
    src = GEO / "gazetteer/cities15000_compact.tsv"
    with open(src, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col = {name: i for i, name in enumerate(header)}
        for line in f:
            row = line.rstrip("\n").split("\t")
            name, cc = row[col["name"]].strip(), row[col["cc"]].strip()
            try:
                pop = int(row[col["population"]] or 0)
            except ValueError:
                pop = 0
            if not name or len(cc) != 2:
                continue
            for form in {name, ascii_fold(name)}:
                key = form.upper()
                if key not in best or pop > best[key][1]:
                    best[key] = (cc, pop)
    with open(OUT, "w", encoding="utf-8") as out:
        out.write("# NAME (upper case)\tiso2 of its most populous city. Contains data from GeoNames, geonames.org, CC BY 4.0.\n")
        for key in sorted(best):
            cc = "XK" if best[key][0] == "XK" else best[key][0]
            out.write(f"{key}\t{cc}\n")
    print(f"{OUT}: {len(best)} names")


if __name__ == "__main__":
    main()
