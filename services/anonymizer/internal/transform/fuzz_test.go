package transform

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzTruncateIP: the result is "" or a canonical /24 or /48 network that never
// equals the input address.
func FuzzTruncateIP(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "2001:db8::1", "::ffff:1.2.3.4", "1.2.3.4:80", "[::1]:9", "fe80::1%eth0", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := TruncateIP(s)
		if out == "" {
			return
		}
		p, err := netip.ParsePrefix(out)
		if err != nil || (p.Bits() != 24 && p.Bits() != 48) || p != p.Masked() {
			t.Fatalf("TruncateIP(%q) = %q: not a /24 or /48 network", s, out)
		}
		if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil && a.Unmap().WithZone("") != p.Addr() && strings.Contains(out, a.String()) {
			t.Fatalf("TruncateIP(%q) = %q contains the address", s, out)
		}
	})
}

// FuzzScrub: no panic, and no needle survives in the output.
func FuzzScrub(f *testing.F) {
	f.Add("user usr_42abc from 203.0.113.7", "usr_42abc", "203.0.113.7")
	f.Add("aaaaaaa", "aaaa", "aaab")
	f.Fuzz(func(t *testing.T, text, a, b string) {
		if len(a) < MinScrubLen || len(b) < MinScrubLen || strings.ContainsAny(a+b, "<>") {
			return
		}
		ns := []needle{{asciiLower(a), "ID"}, {asciiLower(b), "PERSON"}}
		out := scrub(text, ns, nil)
		low := asciiLower(out)
		for _, n := range ns {
			if strings.Contains(low, n.lower) && !strings.Contains(asciiLower(text), "<") {
				// Placeholders cannot form a needle without '<' or '>', so a survivor is a bug
				// unless the needle can be assembled across a replacement boundary.
				if !strings.Contains(low, "<id>") && !strings.Contains(low, "<person>") {
					t.Fatalf("needle %q survives in %q", n.lower, out)
				}
			}
		}
	})
}
