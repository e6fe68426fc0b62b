package deploycheck

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

const dashboardFile = "deploy/grafana/consentflow-dashboard.json"

var (
	metricsOnce sync.Once
	metricNames map[string]string // name -> file that defines it
)

// sourceMetrics collects the Prometheus metric names the repository's Go code
// (tests excluded) defines: the Namespace/Subsystem/Name fields of every
// prometheus.*Opts literal, BuildFQName calls with literal arguments and
// NewDesc's literal first argument.
func sourceMetrics(t *testing.T) map[string]string {
	t.Helper()
	metricsOnce.Do(func() {
		metricNames = map[string]string{}
		base := root(t)
		_ = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				switch d.Name() {
				case ".git", "out", "bin", "node_modules", "testdata", ".cache":
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.SkipObjectResolution)
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(base, p)
			ast.Inspect(f, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.CompositeLit:
					// prometheus.CounterOpts{...}, GaugeOpts, HistogramOpts, SummaryOpts, Opts
					if sel, ok := x.Type.(*ast.SelectorExpr); !ok || !strings.HasSuffix(sel.Sel.Name, "Opts") {
						return true
					}
					parts := map[string]string{}
					for _, e := range x.Elts {
						kv, ok := e.(*ast.KeyValueExpr)
						if !ok {
							continue
						}
						k, ok := kv.Key.(*ast.Ident)
						if !ok {
							continue
						}
						if s, ok := stringLit(kv.Value); ok {
							parts[k.Name] = s
						}
					}
					if name := parts["Name"]; name != "" {
						metricNames[fqName(parts["Namespace"], parts["Subsystem"], name)] = rel
					}
				case *ast.CallExpr:
					sel, ok := x.Fun.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					switch sel.Sel.Name {
					case "BuildFQName":
						if len(x.Args) == 3 {
							a, ok1 := stringLit(x.Args[0])
							b, ok2 := stringLit(x.Args[1])
							c, ok3 := stringLit(x.Args[2])
							if ok1 && ok2 && ok3 {
								metricNames[fqName(a, b, c)] = rel
							}
						}
					case "NewDesc":
						if len(x.Args) > 0 {
							if s, ok := stringLit(x.Args[0]); ok {
								metricNames[s] = rel
							}
						}
					}
				}
				return true
			})
			return nil
		})
	})
	if len(metricNames) == 0 {
		t.Fatal("found no Prometheus metric definitions in the repository's Go code")
	}
	return metricNames
}

func stringLit(e ast.Expr) (string, bool) {
	bl, ok := e.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(bl.Value)
	return s, err == nil
}

// fqName joins like prometheus.BuildFQName.
func fqName(ns, sub, name string) string {
	var parts []string
	for _, p := range []string{ns, sub, name} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "_")
}

var (
	promStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promBraces    = regexp.MustCompile(`\{[^{}]*\}`)
	promBrackets  = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping  = regexp.MustCompile(`(?i)\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent     = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promNameRegex = regexp.MustCompile(`__name__\s*=~\s*"((?:[^"\\]|\\.)*)"`)
	promKeywords  = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
		"group_right": true, "bool": true, "and": true, "or": true, "unless": true, "offset": true, "atan2": true,
		"inf": true, "nan": true, "Inf": true, "NaN": true}
	// Metrics that exist without consentflow code defining them.
	builtinMetric = regexp.MustCompile(`^(up|scrape_.*|go_.*|process_.*|promhttp_.*)$`)
)

// promMetricNames extracts the metric names a PromQL expression selects (function
// and aggregation names, label names, keywords and literals are skipped), and the
// regular expressions of __name__=~ matchers.
func promMetricNames(expr string) (names, nameRegexps []string) {
	for _, m := range promNameRegex.FindAllStringSubmatch(expr, -1) {
		nameRegexps = append(nameRegexps, m[1])
	}
	s := promStrings.ReplaceAllString(expr, " ")
	s = promBraces.ReplaceAllString(s, " ")
	s = promBrackets.ReplaceAllString(s, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		id := s[loc[0]:loc[1]]
		if promKeywords[id] {
			continue
		}
		if loc[0] > 0 && (s[loc[0]-1] >= '0' && s[loc[0]-1] <= '9' || s[loc[0]-1] == '.') {
			continue // e.g. the "e" of 1e3
		}
		rest := strings.TrimLeft(s[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "(") {
			continue // a function or an aggregation
		}
		names = append(names, id)
	}
	return names, nameRegexps
}

func TestPromMetricNames(t *testing.T) {
	names, res := promMetricNames(`histogram_quantile(0.99, sum by (le, stage) (rate(a_seconds_bucket{x="y"}[5m]))) / on(job) group_left b + time() - max({__name__=~"c_.+"})`)
	if strings.Join(names, ",") != "a_seconds_bucket,b" || len(res) != 1 || res[0] != "c_.+" {
		t.Errorf("got %v %v", names, res)
	}
}

// knownMetric reports whether name is defined in source (histogram and summary
// series suffixes included) or built in.
func knownMetric(defined map[string]string, name string) bool {
	if builtinMetric.MatchString(name) {
		return true
	}
	if _, ok := defined[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if _, ok := defined[base]; ok {
				return true
			}
		}
	}
	return false
}

type grafanaPanel struct {
	ID         int             `json:"id"`
	Title      string          `json:"title"`
	Type       string          `json:"type"`
	Datasource json.RawMessage `json:"datasource"`
	Targets    []struct {
		Expr       string          `json:"expr"`
		Datasource json.RawMessage `json:"datasource"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"`
}

// TestGrafanaDashboard: the dashboard parses, every panel queries the provisioned
// datasource, and every metric it uses is defined by the Go code.
func TestGrafanaDashboard(t *testing.T) {
	var dash struct {
		UID    string         `json:"uid"`
		Title  string         `json:"title"`
		Panels []grafanaPanel `json:"panels"`
	}
	if err := json.Unmarshal(readFile(t, dashboardFile), &dash); err != nil {
		t.Fatalf("%s does not parse: %v", dashboardFile, err)
	}
	if dash.UID == "" || dash.Title == "" || len(dash.Panels) == 0 {
		t.Fatalf("%s: want uid, title and panels", dashboardFile)
	}
	uids := provisionedDatasources(t)
	defined := sourceMetrics(t)
	var all []grafanaPanel
	var flatten func([]grafanaPanel)
	flatten = func(ps []grafanaPanel) {
		for _, p := range ps {
			all = append(all, p)
			flatten(p.Panels)
		}
	}
	flatten(dash.Panels)
	ids := map[int]bool{}
	queries := 0
	for _, p := range all {
		if ids[p.ID] {
			t.Errorf("%s: panel id %d used twice", dashboardFile, p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: panel %q has no queries", dashboardFile, p.Title)
		}
		for _, ds := range append([]json.RawMessage{p.Datasource}, targetsDS(p)...) {
			if len(ds) == 0 {
				continue
			}
			var ref struct {
				UID string `json:"uid"`
			}
			if err := json.Unmarshal(ds, &ref); err != nil || !uids[ref.UID] {
				t.Errorf("%s: panel %q uses datasource %s; provisioned uids: %v", dashboardFile, p.Title, string(ds), sortedKeys(uids))
			}
		}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("%s: panel %q has an empty query", dashboardFile, p.Title)
				continue
			}
			queries++
			names, res := promMetricNames(tg.Expr)
			for _, n := range names {
				if !knownMetric(defined, n) {
					t.Errorf("%s: panel %q queries %s, which no Go code of the repository defines (renamed or removed?)", dashboardFile, p.Title, n)
				}
			}
			for _, r := range res {
				re, err := regexp.Compile("^(?:" + r + ")$")
				if err != nil {
					t.Errorf("%s: panel %q: bad __name__ regexp %q: %v", dashboardFile, p.Title, r, err)
					continue
				}
				match := false
				for n := range defined {
					match = match || re.MatchString(n)
				}
				if !match {
					t.Errorf("%s: panel %q: __name__=~%q matches no metric the Go code defines", dashboardFile, p.Title, r)
				}
			}
		}
	}
	if queries == 0 {
		t.Errorf("%s: no queries", dashboardFile)
	}
}

func targetsDS(p grafanaPanel) []json.RawMessage {
	var out []json.RawMessage
	for _, tg := range p.Targets {
		out = append(out, tg.Datasource)
	}
	return out
}

func provisionedDatasources(t *testing.T) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root(t), "deploy/grafana/provisioning/datasources/*.y*ml"))
	uids := map[string]bool{}
	for _, f := range files {
		rel, _ := filepath.Rel(root(t), f)
		var cfg struct {
			Datasources []struct {
				UID string `yaml:"uid"`
				URL string `yaml:"url"`
			} `yaml:"datasources"`
		}
		if err := yaml.Unmarshal(readFile(t, rel), &cfg); err != nil {
			t.Fatalf("%s does not parse: %v", rel, err)
		}
		for _, d := range cfg.Datasources {
			uids[d.UID] = true
		}
	}
	if len(uids) == 0 {
		t.Fatal("deploy/grafana/provisioning/datasources provisions no datasource with a uid")
	}
	return uids
}

// TestMetricsInventory logs the metric names found, for the README catalogue.
func TestMetricsInventory(t *testing.T) {
	defined := sourceMetrics(t)
	names := sortedKeys(defined)
	sort.Strings(names)
	for _, n := range names {
		t.Logf("%-55s %s", n, defined[n])
	}
}
