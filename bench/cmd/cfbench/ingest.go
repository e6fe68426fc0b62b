package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/consentflow/consentflow/pkg/stream"
)

func (b *bench) java(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "java", append([]string{"-Xmx512m", "-cp", os.Getenv("KAFKA_LIBS") + "/*"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var perfLine = regexp.MustCompile(`(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th`)

// kafkaPerf runs Kafka's own kafka-producer-perf-test and kafka-consumer-perf-test
// with our average record size: what the broker and a tuned Java client manage on
// this machine.
func (b *bench) kafkaPerf() error {
	if err := mustData(b); err != nil {
		return err
	}
	topic := b.prefix + "perf"
	if err := createPlain(b.ctx, b.kafka, 6, false, topic); err != nil {
		return err
	}
	size := b.res.Settings.RecordBytes
	n := b.res.Settings.PerfRecords
	if err := b.measure("kafka-producer-perf-test", func(int) error { return b.producerPerf(topic, n, size) }); err != nil {
		return err
	}
	return b.measure("kafka-consumer-perf-test", func(a int) error { return b.consumerPerf(topic, n, a) })
}

func (b *bench) producerPerf(topic string, n, size int) error {
	noise := quiet(quietWait)
	out, err := b.java("org.apache.kafka.tools.ProducerPerformance", "--topic", topic, "--num-records", strconv.Itoa(n),
		"--record-size", strconv.Itoa(size), "--throughput", "-1", "--producer-props", "bootstrap.servers="+b.brokers[0], "acks=all")
	noise.end()
	if err != nil {
		return fmt.Errorf("ProducerPerformance: %v: %s", err, tail(out))
	}
	m := perfLine.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return fmt.Errorf("ProducerPerformance output not understood: %s", tail(out))
	}
	last := m[len(m)-1]
	rps, _ := strconv.ParseFloat(last[2], 64)
	mbs, _ := strconv.ParseFloat(last[3], 64)
	p50, _ := strconv.ParseFloat(last[6], 64)
	p99, _ := strconv.ParseFloat(last[8], 64)
	b.fig(&Figure{ID: "kafka.producer_perf", Stage: "baseline", What: fmt.Sprintf("kafka-producer-perf-test, %d records of %d B, acks=all", n, size),
		Value: round(rps, 0), Unit: "events/s", Noise: noise, Detail: map[string]any{"mb_per_s": mbs, "latency_p50_ms": p50, "latency_p99_ms": p99, "line": last[0]}})
	return nil
}

func (b *bench) consumerPerf(topic string, n, attempt int) error {
	noise := quiet(quietWait)
	out, err := b.java("org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", b.brokers[0], "--topic", topic,
		"--messages", strconv.Itoa(n), "--timeout", "30000", "--group", fmt.Sprintf("%sperf-consumer-%d", b.prefix, attempt))
	noise.end()
	if err != nil {
		return fmt.Errorf("ConsumerPerformance: %v: %s", err, tail(out))
	}
	// start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
	var fields []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Split(l, ",")
		if len(f) >= 10 && !strings.Contains(l, "start.time") {
			fields = f
		}
	}
	if fields == nil {
		return fmt.Errorf("ConsumerPerformance output not understood: %s", tail(out))
	}
	num := func(i int) float64 { v, _ := strconv.ParseFloat(strings.TrimSpace(fields[i]), 64); return v }
	b.fig(&Figure{ID: "kafka.consumer_perf", Stage: "baseline", What: fmt.Sprintf("kafka-consumer-perf-test, %d records (fetch rate, rebalance excluded)", n),
		Value: round(num(9), 0), Unit: "events/s", Noise: noise,
		Detail: map[string]any{"mb_per_s": num(8), "overall_events_per_s": num(5), "rebalance_ms": num(6), "consumed": num(4)}})
	return nil
}

func tail(s string) string {
	if len(s) > 1500 {
		return s[len(s)-1500:]
	}
	return s
}

// loadResult is one bounded load loop.
type loadResult struct {
	Events     int64       `json:"events"`
	Requests   int64       `json:"requests"`
	Errors     int64       `json:"errors"`
	Seconds    float64     `json:"seconds"`
	PerSec     float64     `json:"events_per_s"`
	ReqLatency Percentiles `json:"request_latency"`
}

// loadLoop runs `clients` goroutines calling one() (which handles one batch of
// `batch` events) until `total` events or `limit` time.
func loadLoop(ctx context.Context, clients, batch, total int, limit time.Duration, one func(ctx context.Context, i int) error) loadResult {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var next, done, errs, reqs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if int(i)*batch >= total {
					break
				}
				t := time.Now()
				err := one(ctx, int(i))
				mine = append(mine, time.Since(t))
				reqs.Add(1)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				done.Add(int64(batch))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	return loadResult{Events: done.Load(), Requests: reqs.Load(), Errors: errs.Load(), Seconds: round(el, 3),
		PerSec: round(float64(done.Load())/el, 0), ReqLatency: percentiles(lat, false)}
}

// ingest: producer HTTP ingest (batches of 50 and 500, 8 concurrent clients)
// next to a bare kafka-go write loop of the same encoded records from as many
// goroutines, with the producer's writer settings (stream.NewWriter).
func (b *bench) ingest() error {
	if err := mustData(b); err != nil {
		return err
	}
	httpTopic, bareTopic := b.prefix+"ingest.http", b.prefix+"ingest.bare"
	if err := createPlain(b.ctx, b.kafka, 6, false, httpTopic, bareTopic); err != nil {
		return err
	}
	addr := freeAddr()
	env := b.serviceEnv("producer", map[string]string{"PRODUCER_HTTP_ADDR": addr, "TOPIC_EVENTS_RAW": httpTopic,
		"PRODUCER_TOKENS": "bench:plain:" + b.token + "=events:write"})
	p, err := startProc("producer-ingest", b.bin+"/producer", nil, env, b.work)
	if err != nil {
		return err
	}
	defer p.Stop()
	if _, err := p.WaitReady(b.ctx, 30*time.Second); err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	url := "http://" + addr + "/v1/events"
	total, clients := b.res.Settings.IngestEvents, b.res.Settings.Clients
	// Sized as the producer's writer is (MAX_EVENTS_PER_REQUEST's default).
	w := stream.NewWriter(b.kafka, nil, stream.WithMaxBatch(stream.DefaultMaxBatch))
	defer w.Close()
	bare := withTopic(b.data.raw, bareTopic)
	for _, batch := range []int{50, 500} {
		err := b.measure(fmt.Sprintf("ingest batch %d", batch), func(int) error {
			// 64 distinct request bodies per batch size, reused round robin.
			var bodies [][]byte
			for i := 0; i < 64; i++ {
				lo := (i * batch) % (len(b.data.events) - batch)
				bodies = append(bodies, body(b.data.events[lo:lo+batch]))
			}
			noise := quiet(quietWait)
			bareRes := loadLoop(b.ctx, clients, batch, total, 60*time.Second, func(ctx context.Context, i int) error {
				lo := (i * batch) % (len(bare) - batch)
				return w.WriteMessages(ctx, bare[lo:lo+batch]...)
			})
			noise.end()
			b.fig(&Figure{ID: fmt.Sprintf("ingest.bare.batch%d", batch), Stage: "producer", Unit: "events/s", Value: bareRes.PerSec, Noise: noise,
				What: fmt.Sprintf("bare kafka-go WriteMessages of the encoded records, %d goroutines, %d per call", clients, batch), Detail: bareRes})
			cpu0 := p.CPUSeconds()
			noise = quiet(quietWait)
			httpRes := loadLoop(b.ctx, clients, batch, total, 60*time.Second, func(ctx context.Context, i int) error {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(bodies[i%len(bodies)]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+b.token)
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					return fmt.Errorf("status %d", resp.StatusCode)
				}
				return nil
			})
			cpu := p.CPUSeconds() - cpu0
			noise.end()
			b.fig(&Figure{ID: fmt.Sprintf("ingest.http.batch%d", batch), Stage: "producer", Unit: "events/s", Value: httpRes.PerSec, Noise: noise,
				Baseline: fmt.Sprintf("ingest.bare.batch%d", batch),
				What:     fmt.Sprintf("producer POST /v1/events, %d clients, %d events per request, 202 after acks=all", clients, batch),
				Detail:   map[string]any{"load": httpRes, "producer_cpu_s": round(cpu, 2), "producer_cpu_us_per_event": round(cpu*1e6/float64(max(1, httpRes.Events)), 1)}})
			if httpRes.Errors > 0 {
				b.note("ingest batch %d: %d failed requests", batch, httpRes.Errors)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	b.res.PeakRSSMiB["producer (ingest benchmark)"] = p.PeakRSSMiB()
	b.res.PeakMem["producer (ingest benchmark)"] = p.PeakMem()
	return nil
}

var _ = kafka.Message{}
