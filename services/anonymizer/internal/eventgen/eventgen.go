// Package eventgen generates InteractionEvents seeded with personal data, for the
// anonymizer's tests and benchmarks: names, emails, phone numbers, card numbers,
// IBANs, IP addresses, SSNs, URLs, credentials, the actor's own identity and
// @mentions, in free text and in properties. Every seeded value is returned, so a
// test can check that none of them survives anonymization.
package eventgen

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
)

// Generator makes events from a deterministic random source.
type Generator struct {
	r *rand.Rand
}

// New returns a generator seeded with seed.
func New(seed uint64) *Generator {
	return &Generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Event is a generated event and the seeded values that must not appear in its
// curated form.
type Event struct {
	Event schema.InteractionEvent
	Seeds []string
}

// Allowlist is the property allowlist the generated events are meant for.
var Allowlist = []string{"page", "query", "plan"}

var (
	firstNames = []string{"James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "William", "Linda",
		"David", "Elizabeth", "Richard", "Barbara", "Joseph", "Susan", "Thomas", "Jessica", "Daniel", "Sarah"}
	lastNames = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
		"Rodriguez", "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor", "Moore"}
	domains    = []string{"example.com", "mail.example.org", "corp.example.net", "acme.example"}
	eventTypes = []string{"issue_created", "comment_added", "page_viewed", "search_run", "ai_prompt_submitted"}
	locations  = [][3]string{{"Germany", "Bavaria", "Munich"}, {"United States", "California", "Sacramento"},
		{"France", "Brittany", "Rennes"}, {"Canada", "Ontario", "Toronto"}}
	jurisdictions = []string{"DE", "US-CA", "FR", "CA-ON", "US-NY"}
	areaCodes     = []string{"212", "415", "617", "312", "206", "303"}
)

const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"

func (g *Generator) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *Generator) token(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.r.IntN(len(alphabet))]
	}
	return string(b)
}

func (g *Generator) digits(n int) string { return g.token(n, "0123456789") }

// Person is a generated person.
type Person struct {
	First, Last, Email, Handle string
}

// Name is the full name.
func (p Person) Name() string { return p.First + " " + p.Last }

// Person returns a random person.
func (g *Generator) Person() Person {
	f, l := g.pick(firstNames), g.pick(lastNames)
	return Person{
		First: f, Last: l,
		Email:  strings.ToLower(f+"."+l) + g.digits(2) + "@" + g.pick(domains),
		Handle: strings.ToLower(f[:1]+l) + g.digits(3),
	}
}

// Phone returns a valid US or German phone number in a common format.
func (g *Generator) Phone() string {
	if g.r.IntN(2) == 0 {
		ex := fmt.Sprintf("%d%d%d", 2+g.r.IntN(8), g.r.IntN(10), 2+g.r.IntN(8))
		if ex[1:] == "11" || ex == "555" {
			ex = "432"
		}
		area, line := g.pick(areaCodes), g.digits(4)
		switch g.r.IntN(3) {
		case 0:
			return "(" + area + ") " + ex + "-" + line
		case 1:
			return "+1 " + area + "-" + ex + "-" + line
		default:
			return area + "." + ex + "." + line
		}
	}
	return "+49 30 " + fmt.Sprint(2+g.r.IntN(7)) + g.digits(7)
}

// Card returns a Luhn-valid Visa number, grouped or not.
func (g *Generator) Card() string {
	d := "4" + g.digits(14)
	sum := 0
	for i := range len(d) {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 0 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	d += fmt.Sprint((10 - sum%10) % 10)
	switch g.r.IntN(3) {
	case 0:
		return d
	case 1:
		return d[:4] + " " + d[4:8] + " " + d[8:12] + " " + d[12:]
	default:
		return d[:4] + "-" + d[4:8] + "-" + d[8:12] + "-" + d[12:]
	}
}

// IBAN returns a valid German IBAN, grouped or compact.
func (g *Generator) IBAN() string {
	bban := g.digits(18)
	n, _ := new(big.Int).SetString(bban+"131400", 10) // D=13 E=14, check 00
	check := 98 - new(big.Int).Mod(n, big.NewInt(97)).Int64()
	iban := fmt.Sprintf("DE%02d%s", check, bban)
	if g.r.IntN(2) == 0 {
		return iban
	}
	var b strings.Builder
	for i := 0; i < len(iban); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(iban[i:min(i+4, len(iban))])
	}
	return b.String()
}

// SSN returns a US SSN in a valid range.
func (g *Generator) SSN() string {
	area := 1 + g.r.IntN(665)
	if area == 666 {
		area = 667
	}
	return fmt.Sprintf("%03d-%02d-%04d", area, 1+g.r.IntN(99), 1+g.r.IntN(9999))
}

// IPv4 returns a host address (last octet 1-254).
func (g *Generator) IPv4() string {
	return fmt.Sprintf("%d.%d.%d.%d", 11+g.r.IntN(180), g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
}

// IPv6 returns a full global unicast address.
func (g *Generator) IPv6() string {
	parts := make([]string, 8)
	parts[0] = "2001"
	parts[1] = "db8"
	for i := 2; i < 8; i++ {
		parts[i] = fmt.Sprintf("%x", 1+g.r.IntN(0xfffe))
	}
	return strings.Join(parts, ":")
}

// URL returns a URL naming a person.
func (g *Generator) URL(p Person) string {
	return "https://" + g.pick(domains) + "/people/" + p.Handle + "?ref=" + g.token(6, alnum)
}

// Secret returns a credential of a recognisable format.
func (g *Generator) Secret() string {
	switch g.r.IntN(3) {
	case 0:
		return "AKIA" + g.token(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
	case 1:
		return "ghp_" + g.token(36, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
	default:
		b64 := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
		return "eyJhbGciOiJIUzI1NiJ9." + "eyJ" + g.token(30, b64) + "." + g.token(43, b64)
	}
}

// Event returns a generated event received at received.
func (g *Generator) Event(received time.Time) Event {
	actor, other, mentioned := g.Person(), g.Person(), g.Person()
	loc := locations[g.r.IntN(len(locations))]
	e := schema.InteractionEvent{
		EventID:      fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", g.r.Uint32(), g.r.IntN(1<<16), g.r.IntN(1<<12), g.r.IntN(1<<12), g.r.Int64N(1<<48)),
		EventType:    g.pick(eventTypes),
		TenantID:     "org_" + g.token(10, alnum),
		SessionID:    "sess_" + g.token(16, alnum),
		ReceivedAt:   received,
		OccurredAt:   received.Add(-time.Duration(g.r.IntN(5000)) * time.Millisecond),
		Jurisdiction: g.pick(jurisdictions),
		GPC:          g.r.IntN(4) == 0,
		UserAgent:    "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/" + g.digits(3),
		Locale:       "en-US",
		Location:     strings.Join(loc[:], "/"),
		ActorName:    actor.Name(),
		ActorEmail:   actor.Email,
		ActorHandle:  "@" + actor.Handle,
		Source:       "api",
	}
	if g.r.IntN(5) == 0 {
		e.AnonymousID = "anon-" + g.token(20, alnum)
	} else {
		e.UserID = "usr_" + g.token(12, alnum)
	}
	if g.r.IntN(3) == 0 {
		e.IP = g.IPv6()
	} else {
		e.IP = g.IPv4()
	}
	phone, card, iban, ssn, ip, url, secret := g.Phone(), g.Card(), g.IBAN(), g.SSN(), g.IPv4(), g.URL(other), g.Secret()
	sentences := []string{
		fmt.Sprintf("Hi @%s, this is %s.", mentioned.Handle, actor.Name()),
		fmt.Sprintf("Please ask %s (%s) to call me back on %s.", other.Name(), other.Email, phone),
		fmt.Sprintf("My card %s was charged twice.", card),
		fmt.Sprintf("Wire the refund to IBAN %s please.", iban),
		fmt.Sprintf("SSN on file: %s.", ssn),
		fmt.Sprintf("The login came from %s, see %s for details.", ip, url),
		fmt.Sprintf("Deploy failed with token %s in the log.", secret),
		fmt.Sprintf("Reach me at %s or ping %s.", actor.Email, e.ActorHandle),
		fmt.Sprintf("Ticket opened by %s for user %s.", actor.First, e.Subject()),
	}
	g.r.Shuffle(len(sentences), func(i, j int) { sentences[i], sentences[j] = sentences[j], sentences[i] })
	e.Text = strings.Join(sentences[:4+g.r.IntN(len(sentences)-3)], " ")
	e.Properties = map[string]string{
		"page":  "/people/" + actor.Handle + "?email=" + other.Email,
		"query": other.Name() + " " + g.Phone(),
		"plan":  "pro",
		"email": actor.Email,
		"ssn":   g.SSN(),
		"ip":    e.IP,
		"name":  actor.Name(),
	}
	seeds := []string{
		actor.Name(), actor.First, actor.Last, actor.Email, actor.Handle,
		other.Name(), other.Email, other.Handle, mentioned.Handle,
		phone, card, iban, ssn, ip, url, secret,
		e.TenantID, e.SessionID, e.Subject(), e.IP, e.UserAgent, loc[1], loc[2],
	}
	for _, k := range []string{"page", "query", "email", "ssn", "ip", "name"} {
		seeds = append(seeds, e.Properties[k])
	}
	// Compact forms of grouped numbers too.
	for _, v := range []string{card, iban, phone} {
		if c := strings.Map(func(r rune) rune {
			if r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' {
				return -1
			}
			return r
		}, v); c != v {
			seeds = append(seeds, c)
		}
	}
	return Event{Event: e, Seeds: seeds}
}
