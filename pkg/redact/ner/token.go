package ner

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Token kinds.
const (
	KWord  uint8 = iota // letters (with inner apostrophes, hyphens)
	KNum                // ASCII digits
	KPunct              // one other non-space character
)

// Token is one token of a text, in byte offsets.
type Token struct {
	S, E  int32
	Kind  uint8
	Shape uint8 // shape class (see shapeOf)
	NL    bool  // a line break before it (or text start)
	Space bool  // white space before it
	Flags uint32
	Vocab int32 // index in the model's vocabulary, -1 when unknown
	Key   uint64
	Suf2  uint64 // hashes of the folded suffixes and prefix (words only)
	Suf3  uint64
	Pre3  uint64
}

// Shape classes.
const (
	ShLower   uint8 = iota + 1 // abc
	ShCap                      // Abc
	ShUpper                    // ABC (2+ letters)
	ShInit                     // A (one upper-case letter)
	ShMixed                    // McDonald, iPhone
	ShNoCase                   // letters without case (CJK, Arabic, ...)
	ShNum2                     // 1-2 digits
	ShNum4                     // 3-4 digits
	ShNum5                     // 5 digits
	ShNumLong                  // 6+ digits
	ShPunct
	ShDot
	ShComma
	ShColon
	ShAt
	ShHyphen
	ShParen
	ShQuote
	ShHash
	ShSentEnd // ! ?
	ShApos    // 's
	NumShapes
)

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.Is(unicode.Mn, r)
}

// maxTokenBytes caps the bytes of one token that are looked at: a longer run
// of letters is cut into several tokens (hostile input stays linear).
const maxTokenBytes = 64

// Tokenize appends the tokens of text to ts and returns it. Words carry their
// lexicon flags; Vocab is left at -1 (the model fills it in).
func Tokenize(text string, ts []Token) []Token { return TokenizeRange(text, 0, len(text), ts) }

// TokenizeRange tokenizes text[from:to] (offsets stay those of text; the
// byte before from tells whether the first token follows a space or a line
// break).
func TokenizeRange(text string, from, to int, ts []Token) []Token {
	Load()
	n := to
	nl, space := true, false
	if from > 0 {
		nl = text[from-1] == '\n'
		space = nl || text[from-1] == ' ' || text[from-1] == '\t' || text[from-1] == '\r'
	}
	var buf [maxTokenBytes * 2]byte
	for i := from; i < n; {
		c := text[i]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v' {
			if c == '\n' {
				nl = true
			}
			space = true
			i++
			continue
		}
		st := i
		t := Token{S: int32(i), NL: nl, Space: space, Vocab: -1}
		nl, space = false, false
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
			if unicode.IsSpace(r) {
				space = true
				i += size
				continue
			}
		}
		switch {
		case c >= '0' && c <= '9':
			for i < n && text[i] >= '0' && text[i] <= '9' && i-st < maxTokenBytes {
				i++
			}
			t.Kind = KNum
			switch d := i - st; {
			case d <= 2:
				t.Shape = ShNum2
			case d <= 4:
				t.Shape = ShNum4
			case d == 5:
				t.Shape = ShNum5
			default:
				t.Shape = ShNumLong
			}
		case isWordRune(r):
			upper, lower, caseless, letters := 0, 0, 0, 0
			firstUpper := unicode.IsUpper(r)
			for i < n && i-st < maxTokenBytes {
				r, size = rune(text[i]), 1
				if r >= utf8.RuneSelf {
					r, size = utf8.DecodeRuneInString(text[i:])
				}
				if isWordRune(r) {
					letters++
					switch {
					case unicode.IsUpper(r):
						upper++
					case unicode.IsLower(r):
						lower++
					default:
						caseless++
					}
					i += size
					continue
				}
				// inner apostrophe or hyphen followed by a letter; "'s" at
				// the end of a word is a token of its own (possessive)
				if (r == '\'' || r == '\u2019' || r == '-') && i+size < n {
					r2, s2 := utf8.DecodeRuneInString(text[i+size:])
					if isWordRune(r2) {
						if r != '-' && (r2 == 's' || r2 == 'S') && !wordAt(text, i+size+s2) {
							break
						}
						i += size
						continue
					}
				}
				break
			}
			t.Kind = KWord
			switch {
			case caseless > 0 && upper == 0 && lower == 0:
				t.Shape = ShNoCase
			case letters == 1 && upper == 1:
				t.Shape = ShInit
			case upper == letters:
				t.Shape = ShUpper
			case firstUpper && upper == 1:
				t.Shape = ShCap
			case upper == 0:
				t.Shape = ShLower
			default:
				t.Shape = ShMixed
				if firstUpper && lower > upper {
					t.Shape = ShCap // McDonald, O'Brien, DiCaprio
				}
			}
			w := text[st:i]
			k := FoldAppend(buf[:0], w)
			t.Flags = lex[string(k)]
			if t.Flags&(FGiven|FSurname|FPlace) == 0 && strings.IndexByte(w, '-') > 0 {
				t.Flags |= partFlags(k)
			}
			if len(w) == 2 && t.Shape == ShUpper {
				t.Flags |= lex[string(append(k, 0, 'R'))]
			}
			t.Key = hashBytes(k)
			t.Suf2, t.Suf3, t.Pre3 = affixes(k)
		default:
			i += size
			t.Kind = KPunct
			switch r {
			case '.':
				t.Shape = ShDot
			case ',', ';':
				t.Shape = ShComma
			case ':':
				t.Shape = ShColon
			case '@':
				t.Shape = ShAt
			case '-', '\u2013', '\u2014':
				t.Shape = ShHyphen
			case '(', ')', '[', ']':
				t.Shape = ShParen
			case '"', '\'', '\u201c', '\u201d', '\u2018', '\u2019', '`':
				t.Shape = ShQuote
			case '#':
				t.Shape = ShHash
			case '!', '?':
				t.Shape = ShSentEnd
			default:
				t.Shape = ShPunct
			}
			// possessive 's
			if (r == '\'' || r == '\u2019') && i < n && (text[i] == 's' || text[i] == 'S') && !wordAt(text, i+1) && st > 0 && !(text[st-1] == ' ') {
				i++
				t.Shape = ShApos
			}
		}
		if t.Kind == KNum {
			t.Key = hashBytes([]byte(text[st:i]))
		}
		t.E = int32(i)
		ts = append(ts, t)
	}
	return ts
}

func wordAt(text string, i int) bool {
	if i >= len(text) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(text[i:])
	return isWordRune(r) || unicode.IsDigit(r)
}

// affixes returns hashes of the last two and three runes and the first three
// runes of a folded word.
func affixes(k []byte) (s2, s3, p3 uint64) {
	e := len(k)
	// walk back over runes
	b1 := e
	for r := 0; r < 3 && b1 > 0; r++ {
		_, sz := utf8.DecodeLastRune(k[:b1])
		b1 -= sz
		if r == 1 {
			s2 = hashBytes(k[b1:e]) ^ 0x52
		}
	}
	s3 = hashBytes(k[b1:e]) ^ 0x53
	f := 0
	for r := 0; r < 3 && f < e; r++ {
		_, sz := utf8.DecodeRune(k[f:])
		f += sz
	}
	p3 = hashBytes(k[:f]) ^ 0x9e3
	return
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashBytes(b []byte) uint64 {
	h := uint64(fnvOffset)
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

func mix(a, b uint64) uint64 {
	h := a ^ (b + 0x9e3779b97f4a7c15 + (a << 6) + (a >> 2))
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 29
	return h | 1 // never 0: 0 marks an empty slot of the feature table
}

// partFlags returns the name flags shared by the parts of a hyphenated
// folded word that the lists do not know as a whole ("Jae-sung",
// "Ruiz-Tagle"): given when every part is a given name, surname when
// every part is a name and one is a surname.
func partFlags(k []byte) uint32 {
	all, any := FGiven|FSurname, uint32(0)
	n := 0
	for _, p := range strings.Split(string(k), "-") {
		if len(p) < 2 {
			return 0
		}
		f := lex[p] & (FGiven | FSurname)
		if f == 0 {
			return 0
		}
		all &= f
		any |= f
		n++
	}
	if n < 2 {
		return 0
	}
	if all&FGiven != 0 {
		return FGiven
	}
	return any & FSurname
}
