#!/usr/bin/env python3
"""Build ner/data/regions.txt.gz: one-word names of countries in the
languages of Europe and Turkey, and one-word names of states, provinces,
regions, Länder, cantons and voivodeships, from PyPI pycountry 26.2.16
(ISO 3166-1 names and their translations, iso-codes project, LGPL-2.1;
ISO 3166-2 subdivision names).

    python3 -m venv /tmp/v && /tmp/v/bin/pip install pycountry==26.2.16
    /tmp/v/bin/python pkg/redact/ner/data/build/regions.py pkg/redact/ner/data/regions.txt.gz

Not a tagger feature (the model never sees it): pkg/redact/places.go reads a
word of it as a place where its position says so ("nach Österreich", "in
die Schweiz", a list of places). Words of four letters or fewer and words
of the English dictionary list (dict.txt.gz) are left out.
"""
import gettext, gzip, json, os, sys

import pycountry

LANGS = "en de fr es it pt nl pl cs sk sl hr bs sr@latin hu ro fi sv da nb nn is et lv lt ca gl eu tr sq mt ga cy lb".split()
SUBTYPES = {"State", "Province", "Region", "Land", "Canton", "Voivodship", "Autonomous community",
            "Autonomous region", "Metropolitan region", "Administrative region", "Regional state",
            "Autonomous province", "Federal district", "Territory", "Union territory", "Country", "Nation"}

base = os.path.dirname(pycountry.__file__)
here = os.path.dirname(os.path.abspath(__file__))
with gzip.open(os.path.join(here, "..", "dict.txt.gz"), "rt", encoding="utf-8") as f:
    dictionary = {w.strip().lower() for w in f}

names = set()
for lang in LANGS:
    try:
        tr = gettext.translation("iso3166-1", os.path.join(base, "locales"), languages=[lang])
    except OSError:
        tr = gettext.NullTranslations()
    for c in pycountry.countries:
        for field in ("name", "common_name"):
            n = getattr(c, field, None)
            if n:
                names.add(tr.gettext(n))
for s in pycountry.subdivisions:
    if s.type in SUBTYPES:
        names.add(s.name)

words = set()
for n in names:
    n = n.strip()
    if " " in n or "," in n or "(" in n or len(n) <= 4 or not n[0].isupper():
        continue
    if n.lower() in dictionary:
        continue
    words.add(n)
with gzip.GzipFile(sys.argv[1], "wb", mtime=0) as f:
    f.write(("\n".join(sorted(words)) + "\n").encode("utf-8"))
print(len(words), "names")
