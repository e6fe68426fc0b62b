package shred

import (
	"encoding/json"
	"testing"
)

func marshalled(t testing.TB, c *content) string {
	want, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(want)
}

// The hand-written plaintext encoder writes exactly what encoding/json writes:
// readers (pkg/shred's Open, e2e/oracle.py) parse it as JSON, and a sealed
// record's bytes stay those of before.
func TestAppendContentIsJSONMarshal(t *testing.T) {
	text := "Ada <PERSON> & \"Bob\" \\ \b\f\n\r\t\x00\x1f\x7f é 日本 \u2028\u2029 \xff\xfe bad \xe2\x82"
	empty := ""
	cases := []content{
		{},
		{EventType: "comment_added", Properties: map[string]string{}},
		{EventType: "x", Text: &empty, Properties: map[string]string{"": ""}},
		{EventType: text, Text: &text, Properties: map[string]string{text: text, "b": "1", "a": "<2>", "A": "&", "é": "\u2028", "aa": ""}},
	}
	many := map[string]string{}
	for i := range 40 {
		many[string(rune('a'+i%26))+string(rune('0'+i/26))] = text[:i]
	}
	cases = append(cases, content{EventType: "many", Properties: many})
	for i := range cases {
		c := &cases[i]
		if got, want := string(appendContent(nil, c)), marshalled(t, c); got != want {
			t.Errorf("case %d:\n got %q\nwant %q", i, got, want)
		}
	}
}

func FuzzAppendContent(f *testing.F) {
	f.Add("comment_added", "Ada <PERSON> wrote \u2028", true, "k", "v\x00", "k2", "\xff")
	f.Add("", "", false, "", "", "", "")
	f.Fuzz(func(t *testing.T, typ, text string, hasText bool, k1, v1, k2, v2 string) {
		c := &content{EventType: typ, Properties: map[string]string{k1: v1, k2: v2}}
		if hasText {
			c.Text = &text
		}
		if got, want := string(appendContent(nil, c)), marshalled(t, c); got != want {
			t.Fatalf("got %q\nwant %q", got, want)
		}
	})
}
