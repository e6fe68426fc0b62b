package redact

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The tagger's behaviour on the kinds of names and places the issue lists,
// and on capitalised words that must stay. Each case lists the substrings
// that must be redacted as the type (each inside one span) and words that
// must stay.
func TestNamesAndPlacesBehaviour(t *testing.T) {
	r := New()
	type want struct {
		typ   string
		value string
	}
	cases := []struct {
		text string
		want []want
		keep []string
	}{
		// cultures
		{"Please ask Oluwaseun Adeyemi to review the contract.", []want{{Person, "Oluwaseun Adeyemi"}}, []string{"review", "contract"}},
		{"Nguyễn Thị Mai joined the Hanoi office.", []want{{Person, "Nguyễn Thị Mai"}, {Location, "Hanoi"}}, nil},
		{"I spoke with Giorgi Beridze yesterday.", []want{{Person, "Giorgi Beridze"}}, nil},
		{"Meeting notes by Siddharth Venkataraman", []want{{Person, "Siddharth Venkataraman"}}, []string{"Meeting"}},
		{"Ask Małgorzata Wiśniewska about the budget.", []want{{Person, "Małgorzata Wiśniewska"}}, []string{"budget"}},
		// single first names, sentence start, possessives
		{"Priya fixed the login bug.", []want{{Person, "Priya"}}, []string{"login"}},
		{"I borrowed Kwame's charger.", []want{{Person, "Kwame"}}, []string{"charger"}},
		// surnames after titles
		{"Dr. Okonkwo will call you back.", []want{{Person, "Okonkwo"}}, nil},
		{"Please send it to Mrs Lindqvist.", []want{{Person, "Lindqvist"}}, nil},
		// chat: lowercase names and @handles
		{"thanks priya, merging now", []want{{Person, "priya"}}, []string{"merging"}},
		{"@jsmith can you take a look?", []want{{Person, "@jsmith"}}, []string{"look"}},
		// signatures
		{"Thanks for the update.\n\nBest regards,\nAnneliese Brandt", []want{{Person, "Anneliese Brandt"}}, []string{"update"}},
		// places and street addresses
		{"She moved from Porto to Gothenburg last year.", []want{{Location, "Porto"}, {Location, "Gothenburg"}}, nil},
		{"Ship it to 742 Evergreen Terrace, Springfield, IL 62704.", []want{{Location, "742 Evergreen Terrace"}, {Location, "Springfield"}, {Location, "62704"}}, nil},
		{"Our new address is Hauptstraße 12, 10115 Berlin.", []want{{Location, "Hauptstraße 12"}, {Location, "10115 Berlin"}}, nil},
		// capitalised words that are no PII
		{"Jira ticket ENG-1234 is blocked until Monday.", nil, []string{"Jira", "ENG", "1234", "Monday"}},
		{"The March release of Kubernetes breaks the Helm chart.", nil, []string{"March", "Kubernetes", "Helm"}},
		{"Please Review The Quarterly Budget Before Friday", nil, []string{"Review", "Quarterly", "Budget", "Friday"}},
		{"Status: In Progress. Priority: High.", nil, []string{"Status", "Progress", "Priority", "High"}},
		{"We use Slack, Grafana and PagerDuty for alerts.", nil, []string{"Slack", "Grafana", "PagerDuty"}},
	}
	for _, c := range cases {
		res := r.Redact(c.text, nil)
		for _, w := range c.want {
			covered, typed := coverage(c.text, res, seeded{w.value, w.typ})
			assert.True(t, covered && typed, "%s %q not redacted as such in %q: %q", w.typ, w.value, c.text, res.Text)
		}
		for _, k := range c.keep {
			assert.True(t, strings.Contains(res.Text, k), "%q was redacted in %q: %q", k, c.text, res.Text)
		}
	}
}
