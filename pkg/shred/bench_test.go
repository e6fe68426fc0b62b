package shred

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
)

// BenchmarkSealBatch and BenchmarkOpenBatch: a 500-record batch of 50 subjects
// of one tenant, keys cached (the steady state); per record: JSON of the content,
// HKDF once per subject and batch, AES-256-GCM.
func BenchmarkSealBatch(b *testing.B) {
	s, _, _ := newStore(b, 0)
	batch := benchBatch()
	ctx := context.Background()
	if _, err := s.Seal(ctx, clones(batch)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	for b.Loop() {
		b.StopTimer()
		in := clones(batch)
		b.StartTimer()
		if _, err := s.Seal(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/record")
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N*len(batch)), "cpu-ns/record")
}

func BenchmarkOpenBatch(b *testing.B) {
	s, _, _ := newStore(b, 0)
	batch := benchBatch()
	ctx := context.Background()
	if _, err := s.Seal(ctx, batch); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	for b.Loop() {
		b.StopTimer()
		in := clones(batch)
		b.StartTimer()
		if _, _, err := s.Open(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/record")
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N*len(batch)), "cpu-ns/record")
}

func benchBatch() []*schema.CuratedEvent {
	var out []*schema.CuratedEvent
	for i := range 500 {
		e := event(fmt.Sprintf("k1:subject-%02d", i%50), "k1:tenant", fmt.Sprintf("k1:event-%04d", i), "0:1")
		e.Text = "Updated the section about the flaky integration test. Requests from <IP_ADDRESS> are being throttled."
		out = append(out, e)
	}
	return out
}

func clones(in []*schema.CuratedEvent) []*schema.CuratedEvent {
	out := make([]*schema.CuratedEvent, len(in))
	for i, e := range in {
		out[i] = clone(e)
	}
	return out
}

// processCPU is the CPU time (user + system) the test process has used so far:
// unlike ns/op it does not grow when other processes share the cores (the
// copies made between the timed parts are counted too: compare like with like).
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
