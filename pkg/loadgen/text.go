package loadgen

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Event types of the simulated product, with their relative frequencies.
var eventTypes = []struct {
	name     string
	weight   int
	withText bool
}{
	{"page_viewed", 28, false},
	{"comment_added", 20, true},
	{"search_performed", 14, true},
	{"issue_created", 10, true},
	{"ai_prompt_submitted", 10, true},
	{"page_edited", 8, true},
	{"issue_transitioned", 7, false},
	{"issue_assigned", 3, false},
}

var (
	projects   = []string{"ENG", "OPS", "SEC", "WEB", "DATA", "HR", "FIN"}
	spaces     = []string{"Engineering", "Onboarding", "Runbooks", "Product", "Security", "Team Handbook"}
	topics     = []string{"the login page", "the billing export", "the nightly ETL job", "the mobile release", "SSO for the new region", "the flaky integration test", "the Q3 roadmap", "the incident from Tuesday", "the data retention policy", "the on-call rotation"}
	verbs      = []string{"is broken after the deploy", "needs a review", "times out under load", "should be split into two tickets", "is blocked on legal", "looks good to me", "regressed again", "needs better docs"}
	searchBase = []string{"how to reset 2fa", "release checklist", "vpn setup", "expense policy", "postgres failover runbook", "holiday calendar", "api rate limits", "design review template"}
	prompts    = []string{"Summarize this page for a new joiner", "Draft a reply to the customer about", "Write a SQL query that finds", "Explain why the build fails for", "Rewrite this paragraph more politely:", "Generate test cases for"}
	statuses   = []string{"To Do", "In Progress", "In Review", "Done"}
)

// textFor composes the free text of an event and returns the PII seeded into it.
// colleague is another user of the actor's tenant (for mentions and emails).
func textFor(r *rand.Rand, eventType string, actor, colleague *User, domain string, rates map[string]float64) (string, []PII) {
	var base string
	topic, verb := topics[r.IntN(len(topics))], verbs[r.IntN(len(verbs))]
	switch eventType {
	case "comment_added":
		base = fmt.Sprintf("I think %s %s.", topic, verb)
	case "search_performed":
		base = searchBase[r.IntN(len(searchBase))]
	case "issue_created":
		base = fmt.Sprintf("Bug: %s %s. Steps to reproduce attached.", topic, verb)
	case "ai_prompt_submitted":
		base = fmt.Sprintf("%s %s.", prompts[r.IntN(len(prompts))], topic)
	case "page_edited":
		base = fmt.Sprintf("Updated the section about %s.", topic)
	}
	search := eventType == "search_performed"
	var pii []PII
	var parts []string
	add := func(kind, typ, value, phrase string) {
		pii = append(pii, PII{Type: typ, Kind: kind, Value: value})
		if search {
			parts = append(parts, value) // queries are terse: just the value
			return
		}
		parts = append(parts, fmt.Sprintf(phrase, value))
	}
	for _, kind := range AllKinds {
		if r.Float64() >= rates[kind] {
			continue
		}
		switch kind {
		case KindEmail:
			v := colleague.Email
			if r.IntN(3) == 0 {
				v = fmt.Sprintf("%s.%s%d@gmail.com", strings.ToLower(asciiFold(firstNames[r.IntN(len(firstNames))])), strings.ToLower(asciiFold(lastNames[r.IntN(len(lastNames))])), r.IntN(100))
			}
			add(kind, TypeEmail, v, "Please email %s about it.")
		case KindPhone:
			add(kind, TypePhone, phone(r), "Call me on %s if urgent.")
		case KindCard:
			add(kind, TypeCard, card(r), "The customer's card %s was declined twice.")
		case KindIBAN:
			add(kind, TypeIBAN, iban(r), "Refund goes to IBAN %s.")
		case KindIP:
			add(kind, TypeIP, ipAddr(r), "Requests from %s are being throttled.")
		case KindSSN:
			add(kind, TypeSSN, ssn(r), "The applicant's SSN is %s, please verify.")
		case KindURL:
			add(kind, TypeURL, link(r, domain), "Details in %s")
		case KindSecret:
			add(kind, TypeSecret, secret(r), "Oops, I pasted the key %s here, rotating it now.")
		case KindActorName:
			add(kind, TypePerson, actor.Name, "Thanks, %s")
		case KindActorHandle:
			add(kind, TypePerson, actor.Handle, "(posted as %s)")
		case KindMention:
			add(kind, TypePerson, "@"+colleague.Handle, "%s can you take a look?")
		case KindPerson:
			add(kind, TypePerson, PersonName(r), []string{"I met %s from the customer side yesterday.", "Please loop in %s before Friday.",
				"%s reported the same problem.", "Spoke with %s, they agree.", "cc %s"}[r.IntN(5)])
		case KindPlace:
			add(kind, TypeLoc, PlaceName(r), []string{"The customer in %s cannot log in.", "I'm working from %s this week.",
				"Our %s office reported it too.", "Flights to %s are cancelled."}[r.IntN(4)])
		case KindAddress:
			add(kind, TypeLoc, StreetAddress(r), []string{"Ship the replacement laptop to %s.", "New office address: %s",
				"The invoice went to %s instead."}[r.IntN(3)])
		}
	}
	r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	return strings.Join(append([]string{base}, parts...), " "), pii
}

// propertiesFor returns the event's structured properties.
func propertiesFor(r *rand.Rand, eventType string) map[string]string {
	project := projects[r.IntN(len(projects))]
	issue := fmt.Sprintf("%s-%d", project, 1+r.IntN(5000))
	switch eventType {
	case "page_viewed", "page_edited":
		return map[string]string{"space": spaces[r.IntN(len(spaces))], "page_id": fmt.Sprint(100000 + r.IntN(900000))}
	case "issue_created", "comment_added", "issue_assigned":
		return map[string]string{"project": project, "issue_key": issue, "priority": []string{"Low", "Medium", "High", "Highest"}[r.IntN(4)]}
	case "issue_transitioned":
		return map[string]string{"project": project, "issue_key": issue, "to_status": statuses[r.IntN(len(statuses))]}
	case "search_performed":
		return map[string]string{"results": fmt.Sprint(r.IntN(60)), "scope": []string{"issues", "pages", "all"}[r.IntN(3)]}
	case "ai_prompt_submitted":
		return map[string]string{"feature": []string{"summarize", "draft", "query", "explain"}[r.IntN(4)], "model": "assistant-v2"}
	}
	return nil
}
