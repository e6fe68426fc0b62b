//go:build linux

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/loadgen"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
)

// ---------------------------------------------------------------- the load generator's log

// truth is the load generator's log: what it sent and what the services
// answered (the judgement is e2e/oracle.py's).
type truth struct {
	events   []loadgen.EventTruth
	consents []loadgen.ConsentTruth
	links    []loadgen.LinkTruth
}

func readTruth(path string) (*truth, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := &truth{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var k struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(line, &k); err != nil {
			return nil, err
		}
		switch k.Kind {
		case "event":
			var e loadgen.EventTruth
			if err := json.Unmarshal(line, &e); err != nil {
				return nil, err
			}
			tr.events = append(tr.events, e)
		case "consent":
			var c loadgen.ConsentTruth
			if err := json.Unmarshal(line, &c); err != nil {
				return nil, err
			}
			tr.consents = append(tr.consents, c)
		case "link":
			var l loadgen.LinkTruth
			if err := json.Unmarshal(line, &l); err != nil {
				return nil, err
			}
			tr.links = append(tr.links, l)
		default:
			return nil, fmt.Errorf("truth: unknown kind %q", k.Kind)
		}
	}
	return tr, sc.Err()
}

// ---------------------------------------------------------------- forbidden values

// needles is a set of strings that must not occur anywhere, matched
// ASCII-case-insensitively and only at word boundaries: the bytes around a match
// must not be ASCII letters or digits, so that "23.1.2.3" does not match inside
// "123.1.2.30" and "ada.lovelace" does not match inside "ada.lovelace2" (another
// user's handle, itself a needle).
type needles struct {
	byPrefix map[string][]string // lower-cased 4-byte prefix -> lower-cased needles
	what     map[string]string   // lower-cased needle -> its category
}

func newNeedles() *needles {
	return &needles{byPrefix: map[string][]string{}, what: map[string]string{}}
}

func lowerASCII(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// add adds v and its escaped forms — JSON with non-ASCII escaped (as Python's
// json.dumps writes it), percent-encoded as a query value and as a path
// segment — so that a value a reader would decode back is found too.
func (n *needles) add(category, v string) {
	n.addOne(category, v)
	for _, e := range escapedForms(v) {
		n.addOne(category+" (escaped)", e)
	}
}

// escapedForms returns the forms of v other than v itself that a JSON or URL
// reader decodes back to v.
func escapedForms(v string) []string {
	var forms []string
	seen := map[string]bool{v: true}
	var js strings.Builder
	for _, r := range v {
		switch {
		case r < 0x80:
			js.WriteRune(r)
		case r < 0x10000:
			fmt.Fprintf(&js, "\\u%04x", r)
		default:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&js, "\\u%04x\\u%04x", r1, r2)
		}
	}
	for _, f := range []string{js.String(), url.QueryEscape(v), url.PathEscape(v)} {
		if !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	return forms
}

func (n *needles) addOne(category, v string) {
	if len(v) < 4 {
		return
	}
	l := string(lowerASCII([]byte(v)))
	if _, ok := n.what[l]; ok {
		return
	}
	n.what[l] = category
	n.byPrefix[l[:4]] = append(n.byPrefix[l[:4]], l)
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

type hit struct {
	where, category, value, context string
}

// scan returns the needles found in data (at most max hits).
func (n *needles) scan(where string, data []byte, max int) []hit {
	low := lowerASCII(data)
	var hits []hit
	for i := 0; i+4 <= len(low); i++ {
		cands := n.byPrefix[string(low[i:i+4])]
		for _, c := range cands {
			if i+len(c) > len(low) || string(low[i:i+len(c)]) != c {
				continue
			}
			if i > 0 && alnum(low[i-1]) || i+len(c) < len(low) && alnum(low[i+len(c)]) {
				continue
			}
			lo, hi := max0(i-60), min(len(data), i+len(c)+60)
			hits = append(hits, hit{where: where, category: n.what[c], value: c, context: strconv.Quote(string(data[lo:hi]))})
			if len(hits) >= max {
				return hits
			}
		}
	}
	return hits
}

func max0(i int) int {
	if i < 0 {
		return 0
	}
	return i
}

// forbidden builds the needles of a run: every raw identifier and every seeded PII
// value the load generator produced. The world (names, emails, handles, IPs,
// session ids) is regenerated from the same seed and sizes; the test checks that
// the regenerated event ids match the truth file, so the two cannot drift apart.
func forbidden(tr *truth, gen *loadgen.Generator, events int) (*needles, error) {
	n := newNeedles()
	for _, t := range gen.World().Tenants {
		n.add("tenant_id", t.ID)
		for _, u := range t.Users {
			n.add("user_id", u.ID)
			n.add("actor_name", u.Name)
			n.add("actor_email", u.Email)
			n.add("actor_handle", u.Handle)
			n.add("user_ip", u.IP)
		}
	}
	byID := map[string]*loadgen.EventAction{}
	for count := 0; count < events; {
		a := gen.Next()
		if a.Kind == loadgen.ActionEvent {
			count++
			byID[a.Event.Event.EventID] = a.Event
		}
	}
	for _, e := range tr.events {
		if e.Seq >= probeSeq {
			continue // the run's identity probes, not the generator's (their ids are added by the test)
		}
		ea, ok := byID[e.EventID]
		if !ok {
			return nil, fmt.Errorf("event %s (seq %d) of the truth file is not in the regenerated sequence: the generator config of the test and the loadgen flags differ", e.EventID, e.Seq)
		}
		ev := ea.Event
		n.add("anonymous_id", ev.AnonymousID)
		n.add("session_id", ev.SessionID)
		n.add("user_id", ev.UserID)
		n.add("tenant_id", ev.TenantID)
		n.add("ip", ev.IP)
		n.add("actor_name", ev.ActorName)
		n.add("actor_email", ev.ActorEmail)
		n.add("actor_handle", ev.ActorHandle)
		for _, p := range e.PII {
			if madeUpKind(p.Kind) {
				continue // measured with a bound by madeUpNeedles
			}
			n.add("pii:"+p.Kind, p.Value)
		}
	}
	return n, nil
}

// madeUpNeedles builds the partial-leak needles of a run: every token of four
// or more characters (with a letter, not a street-type word) of the made-up
// people, towns and street addresses that the load generator wrote into free
// text. Those names are in no list of the redactor (pkg/redact checks it),
// so finding them measures how the redactor generalises; a value leaks when
// any of its tokens survives. Each needle's category is "made-up:<value>".
// It returns the needles and the number of distinct seeded values.
func madeUpNeedles(tr *truth) (*needles, int) {
	n := newNeedles()
	values := map[string]bool{}
	for _, e := range tr.events {
		for _, p := range e.PII {
			if !madeUpKind(p.Kind) {
				continue
			}
			values[p.Value] = true
			for _, tok := range strings.FieldsFunc(p.Value, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
				if utf8.RuneCountInString(tok) < 4 || !strings.ContainsFunc(tok, unicode.IsLetter) || streetWords[strings.ToLower(tok)] {
					continue
				}
				n.add("made-up:"+p.Value, tok)
			}
		}
	}
	return n, len(values)
}

// madeUpKind: the load generator's made-up people, towns and addresses.
func madeUpKind(k string) bool {
	return k == loadgen.KindPerson || k == loadgen.KindPlace || k == loadgen.KindAddress
}

var streetWords = map[string]bool{"street": true, "road": true, "lane": true, "avenue": true, "close": true, "drive": true, "terrace": true}

// leakedValues returns the distinct made-up values among hits of madeUpNeedles.
func leakedValues(hits []hit) map[string]bool {
	out := map[string]bool{}
	for _, h := range hits {
		out[strings.TrimPrefix(h.category, "made-up:")] = true
	}
	return out
}

// ---------------------------------------------------------------- poison

type poison struct {
	key, kind string
	value     []byte
}

// injectPoison writes three records the filter must dead-letter into the raw
// topic: bytes that are not in the wire format, a valid wire header naming a
// schema id the registry does not have, and a well-formed InteractionEvent
// without user_id and anonymous_id.
func (r *run) injectPoison(ctx context.Context, round int) ([]poison, error) {
	serde, err := avro.NewSerdeFor(r.e.stack.Registry)
	if err != nil {
		return nil, err
	}
	codec, err := avro.InteractionEvents(ctx, serde, r.names.Raw)
	if err != nil {
		return nil, err
	}
	noSubject, err := codec.Encode(&schema.InteractionEvent{EventID: fmt.Sprintf("poison-%d-no-subject", round), EventType: "page_viewed",
		TenantID: "poison-tenant", ReceivedAt: time.Now().UTC().Truncate(time.Millisecond), Source: "e2e"})
	if err != nil {
		return nil, err
	}
	unknownID := append([]byte{0, 0x7f, 0xff, 0xff, 0xf0}, []byte("\x02\x04abc")...)
	ps := []poison{
		{key: fmt.Sprintf("poison-%d-garbage", round), kind: "garbage", value: []byte("this is not avro \xff\xfe\x00 at all")},
		{key: fmt.Sprintf("poison-%d-unknown-schema", round), kind: "unknown_schema_id", value: unknownID},
		{key: fmt.Sprintf("poison-%d-no-subject", round), kind: "no_subject", value: noSubject},
	}
	w := stream.NewWriter(r.e.stack.Kafka, nil)
	defer w.Close()
	var msgs []kafka.Message
	for _, p := range ps {
		msgs = append(msgs, kafka.Message{Topic: r.names.Raw, Key: []byte(p.key), Value: p.value,
			Headers: []kafka.Header{{Key: "e2e-poison", Value: []byte(p.kind)}}})
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err = w.WriteMessages(wctx, msgs...)
		cancel()
		if err == nil {
			return ps, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("inject poison: %w", err)
		}
		time.Sleep(time.Second)
	}
}

// dlqReport checks the DLQ against the injected poison.
type dlqReport struct {
	Records, Distinct, Redelivered int
	Problems                       []string
}

func (r *run) checkDLQ(ctx context.Context, injected []poison, allowRedelivery bool) (dlqReport, error) {
	msgs, _, err := readTopic(ctx, r.e.stack.Kafka, r.names.DLQ)
	if err != nil {
		return dlqReport{}, err
	}
	want := map[string]poison{}
	for _, p := range injected {
		want[p.key] = p
	}
	rep := dlqReport{Records: len(msgs)}
	seen := map[string]string{} // key -> source partition/offset
	for _, m := range msgs {
		k := string(m.Key)
		p, ok := want[k]
		if !ok {
			rep.Problems = append(rep.Problems, fmt.Sprintf("unexpected DLQ record %d/%d key %q stage %q error %q source %s/%s/%s",
				m.Partition, m.Offset, k, stream.Header(m, stream.HeaderStage), stream.Header(m, stream.HeaderError),
				stream.Header(m, stream.HeaderSourceTopic), stream.Header(m, stream.HeaderSourcePartition), stream.Header(m, stream.HeaderSourceOffset)))
			continue
		}
		if string(m.Value) != string(p.value) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("DLQ record of %s: value differs from the injected bytes", k))
		}
		if s := string(stream.Header(m, stream.HeaderStage)); s != "consent-filter" {
			rep.Problems = append(rep.Problems, fmt.Sprintf("DLQ record of %s: stage %q, want consent-filter", k, s))
		}
		if s := string(stream.Header(m, stream.HeaderSourceTopic)); s != r.names.Raw {
			rep.Problems = append(rep.Problems, fmt.Sprintf("DLQ record of %s: source-topic %q, want %s", k, s, r.names.Raw))
		}
		if len(stream.Header(m, stream.HeaderError)) == 0 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("DLQ record of %s: no error header", k))
		}
		if string(stream.Header(m, "e2e-poison")) != p.kind {
			rep.Problems = append(rep.Problems, fmt.Sprintf("DLQ record of %s: original headers not kept", k))
		}
		src := string(stream.Header(m, stream.HeaderSourcePartition)) + "/" + string(stream.Header(m, stream.HeaderSourceOffset))
		if _, err := strconv.Atoi(string(stream.Header(m, stream.HeaderSourceOffset))); err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("DLQ record of %s: bad source-offset %q", k, src))
		}
		if prev, dup := seen[k]; dup {
			rep.Redelivered++
			if !allowRedelivery {
				rep.Problems = append(rep.Problems, fmt.Sprintf("poison %s dead-lettered twice (no fault injected)", k))
			} else if prev != src {
				rep.Problems = append(rep.Problems, fmt.Sprintf("poison %s dead-lettered from two source offsets %s and %s", k, prev, src))
			}
			continue
		}
		seen[k] = src
		r.logln("DLQ %s: stage=%s source=%s error=%q", k, stream.Header(m, stream.HeaderStage), src, stream.Header(m, stream.HeaderError))
	}
	rep.Distinct = len(seen)
	var missing []string
	for k := range want {
		if _, ok := seen[k]; !ok {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		rep.Problems = append(rep.Problems, "poison "+k+" not in the DLQ")
	}
	return rep, nil
}

// ---------------------------------------------------------------- snapshot rows

type snapRow struct {
	EventID string `json:"event_id"`
	Subject string `json:"subject"`
	Tenant  string `json:"tenant"`
}

func readRows(path string) ([]snapRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []snapRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r snapRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

// scanFiles scans every regular file under dir.
func scanFiles(n *needles, dir string, max int) ([]hit, int, error) {
	var hits []hit
	files := 0
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		hits = append(hits, n.scan(p, b, max)...)
		return nil
	})
	return hits, files, err
}

// scanMessages scans the keys, values and headers of records.
func scanMessages(n *needles, topic string, msgs []kafka.Message, max int) []hit {
	var hits []hit
	for _, m := range msgs {
		where := fmt.Sprintf("%s %d/%d", topic, m.Partition, m.Offset)
		hits = append(hits, n.scan(where+" key", m.Key, max)...)
		hits = append(hits, n.scan(where+" value", m.Value, max)...)
		for _, h := range m.Headers {
			hits = append(hits, n.scan(where+" header "+h.Key, append([]byte(h.Key+"="), h.Value...), max)...)
		}
		if len(hits) >= max {
			break
		}
	}
	return hits
}
