// Package synth writes labelled texts for training and evaluating the name
// and place tagger (pkg/redact/ner): templates in several styles (support
// requests, chat, email, tickets, meeting notes, news) filled from lists.
//
// Training texts draw names and places from the shipped gazetteers'
// sources (census and Faker names, GeoNames towns, Faker addresses) and from
// a syllable generator (names the gazetteers do not contain). Held-out texts
// use other templates and lists disjoint from both: names, cities and
// addresses of @faker-js/faker locales that the shipped lists lack
// (data/heldout, see data/NOTICE.md).
package synth

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/consentflow/consentflow/pkg/redact/ner"
)

// Material is what texts are filled from.
type Material struct {
	// Given and Surnames by culture (locale); Cultures lists the keys.
	Given, Surnames map[string][]string
	Cultures        []string
	Cities          []string // places (known or unknown to the gazetteers)
	Countries       []string
	Addresses       []Address
	Words           []string // lower-case dictionary words (filler text)
	Products        []string // brand and product names (negatives)
	Regions         []string // states, provinces, regions of the addresses
	RegionCodes     []string // two-letter region codes of the addresses (IL, ON, NSW)
}

// Address is one generated address.
type Address struct {
	Culture, Street, City, Postcode, Region string
}

func readGz(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []string
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

// latin reports whether s is written in Latin script (the templates are
// English; other scripts are mixed in at a lower rate).
func latin(s string) bool {
	for _, r := range s {
		if r > 0x24F && !(r >= 0x1E00 && r <= 0x1EFF) && r != '\u2019' {
			return false
		}
	}
	return true
}

// LoadTraining reads the training material under dir (pkg/redact/ner/data).
func LoadTraining(dir string) (*Material, error) {
	m := &Material{Given: map[string][]string{}, Surnames: map[string][]string{}}
	names, err := readGz(filepath.Join(dir, "train", "names.tsv.gz"))
	if err != nil {
		return nil, err
	}
	for _, l := range names {
		f := strings.Split(l, "\t")
		if len(f) != 3 {
			continue
		}
		if f[1] == "given" {
			m.Given[f[0]] = append(m.Given[f[0]], f[2])
		} else {
			m.Surnames[f[0]] = append(m.Surnames[f[0]], f[2])
		}
	}
	// census surnames: 88k, mostly rare; keep the list but they are one culture
	shipped, err := readGz(filepath.Join(dir, "places.txt.gz"))
	if err != nil {
		return nil, err
	}
	towns, err := readGz(filepath.Join(dir, "train", "places.txt.gz"))
	if err != nil {
		return nil, err
	}
	for _, p := range append(shipped, towns...) {
		if latin(p) {
			m.Cities = append(m.Cities, p)
		}
	}
	m.Countries = countries
	addrs, err := readGz(filepath.Join(dir, "train", "addresses.tsv.gz"))
	if err != nil {
		return nil, err
	}
	for _, l := range addrs {
		f := strings.Split(l, "\t")
		if len(f) == 5 && latin(f[1]) && latin(f[2]) {
			m.Addresses = append(m.Addresses, Address{f[0], f[1], f[2], f[3], f[4]})
		}
	}
	if m.Words, err = readGz(filepath.Join(dir, "dict.txt.gz")); err != nil {
		return nil, err
	}
	if m.Products, err = readGz(filepath.Join(dir, "products.txt.gz")); err != nil {
		return nil, err
	}
	regions := map[string]bool{}
	for _, a := range m.Addresses {
		r := a.Region
		switch {
		case r == "" || !latin(r):
		case len(r) <= 3 && strings.ToUpper(r) == r:
			if !regions["\x00"+r] {
				m.RegionCodes = append(m.RegionCodes, r)
			}
			regions["\x00"+r] = true
		case !regions[r]:
			regions[r] = true
			m.Regions = append(m.Regions, r)
		}
	}
	m.finish()
	return m, nil
}

// LoadHeldOut reads the held-out material under dir.
func LoadHeldOut(dir string) (*Material, error) {
	m := &Material{Given: map[string][]string{}, Surnames: map[string][]string{}}
	names, err := readGz(filepath.Join(dir, "heldout", "names.tsv.gz"))
	if err != nil {
		return nil, err
	}
	for _, l := range names {
		f := strings.Split(l, "\t")
		if len(f) != 3 || !latin(f[2]) {
			continue
		}
		if f[1] == "given" {
			m.Given[f[0]] = append(m.Given[f[0]], f[2])
		} else {
			m.Surnames[f[0]] = append(m.Surnames[f[0]], f[2])
		}
	}
	cities, err := readGz(filepath.Join(dir, "heldout", "cities.tsv.gz"))
	if err != nil {
		return nil, err
	}
	for _, l := range cities {
		if f := strings.Split(l, "\t"); len(f) == 2 && latin(f[1]) {
			m.Cities = append(m.Cities, f[1])
		}
	}
	m.Countries = countries
	addrs, err := readGz(filepath.Join(dir, "heldout", "addresses.tsv.gz"))
	if err != nil {
		return nil, err
	}
	for _, l := range addrs {
		f := strings.Split(l, "\t")
		if len(f) == 3 && latin(f[1]) {
			m.Addresses = append(m.Addresses, Address{Culture: f[0], Street: f[1], Postcode: f[2]})
		}
	}
	m.finish()
	return m, nil
}

func (m *Material) finish() {
	for c := range m.Given {
		if len(m.Surnames[c]) > 0 {
			m.Cultures = append(m.Cultures, c)
		}
	}
	sort.Strings(m.Cultures)
	// cultures with only one kind of list lend to a neighbour
	for c, g := range m.Given {
		if len(m.Surnames[c]) == 0 && len(m.Cultures) > 0 {
			k := m.Cultures[len(g)%len(m.Cultures)]
			m.Given[k] = append(m.Given[k], g...)
		}
	}
	for c, s := range m.Surnames {
		if len(m.Given[c]) == 0 && len(m.Cultures) > 0 {
			k := m.Cultures[len(s)%len(m.Cultures)]
			m.Surnames[k] = append(m.Surnames[k], s...)
		}
	}
	for _, c := range m.Cultures {
		sort.Strings(m.Given[c])
		sort.Strings(m.Surnames[c])
	}
}

var countries = strings.Split("Germany|France|Spain|Italy|Portugal|Netherlands|Belgium|Austria|Switzerland|Poland|Czech Republic|Sweden|Norway|Denmark|Finland|Ireland|United Kingdom|UK|USA|United States|Canada|Mexico|Brazil|Argentina|Chile|Colombia|Peru|India|Pakistan|Bangladesh|China|Japan|South Korea|Vietnam|Thailand|Indonesia|Philippines|Malaysia|Singapore|Australia|New Zealand|Nigeria|Ghana|Kenya|South Africa|Egypt|Morocco|Turkey|Greece|Romania|Hungary|Ukraine|Israel|Iran|Saudi Arabia|United Arab Emirates|Ethiopia|Tanzania|Uganda|Estonia|Latvia|Lithuania|Iceland|Croatia|Serbia|Slovenia|Slovakia|Bulgaria|Georgia|Armenia|Kazakhstan|Nepal|Sri Lanka", "|")

// DisjointStats counts what Disjoint kept and dropped.
type DisjointStats struct {
	NamesKept, NamesDropped         int
	CitiesKept, CitiesDropped       int
	AddressesKept, AddressesDropped int
}

// Disjoint drops from the material every name, city and street address
// with a word the tagger may have met: a word with any lexicon flag (a
// shipped given name, surname, place, dictionary or common word, product,
// greeting...) or one that known reports (the caller's set of folded words:
// every word of every training text and training list). Closed-class words
// stay allowed — name particles (van, de, al) in names, and street types,
// unit words, particles and function words in street lines — since every
// real address has them. Countries are a closed class too and stay.
// Single letters (initials) are allowed.
//
// wordNames also lets names be ordinary English words (a dictionary or
// common word that is in no name or place list: "Hold", "Geese", "Song"):
// real names are often words, and leaving them out flatters recall.
func (m *Material) Disjoint(known func(folded string) bool, wordNames bool) DisjointStats {
	var st DisjointStats
	fresh := func(s string, closed uint32) bool {
		for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' && r != '\u2019' }) {
			w = strings.Trim(w, "'\u2019")
			if utf8.RuneCountInString(w) < 2 {
				continue
			}
			f := ner.Flags(w)
			if f&closed != 0 {
				continue
			}
			if f != 0 || known(ner.FoldString(w)) {
				return false
			}
		}
		return true
	}
	keep := func(xs []string, closed uint32, kept, dropped *int) []string {
		out := xs[:0]
		for _, x := range xs {
			if fresh(x, closed) {
				out = append(out, x)
				*kept++
			} else {
				*dropped++
			}
		}
		return out
	}
	nameOK := ner.FParticle
	if wordNames {
		nameOK |= ner.FDict | ner.FCommon
	}
	for c := range m.Given {
		m.Given[c] = keep(m.Given[c], nameOK, &st.NamesKept, &st.NamesDropped)
	}
	for c := range m.Surnames {
		m.Surnames[c] = keep(m.Surnames[c], nameOK, &st.NamesKept, &st.NamesDropped)
	}
	var cultures []string
	for _, c := range m.Cultures {
		if len(m.Given[c]) > 0 && len(m.Surnames[c]) > 0 {
			cultures = append(cultures, c)
		}
	}
	m.Cultures = cultures
	m.Cities = keep(m.Cities, 0, &st.CitiesKept, &st.CitiesDropped)
	street := ner.FStreet | ner.FUnit | ner.FParticle | ner.FFunc
	addrs := m.Addresses[:0]
	for _, a := range m.Addresses {
		if fresh(a.Street, street) && fresh(a.City, 0) && (len(a.Region) <= 3 || fresh(a.Region, 0)) {
			addrs = append(addrs, a)
			st.AddressesKept++
		} else {
			st.AddressesDropped++
		}
	}
	m.Addresses = addrs
	return st
}

// Countries returns the countries texts are filled with (a closed class:
// every corpus's countries are in the lists).
func Countries() []string { return append([]string(nil), countries...) }
