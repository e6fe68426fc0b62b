package producer

import (
	"encoding/base64"
	"reflect"
	"testing"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
)

// referenceParse is parse with the decode walking encoding/json's values
// (the slow path the decoders take for what fastjson may read differently)
// instead of fastjson's: the reference a decode on fastjson's values must
// agree with.
func referenceParse(parse func(*jdoc, []byte, *problems) (jval, bool)) func(*jdoc, []byte, *problems) (jval, bool) {
	return func(d *jdoc, body []byte, p *problems) (jval, bool) {
		if _, ok := parse(d, body, p); !ok {
			return jval{}, false
		}
		return d.again(), true
	}
}

// checkReference holds a decode (events, err) of body to the reference
// decode's: the same events, or the same refusal.
func checkReference(t *testing.T, name string, body []byte, evs []schema.InteractionEvent, err error, ref func([]byte) ([]schema.InteractionEvent, error)) {
	t.Helper()
	revs, rerr := ref(body)
	if !reflect.DeepEqual(evs, revs) || !reflect.DeepEqual(err, rerr) {
		t.Fatalf("%s: the decode differs from the reference (encoding/json's values) on\n%q\ngot  %+v, %v\nwant %+v, %v", name, body, evs, err, revs, rerr)
	}
}

// FuzzDecodeAmplitude checks the Amplitude decoder (HTTP API v2 / Batch) on
// arbitrary bodies, with an api_key bound and unbound to a tenant: never a
// panic; events xor a refusal (checkRefusal: every problem with a path); a
// repeated member name refused as one (checkDuplicateRule); accepted events
// with a type, a tenant (the bound one when bound) and a subject; the same
// events or refusal as the reference decode, on encoding/json's values
// (checkReference). amplitudeAPIKey never panics either.
//
//	go test ./services/producer -run '^$' -fuzz FuzzDecodeAmplitude -fuzztime 30s
func FuzzDecodeAmplitude(f *testing.F) {
	for _, seed := range []string{
		`{"api_key":"k","events":[{"event_type":"Issue Created","user_id":"u1","device_id":"d1","time":1735732800123,` +
			`"insert_id":"not-a-uuid","session_id":1735732000000,"language":"de-DE","ip":"203.0.113.7","user_agent":"ua/2",` +
			`"event_properties":{"tenant_id":"t1","issue":"ABC-1","points":3,"text":"mail a@example.com","jurisdiction":"DE"},` +
			`"user_properties":{"name":"Ada","email":"ada@example.com"}}]}`,
		`{"events":[{"event_type":"$identify","user_id":"u1","device_id":"d1","session_id":-1,"ip":"$remote",` +
			`"user_properties":{"$set":{"plan":"pro","tenant_id":"t1"},"$setOnce":{"a":"b"},"$add":{"logins":1}}}]}`,
		`{"events":[{"event_type":"$groupidentify","device_id":"d2","groups":{"company":"acme"},"group_properties":{"$set":{"seats":10}},"event_properties":{"tenant_id":"t1"}}]}`,
		`{"events":[{"event_type":"checkout","user_id":"u3","price":9.5,"quantity":2,"productId":"p-1","revenue":1e2,"event_properties":{"tenant_id":"t1","x":{"y":[1,null]}}}]}`,
		`{"events":[{"event_type":"[Amplitude] Page Viewed","device_id":"d\u00e9","event_properties":{"tenant_id":"t\/1","p":"\ud83d\ude00"}}],"options":{"min_id_length":1}}`,
		`{"api_key":"a","API_KEY":"b","events":[]}`, `{"events":[1,null,"x",[]]}`, `{"events":{}}`, `[]`, ``, `null`,
		`{"events":[{"event_type":"e","user_id":"u","user_id":"v","event_properties":{"tenant_id":"t"}}]}`,
		`{"events":[{"event_type":"e","user_id":12345,"time":"yesterday","session_id":"s","event_properties":{"tenant_id":"t"}}]}`,
		`{"events":[{"event_type":"e\u0301","user_id":"u\"1","event_properties":{"tenant_id":"t1","note":"tab\tnl\nq\"bs\\ \u00e9","o":{"k":"\r\f"}}}]}`,
	} {
		f.Add([]byte(seed), "")
		f.Add([]byte(seed), "t1")
	}
	f.Fuzz(func(t *testing.T, body []byte, bound string) {
		_, _, _ = amplitudeAPIKey(body)
		if bound != "" && identity.Check(bound) != nil {
			return // configuration refuses such a binding (auth.ParseWriteKeys)
		}
		cred := &auth.Credential{Name: "amp", Tenant: bound}
		evs, err := DecodeAmplitude(body, 50, cred)
		checkDuplicateRule(t, "amplitude", body, err)
		checkReference(t, "amplitude", body, evs, err, func(b []byte) (evs []schema.InteractionEvent, err error) {
			err = decodeDoc(b, referenceParse((*jdoc).parse), func(top jval, p *problems) (err error) {
				evs, err = decodeAmplitude(top, 50, cred, p)
				return err
			})
			return evs, err
		})
		if err != nil {
			checkRefusal(t, "amplitude", len(evs), err, bound != "")
			return
		}
		checkAccepted(t, "amplitude", evs, bound)
	})
}

// FuzzDecodeMixpanel checks the Mixpanel decoder (/track, /import, /engage)
// on arbitrary data, with project tokens "tok" (unbound) and "tokb" (bound to
// tenant tb): never a panic; events xor a refusal (checkRefusal: a record
// without a known token is a 401 naming its token's path); a repeated member
// name refused as one; accepted events with a type, a tenant (tb for tokb's
// records) and a subject, one credential each; the same events or refusal as
// the reference decode, on encoding/json's values (checkReference); the same
// events from the data's base64 (the form encoding the SDKs send).
// mixpanelData never panics on the data as text.
//
//	go test ./services/producer -run '^$' -fuzz FuzzDecodeMixpanel -fuzztime 30s
func FuzzDecodeMixpanel(f *testing.F) {
	for _, seed := range []string{
		`[{"event":"Issue Created","properties":{"token":"tok","distinct_id":"u1","time":1735732800.25,"$insert_id":"ins-1",` +
			`"tenant_id":"t1","issue":"ABC-1","ip":"198.51.100.4","text":"call +44 20 7946 0958","jurisdiction":"US-CA","mp_lib":"python"}},` +
			`{"event":"$mp_web_page_view","properties":{"token":"tokb","distinct_id":"$device:d1","$device_id":"d1","time":1735732800123}}]`,
		`{"event":"Logged In","properties":{"token":"tok","distinct_id":"u1","$device_id":"d1","$user_id":"u1","tenant_id":"t1"}}`,
		`[{"event":"$identify","properties":{"token":"tok","distinct_id":"u1","$identified_id":"u1","$anon_id":"d9","tenant_id":"t1"}},` +
			`{"event":"$create_alias","properties":{"token":"tokb","distinct_id":"anon-7","alias":"u7"}},` +
			`{"event":"$merge","properties":{"token":"tokb","$distinct_ids":["a","b"]}}]`,
		`[{"$token":"tok","$distinct_id":"u1","$set":{"$email":"a@b.c","tenant_id":"t1","n":1},"$ip":"1.2.3.4","$time":1735732800}]`,
		`{"$token":"tokb","$distinct_id":"u1","$unset":["x"],"$append":{"l":"v"}}`,
		`[{"event":"e","properties":{"token":"nope","distinct_id":"u"}},{"event":"e","properties":{"distinct_id":"u"}}]`,
		`[{"event":"e","properties":{"token":"tok","Token":"tokb","distinct_id":"u","tenant_id":"t"}}]`,
		`[{"event":"e\u0301","properties":{"token":"tok","distinct_id":"u\"1","tenant_id":"t1","note":"tab\tnl\nq\"bs\\ \u00e9","o":{"k":"\r\f"}}}]`,
		`[1,null,"x",[]]`, `[]`, `{}`, ``, `null`, `"data"`, `[{"event":"e","properties":[]}]`,
	} {
		f.Add([]byte(seed))
	}
	creds := map[string]*auth.Credential{"tok": {Name: "mp"}, "tokb": {Name: "mpb", Tenant: "tb"}}
	lookup := func(tok string) *auth.Credential { return creds[tok] }
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = mixpanelData(string(data))
		for _, kind := range []string{"track", "import", "engage"} {
			decode := func(b []byte) ([]schema.InteractionEvent, error) {
				evs, cs, err := DecodeMixpanel(kind, b, 50, lookup)
				if err == nil && len(cs) != len(evs) {
					t.Fatalf("%s: %d events, %d credentials", kind, len(evs), len(cs))
				}
				for i, c := range cs {
					if c == nil || c.Tenant != "" && evs[i].TenantID != c.Tenant {
						t.Fatalf("%s: event %d of tenant %q under credential %+v", kind, i, evs[i].TenantID, c)
					}
				}
				return evs, err
			}
			evs, err := decode(data)
			checkDuplicateRule(t, kind, data, err)
			checkReference(t, kind, data, evs, err, func(b []byte) (evs []schema.InteractionEvent, err error) {
				err = decodeDoc(b, referenceParse((*jdoc).parseValue), func(top jval, p *problems) (err error) {
					evs, _, err = decodeMixpanel(kind, top, 50, lookup, p)
					return err
				})
				return evs, err
			})
			if err != nil {
				checkRefusal(t, kind, len(evs), err, true) // tokb is bound to tb
				continue
			}
			checkAccepted(t, kind, evs, "")
			b64, err := mixpanelData(base64.StdEncoding.EncodeToString(data))
			if err != nil {
				t.Fatalf("%s: accepted data refused as base64: %v\n%q", kind, err, data)
			}
			if again, err := decode(b64); err != nil || !reflect.DeepEqual(evs, again) {
				t.Fatalf("%s: as base64, the events differ (%v):\n%q\nfirst: %+v\nagain: %+v", kind, err, data, evs, again)
			}
		}
	})
}
