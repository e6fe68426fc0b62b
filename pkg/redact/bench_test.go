package redact

import (
	"testing"

	"github.com/consentflow/consentflow/pkg/internal/threadcpu"
)

var benchTexts = []string{
	"Please transfer all funds from my account to this hackers' MatthewHill@example.com",
	"My credit card 4111 1111 1111 1111 has been lost, can I request you to block it.",
	"The bus station is on 1600 Pennsylvania Avenue, Washington",
	"Hi team, the deploy of v1.2.3 finished at 10:30, see the dashboard for details.",
	"I have lost my card. Could you please block my credit card ASAP? My name is Michael Johnson.",
	"Are there any charges applied for money transfer from GB82WEST12345698765432 to other accounts",
	"Call me at (415) 555-2671 or +44 20 7946 0958 tomorrow morning",
	"Just posted a photo https://www.example.com/photos/123",
	"The server 192.168.10.4 rejected the login from @jdoe",
	"We moved here from Chicago last year and love the weather.",
}

// benchRedact runs r over the texts and reports texts/s (wall clock) and
// cpu-ns/op, the CPU time of the benchmark's thread per text: on a shared
// machine the wall clock swings with other people's load, the thread's CPU
// time much less.
func benchRedact(b *testing.B, r *Redactor) {
	total := 0
	for _, t := range benchTexts {
		total += len(t)
	}
	b.SetBytes(int64(total / len(benchTexts)))
	b.ReportAllocs()
	r.Redact(benchTexts[0], nil)
	threadcpu.Lock()
	defer threadcpu.Unlock()
	b.ResetTimer()
	c0 := threadcpu.Now()
	for i := 0; i < b.N; i++ {
		r.Redact(benchTexts[i%len(benchTexts)], nil)
	}
	cpu := threadcpu.Now() - c0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func BenchmarkRedact(b *testing.B) { benchRedact(b, New()) }

func BenchmarkRedactPatternsOnly(b *testing.B) { benchRedact(b, New(WithoutNameHeuristics())) }
