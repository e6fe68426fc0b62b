package redact

import (
	"net/netip"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
func isHex(c byte) bool   { return isDigit(c) || ((c|0x20) >= 'a' && (c|0x20) <= 'f') }

// wordBefore reports whether the code point ending at byte i is a letter or digit
// (so a match starting at i would be glued to a preceding word).
func wordBefore(text string, i int) bool {
	if i <= 0 {
		return false
	}
	c := text[i-1]
	if c < utf8.RuneSelf {
		return isAlnum(c) || c == '_'
	}
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// wordAfter reports whether the code point starting at byte i is a letter or digit.
func wordAfter(text string, i int) bool {
	if i >= len(text) {
		return false
	}
	c := text[i]
	if c < utf8.RuneSelf {
		return isAlnum(c) || c == '_'
	}
	r, _ := utf8.DecodeRuneInString(text[i:])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// ---------------------------------------------------------------- email

func isLocalChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '\''
}
func isDomainChar(c byte) bool { return isAlnum(c) || c == '.' || c == '-' }

// emailAt returns the email around the '@' at byte i, or ok=false.
func emailAt(text string, i int) (start, end int, ok bool) {
	j := i
	for j > 0 && isLocalChar(text[j-1]) {
		j--
	}
	for j < i && (text[j] == '.' || text[j] == '\'') {
		j++
	}
	if j == i || wordBefore(text, j) {
		return 0, 0, false
	}
	k := i + 1
	for k < len(text) && isDomainChar(text[k]) {
		k++
	}
	for k > i+1 && (text[k-1] == '.' || text[k-1] == '-') {
		k--
	}
	dom := text[i+1 : k]
	dot := strings.LastIndexByte(dom, '.')
	if dot <= 0 || strings.Contains(dom, "..") || dom[0] == '.' || dom[0] == '-' {
		return 0, 0, false
	}
	tld := dom[dot+1:]
	if len(tld) < 2 {
		return 0, 0, false
	}
	for x := 0; x < len(tld); x++ {
		if !isAlpha(tld[x]) {
			return 0, 0, false
		}
	}
	if wordAfter(text, k) {
		return 0, 0, false
	}
	return j, k, true
}

func findEmails(text string, s *scratch) {
	for off := 0; ; {
		i := strings.IndexByte(text[off:], '@')
		if i < 0 {
			return
		}
		i += off
		if st, en, ok := emailAt(text, i); ok {
			s.add(st, en, EmailAddress, prioEmail)
			off = en
		} else {
			off = i + 1
		}
		if off >= len(text) {
			return
		}
	}
}

// ---------------------------------------------------------------- URL

func isURLChar(c byte) bool {
	if c <= ' ' || c == 0x7f {
		return false
	}
	switch c {
	case '<', '>', '"', '`', '{', '}', '|', '\\', '^':
		return false
	}
	return true
}

// urlEnd extends a URL starting at i to the right and trims trailing punctuation.
func urlEnd(text string, i int) int {
	k := i
	for k < len(text) && isURLChar(text[k]) {
		k++
	}
	for k > i {
		c := text[k-1]
		switch c {
		case '.', ',', ';', ':', '!', '?', '\'', '*':
			k--
			continue
		case ')', ']':
			open := byte('(')
			if c == ']' {
				open = '['
			}
			if strings.Count(text[i:k], string(open)) < strings.Count(text[i:k], string(c)) {
				k--
				continue
			}
		}
		break
	}
	return k
}

var schemes = []string{"https", "http", "ftps", "ftp", "sftp", "wss", "ws", "file", "git", "ssh", "s3", "gs", "hxxp", "hxxps"}

// tlds accepted for bare domains (no scheme, no www.).
var tlds = map[string]bool{}

// ambiguousTLDs are TLDs that are also common short words or file extensions;
// a bare two-label domain with one of them is only accepted when a path follows.
var ambiguousTLDs = map[string]bool{"it": true, "in": true, "is": true, "me": true, "no": true, "us": true, "at": true, "be": true, "to": true, "so": true, "do": true, "go": true, "am": true, "my": true, "an": true, "or": true, "as": true, "id": true, "on": true, "ms": true, "py": true, "md": true, "sh": true, "pl": true, "rs": true, "js": true, "ts": true, "cc": true, "ai": true, "tv": true, "la": true, "ps": true, "im": true, "mo": true, "ma": true, "pm": true, "st": true, "re": true, "co": true, "ch": true, "name": true}

func init() {
	for _, t := range strings.Fields(`com net org edu gov mil int io co ai app dev info biz me tv us uk de fr es it nl be ch at se no dk fi pl cz sk hu pt br ar mx ca au nz jp cn in ru ie gr ro bg hr si ee lv lt is lu cy mt tr za uy cl pe ve ec bo py kr tw hk sg my th vn id ph ae sa il eg ng ke ua by rs ba mk al me li mc ad sm va gl fo ly cloud online site shop store blog news xyz top club tech live pro name mobi jobs travel edu.au gov.uk ly gg ws`) {
		tlds[t] = true
	}
}

// reverseDNS are the first labels of reverse-domain identifiers.
var reverseDNS = map[string]bool{"com": true, "org": true, "net": true, "io": true, "edu": true, "gov": true, "dev": true, "app": true}

func hostOK(host string, hasPath bool) bool {
	labels := 0
	last := ""
	for l := range strings.SplitSeq(host, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		labels++
		last = l
	}
	if labels < 2 {
		return false
	}
	if last != strings.ToLower(last) || !tlds[last] {
		return false
	}
	if labels == 2 && ambiguousTLDs[last] && !hasPath {
		return false
	}
	first := host[:strings.IndexByte(host, '.')]
	if len(first) < 2 && labels == 2 {
		return false
	}
	if labels >= 3 && reverseDNS[strings.ToLower(first)] {
		return false // a Java/Android package or bundle id ("com.example.app"), no host
	}
	// all-numeric hosts are IPs or version numbers
	allDigits := true
	for i := 0; i < len(host); i++ {
		if !isDigit(host[i]) && host[i] != '.' {
			allDigits = false
			break
		}
	}
	return !allDigits
}

func findURLs(text string, s *scratch) {
	n := len(text)
	// scheme://...
	for off := 0; off < n; {
		i := strings.Index(text[off:], "://")
		if i < 0 {
			break
		}
		i += off
		j := i
		for j > 0 && (isAlnum(text[j-1]) || text[j-1] == '+' || text[j-1] == '.' || text[j-1] == '-') {
			j--
		}
		sch := strings.ToLower(text[j:i])
		ok := false
		for _, x := range schemes {
			if sch == x || strings.HasSuffix(sch, "+"+x) {
				ok = true
				break
			}
		}
		if ok && i+3 < n && isURLChar(text[i+3]) && !wordBefore(text, j) {
			e := urlEnd(text, j)
			if e > i+3 {
				s.add(j, e, URL, prioURL)
				off = e
				continue
			}
		}
		off = i + 3
	}
	// www.example.com and bare example.com
	for i := 0; i < n; {
		if !isAlnum(text[i]) || wordBefore(text, i) || (i > 0 && (text[i-1] == '@' || text[i-1] == '.' || text[i-1] == '/' || text[i-1] == '-')) {
			i++
			continue
		}
		k := i
		dots := 0
		for k < n && isDomainChar(text[k]) {
			if text[k] == '.' {
				dots++
			}
			k++
		}
		if dots == 0 {
			i = k + 1
			continue
		}
		for k > i && (text[k-1] == '.' || text[k-1] == '-') {
			k--
		}
		if k < n && (text[k] == '@' || text[k] == '(' || wordAfter(text, k)) {
			i = k + 1 // an address, or a method call ("self.client.get()")
			continue
		}
		host := text[i:k]
		hasPath := k < n && (text[k] == '/' || text[k] == ':')
		www := len(host) > 4 && strings.EqualFold(host[:4], "www.")
		if (www && strings.Count(host, ".") >= 2) || hostOK(host, hasPath) {
			e := k
			if hasPath {
				e = urlEnd(text, k)
			}
			s.add(i, e, URL, prioURL-1)
			i = e
			continue
		}
		i = k + 1
	}
}

// ---------------------------------------------------------------- IP

var versionWords = []string{"version", "ver", "v", "release", "build", "firmware", "os", "iso", "oid", "rfc"}

func findIPs(text string, s *scratch, hasColon bool) {
	n := len(text)
	for i := 0; i < n; i++ {
		c := text[i]
		if !(isHex(c) || c == ':') || (i > 0 && (isAlnum(text[i-1]) || text[i-1] == '.' || text[i-1] == ':' || text[i-1] == '_')) {
			continue
		}
		k := i
		colons, dots := 0, 0
		for k < n && (isHex(text[k]) || text[k] == ':' || text[k] == '.') {
			if text[k] == ':' {
				colons++
			} else if text[k] == '.' {
				dots++
			}
			k++
		}
		if colons < 2 && dots != 3 && dots < 4 {
			i = k
			continue
		}
		e := k
		for e > i && (text[e-1] == '.' || (text[e-1] == ':' && !(e-2 >= i && text[e-2] == ':'))) {
			e--
		}
		if e < n && (isAlnum(text[e]) || text[e] == '_') {
			i = k
			continue
		}
		cand := text[i:e]
		addr, err := netip.ParseAddr(cand)
		if err != nil && dots == 3 {
			// "192.168.1.10:443": an IPv4 address and its port (the port is no PII)
			if j := strings.IndexByte(cand, ':'); j > 0 && portDigits(cand[j+1:]) {
				if a4, err4 := netip.ParseAddr(cand[:j]); err4 == nil && a4.Is4() {
					addr, err, e, cand = a4, nil, i+j, cand[:j]
				}
			}
		}
		if err != nil || (addr.Is6() && !hasColon) {
			i = k
			continue
		}
		if addr.Is6() && !addr.Is4In6() {
			hexd := 0
			for x := 0; x < len(cand); x++ {
				if isHex(cand[x]) {
					hexd++
				}
			}
			if hexd < 3 || colons < 2 {
				i = k
				continue
			}
		}
		if addr.Is4() && versionContext(text, i) {
			i = k
			continue
		}
		// zone of a link-local IPv6 address ("fe80::1%eth0", "%25en0" in URLs)
		if addr.Is6() && e+1 < n && text[e] == '%' && isAlnum(text[e+1]) {
			x := e + 1
			for x < n && x-e <= 16 && (isAlnum(text[x]) || text[x] == '_' || text[x] == '-') {
				x++
			}
			if z, err := netip.ParseAddr(cand + "%" + text[e+1:x]); err == nil && z.Zone() != "" {
				e = x
			}
		}
		// CIDR suffix
		if e+1 < n && text[e] == '/' && isDigit(text[e+1]) {
			x := e + 1
			for x < n && isDigit(text[x]) && x-e <= 3 {
				x++
			}
			if !wordAfter(text, x) {
				e = x
			}
		}
		s.add(i, e, IPAddress, prioIP)
		i = k
	}
}

// portDigits reports whether s is a port number (1-5 digits).
func portDigits(s string) bool {
	if len(s) == 0 || len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// versionContext reports whether a dotted number at i is preceded by a word
// that marks it as a version number ("v1.2.3.4", "version 10.0.0.1").
func versionContext(text string, i int) bool {
	j := i
	if j > 0 && (text[j-1] == 'v' || text[j-1] == 'V') && !wordBefore(text, j-1) {
		return true
	}
	for j > 0 && (text[j-1] == ' ' || text[j-1] == ':') {
		j--
	}
	k := j
	for k > 0 && isAlpha(text[k-1]) {
		k--
	}
	if k > 0 && (isAlnum(text[k-1]) || strings.IndexByte("/._-=?&#%+", text[k-1]) >= 0) {
		return false // the tail of a path or token ("…/37fyy76y8v 1.2.3.4"), not a word
	}
	w := strings.ToLower(text[k:j])
	for _, v := range versionWords {
		if w == v {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------- IBAN

func findIBANs(text string, s *scratch) {
	n := len(text)
	for i := 0; i+15 <= n; i++ {
		if !(isAlpha(text[i]) && isAlpha(text[i+1]) && isDigit(text[i+2]) && isDigit(text[i+3])) || wordBefore(text, i) {
			continue
		}
		upper := text[i] < 'a'
		if (text[i+1] < 'a') != upper {
			continue
		}
		cc := [2]byte{text[i] &^ 0x20, text[i+1] &^ 0x20}
		want := ibanLengths[string(cc[:])]
		if want == 0 {
			continue
		}
		var buf [34]byte
		got := 0
		k := i
		for k < n && got < want {
			c := text[k]
			if isAlnum(c) {
				if isAlpha(c) && (c < 'a') != upper {
					break
				}
				buf[got] = c &^ 0x20
				if isDigit(c) {
					buf[got] = c
				}
				got++
				k++
				continue
			}
			if (c == ' ' || c == '-') && got >= 4 && k+1 < n && isAlnum(text[k+1]) {
				k++
				continue
			}
			break
		}
		if got != want || (k < n && isAlnum(text[k])) {
			continue
		}
		if ibanValid(buf[:got]) {
			s.add(i, k, IBANCode, prioIBAN)
			i = k
		}
	}
}

// ---------------------------------------------------------------- numbers: cards, SSNs, phones

type numChunk struct {
	start, end int
	digits     [maxChunkDigits]byte
	nd         int
	groups     [maxChunkGroups]int8
	gs, ge     [maxChunkGroups]int32 // byte offsets of each group's first digit and end
	ng         int
	seps       uint8 // bitmask: 1 space, 2 dash, 4 dot, 8 paren, 16 slash
	plus       bool
	ext        int // byte offset where an extension starts (0 = none)
}

// A chunk can hold several adjacent values ("020 7946 0792 4985 9183 8912
// 4797"): room for a few of them, so that splitChunk can find each.
const (
	maxChunkDigits = 64
	maxChunkGroups = 16
)

const (
	sepSpace = 1 << iota
	sepDash
	sepDot
	sepParen
	sepSlash
)

// scanChunk reads a run of digits with single separators starting at i.
func scanChunk(text string, i int) (c numChunk, next int) {
	n := len(text)
	c.start = i
	k := i
	if text[k] == '+' {
		c.plus = true
		k++
	}
	cur := 0
	for k < n {
		if c.ng > len(c.groups) || c.nd > len(c.digits) {
			// a very long run: the caller keeps what fits and scans the
			// rest again, so reading further would make it quadratic
			goto done
		}
		ch := text[k]
		switch {
		case isDigit(ch):
			if cur == 0 && c.ng < len(c.groups) {
				c.gs[c.ng] = int32(k)
			}
			if c.nd < len(c.digits) {
				c.digits[c.nd] = ch
			}
			c.nd++
			cur++
			k++
			continue
		case ch == '(' || ch == ')' || ch == ' ' || ch == '-' || ch == '.' || ch == '/':
		default:
			goto done
		}
		// separator: must be followed (after at most one more separator) by a digit
		{
			var bit uint8
			switch ch {
			case '(', ')':
				bit = sepParen
			case ' ':
				bit = sepSpace
			case '-':
				bit = sepDash
			case '.':
				bit = sepDot
			case '/':
				bit = sepSlash
			}
			j := k + 1
			if j < n && (text[j] == ' ' || text[j] == '(' || text[j] == ')' || text[j] == '-') && text[j] != ch {
				j++
			}
			if j >= n || !(isDigit(text[j]) || (text[j] == '(' && j+1 < n && isDigit(text[j+1]))) {
				goto done
			}
			c.seps |= bit
			if cur > 0 {
				if c.ng < len(c.groups) {
					c.groups[c.ng] = int8(min(cur, 127))
					c.ge[c.ng] = int32(k)
				}
				c.ng++
				cur = 0
			}
			if text[j-1] == ' ' || ch == ' ' {
				c.seps |= sepSpace
			}
			if text[j-1] == '(' || text[j-1] == ')' {
				c.seps |= sepParen
			}
			if text[j-1] == '-' {
				c.seps |= sepDash
			}
			k = j
		}
	}
done:
	if cur > 0 {
		if c.ng < len(c.groups) {
			c.groups[c.ng] = int8(min(cur, 127))
			c.ge[c.ng] = int32(k)
		}
		c.ng++
	}
	c.end = k
	// phone extension: x123, ext. 123, ext 123
	if k < n {
		j := k
		if j < n && text[j] == ' ' {
			j++
		}
		lw := ""
		switch {
		case j < n && (text[j] == 'x' || text[j] == 'X'):
			lw = "x"
		case j+3 <= n && strings.EqualFold(text[j:j+3], "ext"):
			lw = "ext"
		}
		if lw != "" {
			j += len(lw)
			if j < n && text[j] == '.' {
				j++
			}
			if j < n && text[j] == ' ' {
				j++
			}
			d := j
			for d < n && isDigit(text[d]) && d-j < 6 {
				d++
			}
			if d > j && !wordAfter(text, d) {
				c.ext = k
				c.end = d
			}
		}
	}
	return c, c.end
}

func allSame(d []byte) bool {
	for i := 1; i < len(d); i++ {
		if d[i] != d[0] {
			return false
		}
	}
	return true
}

func (r *Redactor) findNumbers(text string, s *scratch) {
	n := len(text)
	// Higher-priority values found before (secrets, emails, URLs, IBANs, IP
	// addresses) are not scanned again, and a run of digit groups stops
	// before one: a number right after an IBAN or a URL, or right before an
	// IP address, is a chunk of its own.
	known := append(s.known[:0], s.cands...)
	slices.SortFunc(known, func(a, b cand) int { return a.start - b.start })
	s.known = known
	kp := 0 // known[:kp] end before the scan position
	for i := 0; i < n; i++ {
		ch := text[i]
		start := i
		if ch == '+' || ch == '(' {
			if i+1 >= n || !isDigit(text[i+1]) {
				continue
			}
		} else if !isDigit(ch) {
			continue
		}
		for kp < len(known) && known[kp].end <= i {
			kp++
		}
		if e := insideCand(known[kp:], i); e > 0 {
			i = e - 1
			continue
		}
		if wordBefore(text, start) || (start > 0 && (text[start-1] == '$' || text[start-1] == '/' || ((text[start-1] == '.' || text[start-1] == '-' || text[start-1] == ',' || text[start-1] == ':') && start > 1 && isDigit(text[start-2])))) {
			// skip the rest of this run
			for i+1 < n && isDigit(text[i+1]) {
				i++
			}
			continue
		}
		var c numChunk
		if ch == '(' {
			c, _ = scanChunk(text, i+1)
			c.start = i
			c.seps |= sepParen
		} else {
			c, _ = scanChunk(text, i)
		}
		end := c.end
		if c.ng > len(c.groups) || c.nd > len(c.digits) {
			// a very long run: take what fits, the rest is scanned next
			if !c.truncate(text, end) {
				i = end
				continue
			}
		}
		if ns := nextCandStart(known[kp:], c.start, c.end); ns >= 0 {
			// keep the groups before the next known value
			if !c.truncate(text, ns) {
				i = ns - 1
				continue
			}
		}
		if wordAfter(text, c.end) || (c.end < n && (text[c.end] == '@' || text[c.end] == '%')) {
			// the last group is glued to a word ("… 4111 1111 1111 1111 2a02:…"):
			// keep the groups before it
			if c.ng < 2 || c.ng > len(c.groups) || !c.truncate(text, int(c.gs[c.ng-1])) {
				i = end
				continue
			}
		}
		if c.ng >= 2 && c.ng <= len(c.groups) && c.end+1 < n && text[c.end] == ' ' && text[c.end+1] >= 'A' && text[c.end+1] <= 'Z' {
			// the last group is a house number ("… 468-57-2191 1 Main
			// Street"): the value ends before it
			g := int(c.gs[c.ng-1])
			if streetA.MatchString(text[g:min(n, g+160)]) && !c.truncate(text, g) {
				i = g - 1
				continue
			}
		}
		r.classify(text, &c, s)
		i = c.end - 1
	}
}

// truncate shortens c to its longest prefix of groups that ends at or before
// byte limit and is followed by a space separator; false when there is none.
func (c *numChunk) truncate(text string, limit int) bool {
	ng := min(c.ng, len(c.groups))
	var off [maxChunkGroups + 1]int
	for g := 0; g < ng; g++ {
		off[g+1] = off[g] + int(c.groups[g])
	}
	for b := ng - 1; b >= 1; b-- {
		if int(c.ge[b-1]) > limit || off[b] > len(c.digits) {
			continue
		}
		for x := c.ge[b-1]; x < c.gs[b]; x++ {
			if text[x] == ' ' {
				*c = subChunk(text, c, 0, b, 0, off[b])
				return true
			}
		}
	}
	return false
}

// nextCandStart returns the first start of a candidate (sorted by start)
// within (i, j), or -1.
func nextCandStart(cs []cand, i, j int) int {
	for _, c := range cs {
		if c.start >= j {
			break
		}
		if c.start > i {
			return c.start
		}
	}
	return -1
}

// insideCand returns the end of a candidate (sorted by start) containing
// byte i, or 0.
func insideCand(cs []cand, i int) int {
	for _, c := range cs {
		if c.start > i {
			break
		}
		if i < c.end {
			return c.end
		}
	}
	return 0
}

// Weights per digit of a chunk's interpretations, for choosing how to split
// a run of adjacent numbers.
const (
	wNone     = 0
	wPhoneStr = 1 // structurally plausible national number
	wCardOdd  = 2 // Luhn-valid, but grouped unlike a card
	wPhone    = 3 // valid per libphonenumber, or phone context
	wCard     = 4 // Luhn-valid, card-like grouping and issuer prefix
	wSSN      = 4
)

// judge returns the type of chunk c and a weight per digit (0 = nothing).
// In split mode (c is a part of a longer run) cards need a card-like
// grouping and issuer digit, and phones a numbering-plan check or context.
func (r *Redactor) judge(text string, c *numChunk, split bool, pc phoneCtx, budget *int) (string, int) {
	nd := c.nd
	if nd > len(c.digits) || nd < 7 || c.ng > len(c.groups) {
		return "", wNone
	}
	d := c.digits[:nd]
	// IPv4-looking chunks belong to the IP recognizer.
	if c.seps == sepDot && c.ng == 4 {
		ok := true
		for g := 0; g < 4; g++ {
			if c.groups[g] > 3 {
				ok = false
			}
		}
		if ok {
			return "", wNone
		}
	}
	onlySpaceDash := c.seps&^(sepSpace|sepDash) == 0
	// Credit card: 12-19 digits (13-19 in a split), spaces/dashes only, Luhn.
	if !c.plus && c.ext == 0 && nd >= 12 && nd <= 19 && onlySpaceDash && luhn(d) && !allSame(d) {
		good := cardGrouping(c) && d[0] >= '2' && d[0] <= '6'
		if !split {
			if good || c.ng == 1 {
				return CreditCard, wCard
			}
			return CreditCard, wCardOdd
		}
		if good && nd >= 13 {
			return CreditCard, wCard
		}
	}
	// SSN: 3-2-4 with one consistent separator, or 9 digits with context.
	if !c.plus && c.ext == 0 && nd == 9 {
		if (c.ng == 3 && c.groups[0] == 3 && c.groups[1] == 2 && c.groups[2] == 4 && (c.seps == sepDash || c.seps == sepSpace || c.seps == sepDot)) ||
			(c.ng == 1 && contextBefore(text, c.start, ssnWords)) {
			if ssnValid(d) {
				return USSSN, wSSN
			}
		}
	}
	if r.enabled(PhoneNumber) {
		switch phoneLike(text, c, split, pc, budget) {
		case phoneValid:
			return PhoneNumber, wPhone
		case phoneStructural:
			return PhoneNumber, wPhoneStr
		}
	}
	return "", wNone
}

// cardGrouping: one group, or groups of 4 with a shorter last group
// (4-4-4-4, 4-4-4-4-3), or Amex/Diners style 4-6-5 / 4-6-4.
func cardGrouping(c *numChunk) bool {
	if c.ng == 1 {
		return true
	}
	if c.ng == 3 && c.groups[0] == 4 && c.groups[1] == 6 && (c.groups[2] == 5 || c.groups[2] == 4) {
		return true
	}
	for g := 0; g < c.ng-1; g++ {
		if c.groups[g] != 4 {
			return false
		}
	}
	return c.groups[c.ng-1] >= 1 && c.groups[c.ng-1] <= 4
}

func (r *Redactor) classify(text string, c *numChunk, s *scratch) {
	typ, w := r.judge(text, c, false, phoneCtx{}, nil)
	if c.ng >= 2 && c.ng <= len(c.groups) && c.nd >= 8 && c.nd <= len(c.digits) && (w == wNone || w == wCardOdd) {
		// The run does not validate as a whole (or only as an oddly grouped
		// card): it may be several values written next to each other.
		if r.splitChunk(text, c, s, w*c.nd) {
			return
		}
	}
	if typ != "" {
		prio := prioOf(typ)
		if w == wPhoneStr && !(c.digits[0] == '0' && c.nd >= 9) { // trunk-prefixed national numbers stay phones
			prio = prioPhoneWeak
		}
		s.add(c.start, c.end, typ, prio)
	}
}

func prioOf(typ string) int {
	switch typ {
	case CreditCard:
		return prioCard
	case USSSN:
		return prioSSN
	}
	return prioPhone
}

// maxSplitGroups bounds the groups of one value inside a run (a card has at
// most 5, a phone at most 6).
const maxSplitGroups = 6

// splitChunk splits a run of digit groups at its space separators and finds
// the cover by valid sub-runs of the highest total weight (dynamic
// programming over group boundaries). It adds the sub-runs and reports true
// when that cover beats whole (the weight of the run as a whole).
func (r *Redactor) splitChunk(text string, c *numChunk, s *scratch, whole int) bool {
	ng := c.ng
	// cut[g]: a value may start at group g (g = 0, or a space before it).
	var cut [maxChunkGroups + 1]bool
	cut[0], cut[ng] = true, true
	for g := 1; g < ng; g++ {
		for x := c.ge[g-1]; x < c.gs[g]; x++ {
			if text[x] == ' ' {
				cut[g] = true
			}
		}
	}
	var off [maxChunkGroups + 1]int // digits before group g
	for g := 0; g < ng; g++ {
		off[g+1] = off[g] + int(c.groups[g])
	}
	type step struct {
		from int
		typ  string
	}
	var best [maxChunkGroups + 1]int
	var back [maxChunkGroups + 1]step
	// phone context per start group and per end group, computed once
	var before [maxChunkGroups + 1]phoneCtx
	var after, afterKnown [maxChunkGroups + 1]bool
	for i := 1; i <= ng; i++ {
		best[i], back[i] = best[i-1], step{i - 1, ""}
		if !cut[i] {
			continue
		}
		for j := max(0, i-maxSplitGroups); j < i; j++ {
			if !cut[j] || (j == 0 && i == ng) || off[i]-off[j] < 7 || off[i]-off[j] > 19 {
				continue
			}
			sub := subChunk(text, c, j, i, off[j], off[i])
			if !before[j].known {
				before[j] = phoneContextBefore(text, sub.start)
			}
			if !afterKnown[i] {
				after[i], afterKnown[i] = contextAfter(text, sub.end, phoneAfterWords), true
			}
			pc := before[j]
			pc.ctx = pc.ctx || after[i]
			typ, w := r.judge(text, &sub, true, pc, &s.planBudget)
			if typ == "" {
				continue
			}
			if v := best[j] + w*(off[i]-off[j]); v > best[i] {
				best[i], back[i] = v, step{j, typ}
			}
		}
	}
	if best[ng] <= whole {
		return false
	}
	for i := ng; i > 0; {
		st := back[i]
		if st.typ != "" {
			sub := subChunk(text, c, st.from, i, off[st.from], off[i])
			s.add(sub.start, sub.end, st.typ, prioOf(st.typ))
		}
		i = st.from
	}
	return true
}

// subChunk is groups [a, b) of c as a chunk of its own (digits [da, db)).
func subChunk(text string, c *numChunk, a, b, da, db int) numChunk {
	var sc numChunk
	sc.start, sc.end = int(c.gs[a]), int(c.ge[b-1])
	if a == 0 {
		sc.start, sc.plus = c.start, c.plus
	} else if sc.start > 0 && text[sc.start-1] == '(' {
		sc.start--
		sc.seps |= sepParen
	}
	if b == c.ng {
		sc.end, sc.ext = c.end, c.ext
	}
	sc.nd = copy(sc.digits[:], c.digits[da:db])
	sc.ng = b - a
	copy(sc.groups[:], c.groups[a:b])
	copy(sc.gs[:], c.gs[a:b])
	copy(sc.ge[:], c.ge[a:b])
	if a == 0 && c.seps&sepParen != 0 && c.start < len(text) && text[c.start] == '(' {
		sc.seps |= sepParen
	}
	for g := a; g < b-1; g++ {
		for x := c.ge[g]; x < c.gs[g+1]; x++ {
			switch text[x] {
			case ' ':
				sc.seps |= sepSpace
			case '-':
				sc.seps |= sepDash
			case '.':
				sc.seps |= sepDot
			case '/':
				sc.seps |= sepSlash
			case '(', ')':
				sc.seps |= sepParen
			}
		}
	}
	return sc
}

var ssnWords = []string{"ssn", "social security", "social sec", "ss#", "ss #", "taxpayer", "tin"}
var phoneWords = []string{"phone", "call", "tel", "mobile", "cell", "fax", "contact", "reach", "text me", "whatsapp", "sms", "dial", "number", "ring"}
var addrWords = map[string]bool{"suite": true, "ste": true, "apt": true, "apartment": true, "unit": true, "box": true, "room": true, "rm": true, "no": true, "nr": true, "floor": true, "fl": true, "building": true, "bldg": true, "po": true, "zip": true, "postcode": true, "code": true, "order": true, "invoice": true, "ticket": true, "id": true, "account": true, "acct": true, "ref": true, "reference": true, "isbn": true, "serial": true, "tracking": true, "case": true, "page": true, "pages": true, "model": true, "part": true}

// contextBefore reports whether one of words starts a word (case-
// insensitively) in the 40 bytes before i: "tel" in "tel:" or "telephone",
// not in "Patel".
func contextBefore(text string, i int, words []string) bool {
	j := max(0, i-40)
	win := text[j:i]
	for _, w := range words {
		if indexFoldWord(win, w) >= 0 {
			return true
		}
	}
	return false
}

// indexFoldWord is indexFold for matches that start a word.
func indexFoldWord(s, needle string) int {
	for off := 0; off < len(s); {
		k := indexFold(s[off:], needle)
		if k < 0 {
			return -1
		}
		if p := off + k; p == 0 || !isAlpha(s[p-1]) {
			return p
		}
		off += k + 1
	}
	return -1
}

// indexFold is an ASCII case-insensitive strings.Index for lowercase needles.
func indexFold(s, needle string) int {
	if len(needle) == 0 {
		return 0
	}
	n0 := needle[0]
	for i := 0; i+len(needle) <= len(s); i++ {
		if s[i]|0x20 != n0 {
			continue
		}
		ok := true
		for k := 1; k < len(needle); k++ {
			c := s[i+k]
			if c >= 'A' && c <= 'Z' {
				c |= 0x20
			}
			if c != needle[k] {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

// prevWord returns the lowercase ASCII word just before byte i (skipping
// spaces, '.', '#', ':').
func prevWord(text string, i int) string {
	j := i
	for j > 0 && (text[j-1] == ' ' || text[j-1] == '.' || text[j-1] == '#' || text[j-1] == ':' || text[j-1] == '\t') {
		j--
	}
	k := j
	for k > 0 && isAlpha(text[k-1]) {
		k--
	}
	if j-k > 12 {
		return ""
	}
	var b [12]byte
	for x := k; x < j; x++ {
		b[x-k] = text[x] | 0x20
	}
	return string(b[:j-k])
}
