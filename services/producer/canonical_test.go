package producer

import (
	"bytes"
	"errors"
	"github.com/consentflow/consentflow/pkg/schema"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/uuid"
)

// TestEventIDAndIPAreTheLibrariesForms: event_id and ip are stored in the
// form uuid.UUID.String and netip.Addr.String give (the decoders hand a value
// already in that form through without copying it; every other spelling is
// rewritten).
func TestEventIDAndIPAreTheLibrariesForms(t *testing.T) {
	for _, s := range []string{
		"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
		"0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D",
		"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3C4d",
		"{0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d}",
		"urn:uuid:0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
		"0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d",
		"0A1B2C3D4E5F4A6B8C7D9E0F1A2B3C4D",
	} {
		var p problems
		if got, want := eventID(s, loc{}, &p), uuid.MustParse(s).String(); got != want || len(p.list) > 0 {
			t.Errorf("eventID(%q) = %q (%v), want %q", s, got, p.list, want)
		}
	}
	for _, s := range []string{
		"203.0.113.7", "0.0.0.0", "255.255.255.255",
		"2001:db8::1", "2001:DB8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8:0:0:1:0:0:1",
		"::", "::1", "::ffff:203.0.113.7", "::FFFF:203.0.113.7", "::ffff:cb00:7107",
		"fe80::1%eth0", "fe80::1%" + strings.Repeat("z", 60), "FE80::A%Eth0",
	} {
		var p problems
		if got, want := ipAddr(s, loc{}, &p), netip.MustParseAddr(s).String(); got != want || len(p.list) > 0 {
			t.Errorf("ipAddr(%q) = %q (%v), want %q", s, got, p.list, want)
		}
	}
}

// TestFastPathChecksEveryEventsKeptFields: the fast path checks each distinct
// event type, locale and location of a body once; a value it has not seen
// yet is still checked, so a bad one after many good ones is refused, with
// its path, whichever field it is in.
func TestFastPathChecksEveryEventsKeptFields(t *testing.T) {
	good := `{"event_type":"comment_added","tenant_id":"t1","user_id":"u%d","locale":"de-DE","location":"DE/Berlin"}`
	for _, bad := range []struct{ member, value, path string }{
		{"event_type", "mail a@b.example", "events[3].event_type"},
		{"locale", "xx-!!", "events[3].locale"},
		{"location", "Atlantis/Nowhere", "events[3].location"},
	} {
		evs := []string{}
		for i := range 3 {
			evs = append(evs, strings.Replace(good, "%d", string(rune('0'+i)), 1))
		}
		last := strings.Replace(good, "%d", "3", 1)
		switch bad.member {
		case "event_type":
			last = strings.Replace(last, `"comment_added"`, `"`+bad.value+`"`, 1)
		case "locale":
			last = strings.Replace(last, `"de-DE"`, `"`+bad.value+`"`, 1)
		case "location":
			last = strings.Replace(last, `"DE/Berlin"`, `"`+bad.value+`"`, 1)
		}
		body := []byte(`{"events":[` + strings.Join(append(evs, last), ",") + `]}`)
		if _, ok := decodeEventsFast(body, 10, nil); ok {
			t.Fatalf("%s %q: the fast path took the body", bad.member, bad.value)
		}
		_, err := DecodeEventsFor(body, 10, nil)
		if err == nil || !strings.Contains(err.Error(), bad.path) {
			t.Fatalf("%s %q: got %v, want a problem at %s", bad.member, bad.value, err, bad.path)
		}
		agree(t, body, 10)
	}
	// The good events alone are taken by the fast path.
	body := []byte(`{"events":[` + strings.Replace(good, "%d", "0", 1) + "," + strings.Replace(good, "%d", "1", 1) + `]}`)
	if !agree(t, body, 10) {
		t.Fatal("the fast path refused a valid body")
	}
}

// TestReadSizedIsReadAll: reading a body into a buffer of its declared size
// gives what io.ReadAll gives, whether the declared size is right, short or
// long, and however the reader splits the data.
func TestReadSizedIsReadAll(t *testing.T) {
	data := []byte(strings.Repeat("0123456789abcdef", 300) + "xyz")
	readers := map[string]func([]byte) io.Reader{
		"whole":    func(b []byte) io.Reader { return bytes.NewReader(b) },
		"one byte": func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
		"half":     func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
		"data+EOF": func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) },
	}
	for name, mk := range readers {
		for _, size := range []int{0, 1, len(data) - 1, len(data), len(data) + 1, 2 * len(data)} {
			want, werr := io.ReadAll(mk(data))
			got, err := readSized(mk(data), size)
			if !bytes.Equal(got, want) || (err == nil) != (werr == nil) {
				t.Fatalf("%s, size %d: got %d bytes (%v), want %d (%v)", name, size, len(got), err, len(want), werr)
			}
		}
	}
	boom := errors.New("boom")
	if _, err := readSized(iotest.ErrReader(boom), 10); !errors.Is(err, boom) {
		t.Fatalf("a read error: got %v", err)
	}
}

// TestStampedEventIDsAreRandomV4UUIDs: the ids the producer gives events
// without one are distinct version-4 UUIDs of RFC 4122's variant in the form
// uuid.UUID.String gives, and events with an id keep theirs.
func TestStampedEventIDsAreRandomV4UUIDs(t *testing.T) {
	a := &API{now: time.Now}
	evs := make([]schema.InteractionEvent, 2000)
	evs[7].EventID = "kept"
	a.stamp(evs, httptest.NewRequest(http.MethodPost, "/v1/events", nil), "api")
	seen := map[string]bool{}
	for i, ev := range evs {
		if i == 7 {
			if ev.EventID != "kept" {
				t.Fatalf("event 7's own id became %q", ev.EventID)
			}
			continue
		}
		u, err := uuid.Parse(ev.EventID)
		if err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 || u.String() != ev.EventID {
			t.Fatalf("event %d: id %q (%v): version %d, variant %v", i, ev.EventID, err, u.Version(), u.Variant())
		}
		if seen[ev.EventID] {
			t.Fatalf("event %d: id %q given twice", i, ev.EventID)
		}
		seen[ev.EventID] = true
	}
	// Random: about half of the 122 random bits are set.
	ones := 0
	for id := range seen {
		u := uuid.MustParse(id)
		for _, b := range u {
			for ; b != 0; b &= b - 1 {
				ones++
			}
		}
	}
	if mean := float64(ones) / float64(len(seen)); mean < 58 || mean > 68 { // 61 random + 2 fixed bits set
		t.Fatalf("mean bits set per id %.1f, want about 63", mean)
	}
}
