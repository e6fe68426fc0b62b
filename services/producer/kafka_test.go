package producer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/testenv"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sr/srfake"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

const testPartitions = 3

// stack is an in-process Kafka and schema registry.
type stack struct {
	cluster  *kfake.Cluster // nil on a testenv stack (no fault injection)
	kafka    stream.Config
	topic    string
	registry avro.RegistryConfig
	down     atomic.Bool  // when set, every Produce request fails
	delay    atomic.Int64 // nanoseconds each Produce request is held before it is handled
}

func newStack(t testing.TB) *stack {
	t.Helper()
	c, err := kfake.NewCluster(kfake.SeedTopics(testPartitions, "events.raw"))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	reg := srfake.New()
	t.Cleanup(reg.Close)
	s := &stack{cluster: c, kafka: stream.Config{Brokers: c.ListenAddrs()}, topic: "events.raw", registry: avro.RegistryConfig{URL: reg.URL()}}
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if d := s.delay.Load(); d > 0 {
			time.Sleep(time.Duration(d)) // a slow broker (blocks kfake's loop; fine in tests)
		}
		if s.down.Load() {
			// Handled with an error: kfake closes the connection, nothing is appended.
			return nil, errors.New("injected: broker unavailable"), true
		}
		return nil, nil, false
	})
	return s
}

// newEnvStack is a stack on pkg/testenv: the embedded Kafka by default, the real
// broker in the live suite. It cannot inject faults.
func newEnvStack(t testing.TB) *stack {
	t.Helper()
	env := testenv.Start(t)
	return &stack{kafka: env.Kafka, topic: env.Names.Raw, registry: env.Registry}
}

func (s *stack) config() Config {
	cfg := testConfig()
	cfg.Config = s.kafka
	cfg.Topic = s.topic
	cfg.RegistryConfig = s.registry
	cfg.MaxEvents = 500
	cfg.MaxBodyBytes = 1 << 20
	return cfg
}

// server starts the API over a real KafkaPublisher on the stack.
func (s *stack) server(t testing.TB, cfg Config) *httptest.Server {
	t.Helper()
	pub, err := NewKafkaPublisher(context.Background(), cfg.Config, cfg.RegistryConfig, cfg.Topic, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	require.NoError(t, err)
	api, _ := newTestAPI(t, cfg, pub)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(func() {
		srv.Close()
		pub.Close()
	})
	return srv
}

type record struct {
	key       string
	partition int32
	event     schema.InteractionEvent
}

// consume reads the topic from the start until want distinct events arrived and
// everything the topic held when it was called is read (or timeout), decoding
// every value; it returns them by event id.
func (s *stack) consume(t testing.TB, want int, timeout time.Duration) map[string]record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ends, err := stream.EndOffsets(ctx, s.kafka, s.topic)
	require.NoError(t, err)
	// A group of its own starts at the earliest offset (stream.NewReader).
	r := stream.NewReader(s.kafka, stream.ReaderConfig{GroupID: fmt.Sprintf("consume-%d", time.Now().UnixNano()), Topic: s.topic}, nil)
	defer r.Close()
	serde, err := avro.NewSerdeFor(s.registry)
	require.NoError(t, err)
	codec, err := avro.InteractionEvents(ctx, serde, s.topic)
	require.NoError(t, err)

	out := map[string]record{}
	behind := func() bool {
		for _, end := range ends {
			if end > 0 {
				return true
			}
		}
		return false
	}
	for len(out) < want || behind() {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			break // timeout: the caller checks what arrived
		}
		if m.Offset+1 >= ends[m.Partition] {
			delete(ends, m.Partition)
		}
		ev, err := codec.Decode(ctx, m.Value)
		require.NoError(t, err)
		out[ev.EventID] = record{key: string(m.Key), partition: int32(m.Partition), event: ev}
	}
	return out
}

func postJSON(t testing.TB, client *http.Client, url, body string, hdr ...string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewBufferString(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m, resp.Header
}

func batchBody(prefix string, n int) string {
	var b bytes.Buffer
	b.WriteString(`{"events":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"event_type":"comment_added","tenant_id":"t%d","user_id":"%s-u%d","jurisdiction":"DE","text":"comment %d with some words in it","properties":{"issue":"ABC-%d"}}`, i%7, prefix, i%13, i, i)
	}
	b.WriteString(`]}`)
	return b.String()
}

func TestKafkaRecordsAreAvroKeyedBySubjectMurmur2(t *testing.T) {
	s := newEnvStack(t) // real Kafka in the live suite
	srv := s.server(t, s.config())
	code, body, _ := postJSON(t, srv.Client(), srv.URL+"/v1/events", batchBody("k", 40), "Sec-GPC", "1")
	require.Equal(t, http.StatusAccepted, code, "%v", body)
	code, body2, _ := postJSON(t, srv.Client(), srv.URL+"/v1/events",
		`{"event_type":"page_viewed","tenant_id":"t","anonymous_id":"anon-7"}`)
	require.Equal(t, http.StatusAccepted, code)

	recs := s.consume(t, 41, 10*time.Second)
	require.Len(t, recs, 41)
	ids := append(body["event_ids"].([]any), body2["event_ids"].([]any)...)
	parts := make([]int, testPartitions)
	for i := range parts {
		parts[i] = i
	}
	for _, id := range ids {
		r, ok := recs[id.(string)]
		require.True(t, ok, "acknowledged event %s is in the topic", id)
		assert.Equal(t, r.event.Subject(), r.key, "keyed by user_id, else anonymous_id")
		want := kafka.Murmur2Balancer{}.Balance(kafka.Message{Key: []byte(r.key)}, parts...)
		assert.EqualValues(t, want, r.partition, "murmur2 partition like the Java client")
		assert.Equal(t, "api", r.event.Source)
		assert.False(t, r.event.ReceivedAt.IsZero())
	}
	assert.True(t, recs[ids[0].(string)].event.GPC)
	assert.Equal(t, "anon-7", recs[ids[40].(string)].key)
}

// TestKafkaUnavailable503NoAcknowledgedLoss sends traffic while Kafka goes away
// and comes back: requests during the outage get 503 with Retry-After, and every
// event_id that got a 202 is in the topic afterwards.
func TestKafkaUnavailable503NoAcknowledgedLoss(t *testing.T) {
	s := newStack(t)
	cfg := s.config()
	cfg.WriteTimeout = 400 * time.Millisecond
	srv := s.server(t, cfg)

	var (
		mu       sync.Mutex
		acked    []string
		statuses = map[int]int{}
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				code, body, hdr := postJSON(t, srv.Client(), srv.URL+"/v1/events", batchBody(fmt.Sprintf("w%d-%d", w, i), 10))
				mu.Lock()
				statuses[code]++
				switch code {
				case http.StatusAccepted:
					for _, id := range body["event_ids"].([]any) {
						acked = append(acked, id.(string))
					}
				case http.StatusServiceUnavailable:
					assert.NotEmpty(t, hdr.Get("Retry-After"))
					assert.NotContains(t, body, "event_ids")
				default:
					t.Errorf("unexpected status %d: %v", code, body)
				}
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(300 * time.Millisecond)
	s.down.Store(true)
	time.Sleep(1200 * time.Millisecond)
	s.down.Store(false)
	time.Sleep(700 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	t.Logf("statuses: %v, acknowledged events: %d", statuses, len(acked))
	require.NotZero(t, statuses[http.StatusServiceUnavailable], "the outage produced 503s")
	require.NotZero(t, statuses[http.StatusAccepted])
	recs := s.consume(t, len(acked), 15*time.Second)
	for _, id := range acked {
		_, ok := recs[id]
		require.True(t, ok, "event %s got a 202 but is not in events.raw", id)
	}

	// Kafka gone for good: 503, not a hang.
	s.cluster.Close()
	start := time.Now()
	code, _, hdr := postJSON(t, srv.Client(), srv.URL+"/v1/events", batchBody("gone", 1))
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "2", hdr.Get("Retry-After"))
	assert.Less(t, time.Since(start), 3*time.Second)
}

// TestPublishAfterAFailedWriteKeepsItsRecords: Publish reuses its record
// buffers between requests, but only after a write that succeeded. A write
// whose context ends returns while its batches still wait behind others for
// their turn to be serialized; they are sent later, and must carry their own
// records, not those of the request that came next.
func TestPublishAfterAFailedWriteKeepsItsRecords(t *testing.T) {
	s := newStack(t)
	cfg := s.config()
	pub, err := NewKafkaPublisher(context.Background(), cfg.Config, cfg.RegistryConfig, cfg.Topic, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)))
	require.NoError(t, err)
	defer pub.Close()
	events := func(prefix string) []schema.InteractionEvent {
		evs, err := DecodeEvents([]byte(batchBody(prefix, 60)), 500)
		require.NoError(t, err)
		for i := range evs {
			evs[i].EventID = fmt.Sprintf("%08x-0000-4000-8000-%012d", len(prefix), i)
			evs[i].ReceivedAt = time.Now().UTC().Truncate(time.Millisecond)
			evs[i].Source = "api"
		}
		return evs
	}
	first, failed, next := events("f"), events("aa"), events("bbb")
	require.NoError(t, pub.Publish(context.Background(), first)) // buffers of this size are pooled now

	s.delay.Store(int64(400 * time.Millisecond)) // every produce request is held: batches queue
	inFlight := make(chan error, 1)
	go func() { inFlight <- pub.Publish(context.Background(), events("xxxx")) }()
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err = pub.Publish(ctx, failed) // queued behind the held batches when ctx ends
	cancel()
	require.ErrorIs(t, err, ErrUnavailable)
	require.NoError(t, pub.Publish(context.Background(), next))
	require.NoError(t, <-inFlight)
	s.delay.Store(0)

	recs := s.consume(t, 4*60, 15*time.Second)
	for _, evs := range [][]schema.InteractionEvent{failed, next} {
		for _, want := range evs {
			got, ok := recs[want.EventID]
			require.True(t, ok, "event %s is in the topic", want.EventID)
			assert.Equal(t, want.Text, got.event.Text, "event %s carries its own record", want.EventID)
			assert.Equal(t, want.Subject(), got.key)
		}
	}
}
