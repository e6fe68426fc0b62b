package loadgen

import (
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func actions(t *testing.T, cfg Config, n int) []Action {
	t.Helper()
	g, err := NewGenerator(cfg)
	require.NoError(t, err)
	out := make([]Action, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

func TestGeneratorIsDeterministicPerSeed(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Seed = 42
	a, _ := json.Marshal(actions(t, cfg, 800))
	b, _ := json.Marshal(actions(t, cfg, 800))
	assert.Equal(t, string(a), string(b))
	cfg.Seed = 43
	c, _ := json.Marshal(actions(t, cfg, 800))
	assert.NotEqual(t, string(a), string(c))
}

func TestGeneratorMix(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TenantOptOutRate, cfg.TenantGrantRate = 0.01, 0.01
	acts := actions(t, cfg, 6000)
	kinds := map[string]int{}
	jur := map[string]int{}
	types := map[string]int{}
	var gpc, anon, initial int
	ids := map[string]bool{}
	for i, a := range acts {
		require.Equal(t, i+1, a.Seq)
		if a.Kind == ActionConsent {
			c := a.Consent
			kinds[c.SubjectType+"/"+c.Status]++
			if i < 250 {
				initial++
			}
			assert.Equal(t, "ai_training", c.Purpose)
			assert.Regexp(t, `^/v1/(users|tenants)/[^/]+/consents/ai_training$`, c.Path())
			continue
		}
		ev := a.Event.Event
		require.False(t, ids[ev.EventID], "unique event ids")
		ids[ev.EventID] = true
		u, err := uuid.Parse(ev.EventID)
		require.NoError(t, err)
		assert.EqualValues(t, 4, u.Version())
		require.NotEmpty(t, ev.TenantID)
		require.NotEmpty(t, ev.Subject())
		assert.True(t, ev.ReceivedAt.IsZero(), "the producer stamps received_at")
		jur[ev.Jurisdiction]++
		types[ev.EventType]++
		if a.Event.GPC {
			gpc++
		}
		if ev.UserID == "" {
			anon++
		} else {
			assert.NotEmpty(t, ev.ActorName)
			assert.Contains(t, ev.ActorEmail, "@")
		}
		for _, p := range a.Event.PII {
			assert.Contains(t, ev.Text, p.Value, "seeded value appears verbatim")
		}
	}
	t.Logf("consents %v, gpc %d, anonymous %d, jurisdictions %v, types %v", kinds, gpc, anon, jur, types)
	assert.Equal(t, 250, initial, "initial grants first (half of 500 users, by seed)")
	for _, k := range []string{"USER/GRANTED", "USER/DENIED", "TENANT/GRANTED", "TENANT/DENIED"} {
		assert.NotZero(t, kinds[k], k)
	}
	for _, j := range []string{"DE", "FR", "GB", "US", "US-CA", ""} {
		assert.NotZero(t, jur[j], "jurisdiction %q", j)
	}
	for _, et := range []string{"issue_created", "comment_added", "page_viewed", "search_performed", "ai_prompt_submitted", "page_edited"} {
		assert.NotZero(t, types[et], et)
	}
	assert.NotZero(t, gpc)
	assert.NotZero(t, anon)
}

func TestSeededPIIIsValid(t *testing.T) {
	cfg := DefaultConfig()
	for k := range cfg.PIIRates {
		cfg.PIIRates[k] = 0.5
	}
	cfg.InitialGrantShare = 0
	seen := map[string]int{}
	phoneRe := regexp.MustCompile(`^(\+44 20 7946 0\d{3}|020 7946 0\d{3}|\+1 650-253-\d{4}|\(650\) 253-\d{4}|\+49 30 9018 2\d{3}|\+33 1 42 68 \d{2} \d{2})$`)
	for _, a := range actions(t, cfg, 3000) {
		if a.Kind != ActionEvent {
			continue
		}
		ev := a.Event.Event
		for _, p := range a.Event.PII {
			seen[p.Kind]++
			switch p.Kind {
			case KindCard:
				assert.True(t, luhnOK(p.Value), p.Value)
				assert.Equal(t, schemaType(KindCard), p.Type)
			case KindIBAN:
				assert.True(t, ibanOK(p.Value), p.Value)
			case KindSSN:
				assert.True(t, ssnValid(p.Value), p.Value)
			case KindPhone:
				assert.Regexp(t, phoneRe, p.Value)
			case KindSecret:
				ok := regexp.MustCompile(`^(AKIA[A-Z2-7]{16}|eyJ[\w-]+\.[\w-]+\.[\w-]+|ghp_[A-Za-z0-9]{36})$`).MatchString(p.Value)
				assert.True(t, ok, p.Value)
			case KindActorName:
				assert.Equal(t, ev.ActorName, p.Value)
			case KindActorHandle:
				assert.Equal(t, ev.ActorHandle, p.Value)
			case KindMention:
				assert.True(t, strings.HasPrefix(p.Value, "@"))
				assert.NotEqual(t, "@"+ev.ActorHandle, p.Value, "mentions a colleague")
			}
		}
	}
	for _, k := range AllKinds {
		assert.NotZero(t, seen[k], k)
	}
}

func schemaType(kind string) string {
	return map[string]string{KindCard: TypeCard}[kind]
}

func TestChecksums(t *testing.T) {
	// The checkers below are written here, independently of the generator.
	assert.True(t, luhnOK("4111 1111 1111 1111"))
	assert.False(t, luhnOK("4111 1111 1111 1112"))
	assert.True(t, ibanOK("GB82 WEST 1234 5698 7654 32"))
	assert.True(t, ibanOK("DE89370400440532013000"))
	assert.False(t, ibanOK("DE89370400440532013001"))
	for _, bad := range []string{"000-12-3456", "666-12-3456", "912-12-3456", "123-00-4567", "123-45-0000", "123-45-6789", "111-11-1111"} {
		assert.False(t, ssnValid(bad), bad)
	}
	assert.True(t, ssnValid("536-90-4399"))
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		assert.True(t, luhnOK(card(r)))
		assert.True(t, ibanOK(iban(r)))
	}
}

// luhnOK is the Luhn check: from the right, double every second digit (minus 9
// above 9); the sum is a multiple of 10.
func luhnOK(s string) bool {
	sum, n := 0, 0
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			continue
		}
		d := int(c - '0')
		if n%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		n++
	}
	return n >= 12 && sum%10 == 0
}

// ibanOK is ISO 13616's check: move the first four characters to the end, letters
// to 10..35, and the number mod 97 is 1.
func ibanOK(s string) bool {
	s = strings.ReplaceAll(s, " ", "")
	if len(s) < 15 {
		return false
	}
	var digits strings.Builder
	for _, c := range s[4:] + s[:4] {
		switch {
		case c >= '0' && c <= '9':
			digits.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			fmt.Fprint(&digits, int(c-'A')+10)
		default:
			return false
		}
	}
	n, ok := new(big.Int).SetString(digits.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

func TestReferenceOracle(t *testing.T) {
	o := DefaultReferenceOracle()
	ev := schema.InteractionEvent{Jurisdiction: "DE"}
	ev.ReceivedAt = ev.ReceivedAt.AddDate(2025, 0, 0)
	before, after := ev.ReceivedAt.Add(-1), ev.ReceivedAt.Add(1)
	granted := &ConsentRecord{Status: schema.StatusGranted, Since: before}
	cases := []struct {
		name   string
		jur    string
		gpc    bool
		st     ConsentState
		allow  bool
		reason string
	}{
		{"opt-in without record", "DE", false, ConsentState{}, false, "no_consent"},
		{"missing jurisdiction is opt-in", "", false, ConsentState{}, false, "no_consent"},
		{"opt-out without record", "US-CA", false, ConsentState{}, true, "allowed_opt_out_regime"},
		{"opt-out with gpc", "US", true, ConsentState{}, false, "gpc"},
		{"user grant before", "DE", true, ConsentState{User: granted}, true, "allowed_consent"},
		{"user grant after", "DE", false, ConsentState{User: &ConsentRecord{Status: schema.StatusGranted, Since: after}}, false, "consent_after_event"},
		{"user denial", "US", false, ConsentState{User: &ConsentRecord{Status: schema.StatusDenied, Since: before}}, false, "user_opt_out"},
		{"tenant denial beats user grant", "DE", false, ConsentState{User: granted, Tenant: &ConsentRecord{Status: schema.StatusDenied, Since: before}}, false, "tenant_opt_out"},
		{"tenant grant after", "US", false, ConsentState{Tenant: &ConsentRecord{Status: schema.StatusGranted, Since: after}}, false, "tenant_consent_after_event"},
		{"tenant grant gives nothing", "DE", false, ConsentState{Tenant: granted}, false, "no_consent"},
	}
	for _, c := range cases {
		e := ev
		e.Jurisdiction, e.GPC = c.jur, c.gpc
		allow, reason := o.Expect(e, c.st)
		assert.Equal(t, c.allow, allow, c.name)
		assert.Equal(t, c.reason, reason, c.name)
	}
}
