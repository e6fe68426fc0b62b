// Package strictjson reads one JSON value as every consentflow input of
// configuration or API requests should be read, so that no two JSON parsers
// can disagree about what a document says:
//
//   - member names match a field's name exactly (`{"Status":"denied"}` is an
//     unknown member, not a status);
//   - unknown members are errors, and so are duplicate ones
//     (`{"status":"granted","status":"denied"}` means one thing to a parser
//     that keeps the first and another to one that keeps the last);
//   - strings are valid UTF-8 (nothing is silently replaced by U+FFFD);
//   - nothing but white space follows the value (a body of
//     `{"status":"denied"}0`, or of two objects, is not one value).
//
// It is github.com/go-json-experiment/json, the implementation of Go's
// encoding/json/v2, whose defaults are these rules; errors name the member by
// its JSON Pointer (RFC 6901) and never quote the Go types behind it.
package strictjson

import (
	"errors"
	"io"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// ErrTrailing is returned when data follows the value.
var ErrTrailing = errors.New("unexpected data after the JSON value")

// Decode reads exactly one JSON value from r into v. An empty input is io.EOF,
// as json.Decoder says.
func Decode(r io.Reader, v any) error {
	dec := jsontext.NewDecoder(r)
	if dec.PeekKind() == 0 {
		if _, err := dec.ReadToken(); errors.Is(err, io.EOF) {
			return io.EOF
		}
	}
	if err := json.UnmarshalDecode(dec, v, json.RejectUnknownMembers(true)); err != nil {
		return describe(err)
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return ErrTrailing
	}
	return nil
}

// describe turns the library's error into "<where>: <what>", where is the
// member's JSON Pointer (or the byte offset of a syntax error) and what the
// reason, without the Go type names the library's own text carries.
func describe(err error) error {
	var sem *json.SemanticError
	var syn *jsontext.SyntacticError
	switch {
	case errors.As(err, &syn):
		return &Error{Pointer: string(syn.JSONPointer), Offset: syn.ByteOffset, Reason: reason(syn.Err, "invalid JSON"), err: err}
	case errors.As(err, &sem):
		r := reason(sem.Err, "")
		if r == "" && sem.JSONKind != 0 {
			r = "cannot hold a JSON " + kindName(sem.JSONKind)
		}
		if r == "" {
			r = "invalid value"
		}
		return &Error{Pointer: string(sem.JSONPointer), Offset: sem.ByteOffset, Reason: r, err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Reason: "unexpected end of JSON input", err: err}
	}
	return err
}

func reason(err error, fallback string) string {
	if err == nil {
		return fallback
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) && syn.Err != nil {
		err = syn.Err
	}
	s := err.Error()
	s = strings.TrimPrefix(s, "jsontext: ")
	s = strings.TrimPrefix(s, "json: ")
	return s
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "string"
	case '0':
		return "number"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "value"
}

// Error is a document that is not one strict JSON value of the expected
// shape: Pointer (RFC 6901, "" for the whole document) says where, Reason what.
type Error struct {
	Pointer string
	Offset  int64
	Reason  string
	err     error
}

func (e *Error) Error() string {
	if e.Pointer == "" {
		return e.Reason
	}
	return e.Pointer + ": " + e.Reason
}

// Unwrap returns the library's error.
func (e *Error) Unwrap() error { return e.err }
