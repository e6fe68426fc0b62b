package shred

import (
	"context"
	"fmt"
	"testing"

	"github.com/consentflow/consentflow/pkg/cputime"
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
	cpu0 := cputime.Process(b)
	for b.Loop() {
		b.StopTimer()
		in := clones(batch)
		b.StartTimer()
		if _, err := s.Seal(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/record")
	b.ReportMetric(float64(cputime.Process(b)-cpu0)/float64(b.N*len(batch)), "cpu-ns/record")
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
	cpu0 := cputime.Process(b)
	for b.Loop() {
		b.StopTimer()
		in := clones(batch)
		b.StartTimer()
		if _, _, err := s.Open(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/record")
	b.ReportMetric(float64(cputime.Process(b)-cpu0)/float64(b.N*len(batch)), "cpu-ns/record")
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
