package producer

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/strictjson"
)

// FuzzDecodeEvents checks the request decoders on arbitrary bodies: they never
// panic, they return events xor an error, every problem has a path and a message,
// every decoded event has a type, a tenant and a subject, and a body that
// repeats a member name is never accepted (checkDuplicateRule).
//
//	go test ./services/producer -run '^$' -fuzz FuzzDecodeEvents -fuzztime 30s
func FuzzDecodeEvents(f *testing.F) {
	for _, seed := range []string{
		validEvent,
		`{"events":[` + validEvent + `,{"event_id":"6f1c2a1e-9b7d-4e0a-8c3b-2d5e6f708192","event_type":"a","tenant_id":"t","anonymous_id":"x","properties":{"k":"v","n":1.5}}]}`,
		`{"events":[{"ip":"::1","occurred_at":1700000000000,"jurisdiction":"US-CA","gpc":true,"client_consent":{"a":[1]}}]}`,
		`{"batch":[{"type":"track","event":"e","userId":"u","context":{"groupId":"g","ip":"1.2.3.4"}}]}`,
		`{"events":[1,null,"x",[]]}`, `{"a.b":{"c":[]}}`, `null`, ``, `{"events":[{"properties":{"":1}}]}`,
		`{"event_type":"a","tenant_id":"t","user_id":"u","user_id":"v"}`, `{"events":[{"client_consent":{"a":[{"b":1,"\u0062":2}]}}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		type decoder func([]byte) ([]schema.InteractionEvent, error)
		for name, decode := range map[string]decoder{
			"events": func(b []byte) ([]schema.InteractionEvent, error) { return DecodeEvents(b, 50) },
			"batch":  func(b []byte) ([]schema.InteractionEvent, error) { return DecodeSegment("batch", b, 50, nil) },
			"track":  func(b []byte) ([]schema.InteractionEvent, error) { return DecodeSegment("track", b, 50, boundTB) },
		} {
			evs, err := decode(body)
			checkDuplicateRule(t, name, body, err)
			bound := ""
			if name == "track" { // only the "track" decoder has a credential bound to a tenant
				bound = boundTB.Tenant
			}
			if err != nil {
				checkRefusal(t, name, len(evs), err, bound != "")
				continue
			}
			checkAccepted(t, name, evs, bound)
		}
	})
}

// checkRefusal holds a decoder's refusal err to the rule for outside input:
// no events beside it, and either too many events (413) or problems (400,
// 401, or 403 only when the credential is bound to a tenant) each with a path
// and a message.
func checkRefusal(t *testing.T, name string, n int, err error, mayForbid bool) {
	t.Helper()
	if n != 0 {
		t.Fatalf("%s: %d events with error %v", name, n, err)
	}
	var tooMany *TooManyEventsError
	if errors.As(err, &tooMany) {
		return
	}
	var list []Problem
	var invalid *ValidationError
	var forbidden *ForbiddenError
	var unknown *mixpanelUnauthorized
	switch {
	case errors.As(err, &invalid):
		list = invalid.Problems
	case errors.As(err, &unknown):
		list = unknown.Problems
	case errors.As(err, &forbidden):
		if !mayForbid {
			t.Fatalf("%s: forbidden without a bound credential: %v", name, err)
		}
		list = forbidden.Problems
	}
	if len(list) == 0 {
		t.Fatalf("%s: error without problems: %v", name, err)
	}
	for _, p := range list {
		if p.Path == "" || p.Message == "" {
			t.Fatalf("%s: problem without path or message: %+v", name, p)
		}
	}
}

// checkAccepted holds accepted events to what every ingest surface promises:
// at least one, each with a type, a tenant (the bound one when the
// credential is bound) and a subject.
func checkAccepted(t *testing.T, name string, evs []schema.InteractionEvent, bound string) {
	t.Helper()
	if len(evs) == 0 {
		t.Fatalf("%s: no events and no error", name)
	}
	for i, ev := range evs {
		if blank(ev.EventType) || blank(ev.TenantID) || blank(ev.Subject()) {
			t.Fatalf("%s: event %d accepted without type, tenant or subject: %+v", name, i, ev)
		}
		if bound != "" && ev.TenantID != bound {
			t.Fatalf("%s: credential bound to %q, event %d of tenant %q", name, bound, i, ev.TenantID)
		}
	}
}

var boundTB = &auth.Credential{Name: "tb", Tenant: "tb"}

// checkDuplicateRule holds a decoder's answer err for body to the rule on
// repeated member names, as the consent API's reader (pkg/strictjson, Go's
// encoding/json/v2, which refuses a repeated name anywhere in a value) finds
// them: a body with one is refused with a "duplicate member" problem (or a
// problem with the body as a whole: not an object, data after the value); a
// body that reader takes whole has no such problem. Bodies it refuses for
// another reason (invalid UTF-8, which the producer decodes as U+FFFD; data
// after the value) tell nothing.
func checkDuplicateRule(t *testing.T, name string, body []byte, err error) {
	t.Helper()
	var v any
	serr := strictjson.Decode(bytes.NewReader(body), &v)
	var se *strictjson.Error
	repeated := errors.As(serr, &se) && strings.Contains(se.Reason, "duplicate")
	if serr != nil && !repeated {
		return
	}
	var invalid *ValidationError
	var dup, whole bool
	if errors.As(err, &invalid) {
		for _, p := range invalid.Problems {
			dup = dup || p.Message == msgDuplicate
			whole = whole || p.Path == "body"
		}
	}
	if repeated && !dup && !whole {
		t.Fatalf("%s: a repeated member name (%v) not refused as one: %v\n%q", name, serr, err, body)
	}
	if !repeated && dup {
		t.Fatalf("%s: a duplicate member reported in a body without one: %v\n%q", name, err, body)
	}
}
