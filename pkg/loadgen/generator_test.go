package loadgen

import (
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

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
	cfg.SteadyChurn()
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
			assert.Regexp(t, `^/v1/tenants/[^/]+/((users|anonymous)/[^/]+/)?consents/ai_training$`, c.Path())
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
	assert.Equal(t, 248, initial, "initial grants first (about half of 500 users, by seed)")
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
	assert.NotZero(t, types["identify"])
}

// The world exercises identity: tenants share user ids, some ids hold '/',
// '%', spaces and non-ASCII letters, and users with a browser cookie browse
// anonymously, log in (identify, once flagged as a new link), use the
// product logged in (events carry both ids) and log out.
func TestGeneratorIdentityScenarios(t *testing.T) {
	g, err := NewGenerator(DefaultConfig())
	require.NoError(t, err)
	byID := map[string][]string{}
	for _, u := range g.World().Users() {
		byID[u.ID] = append(byID[u.ID], u.TenantID)
	}
	assert.Len(t, byID["u-0001"], 20, "every tenant has a user u-0001")
	var slash, pct, space, nonASCII bool
	for id := range byID {
		slash = slash || strings.Contains(id, "/")
		pct = pct || strings.Contains(id, "%")
		space = space || strings.Contains(id, " ")
		nonASCII = nonASCII || strings.ContainsFunc(id, func(r rune) bool { return r > 127 })
	}
	assert.True(t, slash && pct && space && nonASCII)

	type pair struct{ tenant, user string }
	cookieOf := map[pair]string{}
	for _, u := range g.World().Users() {
		if u.Cookie != "" {
			cookieOf[pair{u.TenantID, u.ID}] = u.Cookie
		}
	}
	require.NotEmpty(t, cookieOf)
	newLinks := map[pair]int{}
	var browse, web, linkedIdentify int
	for range 8000 {
		a := g.Next()
		if a.Kind != ActionEvent {
			continue
		}
		ev := a.Event.Event
		switch {
		case ev.EventType == "identify":
			require.NotEmpty(t, ev.UserID)
			require.Equal(t, cookieOf[pair{ev.TenantID, ev.UserID}], ev.AnonymousID)
			if a.Event.NewLink {
				newLinks[pair{ev.TenantID, ev.UserID}]++
			} else {
				linkedIdentify++
			}
		case ev.UserID != "" && ev.AnonymousID != "":
			web++
		case ev.UserID == "" && slices.Contains(mapsValues(cookieOf), ev.AnonymousID):
			browse++
		}
	}
	for p, n := range newLinks {
		assert.Equal(t, 1, n, "one new link per user: %v", p)
	}
	assert.NotZero(t, browse)
	assert.NotZero(t, web)
	assert.NotZero(t, linkedIdentify, "users log in again after logging out")
}

func mapsValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
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

// planRun generates a run of n events under cfg's plan and returns its consent
// actions with the number of events generated before each.
func planRun(t *testing.T, cfg Config, n int) (changes []*ConsentAction, before []int, events []*EventAction) {
	t.Helper()
	cfg.Plan.Events = n
	g, err := NewGenerator(cfg)
	require.NoError(t, err)
	initial := len(g.initial)
	for i := 0; len(events) < n; i++ {
		a := g.Next()
		if a.Kind == ActionEvent {
			events = append(events, a.Event)
			continue
		}
		if i < initial {
			continue
		}
		changes = append(changes, a.Consent)
		before = append(before, len(events))
	}
	return changes, before, events
}

func TestChurnPlanIsProportionalToTheRun(t *testing.T) {
	cfg := DefaultConfig()
	users, tenants := cfg.Tenants*cfg.UsersPerTenant, cfg.Tenants
	count := func(cs []*ConsentAction) map[string]int {
		m := map[string]int{}
		for _, c := range cs {
			m[c.SubjectType+"/"+c.Status]++
		}
		return m
	}
	short, _, _ := planRun(t, cfg, 2000)
	long, before, events := planRun(t, cfg, 20000)
	// The same shares of subjects change, whatever the length: exact counts.
	assert.Equal(t, count(short), count(long), "the same changes in a run ten times as long")
	m := count(long)
	assert.Equal(t, users/10, m["USER/DENIED"], "a tenth of the users withdraw")
	assert.NotZero(t, m["ANONYMOUS/DENIED"], "cookie banners deny some visitors' anonymous ids")
	// a third of the 50 withdrawing users re-grant, and a fifth of the users
	// without a grant (about 200 to 250 of them) grant
	assert.GreaterOrEqual(t, m["USER/GRANTED"], 15+40)
	assert.LessOrEqual(t, m["USER/GRANTED"], 15+50)
	assert.Equal(t, tenants/10, m["TENANT/DENIED"])
	assert.Equal(t, 1, m["TENANT/GRANTED"], "half of the two opted-out tenants re-grant")
	// Spread over the run, each subject's re-grant after its withdrawal.
	first, last := before[0], before[len(before)-1]
	assert.Less(t, first, 20000/10)
	assert.Greater(t, last, 20000*7/10)
	seen := map[string]string{}
	reactive := 0
	for i, c := range long {
		key := c.SubjectType + ":" + c.TenantID + "/" + c.SubjectID // ids are per tenant
		if c.Status == "GRANTED" && seen[key] == "" {
			// a first grant: fine
		} else if c.Status == "GRANTED" {
			assert.Equal(t, "DENIED", seen[key], "%s re-grants only after withdrawing", key)
		} else {
			assert.Empty(t, seen[key], "%s withdraws once", key)
		}
		seen[key] = c.Status
		// A reactive change comes right after an event of its subject.
		if b := before[i]; b > 0 {
			ev := events[b-1].Event
			if (c.SubjectType == "USER" && ev.UserID == c.SubjectID && ev.TenantID == c.TenantID) ||
				(c.SubjectType == "ANONYMOUS" && ev.UserID == "" && ev.AnonymousID == c.SubjectID && ev.TenantID == c.TenantID) ||
				(c.SubjectType == "TENANT" && ev.TenantID == c.SubjectID) {
				reactive++
			}
		}
	}
	t.Logf("%d changes, %d right after an event of their subject", len(long), reactive)
	assert.Greater(t, reactive, len(long)/3, "about half of the changes follow their subject's event")
}

func TestChurnPlanKeepsEventsUnchanged(t *testing.T) {
	cfg := DefaultConfig()
	_, _, withPlan := planRun(t, cfg, 500)
	cfg.Plan = ChurnPlan{}
	g, err := NewGenerator(cfg)
	require.NoError(t, err)
	i := 0
	for i < len(withPlan) {
		if a := g.Next(); a.Kind == ActionEvent {
			require.Equal(t, withPlan[i].Event.EventID, a.Event.Event.EventID, "event %d", i)
			i++
		}
	}
}
