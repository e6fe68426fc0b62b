package redact

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// StreamInput is one line of `consentflow redact` input.
type StreamInput struct {
	Text  string `json:"text"`
	Actor *Actor `json:"actor,omitempty"`
}

// RedactStream reads JSON lines {"text": ..., "actor": {...}} from in and
// writes one JSON line {"text": ..., "spans": [...]} per input line to out.
// Blank lines are skipped; a malformed line is an error naming its number.
func (r *Redactor) RedactStream(in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64*1024), 64*1024*1024)
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 || isBlank(b) {
			continue
		}
		var in StreamInput
		if err := json.Unmarshal(b, &in); err != nil {
			w.Flush()
			return fmt.Errorf("line %d: %w", line, err)
		}
		res := r.Redact(in.Text, in.Actor)
		if res.Spans == nil {
			res.Spans = []Span{}
		}
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		w.Flush()
		return err
	}
	return w.Flush()
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
