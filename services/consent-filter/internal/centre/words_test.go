package centre

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consentflow/consentflow/services/consent-filter/decision"
	"github.com/consentflow/consentflow/services/consent-filter/internal/filter"
)

// Every decision reason has words on the page: a reason added to the decision
// package without them fails here.
func TestEveryDecisionReasonIsExplained(t *testing.T) {
	c := &Centre{}
	for _, r := range decision.Reasons() {
		if w := c.why(filter.Standing{Decision: decision.Decision{Reason: r}}, "DE"); w == "" {
			t.Errorf("reason %s has no words on the page", r)
		}
	}
}

func TestThemeIsChecked(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("logo.svg", `<svg xmlns="http://www.w3.org/2000/svg"/>`)
	th, err := LoadTheme(write("ok.json", `{"product_name":"Acme","accent":"#112233","logo_file":"logo.svg"}`))
	if err != nil || !th.HasLogo() || th.logoType != "image/svg+xml" {
		t.Fatalf("good theme: %v %+v", err, th)
	}
	for name, body := range map[string]string{
		"colour.json":  `{"accent":"red; background:url(//evil)"}`,
		"unknown.json": `{"script":"x"}`,
		"logo.json":    `{"logo_file":"missing.png"}`,
		"gif.json":     `{"logo_file":"logo.svg.gif"}`,
	} {
		if _, err := LoadTheme(write(name, body)); err == nil {
			t.Errorf("%s accepted", name)
		} else if !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error does not name the file: %v", name, err)
		}
	}
}
