#!/usr/bin/env python3
"""List names.tsv forms a person should look at before they ship (maintainer aid, not part of
the build: build.py never reads word lists, so its output does not depend on the machine).

    python3 tools/gazetteer/review.py [--names data/geo/names.tsv] [--first-names FILE ...]

Flags forms that are
  * lower-case English words in the system word lists (/usr/share/dict/american-english and
    british-english: Debian packages wamerican, wbritish), e.g. "Reading", "Split", "Mobile";
  * first names, from one or more files with one name per line (the first column is used;
    e.g. the US Census 1990 lists dist.male.first / dist.female.first, which the PyPI package
    "names" ships). Only the --top most frequent names of each file are used.

Each flagged form goes into curated/stop_forms.tsv (drop), curated/ambiguous.tsv (needs
evidence) or curated/names_extra.tsv (keep, with a weight) - or is left alone; the decision is
by hand.
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--names", default=os.path.join(REPO, "data", "geo", "names.tsv"))
    ap.add_argument("--words", nargs="*", default=["/usr/share/dict/american-english",
                                                   "/usr/share/dict/british-english"])
    ap.add_argument("--first-names", nargs="*", default=[])
    ap.add_argument("--top", type=int, default=1000)
    ap.add_argument("--kinds", default="capital,city,admin1", help="kinds to check")
    a = ap.parse_args()

    words: set[str] = set()
    for p in a.words:
        if os.path.exists(p):
            with open(p, encoding="utf-8", errors="replace") as f:
                words |= {w.strip() for w in f if w.strip().islower()}
    if not words:
        print("no word list found (apt-get install wamerican wbritish)", file=sys.stderr)
    first: set[str] = set()
    for p in a.first_names:
        with open(p, encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= a.top:
                    break
                if line.strip():
                    first.add(line.split()[0].strip().title())

    kinds = set(a.kinds.split(","))
    with open(a.names, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            form, iso2, kind, weight = line.rstrip("\n").split("\t")
            if kind not in kinds:
                continue
            why = []
            if form.lower() in words:
                why.append("word")
            if form in first:
                why.append("first-name")
            if why:
                print(f"{form}\t{iso2}\t{kind}\t{weight}\t{'+'.join(why)}")


if __name__ == "__main__":
    main()
