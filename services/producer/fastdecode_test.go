package producer

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/consentflow/consentflow/pkg/auth"
)

// The fast path must agree with the full decoder: same events for every body
// it takes, and every answer of DecodeEventsFor (events or error) the full
// decoder's. These credentials cover what binding changes.
var diffCreds = []*auth.Credential{
	nil,
	boundTB,
	{Name: "web", Tenant: "t1", Browser: true, Jurisdiction: "FR"},
}

// agree checks one body under every credential and reports whether the fast
// path took it (under the unbound credential).
func agree(t testing.TB, body []byte, maxEvents int) bool {
	t.Helper()
	took := false
	for ci, cred := range diffCreds {
		full, fullErr := decodeEventsFull(body, maxEvents, cred)
		fast, ok := decodeEventsFast(body, maxEvents, cred)
		if ok {
			if fullErr != nil {
				t.Fatalf("cred %d: fast path accepted a body the full decoder refuses (%v):\n%q", ci, fullErr, body)
			}
			if !reflect.DeepEqual(fast, full) {
				t.Fatalf("cred %d: fast and full decoders differ on\n%q\nfast: %+v\nfull: %+v", ci, body, fast, full)
			}
			took = took || ci == 0
		}
		got, err := DecodeEventsFor(body, maxEvents, cred)
		if !reflect.DeepEqual(got, full) || !reflect.DeepEqual(err, fullErr) {
			t.Fatalf("cred %d: DecodeEventsFor differs from the full decoder on\n%q\ngot %+v, %v\nwant %+v, %v", ci, body, got, err, full, fullErr)
		}
	}
	return took
}

// FuzzDecodeEventsFastAgrees is the differential fuzz of the fast path
// against the full decoder.
//
//	go test ./services/producer -run '^$' -fuzz FuzzDecodeEventsFastAgrees -fuzztime 60s
func FuzzDecodeEventsFastAgrees(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 7))
	for range 40 {
		f.Add([]byte(genBody(rng)))
	}
	f.Add([]byte(validEvent))
	f.Add([]byte(batchBody("f", 3)))
	f.Fuzz(func(t *testing.T, body []byte) { agree(t, body, 4) })
}

// TestFastDecodeAgreesOnGeneratedBodies runs the differential check over
// bodies built from valid and hostile parts (escapes, surrogates, invalid
// UTF-8, duplicates, nulls, numbers, nesting, unknown and server-set fields,
// limits), and checks the fast path takes most valid ones (else it would be
// agreeing by never answering).
func TestFastDecodeAgreesOnGeneratedBodies(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n, valid, fast := 4000, 0, 0
	if testing.Short() {
		n = 1000
	}
	for range n {
		body := []byte(genBody(rng))
		took := agree(t, body, 4)
		if took {
			fast++
		}
		if _, err := decodeEventsFull(body, 4, nil); err == nil {
			valid++
			if !took && valid-fast < 3 {
				t.Logf("valid, full decoder: %s", body)
			}
		}
	}
	t.Logf("%d bodies, %d valid, %d taken by the fast path", n, valid, fast)
	if valid < n/8 || fast < valid*8/10 {
		t.Fatalf("generator too hostile or fast path too timid: %d bodies, %d valid, %d fast", n, valid, fast)
	}
}

// TestFastDecodeTakesTheBenchmarkBodies pins that ordinary batches (the
// ingest benchmark's and loadgen-like ones) go through the fast path.
func TestFastDecodeTakesTheBenchmarkBodies(t *testing.T) {
	for _, body := range []string{validEvent, batchBody("b", 1), batchBody("b", 50),
		`{"events":[{"event_type":"page_viewed","tenant_id":"t","anonymous_id":"a","occurred_at":"2024-05-01T12:00:00.123Z","ip":"10.0.0.1","gpc":false,` +
			`"text":"a \u003cb\u003e \"quoted\" line\nnext \ud83d\ude00","properties":{"n":1.5e3,"b":true,"z":null},"client_consent":{"a": [1, {"b" : null}]}}]}`,
	} {
		if !agree(t, []byte(body), 500) {
			t.Fatalf("fast path refused an ordinary body: %s", body)
		}
	}
}

func TestJurisdictionShape(t *testing.T) {
	pattern := regexp.MustCompile(`^[A-Za-z]{2}(-[A-Za-z0-9]{1,3})?$`) // the rule as documented
	cases := []string{"", "D", "DE", "de", "DE-", "US-CA", "US-1", "US-ABC", "US-ABCD", "U1", "1U", "DE_BY", "DEU", "DE-B_", "DE-@", "@@", "[[", "``", "{{",
		"DE-\xc3\xa9", "\xc3\xa9\xc3\xa9", "DE-by", "DE--", "D-E", "DE-1-"}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := "aZz@[`{09-_é/"
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(7) {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		cases = append(cases, b.String())
	}
	for _, s := range cases {
		if got, want := jurisdictionShaped(s), pattern.MatchString(s); got != want {
			t.Fatalf("jurisdictionShaped(%q) = %v, the pattern says %v", s, got, want)
		}
	}
}

// genBody builds a random request body: mostly well-formed events, each part
// drawn from valid values and hostile ones.
func genBody(rng *rand.Rand) string {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	ws := func() string {
		if rng.IntN(5) == 0 {
			return pick(" ", "\n\t", "\r\n  ")
		}
		return ""
	}
	strVal := func() string {
		return pick(`"plain text"`, `"caf\u00e9 \"q\" \\ \/ \b\f\n\r\t"`, `"\ud83d\ude00 pair"`, `"\ud83d lone high"`,
			`"\ude00 lone low"`, `"\ud83d\u0041 mispaired"`, "\"raw \xff invalid\"", "\"tab\tin string\"", `"\x"`, `"\u12"`,
			`"é ü 中文"`, `""`, `"   "`, `"`+strings.Repeat("a", 256)+`"`, `"`+strings.Repeat("a", 257)+`"`,
			`"`+strings.Repeat("a", 255)+`\u00e9"`, `"x`, `"\u0000"`, `"\u2028"`, `"a\u0000b"`, "\"a\x1fb\"", "\"a\x7fb\"")
	}
	idVal := func() string {
		return pick(`"u1"`, `"user-42"`, `"t1"`, `"tb"`, `"é"`, `"."`, `"/"`, `" "`, `"a\u0007b"`, `"a\u200bb"`, `"\ufdd0"`, `""`, `null`, `5`, strVal())
	}
	num := func() string {
		return pick(`0`, `-1`, `1700000000000`, `1.5`, `1e3`, `-0`, `01`, `1.`, `.5`, `1e`, `99999999999999999999`, `253402300800000`, `-62135596800001`)
	}
	value := func(field string) string {
		switch field {
		case "event_id":
			return pick(`"6f1c2a1e-9b7d-4e0a-8c3b-2d5e6f708192"`, `"6F1C2A1E-9B7D-4E0A-8C3B-2D5E6F708192"`, `"{6f1c2a1e-9b7d-4e0a-8c3b-2d5e6f708192}"`,
				`"urn:uuid:6f1c2a1e-9b7d-4e0a-8c3b-2d5e6f708192"`, `"00000000-0000-0000-0000-000000000000"`, `"nope"`, `null`, `1`)
		case "event_type":
			return pick(`"comment_added"`, `"Signed Up!"`, `"Q&A Opened"`, `"a\nb"`, `"  "`, `null`, `1`, `"x"`, strVal())
		case "tenant_id", "user_id", "anonymous_id", "session_id":
			return idVal()
		case "occurred_at":
			return pick(`"2024-05-01T12:00:00Z"`, `"2024-05-01T12:00:00.123456789+02:00"`, `"1969-12-31T23:59:59Z"`, `"yesterday"`, `null`, `true`, `{}`, `01`, `-01`, `1.`, `-`, `1e+`, num())
		case "jurisdiction":
			return pick(`"DE"`, `"us-ca"`, `"US-CA1"`, `"DEU"`, `"D"`, `null`, `""`, strVal())
		case "gpc":
			return pick(`true`, `false`, `null`, `"true"`, `1`, `tru`)
		case "ip":
			return pick(`"10.0.0.1"`, `"::1"`, `"::ffff:1.2.3.4"`, `"fe80::1%eth0"`, `"999.1.1.1"`, `"01.2.3.4"`, `null`, strVal())
		case "locale":
			return pick(`"en-US"`, `"de"`, `"en_US"`, `"x"`, `"a b"`, `null`, strVal())
		case "location":
			return pick(`"DE"`, `"DE/Berlin"`, `"US/CA/San Francisco"`, `"Berlin, Germany"`, `null`, strVal())
		case "properties":
			var b strings.Builder
			b.WriteString("{" + ws())
			for i := range rng.IntN(5) {
				if i > 0 {
					b.WriteString("," + ws())
				}
				k := pick(`"a"`, `"b"`, `"a"`, `""`, `"a.b"`, `"\u0061"`, `"`+strings.Repeat("k", 129)+`"`, "\"\xfe\"", `"é"`)
				v := pick(strVal(), num(), `true`, `false`, `null`, `{}`, `[1]`, `"`+strings.Repeat("v", 4097)+`"`)
				b.WriteString(k + ws() + ":" + ws() + v)
			}
			b.WriteString(ws() + "}")
			return pick(b.String(), b.String(), `null`, `[]`, `"x"`, `{"n":1.}`, `{"n":01}`, `{"n":1e}`, `{"n":-}`, `{"n":1.5E+3}`)
		case "client_consent":
			return pick(`{"ai_training":true}`, `{ "a" : [ 1 , 2.5e-3 , "x\"y" , null , { } ] }`, `[]`, `"granted"`, `null`, `true`, `-0.5`,
				strings.Repeat("[", 250)+strings.Repeat("]", 250), `{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `[{"x":{"a":1,"b":2,"a":3}}]`,
				`{"a":}`, `[1,]`, "[\"\xff\"]", "{\"\xff\":1,\"\xfe\":2}",
				`"`+strings.Repeat("c", 8191)+`"`)
		case "received_at", "source", "userId", "events", "text\u0000":
			return pick(`"x"`, `null`, `[]`)
		}
		return strVal()
	}
	// Valid values, escapes and odd-but-valid forms included.
	clean := map[string][]string{
		"event_id":       {`"6f1c2a1e-9b7d-4e0a-8c3b-2d5e6f708192"`, `"6F1C2A1E-9B7D-4E0A-8C3B-2D5E6F708192"`, `null`},
		"event_type":     {`"comment_added"`, `"Signed Up!"`, `"Q\u0026A Opened"`},
		"tenant_id":      {`"t1"`},
		"user_id":        {`"u1"`, `"caf\u00e9"`, `"\ud83d\ude00"`, `null`},
		"anonymous_id":   {`"a1"`, `"a\/b"`, `null`},
		"session_id":     {`"s1"`, `null`, `"é"`},
		"occurred_at":    {`"2024-05-01T12:00:00Z"`, `1700000000000`, `-0`, `null`},
		"jurisdiction":   {`"DE"`, `"us-ca"`, `null`},
		"gpc":            {`true`, `false`, `null`},
		"ip":             {`"10.0.0.1"`, `"::FFFF:1.2.3.4"`, `null`},
		"user_agent":     {`"Mozilla/5.0 (X11)"`, `null`},
		"locale":         {`"en-US"`, `"de"`},
		"location":       {`"DE/Berlin"`, `"US"`},
		"text":           {`"caf\u00e9 \"q\" \\ \/ \b\f\n\r\t"`, `"\ud83d\ude00 pair"`, `"\ud83d lone high"`, `"\ude00 low"`, `"é ü 中文"`, `""`, `"\u2028"`},
		"properties":     {`{"a":"1","b":2.5,"c":true,"d":null}`, `{ }`, `{"z":null}`, `null`, `{"a.b":"x\ny"}`},
		"actor_name":     {`"Ann Lee"`},
		"actor_email":    {`"a@example.com"`},
		"actor_handle":   {`"@ann"`},
		"client_consent": {`{"ai_training":true}`, `{ "a" : [ 1 , 2.5e-3 , "x\"y" , null , { } ] }`, `[]`, `"granted"`, `-0.5`, `{"b":{"a":1},"a":{"b":2}}`},
	}
	fields := []string{"event_id", "event_type", "tenant_id", "user_id", "anonymous_id", "session_id", "occurred_at",
		"jurisdiction", "gpc", "ip", "user_agent", "locale", "location", "text", "properties", "actor_name", "actor_email",
		"actor_handle", "client_consent"}
	event := func() string {
		if rng.IntN(40) == 0 {
			return pick(`{}`, `[]`, `null`, `"e"`, `1`)
		}
		if rng.IntN(2) == 0 { // a valid event
			parts := []string{`"event_type":"comment_added"`, `"tenant_id":"t1"`, `"user_id":"u1"`}
			for _, f := range rng.Perm(len(fields))[:rng.IntN(8)] { // distinct: a duplicate goes the full way
				f := fields[f]
				if f == "event_type" || f == "tenant_id" || f == "user_id" {
					continue
				}
				v := pick(clean[f]...)
				if rng.IntN(8) == 0 { // one hostile value in a valid event
					v = value(f)
				}
				parts = append(parts, fmt.Sprintf("%q:%s", f, v))
			}
			if rng.IntN(4) == 0 { // a repeated member: a 400 (duplicates.go)
				f := fields[rng.IntN(len(fields))]
				parts = append(parts, fmt.Sprintf("%q:%s", f, pick(clean[f]...)))
			}
			return "{" + ws() + strings.Join(parts, ws()+","+ws()) + ws() + "}"
		}
		parts := []string{`"event_type":` + value("event_type"), `"tenant_id":` + pick(`"t1"`, `"tb"`, idVal()),
			`"user_id":` + pick(`"u1"`, idVal())}
		if rng.IntN(3) == 0 { // keep most events valid
			parts = []string{`"event_type":"comment_added"`, `"tenant_id":"t1"`, `"user_id":"u1"`}
		}
		if rng.IntN(10) == 0 {
			parts = parts[:rng.IntN(3)]
		}
		for range rng.IntN(6) {
			f := fields[rng.IntN(len(fields))]
			if rng.IntN(30) == 0 {
				f = pick("received_at", "source", "userId", "events", `user\u005fid`, "text\u0000")
			}
			parts = append(parts, fmt.Sprintf("%q:%s", f, value(f)))
			if strings.HasPrefix(f, `user\u`) {
				parts[len(parts)-1] = `"user\u005fid":"u2"`
			}
		}
		rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		var b strings.Builder
		b.WriteString("{" + ws())
		for i, p := range parts {
			if i > 0 {
				b.WriteString(ws() + "," + ws())
			}
			b.WriteString(strings.Replace(p, ":", ws()+":"+ws(), 1))
		}
		b.WriteString(ws() + "}")
		return b.String()
	}
	var body string
	switch rng.IntN(10) {
	case 0, 1:
		body = event()
	default:
		evs := make([]string, rng.IntN(6)) // the tests allow 4
		for i := range evs {
			evs[i] = event()
		}
		body = `{"events":` + ws() + "[" + strings.Join(evs, ","+ws()) + "]" + ws() + pick("", "", "", `,"z":1`, `,"events":[]`) + "}"
	}
	switch rng.IntN(25) {
	case 0:
		body += pick(" x", "]", "}", " \n", "{}", "\x00")
	case 1:
		body = body[:rng.IntN(len(body)+1)]
	case 2:
		body = " \t" + body
	}
	return body
}
