//go:build linux

package e2e

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/consentflow/consentflow/pkg/loadgen"
)

// Kept-field probe of the run: other people's identifiers placed where a
// curated event keeps something (event type, allowlisted properties with JSON
// escapes, a URL in the text with a token and a percent-encoded email), for a
// user of a tenant of its own in an opt-out jurisdiction (allowed: it reaches
// events.curated and the snapshot). The leak scan looks for these values in
// plain, JSON-escaped and percent-encoded forms; the producer must refuse the
// forms no kept field may hold.
const (
	keptTenant = "probe-kept"
	keptUser   = "probe-kept-user"
)

// keptOthers are the other people's identifiers the probe plants.
var keptOthers = []string{"Bob Jones", "bob.jones@example.org", "Jürgen Müller", "Anaïs Lefèvre", "Jane Doe", "+49 30 901820"}

func (r *run) keptProbes(ctx context.Context) ([]any, error) {
	producer := "http://" + r.ports["producer"]
	// Refused at the door: an email in the event type, a name and a phone
	// number in the locale.
	for field, body := range map[string]string{
		"event_type": `{"event_type":"Invited bob.jones@example.org as admin","tenant_id":"` + keptTenant + `","user_id":"` + keptUser + `","jurisdiction":"US"}`,
		"locale":     `{"event_type":"page_viewed","locale":"de-DE; Jane Doe +49 30 901820","tenant_id":"` + keptTenant + `","user_id":"` + keptUser + `","jurisdiction":"US"}`,
	} {
		code, out, err := r.request(ctx, "POST", producer+"/v1/events", r.token, "application/json", body)
		if err != nil {
			return nil, err
		}
		if code != 400 || fmt.Sprint(out) == "" {
			return nil, fmt.Errorf("kept-field probe: %s with other people's data: %d %v, want 400", field, code, out)
		}
		r.logln("kept-field probe: %s with other people's data refused: %d", field, code)
	}
	// Accepted: the shapes are valid, the contents are other people's. The
	// property is an object serialized by a Python backend (every non-ASCII
	// letter \u-escaped), sent as a string: the native API takes scalars.
	id := uuid.NewString()
	body := `{"event_id":"` + id + `","event_type":"Invited Bob Jones as admin","tenant_id":"` + keptTenant + `","user_id":"` + keptUser + `",` +
		`"jurisdiction":"US","locale":"de-DE","location":"Germany/Berlin",` +
		`"text":"Reset link https://app.example.com/u/bob.jones/reset?name=Bob+Jones&token=abcd1234efgh5678ijkl sent, cc bob.jones%40example.org and J%C3%BCrgen M%C3%BCller",` +
		`"properties":{"feature":"{\"author\":\"J\\u00fcrgen M\\u00fcller\",\"contact\":\"bob.jones%40example.org\",\"note\":\"ask Ana\\u00efs Lef\\u00e8vre\"}",` +
		`"scope":"Jane Doe +49 30 901820"}}`
	sent := time.Now()
	code, out, err := r.request(ctx, "POST", producer+"/v1/events", r.token, "application/json", body)
	if err != nil {
		return nil, err
	}
	if code != 202 {
		return nil, fmt.Errorf("kept-field probe: event: %d %v", code, out)
	}
	ev := loadgen.EventTruth{Kind: "event", Seq: probeSeq + 10, EventID: id, EventType: "Invited Bob Jones as admin", UserID: keptUser, TenantID: keptTenant,
		Jurisdiction: "US", SentAt: sent, AckedAt: time.Now(), Attempts: 1, HTTPStatus: code, Accepted: true, PII: []loadgen.PII{}}
	if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(out["received_at"])); err == nil {
		ev.ReceivedAt = &at
	}
	r.logln("kept-field probe: event %s accepted", id)
	return []any{ev}, nil
}
