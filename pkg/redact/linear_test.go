package redact

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/internal/threadcpu"
)

// hostileShapes are inputs that made the redactor quadratic before (every
// position a candidate: mentions, digit groups, capitalised words) or that
// stress one code path (one huge token, scripts without case, long runs of
// separators). Each builds a text of about n bytes.
var hostileShapes = map[string]func(n int) string{
	"mentions":        func(n int) string { return strings.Repeat("@x ", n/3) },
	"digit groups":    func(n int) string { return strings.Repeat("1234 ", n/5) },
	"dashed digits":   func(n int) string { return strings.Repeat("12-34-", n/6) },
	"dotted digits":   func(n int) string { return strings.Repeat("1.2.3.4.", n/8) },
	"capitalised":     func(n int) string { return strings.Repeat("Abc Def ", n/8) },
	"names and comma": func(n int) string { return strings.Repeat("Anna Berg, ", n/11) },
	"one token":       func(n int) string { return strings.Repeat("a", n) },
	"one digit run":   func(n int) string { return strings.Repeat("7", n) },
	"mixed scripts":   func(n int) string { return strings.Repeat("Zoë 東京 Москва ١٢٣ ", n/29) },
	"emails":          func(n int) string { return strings.Repeat("a@b.co ", n/7) },
	"at signs":        func(n int) string { return strings.Repeat("@", n) },
	"dots":            func(n int) string { return strings.Repeat("a.", n/2) },
	"colons":          func(n int) string { return strings.Repeat("a:", n/2) },
	"ipv6 soup":       func(n int) string { return strings.Repeat("1::", n/3) },
	"urls":            func(n int) string { return strings.Repeat("http://a.b/", n/11) },
	"titles":          func(n int) string { return strings.Repeat("Mr. ", n/4) },
	"addresses":       func(n int) string { return strings.Repeat("12 Main Street ", n/15) },
	"address words":   func(n int) string { return strings.Repeat("apt box Rua ", n/12) },
	"secrets":         func(n int) string { return strings.Repeat("password=x1 ", n/12) },
	"pem":             func(n int) string { return strings.Repeat("-----BEGIN PRIVATE KEY-----", n/27) },
	"newlines":        func(n int) string { return strings.Repeat("\n", n) },
	"spaces":          func(n int) string { return strings.Repeat(" ", n) },
	"plus digits":     func(n int) string { return strings.Repeat("+1 ", n/3) },
	"parens":          func(n int) string { return strings.Repeat("(1) ", n/4) },
	"iban prefix":     func(n int) string { return strings.Repeat("DE89 ", n/5) },
	"possessives":     func(n int) string { return strings.Repeat("Ann's ", n/6) },
	"hyphens":         func(n int) string { return strings.Repeat("a-", n/2) },
	"invalid utf8":    func(n int) string { return strings.Repeat("\xff", n) },
	"percent escapes": func(n int) string { return strings.Repeat("%41", n/3) },
	"escaped utf8":    func(n int) string { return strings.Repeat("%C3%BC", n/6) },
	"encoded twice":   func(n int) string { return strings.Repeat("%2541", n/5) },
	"json escapes":    func(n int) string { return strings.Repeat(`\u00fc`, n/6) },
	"form spaces":     func(n int) string { return strings.Repeat("Ab+Cd+", n/6) },
	"escaped emails":  func(n int) string { return strings.Repeat("a%40b.co+", n/9) },
}

// timeRedact returns the least CPU time (of the calling thread, where the
// platform has it) of a few runs: the machine is shared.
func timeRedact(r *Redactor, text string, runs int) time.Duration {
	threadcpu.Lock()
	defer threadcpu.Unlock()
	best := time.Duration(1 << 62)
	// no collection during the runs: one run's garbage is not charged to
	// the next (the caller has turned the collector off)
	runtime.GC()
	for i := 0; i < runs; i++ {
		t0 := threadcpu.Now()
		r.Redact(text, &Actor{Name: "Abc Def", Handle: "x", Email: "x@b.co"})
		best = min(best, threadcpu.Now()-t0)
	}
	return best
}

// Redaction time grows linearly with the input: 16 times the bytes may cost
// at most about 20 times the time, for every hostile shape. Each ratio is
// the least CPU time of several runs of each size; a shape fails when four
// attempts all exceed the bound (a quadratic path gives 50 to 300).
func TestLinearTime(t *testing.T) {
	r := New()
	r.Redact("warm up: Anna Berg lives in Berlin", nil)
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	const small, large = 4 << 10, 64 << 10
	for name, shape := range hostileShapes {
		t.Run(name, func(t *testing.T) {
			s, l := shape(small), shape(large)
			best := 1e9
			var ts, tl time.Duration
			for attempt := 0; attempt < 4 && best > 20; attempt++ {
				ts, tl = timeRedact(r, s, 9), timeRedact(r, l, 5)
				best = min(best, float64(tl)/float64(max(ts, time.Microsecond)))
			}
			t.Logf("%-16s 4 KiB %10s  64 KiB %10s  ratio %5.1f", name, ts, tl, best)
			if best > 20 {
				t.Errorf("%s: 64 KiB took %s, %.1f times 4 KiB (%s): not linear", name, tl, best, ts)
			}
		})
	}
}
