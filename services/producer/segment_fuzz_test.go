package producer

import (
	"testing"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/identity"
)

// FuzzDecodeSegment checks the Segment decoder for every call type on arbitrary
// bodies, with a write key bound and unbound to a tenant: never a panic,
// events xor an error, every problem with a path and a message, every event
// with a type, a tenant (the bound one when bound) and a subject; an event of
// another tenant under a bound key is forbidden (403), never accepted; a repeated
// member name anywhere is refused (checkDuplicateRule). SegmentWriteKeyFromBody (the write
// key some SDKs send in the body) never panics either.
//
//	go test ./services/producer -run '^$' -fuzz FuzzDecodeSegment -fuzztime 30s
func FuzzDecodeSegment(f *testing.F) {
	for _, seed := range []string{
		`{"userId":"u1","event":"Issue Created","properties":{"tenant_id":"t1","n":1},"context":{"ip":"1.2.3.4","groupId":"t1"}}`,
		`{"anonymousId":"a1","name":"Home","context":{"groupId":"t1","page":{"url":"https://x"}},"timestamp":"2025-01-01T00:00:00Z"}`,
		`{"batch":[{"type":"track","event":"e","userId":"u","context":{"groupId":"g"}},{"type":"identify","userId":"u","traits":{"email":"a@b.c"}},{"type":"alias","previousId":"a","userId":"u"}],"context":{"groupId":"g"},"writeKey":"wk"}`,
		`{"batch":[{"type":"nope"},null,1,"x",{"type":"page","anonymousId":""}]}`,
		`{"type":"group","groupId":"t1","userId":"u1","traits":{"name":"Acme"},"sentAt":1700000000000}`,
		`{"userId":{"a":1},"event":["x"],"context":{"consent":{"categoryPreferences":{"ai":false}}}}`,
		``, `null`, `[]`, `{"batch":{}}`,
		`{"batch":[{"type":"track","event":"e","userId":"u","context":{"groupId":"g","groupId":"h"}}]}`,
		`{"event":"e","userId":"u","context":{"groupId":"g","location":{"city":"a","c\u0069ty":"b"}}}`,
	} {
		f.Add([]byte(seed), "")
		f.Add([]byte(seed), "tenant-1")
	}
	kinds := []string{"track", "page", "screen", "identify", "group", "alias", "batch"}
	f.Fuzz(func(t *testing.T, body []byte, bound string) {
		_, _ = SegmentWriteKeyFromBody(body)
		if bound != "" && identity.Check(bound) != nil {
			return // configuration refuses such a binding (auth.ParseWriteKeys)
		}
		cred := &auth.Credential{Name: "wk", Tenant: bound}
		for _, kind := range kinds {
			evs, err := DecodeSegment(kind, body, 50, cred)
			checkDuplicateRule(t, kind, body, err)
			if err != nil {
				checkRefusal(t, kind, len(evs), err, bound != "")
				continue
			}
			checkAccepted(t, kind, evs, bound)
		}
	})
}
