package identity

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLen is the longest identifier, in bytes of UTF-8.
const MaxLen = 256

// ErrInvalid wraps every reason Check rejects an identifier.
var ErrInvalid = errors.New("invalid identifier")

// Check applies the identifier rule to a tenant id, user id, anonymous id,
// session id or alias previous id, wherever it enters (ingest, the consent API,
// imports, configuration). It never changes the value: a value is accepted
// exactly as given or rejected with the reason, so that what ingest accepts is
// exactly what the consent API can address (as a percent-encoded path
// segment, where "/", "%", spaces and every non-ASCII letter are fine).
//
// An identifier must
//   - hold at least one character that is not white space;
//   - be at most MaxLen bytes;
//   - be valid UTF-8 and hold no U+FFFD (the mark of text that was not: a
//     decoder that "repaired" invalid input would make two different inputs
//     one id);
//   - hold no control (Cc), format (Cf: zero-width and bidi controls, BOM, soft
//     hyphen), line or paragraph separator, or noncharacter code point: they
//     are invisible or unprintable, so two ids that look the same would not be;
//   - not be ".", ".." or "/": URL path handling removes the first two on the
//     way, and Go's router reads a path segment that is exactly an escaped
//     slash ("%2F") as a trailing slash, so that id could not be addressed
//     (ids that merely contain "/" are fine).
//
// Everything else is allowed, unnormalised: "é" in NFC and in NFD are two ids.
func Check(id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return fmt.Errorf("%w: required (empty or only white space)", ErrInvalid)
	case len(id) > MaxLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalid, MaxLen)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: not valid UTF-8 (byte %d)", ErrInvalid, firstInvalid(id))
	case id == "." || id == "..":
		return fmt.Errorf("%w: %q is not allowed (URL path handling removes it)", ErrInvalid, id)
	case id == "/":
		return fmt.Errorf("%w: %q is not allowed (a URL path segment of only an escaped slash is not routed)", ErrInvalid, id)
	}
	for i, r := range id {
		if why := forbidden(r); why != "" {
			return fmt.Errorf("%w: %s %U at byte %d", ErrInvalid, why, r, i)
		}
	}
	return nil
}

// forbidden says why r may not appear in an identifier, or "".
func forbidden(r rune) string {
	if r < utf8.RuneSelf { // of ASCII only C0 and DEL are in Cc; none in Cf, Zl, Zp
		if r < 0x20 || r == 0x7f {
			return "control character"
		}
		return ""
	}
	switch {
	case r == utf8.RuneError:
		return "the replacement character (a sign of invalid UTF-8)"
	case unicode.Is(unicode.Cc, r):
		return "control character"
	case unicode.Is(unicode.Cf, r):
		return "format character"
	case unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r):
		return "line or paragraph separator"
	case noncharacter(r):
		return "noncharacter"
	}
	return ""
}

// noncharacter reports the 66 code points Unicode reserves as never to be
// interchanged: U+FDD0..U+FDEF and the last two of every plane.
func noncharacter(r rune) bool {
	return r >= 0xFDD0 && r <= 0xFDEF || r&0xFFFE == 0xFFFE
}

func firstInvalid(s string) int {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(s)
}

// Problem is a rejected identifier with the path of its field, as the APIs
// report it (events[3].user_id, line 7: subject_id, path segment user).
type Problem struct {
	Field string
	Err   error
}

func (p Problem) Error() string {
	return p.Field + ": " + strings.TrimPrefix(p.Err.Error(), ErrInvalid.Error()+": ")
}

// CheckField is Check with the field's path in the error.
func CheckField(field, id string) error {
	if err := Check(id); err != nil {
		return Problem{Field: field, Err: err}
	}
	return nil
}

// Message returns the reason of a Check error without the ErrInvalid prefix,
// for APIs that put the field path beside it.
func Message(err error) string {
	return strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")
}
