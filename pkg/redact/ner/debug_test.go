package ner

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestDebugTag(t *testing.T) {
	txt := os.Getenv("NER_DEBUG")
	if txt == "" {
		t.Skip()
	}
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(txt, "|") {
		ts := Tokenize(line, nil)
		tags := make([]uint8, len(ts))
		var s Scratch
		m.Decode(ts, tags, &s)
		var b strings.Builder
		for i, tk := range ts {
			fmt.Fprintf(&b, "%s/%s/%x/v%d ", line[tk.S:tk.E], TagNames[tags[i]], tk.Flags, tk.Vocab)
		}
		t.Log(b.String())
	}
}
