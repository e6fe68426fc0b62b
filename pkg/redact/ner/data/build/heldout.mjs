// Builds pkg/redact/data/heldout from @faker-js/faker (see ../NOTICE.md): names, cities
// and street addresses of faker-js's locales that are NOT in the shipped gazetteers nor in
// the training material, so that an evaluation on them measures generalisation.
//
//   node heldout.mjs FAKERJS_DIR DATA_DIR
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';

const [fakerDir, data] = process.argv.slice(2);
const { allLocales, Faker } = await import(join(fakerDir, 'dist', 'index.js'));

// as pkg/redact/ner folds: diacritics stripped, and the letters NFD cannot split
const extra = { 'ø': 'o', 'ł': 'l', 'đ': 'd', 'ð': 'd', 'ı': 'i', 'ß': 's', 'ə': 'e', 'ħ': 'h', 'ŧ': 't' };
const fold = (s) => s.replace(/[\u2018\u2019]/g, "'").toLowerCase().normalize('NFD').replace(/\p{M}/gu, '').replace(/[øłđðıßəħŧ]/g, (c) => extra[c]);
const lines = (p) => gunzipSync(readFileSync(join(data, p))).toString('utf8').split('\n').filter(Boolean);
const known = new Set();
// whole entries and, as the Go lexicon adds them, the parts (4+ letters) of multi-word names
for (const p of ['given.txt.gz', 'surnames.txt.gz', 'places.txt.gz', 'train/places.txt.gz'])
  for (const l of lines(p)) {
    known.add(fold(l));
    if (!p.startsWith('places') && !p.startsWith('train')) for (const w of l.split(' ')) if (w.length > 3) known.add(fold(w));
  }
for (const l of lines('train/names.tsv.gz')) for (const w of [l.split('\t')[2], ...l.split('\t')[2].split(' ')]) known.add(fold(w));

const flat = (v) => (Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x.trim() : x)) : v && typeof v === 'object' ? Object.values(v).flatMap(flat) : []);
const ok = (s) => typeof s === 'string' && s.length > 1 && s.length <= 40 && !/[0-9{}#]/.test(s);
const write = (p, rows) => {
  mkdirSync(join(data, 'heldout'), { recursive: true });
  const buf = gzipSync(Buffer.from([...rows].sort().join('\n') + '\n'), { level: 9 });
  writeFileSync(join(data, 'heldout', p), buf);
  console.error(`heldout/${p}: ${rows.size} lines, ${buf.length} bytes`);
};

const names = new Set(), cities = new Set(), addrs = new Set();
for (const [loc, def] of Object.entries(allLocales).sort()) {
  if (loc === 'base' || loc === 'en_BORK' || loc === 'en_AU_ocker') continue;
  const p = def.person || {};
  for (const [attr, kind] of [['first_name', 'given'], ['last_name', 'surname']])
    for (const n of flat(p[attr])) if (ok(n) && !known.has(fold(n))) names.add(`${loc}\t${kind}\t${n}`);
  for (const c of flat((def.location || {}).city_name)) if (ok(c) && !known.has(fold(c))) cities.add(`${loc}\t${c}`);
  if (!(def.location || {}).street_pattern) continue;
  const f = new Faker({ locale: [def, allLocales.en, allLocales.base] });
  f.seed(17);
  for (let i = 0; i < 40; i++) {
    try {
      addrs.add(`${loc}\t${f.location.streetAddress()}\t${f.location.zipCode()}`);
    } catch { break; }
  }
}
write('names.tsv.gz', names);
write('cities.tsv.gz', cities);
write('addresses.tsv.gz', addrs);
