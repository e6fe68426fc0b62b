package synth

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
)

// Pattern values for the held-out texts, labelled with Presidio's types.
// Written independently of pkg/redact's recognizers (no shared code).

func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

func luhnCheck(payload string) byte {
	sum := 0
	for i := len(payload) - 1; i >= 0; i-- {
		v := int(payload[i] - '0')
		if (len(payload)-1-i)%2 == 0 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return byte('0' + (10-sum%10)%10)
}

func genCard(r *rand.Rand) string {
	var p string
	n := 16
	switch r.IntN(4) {
	case 0:
		p = "4"
	case 1:
		p = fmt.Sprint(51 + r.IntN(5))
	case 2:
		p, n = []string{"34", "37"}[r.IntN(2)], 15
	default:
		p = "6011"
	}
	s := p + digits(r, n-1-len(p))
	s += string(luhnCheck(s))
	switch r.IntN(3) {
	case 0:
		return s
	case 1:
		if n == 15 {
			return s[:4] + " " + s[4:10] + " " + s[10:]
		}
		return s[:4] + " " + s[4:8] + " " + s[8:12] + " " + s[12:]
	}
	if n == 15 {
		return s[:4] + "-" + s[4:10] + "-" + s[10:]
	}
	return s[:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:]
}

func genIBAN(r *rand.Rand) string {
	type c struct {
		cc   string
		bban func() string
	}
	cs := []c{
		{"DE", func() string { return digits(r, 18) }},
		{"GB", func() string { return []string{"NWBK", "BARC", "MIDL"}[r.IntN(3)] + digits(r, 14) }},
		{"FR", func() string { return digits(r, 23) }},
		{"NL", func() string { return []string{"ABNA", "INGB", "RABO"}[r.IntN(3)] + digits(r, 10) }},
		{"ES", func() string { return digits(r, 20) }},
		{"IT", func() string { return "X" + digits(r, 22) }},
		{"CH", func() string { return digits(r, 17) }},
	}
	x := cs[r.IntN(len(cs))]
	bban := x.bban()
	num := new(big.Int)
	var sb strings.Builder
	for _, ch := range bban + x.cc + "00" {
		if ch >= 'A' && ch <= 'Z' {
			sb.WriteString(fmt.Sprint(int(ch-'A') + 10))
		} else {
			sb.WriteRune(ch)
		}
	}
	num.SetString(sb.String(), 10)
	check := 98 - new(big.Int).Mod(num, big.NewInt(97)).Int64()
	s := fmt.Sprintf("%s%02d%s", x.cc, check, bban)
	if r.IntN(2) == 0 {
		return s
	}
	var g []string
	for i := 0; i < len(s); i += 4 {
		g = append(g, s[i:min(i+4, len(s))])
	}
	return strings.Join(g, " ")
}

func genPhone(r *rand.Rand) string {
	switch r.IntN(8) {
	case 0:
		return fmt.Sprintf("(%d%02d) %d%02d-%04d", 2+r.IntN(7), r.IntN(100), 2+r.IntN(7), r.IntN(100), r.IntN(10000))
	case 1:
		return fmt.Sprintf("+1 %d%02d %d%02d %04d", 2+r.IntN(7), r.IntN(100), 2+r.IntN(7), r.IntN(100), r.IntN(10000))
	case 2:
		return fmt.Sprintf("+44 7%03d %06d", 400+r.IntN(500), r.IntN(1000000))
	case 3:
		return fmt.Sprintf("020 7%03d %04d", r.IntN(1000), r.IntN(10000))
	case 4:
		return fmt.Sprintf("+49 %d %d", 30+r.IntN(60), 1000000+r.IntN(8999999))
	case 5:
		return fmt.Sprintf("+33 6 %02d %02d %02d %02d", r.IntN(100), r.IntN(100), r.IntN(100), r.IntN(100))
	case 6:
		return fmt.Sprintf("%d%02d.%d%02d.%04d", 2+r.IntN(7), r.IntN(100), 2+r.IntN(7), r.IntN(100), r.IntN(10000))
	}
	return fmt.Sprintf("+31 6 %04d %04d", r.IntN(10000), r.IntN(10000))
}

func genSSN(r *rand.Rand) string {
	for {
		a := 1 + r.IntN(898)
		if a == 666 {
			continue
		}
		return fmt.Sprintf("%03d-%02d-%04d", a, 1+r.IntN(99), 1+r.IntN(9999))
	}
}

func genIP(r *rand.Rand) string {
	if r.IntN(4) == 0 {
		return fmt.Sprintf("2001:db8:%x:%x::%x", r.IntN(0xffff), r.IntN(0xffff), 1+r.IntN(0xfff))
	}
	return fmt.Sprintf("%d.%d.%d.%d", 11+r.IntN(200), r.IntN(256), r.IntN(256), 1+r.IntN(254))
}

func genURL(r *rand.Rand, word string) string {
	word = asciiLower(word)
	if word == "" {
		word = "docs"
	}
	switch r.IntN(4) {
	case 0:
		return "https://" + word + ".example.org/" + digits(r, 5)
	case 1:
		return "http://intranet.example.com/" + word + "?id=" + digits(r, 4)
	case 2:
		return "www." + word + "-portal.com"
	}
	return "https://drive.example.net/d/" + digits(r, 8) + "/view"
}
