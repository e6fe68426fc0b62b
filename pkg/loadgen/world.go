package loadgen

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Tenant is a customer organisation of the simulated product.
type Tenant struct {
	ID     string
	Name   string
	Domain string
	Users  []*User
	// anonymous ids of visitors of the tenant's public pages.
	anonymous []string
}

// User is a person in a tenant. IDs are numbered per tenant, so two tenants
// have users with the same ids (who are different people with their own
// consent); some ids hold '/', '%', spaces and non-ASCII letters, which ingest
// and the consent API must both take as they are.
type User struct {
	ID       string
	TenantID string
	// Cookie is the anonymous id of the user's browser ("" for users seen
	// only server-side): they browse anonymously, log in (identify, linking
	// Cookie to ID), use the product logged in, and log out again.
	Cookie       string
	loggedIn     bool
	linked       bool
	Name         string
	Email        string
	Handle       string
	Jurisdiction string // "" = not known to the product
	IP           string
	Locale       string
	UserAgent    string
	session      string
	weight       int // activity weight (some users are much busier)
}

// World is the generated population.
type World struct {
	Tenants []*Tenant
}

var (
	firstNames = []string{"Ada", "Alan", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Edsger",
		"Hedy", "Tim", "Radia", "Guido", "Sophie", "Lukas", "Amélie", "Jonas", "Chloé", "Oliver", "Amelia", "Noah",
		"Emma", "Mateo", "Priya", "Wei", "Fatima", "Kwame", "Yuki", "Sven"}
	lastNames = []string{"Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie",
		"Allen", "Dijkstra", "Lamarr", "Berners-Lee", "Perlman", "van Rossum", "Müller", "Schmidt", "Dubois",
		"Lefèvre", "Smith", "Jones", "Taylor", "Garcia", "Patel", "Zhang", "Okafor", "Mensah", "Tanaka", "Nilsson",
		"O'Brien", "Kowalski"}
	companyWords = []string{"Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay",
		"Cyberdyne", "Soylent", "Tyrell", "Wonka", "Aperture", "Massive", "Pied", "Oscorp"}
	// jurisdictions with weights: opt_in regimes, opt_out regimes, unknown, missing.
	jurisdictions = []struct {
		code   string
		weight int
	}{{"DE", 14}, {"FR", 9}, {"GB", 9}, {"NL", 4}, {"IE", 3}, {"US", 24}, {"US-CA", 14}, {"US-NY", 5}, {"BR", 4}, {"AQ", 3}, {"", 11}}
	locales = map[string]string{"DE": "de-DE", "FR": "fr-FR", "GB": "en-GB", "NL": "nl-NL", "IE": "en-IE", "BR": "pt-BR"}
	agents  = []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
		"JiraMobile/5.12 (iPhone; iOS 17.4)",
	}
)

// newWorld builds tenants and users from r.
func newWorld(r *rand.Rand, tenants, usersPerTenant int) *World {
	w := &World{}
	for t := 0; t < tenants; t++ {
		name := companyWords[t%len(companyWords)]
		if t >= len(companyWords) {
			name += fmt.Sprintf(" %d", t/len(companyWords)+1)
		}
		slug := strings.ToLower(strings.ReplaceAll(name, " ", ""))
		tn := &Tenant{ID: fmt.Sprintf("tenant-%03d", t+1), Name: name, Domain: slug + ".example.com"}
		handles := map[string]bool{}
		for u := 0; u < usersPerTenant; u++ {
			first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
			handle := strings.ToLower(asciiFold(first) + "." + asciiFold(last))
			for i := 2; handles[handle]; i++ {
				handle = strings.ToLower(asciiFold(first)+"."+asciiFold(last)) + fmt.Sprint(i)
			}
			handles[handle] = true
			jur := pickJurisdiction(r)
			loc, ok := locales[jur]
			if !ok {
				loc = "en-US"
			}
			cookie := ""
			if r.IntN(10) < 3 {
				cookie = "anon-" + randString(r, "0123456789abcdef", 16)
			}
			tn.Users = append(tn.Users, &User{
				ID:           userID(u),
				TenantID:     tn.ID,
				Cookie:       cookie,
				Name:         first + " " + last,
				Email:        handle + "@" + tn.Domain,
				Handle:       handle,
				Jurisdiction: jur,
				IP:           ipAddr(r),
				Locale:       loc,
				UserAgent:    agents[r.IntN(len(agents))],
				weight:       1 + r.IntN(4)*r.IntN(4),
			})
		}
		for a := 0; a < max(2, usersPerTenant/5); a++ {
			tn.anonymous = append(tn.anonymous, fmt.Sprintf("anon-%s", randString(r, "0123456789abcdef", 16)))
		}
		w.Tenants = append(w.Tenants, tn)
	}
	return w
}

// userID numbers users per tenant; every eighth has an id with the
// characters that tripped ids up: '/', '%', spaces, non-ASCII letters.
func userID(u int) string {
	switch u % 8 {
	case 3:
		return fmt.Sprintf("team/ops %d", u+1)
	case 5:
		return fmt.Sprintf("100%% sales %d", u+1)
	case 6:
		return fmt.Sprintf("Jürgen Ñandú %d", u+1)
	}
	return fmt.Sprintf("u-%04d", u+1)
}

func pickJurisdiction(r *rand.Rand) string {
	total := 0
	for _, j := range jurisdictions {
		total += j.weight
	}
	n := r.IntN(total)
	for _, j := range jurisdictions {
		if n < j.weight {
			return j.code
		}
		n -= j.weight
	}
	return ""
}

// asciiFold maps the accented letters of the name lists to ASCII and drops
// spaces and apostrophes, for handles and emails.
func asciiFold(s string) string {
	repl := strings.NewReplacer("é", "e", "è", "e", "ü", "u", "ö", "o", "ä", "a", " ", "", "'", "", "-", "")
	return repl.Replace(s)
}

// Users returns every user of the world.
func (w *World) Users() []*User {
	var out []*User
	for _, t := range w.Tenants {
		out = append(out, t.Users...)
	}
	return out
}
