package shred

import (
	"slices"
	"unicode/utf8"
)

// appendContent appends the sealed plaintext of c to dst: byte for byte what
// json.Marshal(c) writes (members in declaration order, map keys sorted,
// encoding/json's escapes: HTML characters, U+2028/U+2029, control characters,
// invalid UTF-8 as U+FFFD), without reflection or a sorted copy of every key
// on the hot path. TestAppendContentIsJSONMarshal and FuzzAppendContent hold
// it to json.Marshal.
func appendContent(dst []byte, c *content) []byte {
	dst = append(dst, `{"event_type":`...)
	dst = appendJSONString(dst, c.EventType)
	if c.Text != nil {
		dst = append(dst, `,"text":`...)
		dst = appendJSONString(dst, *c.Text)
	}
	dst = append(dst, `,"properties":`...)
	if c.Properties == nil {
		return append(dst, "null}"...)
	}
	dst = append(dst, '{')
	var buf [16]string
	keys := buf[:0]
	for k := range c.Properties {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = appendJSONString(dst, c.Properties[k])
	}
	return append(dst, "}}"...)
}

// appendJSONString is encoding/json's string encoding with HTML escaping on.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
