package redact

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Token formats with a recognisable prefix. Each is a separate alternative of
// one RE2 expression (linear time), tried only where one of tokenStarts begins
// at a word boundary (findAllAt).
var token = newStartsAnchored("", `(?:`+
	`(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}`+ // AWS access key id
	`|gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}`+ // GitHub
	`|glpat-[A-Za-z0-9_-]{20,}`+ // GitLab
	`|xox[abposre]-[A-Za-z0-9-]{10,}`+ // Slack
	`|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{24,}`+ // Stripe
	`|AIza[0-9A-Za-z_-]{35}`+ // Google API key
	`|ya29\.[0-9A-Za-z_-]{20,}`+ // Google OAuth
	`|sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}`+ // OpenAI / Anthropic style
	`|npm_[A-Za-z0-9]{36}|pypi-[A-Za-z0-9_-]{40,}`+ // package registries
	`|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}`+ // SendGrid
	`|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`+ // JWT
	`)`)

var tokenRe = token.re

// tokenStarts are literal beginnings of token's alternatives: every match
// begins with one of them. ("gh" alone would be in most English texts: night,
// though.)
var tokenStarts = []string{"AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA", "ABIA", "ACCA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xox", "sk_live_", "sk_test_", "pk_live_", "pk_test_", "rk_live_", "rk_test_", "whsec_", "AIza", "ya29.", "sk-", "npm_", "pypi-", "SG.", "eyJ"}

var tokenCand = wordStartExact(tokenStarts...)

var pemRe = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)`)

// Generic credential assignments: key = value, key: value, "key": "value".
// Only the value is redacted.
var assignRe = regexp.MustCompile(`(?i)\b(?:[a-z0-9]+[_-])*(?:password|passwd|passphrase|pwd|pass|secret|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key|client[_-]?secret|auth[_-]?token|access[_-]?token|refresh[_-]?token|bearer[_-]?token|token|credentials?)["']?\s*(?:=|:=|:|=>)\s*("[^"\n]{3,}"|'[^'\n]{3,}'|[^\s"',;]{3,})`)
var bearer = newStartsAnchored(`(?i)`, `(?:bearer|basic|token)\s+([A-Za-z0-9._~+/-]{16,}=*)`)
var bearerRe = bearer.re
var bearerCand = wordStartFold("bearer", "basic", "token")

// assignMayMatch is a necessary condition for an assignRe match, cheap to
// check: a separator, a keyword, and a keyword ending before a separator.
func assignMayMatch(text string) bool {
	return (strings.IndexByte(text, '=') >= 0 || strings.IndexByte(text, ':') >= 0) &&
		assignKeywordCand.in(text, nil) && assignPossible(text)
}

// assignKeywordCand: every keyword alternative of assignRe contains one of
// these, compared as (?i) compares them ("api_\u212Aey", "paſſword").
var assignKeywordCand = wordStartFold("pass", "pwd", "secret", "key", "token", "credential")

func findSecrets(text string, s *scratch) {
	token.findAllAt(text, tokenCand, func(m []int) {
		if !wordAfter(text, m[1]) {
			s.add(m[0], m[1], Secret, prioSecret)
		}
	})
	if strings.Contains(text, "-----BEGIN") {
		for _, m := range pemRe.FindAllStringIndex(text, -1) {
			s.add(m[0], m[1], Secret, prioSecret)
		}
	}
	if assignMayMatch(text) {
		for _, m := range assignRe.FindAllStringSubmatchIndex(text, -1) {
			st, en := m[2], m[3]
			v := text[st:en]
			if v[0] == '"' || v[0] == '\'' {
				st++
				en--
			}
			if looksLikeSecretValue(text[st:en]) {
				s.add(st, en, Secret, prioSecret-1)
			}
		}
	}
	// tried only at word boundaries where "bearer", "basic" or "token" begins
	// as (?i) compares them (any case, the Kelvin sign, long s), whatever
	// space follows: no other pre-check, so none can disagree with bearerRe
	bearer.findAllAt(text, bearerCand, func(m []int) {
		s.add(m[2], m[3], Secret, prioSecret-1)
	})
}

// assignKeywordEnds are the endings of assignRe's keywords: every keyword
// alternative ends with one of them.
var assignKeywordEnds = []string{"pass", "password", "passwd", "passphrase", "pwd", "secret", "key", "token", "credential", "credentials"}

// assignPossible is a necessary condition for an assignRe match, cheap to
// check: somewhere a keyword ending, an optional quote and ASCII white space
// stand right before '=' or ':'. "key" and "pass" are in many words
// (keyboard, passed) and ':' in most times of day, so the keyword and
// separator tests apart let the expression run on most texts.
func assignPossible(text string) bool {
	var buf [16]byte
	for q := 0; q < len(text); q++ {
		if c := text[q]; c != '=' && c != ':' {
			continue
		}
		p := q
		for p > 0 && isRE2Space(text[p-1]) {
			p--
		}
		if p > 0 && (text[p-1] == '"' || text[p-1] == '\'') {
			p--
		}
		// the letters before p, folded as (?i) folds them, last first
		n := 0
		for p > 0 && n < len(buf) {
			r, size := utf8.DecodeLastRuneInString(text[:p])
			switch {
			case r >= 'A' && r <= 'Z':
				r += 'a' - 'A'
			case r >= 'a' && r <= 'z':
			case r == '\u212A': // Kelvin sign folds to k
				r = 'k'
			case r == '\u017F': // long s folds to s
				r = 's'
			default:
				size = 0
			}
			if size == 0 {
				break
			}
			buf[len(buf)-1-n] = byte(r)
			n++
			p -= size
		}
		tail := string(buf[len(buf)-n:])
		for _, k := range assignKeywordEnds {
			if strings.HasSuffix(tail, k) {
				return true
			}
		}
	}
	return false
}

// isRE2Space reports whether c is in RE2's \s: [\t\n\f\r ].
func isRE2Space(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// looksLikeSecretValue rejects prose after "password:" such as "reset" or
// "please help": a value must not be a short lowercase English-looking word
// unless it contains a digit or symbol.
func looksLikeSecretValue(v string) bool {
	if len(v) < 4 {
		return false
	}
	lower, other := 0, 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'a' && c <= 'z' {
			lower++
		} else {
			other++
		}
	}
	if other == 0 {
		// a single lowercase word: accept only if long and not a common word
		switch strings.ToLower(v) {
		case "none", "null", "true", "false", "required", "optional", "reset", "please", "forgot", "changed", "expired", "incorrect", "invalid", "hidden", "redacted", "unknown", "empty", "missing", "same", "here", "below", "above", "the", "your", "mine", "what", "help":
			return false
		}
		return len(v) >= 6
	}
	return true
}
