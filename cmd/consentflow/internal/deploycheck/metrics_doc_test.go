package deploycheck

import (
	"regexp"
	"testing"
)

// catalogueRow is a row of a metrics catalogue: | `name` | counter | ...
var catalogueRow = regexp.MustCompile("(?m)^\\| `([a-z0-9_]+)` \\| (?:counter|gauge|histogram|summary) \\|")

// TestMetricsCataloguesAreComplete: the metrics catalogues of the README and
// docs/operations.md list every metric the Go code defines, and nothing else,
// so operators can look up every series a service exports.
func TestMetricsCataloguesAreComplete(t *testing.T) {
	defined := sourceMetrics(t)
	for _, doc := range []string{"README.md", "docs/operations.md"} {
		listed := map[string]bool{}
		for _, m := range catalogueRow.FindAllStringSubmatch(string(readFile(t, doc)), -1) {
			listed[m[1]] = true
			if _, ok := defined[m[1]]; !ok {
				t.Errorf("%s: the metrics catalogue lists %s, which no Go code defines", doc, m[1])
			}
		}
		if len(listed) == 0 {
			t.Fatalf("%s: no metrics catalogue rows found", doc)
		}
		for name, file := range defined {
			if !listed[name] {
				t.Errorf("%s: the metrics catalogue lacks %s (defined in %s)", doc, name, file)
			}
		}
	}
}
