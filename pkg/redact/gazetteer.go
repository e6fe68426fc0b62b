package redact

import (
	"embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

//go:embed gazetteer/*.txt
var gazFS embed.FS

const (
	fFirst uint16 = 1 << iota
	fLast
	fPlace
	fStop
	fAmbig
	fTitle
	fPlacePrefix // first word of a multi-word place
)

var (
	gazOnce sync.Once
	lex     map[string]uint16 // folded single word -> flags
	phrases map[string]bool   // folded multi-word places ("new york")
	maxPhr  int
)

var particles = map[string]bool{"de": true, "van": true, "den": true, "der": true, "da": true, "di": true, "del": true, "la": true, "le": true, "von": true, "dos": true, "das": true, "do": true, "du": true, "des": true, "y": true, "e": true, "of": true, "and": true, "the": true, "st.": true}

func loadOnce() { gazOnce.Do(loadGazetteers) }

func loadGazetteers() {
	lex = make(map[string]uint16, 8000)
	phrases = make(map[string]bool, 256)
	add := func(w string, f uint16) {
		k := foldString(w)
		if k != "" {
			lex[k] |= f
		}
	}
	words := func(file string, f uint16) {
		b, err := gazFS.ReadFile("gazetteer/" + file)
		if err != nil {
			panic(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "#") {
				continue
			}
			for _, w := range strings.Fields(line) {
				if f&(fFirst|fLast) != 0 && particles[w] {
					continue
				}
				add(w, f)
			}
		}
	}
	words("first.txt", fFirst)
	words("last.txt", fLast)
	words("stop.txt", fStop)
	words("ambig.txt", fAmbig)
	for _, t := range []string{"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "mister", "missus", "dame", "lady", "lord", "rev", "reverend", "mme", "mlle", "herr", "frau", "señor", "senor", "señora", "senora", "sr", "sra", "doctor", "professor", "captain", "capt", "sgt", "sergeant", "officer", "judge", "justice", "senator", "rep", "gov", "governor", "uncle", "aunt", "auntie", "grandma", "grandpa"} {
		add(t, fTitle)
	}
	b, err := gazFS.ReadFile("gazetteer/places.txt")
	if err != nil {
		panic(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.Contains(line, "|") {
			for _, w := range strings.Split(line, "|") {
				if w = strings.TrimSpace(w); w != "" {
					if strings.Contains(w, " ") {
						addPhrase(w)
					} else {
						add(w, fPlace)
					}
				}
			}
			continue
		}
		if strings.Contains(line, " ") {
			addPhrase(line)
		} else {
			add(line, fPlace)
		}
	}
}

func addPhrase(p string) {
	f := strings.Fields(p)
	for i := range f {
		f[i] = foldString(f[i])
	}
	phrases[strings.Join(f, " ")] = true
	lex[f[0]] |= fPlacePrefix
	if len(f) > maxPhr {
		maxPhr = len(f)
	}
}

// foldRune lower-cases and strips common Latin diacritics.
func foldRune(r rune) rune {
	r = unicode.ToLower(r)
	if r < 0xC0 {
		return r
	}
	switch r {
	case 'à', 'á', 'â', 'ã', 'ä', 'å', 'ā', 'ă', 'ą':
		return 'a'
	case 'ç', 'ć', 'č', 'ĉ', 'ċ':
		return 'c'
	case 'ď', 'đ', 'ð':
		return 'd'
	case 'è', 'é', 'ê', 'ë', 'ē', 'ė', 'ę', 'ě':
		return 'e'
	case 'ğ', 'ģ':
		return 'g'
	case 'ì', 'í', 'î', 'ï', 'ī', 'į', 'ı':
		return 'i'
	case 'ķ':
		return 'k'
	case 'ĺ', 'ļ', 'ľ', 'ł':
		return 'l'
	case 'ñ', 'ń', 'ņ', 'ň':
		return 'n'
	case 'ò', 'ó', 'ô', 'õ', 'ö', 'ø', 'ō', 'ő':
		return 'o'
	case 'ŕ', 'ř':
		return 'r'
	case 'ś', 'š', 'ş', 'ș':
		return 's'
	case 'ť', 'ţ', 'ț':
		return 't'
	case 'ù', 'ú', 'û', 'ü', 'ū', 'ů', 'ű', 'ų':
		return 'u'
	case 'ý', 'ÿ':
		return 'y'
	case 'ź', 'ż', 'ž':
		return 'z'
	}
	return r
}

func foldString(s string) string {
	var b []byte
	return string(foldAppend(b, s))
}

func foldAppend(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				c += 32
			}
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\u2019' {
			r = '\''
		}
		b = utf8.AppendRune(b, foldRune(r))
		i += size
	}
	return b
}
