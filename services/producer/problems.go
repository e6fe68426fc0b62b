package producer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/consentflow/consentflow/pkg/refusals"
)

// Problem is one reason a request was rejected, located by a path into the
// request body such as events[3].user_id.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// String renders "path: message".
func (p Problem) String() string { return p.Path + ": " + p.Message }

// ValidationError lists every problem of a rejected request (400).
type ValidationError struct {
	Problems []Problem
}

// Error joins the problems (bounded, as summary).
func (e *ValidationError) Error() string {
	return "invalid request: " + summary(e.Problems)
}

// ForbiddenError lists the events a credential may not ingest (403): events
// of another tenant than the one it is bound to.
type ForbiddenError struct {
	Problems []Problem
}

// Error joins the problems (bounded, as summary).
func (e *ForbiddenError) Error() string {
	return "forbidden: " + summary(e.Problems)
}

// TooManyEventsError is returned for a request over the per-request event limit (413).
type TooManyEventsError struct {
	Count, Max int
}

// Error names the count and the limit.
func (e *TooManyEventsError) Error() string {
	return fmt.Sprintf("request holds %d events, the limit is %d", e.Count, e.Max)
}

// A refusal's answer lists at most refusals.MaxListed problems, each path
// and message cut to refusals.MaxText bytes, and says how many more there
// were ("more_problems": n, and the message ends "and n more").

// listed returns the problems an answer shows (at most refusals.MaxListed,
// cut) and how many it leaves out.
func listed(ps []Problem) (shown []Problem, more int) {
	n := min(len(ps), refusals.MaxListed)
	shown = make([]Problem, n)
	for i := range n {
		shown[i] = Problem{Path: refusals.Cut(ps[i].Path), Message: refusals.Cut(ps[i].Message)}
	}
	return shown, len(ps) - n
}

// summary joins the problems an answer shows into one message, with "and n
// more" for those it leaves out (at most refusals.MaxListed, and ~1000 bytes).
func summary(ps []Problem) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString("; ")
		}
		if i == refusals.MaxListed || b.Len() > 1000 {
			fmt.Fprintf(&b, "and %d more", len(ps)-i)
			break
		}
		b.WriteString(refusals.Cut(p.Path) + ": " + refusals.Cut(p.Message))
	}
	return b.String()
}

// refusal is the answer's body for problems ps: {"error": kind, "code": kind,
// "message": summary, "problems": the first of them, "more_problems": n when
// some are left out}.
func refusal(kind string, ps []Problem) map[string]any {
	shown, more := listed(ps)
	body := map[string]any{"error": kind, "code": kind, "message": summary(ps), "problems": shown}
	if more > 0 {
		body["more_problems"] = more
	}
	return body
}

// problems collects Problems under a path prefix: invalid input (400) and
// what the credential may not do (403).
type problems struct {
	list      []Problem
	forbidden []Problem
}

// forbid records that the credential may not do what the member asks.
func (p *problems) forbid(at loc, format string, args ...any) {
	p.forbidden = append(p.forbidden, Problem{Path: at.String(), Message: fmt.Sprintf(format, args...)})
}

func (p *problems) add(path, format string, args ...any) {
	if path == "" {
		path = "body"
	}
	p.list = append(p.list, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// addAt adds a problem at a member's path.
func (p *problems) addAt(at loc, format string, args ...any) {
	p.add(at.String(), format, args...)
}

// loc is the path of a member, joined only when a problem is reported there.
type loc struct {
	parent, name string
}

func (l loc) String() string {
	if l.name == "" { // the object at parent itself
		return l.parent
	}
	return join(l.parent, l.name)
}

// err is a *ForbiddenError when the credential may not send the request
// (authorization is answered first), else a *ValidationError when it is
// invalid, else nil.
func (p *problems) err() error {
	if len(p.forbidden) > 0 {
		return &ForbiddenError{Problems: p.forbidden}
	}
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: p.list}
}

// join appends a field name to a path: a plain name with a dot, anything else
// quoted in brackets (properties["a.b"]).
func join(prefix, name string) string {
	if !isIdent(name) {
		name = "[" + strconv.Quote(name) + "]"
		return prefix + name
	}
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func index(prefix string, i int) string { return prefix + "[" + strconv.Itoa(i) + "]" }

func isIdent(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
