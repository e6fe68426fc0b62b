package strictjson

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	type rec struct {
		Status string `json:"status"`
	}
	for _, c := range []struct {
		in      string
		want    error
		wantMsg string
	}{
		{in: `{"status":"denied"}`},
		{in: " {\"status\":\"denied\"}\n\t "},
		{in: `{"status":"denied"}0`, want: ErrTrailing},
		{in: `{"status":"granted"}{"status":"denied"}`, want: ErrTrailing},
		{in: `{"status":"denied"}}`, want: ErrTrailing},
		{in: `{"status":"denied"} x`, want: ErrTrailing},
		{in: ``, want: io.EOF},
		{in: `{"status":"denied","extra":1}`, wantMsg: `unknown field "extra"`},
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
