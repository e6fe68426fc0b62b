package strictjson

import (
	"errors"
	"io"
	"strings"
	"testing"
)

type rec struct {
	Status string `json:"status"`
	Source string `json:"source,omitempty"`
	Nested struct {
		Purpose string `json:"purpose"`
	} `json:"nested"`
}

func TestDecode(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    error
		wantMsg string // substring of the error
	}{
		{in: `{"status":"denied"}`},
		{in: " {\"status\":\"denied\"}\n\t "},
		{in: `{"status":"denied"}0`, want: ErrTrailing},
		{in: `{"status":"granted"}{"status":"denied"}`, want: ErrTrailing},
		{in: `{"status":"denied"}}`, want: ErrTrailing},
		{in: `{"status":"denied"} x`, want: ErrTrailing},
		{in: ``, want: io.EOF},
		{in: " \n", want: io.EOF},
		{in: `{"status":"denied","extra":1}`, wantMsg: `/extra: unknown object member name`},
		// Names match exactly: a parser that folds case and one that does
		// not must not read two different documents.
		{in: `{"Status":"denied"}`, wantMsg: `/Status: unknown object member name`},
		{in: `{"STATUS":"denied"}`, wantMsg: `/STATUS: unknown object member name`},
		{in: `{"status":"denied","nested":{"Purpose":"x"}}`, wantMsg: `/nested/Purpose: unknown object member name`},
		// A duplicate is refused whichever copy a parser would keep.
		{in: `{"status":"granted","status":"denied"}`, wantMsg: `/status: duplicate object member name`},
		{in: `{"status":"denied","nested":{"purpose":"a","purpose":"b"}}`, wantMsg: `/nested/purpose: duplicate object member name`},
		// Invalid UTF-8 is an error, not a U+FFFD.
		{in: "{\"status\":\"denied\",\"source\":\"\xff\"}", wantMsg: `invalid UTF-8`},
		// The member's place is named.
		{in: `{"status":1}`, wantMsg: `/status: `},
		{in: `{"status":"denied","nested":{"purpose":true}}`, wantMsg: `/nested/purpose: `},
		{in: `{"status":`, wantMsg: `unexpected EOF`},
	} {
		var r rec
		err := Decode(strings.NewReader(c.in), &r)
		switch {
		case c.want == nil && c.wantMsg == "" && err != nil:
			t.Errorf("%q: %v", c.in, err)
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%q: got %v, want %v", c.in, err, c.want)
		case c.wantMsg != "" && (err == nil || !strings.Contains(err.Error(), c.wantMsg)):
			t.Errorf("%q: got %v, want %q", c.in, err, c.wantMsg)
		}
		if err == nil && r.Status != "denied" {
			t.Errorf("%q: decoded %+v", c.in, r)
		}
	}
}

// TestErrorsNameNoGoType: API clients read these messages; they name the JSON
// member, never the Go package or type behind it.
func TestErrorsNameNoGoType(t *testing.T) {
	for _, in := range []string{`{"status":1}`, `{"nested":[]}`, `{"extra":1}`, `[1]`, `{"status":"a","status":"b"}`} {
		var r rec
		err := Decode(strings.NewReader(in), &r)
		if err == nil {
			t.Fatalf("%s: no error", in)
		}
		if msg := err.Error(); strings.Contains(msg, "strictjson") || strings.Contains(msg, "rec") || strings.Contains(msg, "Go ") {
			t.Errorf("%s: %q names Go types", in, msg)
		}
	}
}
