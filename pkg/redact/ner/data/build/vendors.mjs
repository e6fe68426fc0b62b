// Builds pkg/redact/ner/data/vendors.txt.gz: single words that name a software product, a SaaS
// vendor, a company or a software term, from pinned npm packages (see ../NOTICE.md). The
// redactor vetoes a tagger PERSON/LOCATION span all of whose words are in this list and none a
// listed given name, surname or place (pkg/redact/products.go); the tagger never sees the list.
//
//   node vendors.mjs PKGDIR DATA_DIR
// PKGDIR holds the unpacked packages: si/package (simple-icons), logos/package
// (@iconify-json/logos), companies/package (@cspell/dict-companies), swterms/package
// (@cspell/dict-software-terms).
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';

const [pkg, data] = process.argv.slice(2);

// as pkg/redact/ner folds (FoldAppend): lower case, diacritics stripped, the letters NFD cannot split
const extra = { 'ø': 'o', 'ł': 'l', 'đ': 'd', 'ð': 'd', 'ı': 'i', 'ß': 's', 'ə': 'e', 'ħ': 'h', 'ŧ': 't' };
const fold = (s) => s.replace(/[\u2018\u2019]/g, "'").toLowerCase().normalize('NFD').replace(/\p{M}/gu, '').replace(/[øłđðıßəħŧ]/g, (c) => extra[c]);

// one word as the redactor splits a span: letters first, then letters, digits, inner - or '
const oneWord = /^\p{L}[\p{L}\p{N}'-]*$/u;
const words = new Map(); // folded word -> sources
const add = (src, w) => {
  w = w.trim();
  if (!oneWord.test(w) || w.length < 2 || w.length > 40) return;
  const f = fold(w).replace(/[-']+$/, '');
  if (f.length < 2) return;
  if (!words.has(f)) words.set(f, new Set());
  words.get(f).add(src);
};

// simple-icons (CC0): one-word brand and product titles
for (const i of JSON.parse(readFileSync(join(pkg, 'si/package/data/simple-icons.json'), 'utf8'))) add('simple-icons', i.title);

// SVG Logos (CC0), Iconify set: icon names without their variant suffixes, one-word ones only
for (const k of Object.keys(JSON.parse(readFileSync(join(pkg, 'logos/package/icons.json'), 'utf8')).icons)) {
  const base = k.replace(/-(icon|icon-alt|icon-dark|alt|dark|light|wordmark|wordmark-dark)$/, '');
  if (!base.includes('-')) add('logos', base);
}

// cspell dictionaries (MIT): one word a line; '#' comments, '!' forbidden words, '~' '*' '+' markers
const dict = (src, file) => {
  let text = readFileSync(file);
  if (file.endsWith('.gz')) text = gunzipSync(text);
  for (let l of text.toString('utf8').split('\n')) {
    l = l.replace(/#.*/, '').trim();
    if (!l || l.startsWith('!')) continue;
    add(src, l.replace(/^[~*+]+|[*+]+$/g, ''));
  }
};
dict('cspell-companies', join(pkg, 'companies/package/dict/companies.txt'));
// the dictionaries the package enables by default, less its compound-word fragments
for (const f of ['softwareTerms.txt.gz', 'software-tools.txt', 'webServices.txt', 'computing-acronyms.txt'])
  dict('cspell-software-terms', join(pkg, 'swterms/package/dict', f));

const out = [...words.keys()].sort();
const buf = gzipSync(Buffer.from(out.join('\n') + '\n'), { level: 9 });
writeFileSync(join(data, 'vendors.txt.gz'), buf);
const by = {};
for (const s of words.values()) for (const x of s) by[x] = (by[x] || 0) + 1;
console.error(`vendors.txt.gz: ${out.length} words, ${buf.length} bytes; by source ${JSON.stringify(by)}`);
