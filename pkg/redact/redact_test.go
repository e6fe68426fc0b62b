package redact

import (
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var patternOnly = New(WithoutNameHeuristics())

// found returns the substrings detected with type typ.
func found(r *Redactor, text string, actor *Actor, typ string) []string {
	res := r.Redact(text, actor)
	rs := []rune(SanitizeUTF8(text))
	var out []string
	for _, s := range res.Spans {
		if s.Type == typ {
			out = append(out, string(rs[s.Start:s.End]))
		}
	}
	return out
}

type tc struct {
	text string
	want []string // expected values of the type (nil = none)
}

func runTable(t *testing.T, r *Redactor, typ string, cases []tc) {
	t.Helper()
	for _, c := range cases {
		got := found(r, c.text, nil, typ)
		assert.Equal(t, c.want, got, "%s in %q", typ, c.text)
	}
}

func TestEmail(t *testing.T) {
	runTable(t, patternOnly, EmailAddress, []tc{
		{"mail me at john.doe+x@example.co.uk.", []string{"john.doe+x@example.co.uk"}},
		{"A@B.io and c_d@e-f.com", []string{"A@B.io", "c_d@e-f.com"}},
		{"not an email: user@localhost or @handle or a@b.c", nil},
		{"foo@bar", nil},
	})
}

func TestURL(t *testing.T) {
	runTable(t, patternOnly, URL, []tc{
		{"see https://www.Example.com.br/path?q=1).", []string{"https://www.Example.com.br/path?q=1"}},
		{"(http://x.org/a_(b))", []string{"http://x.org/a_(b)"}},
		{"go to www.example.org now", []string{"www.example.org"}},
		{"visit example.com/about or github.io", []string{"example.com/about", "github.io"}},
		{"file main.py and readme.md, e.g. v1.2 or 3.14", nil},
		{"the end.It was fine", nil},
	})
}

func TestIP(t *testing.T) {
	runTable(t, patternOnly, IPAddress, []tc{
		{"from 192.168.0.1 and 10.0.0.0/8", []string{"192.168.0.1", "10.0.0.0/8"}},
		{"v6 2001:db8::1 and fe80::1ff:fe23:4567:890a", []string{"2001:db8::1", "fe80::1ff:fe23:4567:890a"}},
		{"bad 256.1.1.1 and 1.2.3 and 1.2.3.4.5", nil},
		{"running version 1.2.3.4 now, v10.0.0.1", nil},
		{"at 10:30:45 we met; std::vector", nil},
	})
}

func TestCreditCard(t *testing.T) {
	runTable(t, patternOnly, CreditCard, []tc{
		{"card 4111 1111 1111 1111 ok", []string{"4111 1111 1111 1111"}},
		{"card 4111-1111-1111-1111", []string{"4111-1111-1111-1111"}},
		{"amex 378282246310005.", []string{"378282246310005"}},
		{"luhn fail 4111 1111 1111 1112", nil},
		{"zeros 0000000000000000", nil},
	})
}

func TestIBAN(t *testing.T) {
	runTable(t, patternOnly, IBANCode, []tc{
		{"pay GB82WEST12345698765432 now", []string{"GB82WEST12345698765432"}},
		{"pay GB82 WEST 1234 5698 7654 32 to me", []string{"GB82 WEST 1234 5698 7654 32"}},
		{"de DE89370400440532013000.", []string{"DE89370400440532013000"}},
		{"lower gb82west12345698765432", []string{"gb82west12345698765432"}},
		{"bad checksum GB83WEST12345698765432", nil},
		{"wrong length GB82WEST1234569876543", nil},
	})
	assert.True(t, IBANValid("GB82 WEST 1234 5698 7654 32"))
	assert.False(t, IBANValid("XX82WEST12345698765432"))
}

func TestSSN(t *testing.T) {
	runTable(t, patternOnly, USSSN, []tc{
		{"SSN 536-90-4399", []string{"536-90-4399"}},
		{"ssn: 536904399", []string{"536904399"}},
		{"area 999-12-3456, 666-12-3456, 000-12-3456", nil},
		{"group 536-00-4399 serial 536-90-0000", nil},
		{"known 078-05-1120 and 123-45-6789", nil},
		{"no context 536904399", nil},
	})
}

func TestPhone(t *testing.T) {
	runTable(t, patternOnly, PhoneNumber, []tc{
		{"call (415) 555-2671 now", []string{"(415) 555-2671"}},
		{"call 415-555-2671x123", []string{"415-555-2671x123"}},
		{"intl +44 20 7946 0958.", []string{"+44 20 7946 0958"}},
		{"Swiss +41 (0)44 668 18 00", []string{"+41 (0)44 668 18 00"}},
		{"fr 01.42.68.53.00", []string{"01.42.68.53.00"}},
		{"us 001-415-555-2671", []string{"001-415-555-2671"}},
		{"phone: 0471 2256381", []string{"0471 2256381"}},
		{"date 2020-01-15 and 12/05/2020 and 2011-07-03 09:12:50", nil},
		{"Suite 212 4890", nil},
		{"driver's license number is 3381-52-7704", nil},
		{"in 2019 we sold 12 500 units", nil},
		{"version 1.2.3", nil},
	})
}

func TestSecrets(t *testing.T) {
	runTable(t, patternOnly, Secret, []tc{
		{"key AKIAIOSFODNN7EXAMPLE here", []string{"AKIAIOSFODNN7EXAMPLE"}},
		{"ghp_" + strings.Repeat("a1B2", 9), []string{"ghp_" + strings.Repeat("a1B2", 9)}},
		{"slack xoxb-1234567890-abcdefghij", []string{"xoxb-1234567890-abcdefghij"}},
		{"sk_live_4eC39HqLyjWDarjtT1zdp7dc", []string{"sk_live_4eC39HqLyjWDarjtT1zdp7dc"}},
		{"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefghijklmnop", []string{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefghijklmnop"}},
		{"password=hunter2!", []string{"hunter2!"}},
		{`{"api_key": "abcd1234efgh"}`, []string{"abcd1234efgh"}},
		{"Authorization: Bearer abcdefghijklmnopqrstuvwxyz123456", []string{"abcdefghijklmnopqrstuvwxyz123456"}},
		{"-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", []string{"-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"}},
		{"I forgot my password: reset it please", nil},
		{"AKIA is a prefix", nil},
	})
}

func TestActorAndMentions(t *testing.T) {
	a := &Actor{Name: "Jane van Doe", Email: "jane@corp.example", Handle: "jdoe"}
	text := "Jane wrote to jane@corp.example as @jdoe and jdoe; cc @john.doe, Doe agreed. jane is lowercase."
	res := patternOnly.Redact(text, a)
	assert.Equal(t, "<PERSON> wrote to <EMAIL_ADDRESS> as <PERSON> and <PERSON>; cc <PERSON>, <PERSON> agreed. jane is lowercase.", res.Text)
	// full name as one span
	res = patternOnly.Redact("Signed, Jane van Doe.", a)
	assert.Equal(t, "Signed, <PERSON>.", res.Text)
	// emails are not mentions
	assert.Nil(t, found(patternOnly, "x@y.com", nil, Person))
	assert.Equal(t, []string{"@alice_b"}, found(patternOnly, "thanks @alice_b!", nil, Person))
}

func TestNames(t *testing.T) {
	r := New()
	cases := []struct {
		text string
		typ  string
		want []string
	}{
		{"My name is Zyxw Qrst.", Person, []string{"Zyxw Qrst"}},
		{"Dr. Marjatta Kivelä called", Person, []string{"Marjatta Kivelä"}},
		{"I met Michael Johnson yesterday", Person, []string{"Michael Johnson"}},
		{"Tom R. Feldkamp is speaking", Person, []string{"Tom R. Feldkamp"}},
		{"We moved here from Chicago last year", Location, []string{"Chicago"}},
		{"She lives in New York City", Location, []string{"New York City"}},
		{"The office is at 1600 Pennsylvania Avenue now", Location, []string{"1600 Pennsylvania Avenue"}},
		{"The report is due on Monday.", Person, nil},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, found(r, c.text, nil, c.typ), c.text)
	}
}

func TestRuneOffsets(t *testing.T) {
	text := "Héllo 😀 ünïcode — mail: zoë@exämple.com? no: zoe@example.com 📞 +44 20 7946 0958"
	res := patternOnly.Redact(text, nil)
	rs := []rune(text)
	require.Len(t, res.Spans, 2)
	assert.Equal(t, "zoe@example.com", string(rs[res.Spans[0].Start:res.Spans[0].End]))
	assert.Equal(t, EmailAddress, res.Spans[0].Type)
	assert.Equal(t, "+44 20 7946 0958", string(rs[res.Spans[1].Start:res.Spans[1].End]))
	assert.Equal(t, Apply(text, res.Spans), res.Text)
	// invalid UTF-8: each bad byte is one code point, output is valid
	bad := "a\xffb 192.168.1.1"
	res = patternOnly.Redact(bad, nil)
	require.Len(t, res.Spans, 1)
	assert.Equal(t, 4, res.Spans[0].Start)
	assert.True(t, utf8.ValidString(res.Text))
}

func TestOverlapResolution(t *testing.T) {
	// URL containing an email-like part and digits: one span.
	res := patternOnly.Redact("https://example.com/u/a@b.com/4111111111111111", nil)
	require.Len(t, res.Spans, 1)
	assert.Equal(t, URL, res.Spans[0].Type)
	// deterministic
	for i := 0; i < 5; i++ {
		assert.Equal(t, res, patternOnly.Redact("https://example.com/u/a@b.com/4111111111111111", nil))
	}
}

func TestWithTypes(t *testing.T) {
	r := New(WithTypes(EmailAddress))
	res := r.Redact("a@b.com 192.168.0.1 Michael Johnson", nil)
	assert.Equal(t, "<EMAIL_ADDRESS> 192.168.0.1 Michael Johnson", res.Text)
}

func TestConcurrent(t *testing.T) {
	r := New()
	text := "Call Michael Johnson at (415) 555-2671 or mail mj@example.com from 10.1.2.3"
	want := r.Redact(text, nil)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if got := r.Redact(text, nil); got.Text != want.Text {
					t.Errorf("mismatch %q", got.Text)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestRedactStream(t *testing.T) {
	in := strings.NewReader(`{"text":"mail a@b.com","actor":{"name":"Al Bo","handle":"albo"}}` + "\n\n" + `{"text":"nothing here"}` + "\n")
	var out strings.Builder
	require.NoError(t, New().RedactStream(in, &out))
	assert.Equal(t, `{"text":"mail <EMAIL_ADDRESS>","spans":[{"start":5,"end":12,"type":"EMAIL_ADDRESS"}]}`+"\n"+`{"text":"nothing here","spans":[]}`+"\n", out.String())
	assert.Error(t, New().RedactStream(strings.NewReader("{bad\n"), &out))
}
