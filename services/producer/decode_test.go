package producer

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDecodeEventsJSONEdges pins what the one-pass decoder keeps of the previous
// encoding/json-based one, and where it departs from it: duplicate names (a
// 400, where encoding/json keeps the last), escaped names,
// encoding/json's wording of syntax errors and its nesting limit, what counts as
// trailing data, and limits measured on the decoded string.
func TestDecodeEventsJSONEdges(t *testing.T) {
	const ev = `"event_type":"x","tenant_id":"t"`
	accepted := map[string]string{ // body: user_id
		`{` + ev + `,"user\u005fid":"u"}`:                                 "u",
		`{` + ev + `,"user_id":"u"}]`:                                     "u", // as json.Decoder's More and Token
		" \n{" + ev + `,"user_id":"u"}` + "\t\r\n":                        "u",
		`{` + ev + `,"user_id":"` + strings.Repeat("a", 254) + `\u00e9"}`: strings.Repeat("a", 254) + "é",
		`{` + ev + `,"user_id":"u","client_consent":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`: "",
	}
	for body, user := range accepted {
		evs, err := DecodeEvents([]byte(body), 5)
		if user == "" {
			var invalid *ValidationError
			require.ErrorAs(t, err, &invalid, "depth 10000 is valid JSON")
			assert.Equal(t, []Problem{{"client_consent", "longer than 8192 bytes"}}, invalid.Problems)
			continue
		}
		require.NoError(t, err, body)
		require.Len(t, evs, 1)
		assert.Equal(t, user, evs[0].UserID, body)
	}

	rejected := map[string][]string{
		`{` + ev + `,"user_id":"u"} x`: {"body: trailing data after the JSON value"},
		`{`:                            {"body: invalid JSON: unexpected EOF"},
		``:                             {"body: invalid JSON: EOF"},
		`{"a":1,}`:                     {"body: invalid JSON: invalid character '}' looking for beginning of object key string"},
		"{\"a\":\"\x01\"}":             {`body: invalid JSON: invalid character '\x01' in string literal`},
		`{` + ev + `,"user_id":"u","client_consent":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`: {
			"body: invalid JSON: invalid character '[' exceeded max depth"},
		// Invalid UTF-8 decodes to U+FFFD (3 bytes), so 254+1 bytes of text are 257 decoded.
		`{` + ev + `,"user_id":"` + strings.Repeat("a", 254) + "\xff" + `"}`: {
			"user_id: longer than 256 bytes", "user_id: required (or anonymous_id for anonymous traffic)"},
		// A repeated name is refused, and alone: the other problems would
		// be those of one reading of an ambiguous body.
		`{` + ev + `,"user_id":5,"user_id":"u"}`:                     {"user_id: duplicate member"},
		`{"events":[{` + ev + `,"user_id":"u"}],"z":1,"events":"x"}`: {"events: duplicate member"},
		`{"events":[{` + ev + `,"user_id":"u"}],"z":1}`:              {`z: unknown field (a batch holds only "events")`},
	}
	for body, want := range rejected {
		_, err := DecodeEvents([]byte(body), 5)
		var invalid *ValidationError
		require.ErrorAs(t, err, &invalid, body)
		got := make([]string, len(invalid.Problems))
		for i, p := range invalid.Problems {
			got[i] = p.String()
		}
		short := body
		if len(short) > 80 {
			short = short[:80]
		}
		assert.Equal(t, want, got, short)
	}

	_, err := DecodeEvents([]byte(`{"events":[1,2,3,4,5,6],"z":1}`), 5)
	var tooMany *TooManyEventsError
	require.True(t, errors.As(err, &tooMany), "413 before the other problems")
	assert.Equal(t, TooManyEventsError{Count: 6, Max: 5}, *tooMany)
}

// TestDecodeEventsFastjsonFallbacks pins the bodies fastjson alone would decode
// differently from encoding/json, and which are therefore judged or decoded
// by encoding/json (see jsonvalue.go).
func TestDecodeEventsFastjsonFallbacks(t *testing.T) {
	const ev = `"event_type":"x","tenant_id":"t"`
	// fastjson.Validate misses a control character before an escape sequence.
	_, err := DecodeEvents([]byte("{\"a\":\"\x00\\b\"}"), 5)
	var invalid *ValidationError
	require.ErrorAs(t, err, &invalid)
	assert.Equal(t, []Problem{{"body", `invalid JSON: invalid character '\x00' in string literal`}}, invalid.Problems)

	// fastjson unescapes a lone surrogate in a name differently: the decode
	// starts again on encoding/json's values, which have U+FFFD.
	_, err = DecodeEvents([]byte(`{`+ev+`,"user_id":"u","a\ud800":1}`), 5)
	require.ErrorAs(t, err, &invalid)
	assert.Equal(t, []Problem{{"[\"a\ufffd\"]", "unknown field"}}, invalid.Problems)
	evs, err := DecodeSegment("track", []byte(`{"event":"e","userId":"u","context":{"groupId":"g"},"properties":{"\ud800\u0041":1}}`), 5, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"\ufffdA": "1"}, evs[0].Properties)

	// Deeper than fastjson's MaxDepth (300), within encoding/json's (10000).
	deep := strings.Repeat("[", 400) + strings.Repeat("]", 400)
	evs, err = DecodeEvents([]byte(`{`+ev+`,"user_id":"u","client_consent":`+deep+`}`), 5)
	require.NoError(t, err)
	assert.Equal(t, deep, evs[0].ClientConsent)
}
