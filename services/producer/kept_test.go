package producer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Fields that curated events keep have a closed form; a value outside it is a
// 400 naming the field, on the native API and on the Segment endpoints alike,
// instead of another person's email or name riding along in every dataset.
func TestKeptFieldsOutsideTheirFormAreRejected(t *testing.T) {
	const ids = `"tenant_id":"t","user_id":"u"`
	rejected := map[string]string{ // body -> path
		`{` + ids + `,"event_type":"Invited bob.jones@example.org as admin"}`:       "event_type",
		`{` + ids + `,"event_type":"x","locale":"de-DE; Jane Doe +49 30 901820"}`:   "locale",
		`{` + ids + `,"event_type":"x","location":"48.137154,11.576124"}`:           "location",
		`{` + ids + `,"event_type":"x","location":"12 Rue de Rivoli, 75001 Paris"}`: "location",
		`{` + ids + `,"event_type":"x","location":"San Francisco, CA 94103"}`:       "location",
	}
	for body, path := range rejected {
		_, err := DecodeEvents([]byte(body), 5)
		var invalid *ValidationError
		require.ErrorAs(t, err, &invalid, body)
		require.Len(t, invalid.Problems, 1, body)
		assert.Equal(t, path, invalid.Problems[0].Path, body)
	}
	accepted := []string{
		`{` + ids + `,"event_type":"Order Completed","locale":"en_US","location":"Germany/Bavaria/Munich"}`,
		`{` + ids + `,"event_type":"[Amplitude] Page Viewed","locale":"zh-Hant-TW","location":"US/California"}`,
		`{` + ids + `,"event_type":"issue_created","location":"FR-75"}`,
	}
	for _, body := range accepted {
		_, err := DecodeEvents([]byte(body), 5)
		require.NoError(t, err, body)
	}

	var invalid *ValidationError
	_, err := DecodeSegment("track", []byte(`{"event":"Invited bob.jones@example.org","userId":"u","context":{"groupId":"g"}}`), 5, nil)
	require.ErrorAs(t, err, &invalid)
	assert.Equal(t, "event", invalid.Problems[0].Path)
	_, err = DecodeSegment("track", []byte(`{"event":"Signed Up","userId":"u","context":{"groupId":"g","locale":"Jane Doe"}}`), 5, nil)
	require.ErrorAs(t, err, &invalid)
	assert.Equal(t, "context.locale", invalid.Problems[0].Path)
	_, err = DecodeSegment("track", []byte(`{"event":"Signed Up","userId":"u","context":{"groupId":"g","locale":"de-DE"}}`), 5, nil)
	require.NoError(t, err)
}
