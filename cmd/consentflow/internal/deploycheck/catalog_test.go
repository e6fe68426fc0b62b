// Package deploycheck validates the deployment artifacts statically (no Docker
// engine, no cluster): the Dockerfile, docker-compose.yml, .env.example, the
// Prometheus and Grafana files and the Kubernetes manifests under deploy/ are checked
// against each other and against the services' configuration structs, which are
// imported from the service packages (never copied into a list here).
//
// It holds only tests; `make test` runs them with every other module's tests.
package deploycheck

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/logging"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/topics"
	anonymizer "github.com/consentflow/consentflow/services/anonymizer"
	consentfilter "github.com/consentflow/consentflow/services/consent-filter"
	datasetsink "github.com/consentflow/consentflow/services/dataset-sink"
	producer "github.com/consentflow/consentflow/services/producer"
)

// withLog is what every service binary loads: its own configuration plus the
// logging variables (pkg/run.Service and the producer/anonymizer/dataset-sink mains
// all read LOG_FORMAT and LOG_LEVEL next to the service's Config).
type withLog[C any] struct {
	Log logging.Config
	Svc C
}

func (w *withLog[C]) Validate() error {
	if err := w.Log.Validate(); err != nil {
		return err
	}
	if v, ok := any(&w.Svc).(config.Validator); ok {
		return v.Validate()
	}
	return nil
}

// topicsEnv mirrors cmd/consentflow/topics_cmd.go's topicsEnv (package main cannot
// be imported): `consentflow topics` loads Kafka, topic names and topic settings.
type topicsEnv struct {
	stream.Config
	topics.Names
	topics.Settings
}

// binary is one program of the consentflow image and the configuration it loads.
type binary struct {
	name string
	// args is the command line after the binary name that selects this program
	// (e.g. ["topics"] for `consentflow topics`).
	args []string
	vars func() []config.Var
	load func(env map[string]string) error
	// longRunning services need healthchecks, restart policies and probes.
	longRunning bool
}

func serviceBinary[C any](name string) binary {
	return binary{
		name:        name,
		vars:        func() []config.Var { return config.Vars(&withLog[C]{}) },
		load:        func(env map[string]string) error { return config.LoadFrom(&withLog[C]{}, env) },
		longRunning: true,
	}
}

// binaries are the programs deploy files may run, keyed by their command line.
var binaries = []binary{
	serviceBinary[producer.Config]("producer"),
	serviceBinary[consentfilter.Config]("consent-filter"),
	serviceBinary[anonymizer.Config]("anonymizer"),
	serviceBinary[datasetsink.Config]("dataset-sink"),
	{
		name: "consentflow", args: []string{"topics"},
		vars: func() []config.Var { return config.Vars(&topicsEnv{}) },
		load: func(env map[string]string) error { return config.LoadFrom(&topicsEnv{}, env) },
	},
}

// binaryFor finds the program a command line runs.
func binaryFor(command []string) (binary, error) {
	if len(command) == 0 {
		return binary{}, fmt.Errorf("no command: the consentflow image has no default program, set command: [<binary>, ...]")
	}
	for _, b := range binaries {
		if command[0] != b.name || len(command)-1 < len(b.args) {
			continue
		}
		match := true
		for i, a := range b.args {
			if command[1+i] != a {
				match = false
			}
		}
		if match {
			return b, nil
		}
	}
	var known []string
	for _, b := range binaries {
		known = append(known, strings.Join(append([]string{b.name}, b.args...), " "))
	}
	return binary{}, fmt.Errorf("command %q runs no known consentflow program (known: %s)", command, strings.Join(known, ", "))
}

// varSet returns the variable names of b, and the required ones.
func (b binary) varSet() (all, required map[string]bool) {
	all, required = map[string]bool{}, map[string]bool{}
	for _, v := range b.vars() {
		all[v.Name] = true
		if v.Required {
			required[v.Name] = true
		}
	}
	return all, required
}

// checkEnv reports, for one container running b with env, every variable that b
// does not read, every required variable not set, and the error of loading and
// validating b's configuration from exactly that environment.
func checkEnv(t *testing.T, where string, b binary, env map[string]string) {
	t.Helper()
	all, required := b.varSet()
	var unknown []string
	for k := range env {
		if !all[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		t.Errorf("%s: sets %s, which %s does not read (its variables: `%s -h`); a typo or a variable the service lacks", where, k, b.name, b.name)
	}
	for k := range required {
		if _, ok := env[k]; !ok {
			t.Errorf("%s: required variable %s of %s is not set", where, k, b.name)
		}
	}
	if err := b.load(env); err != nil {
		t.Errorf("%s: %s would refuse to start with this environment:\n%v", where, b.name, err)
	}
}

// ---------------------------------------------------------------- files

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// root is the repository root (the directory holding go.work).
func root(t *testing.T) string {
	t.Helper()
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			rootErr = err
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
				rootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				rootErr = fmt.Errorf("no go.work above the test directory")
				return
			}
			dir = parent
		}
	})
	if rootErr != nil {
		t.Fatal(rootErr)
	}
	return rootDir
}

func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), rel))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return b
}

// envEntry is one line of a dotenv file.
type envEntry struct {
	Key, Value string
	Line       int
}

// parseDotenv reads KEY=VALUE lines (comments, blank lines, optional quotes and a
// leading `export` as docker compose accepts them).
func parseDotenv(data []byte) ([]envEntry, error) {
	var out []envEntry
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("line %d: want KEY=VALUE", n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		} else if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		out = append(out, envEntry{Key: strings.TrimSpace(k), Value: v, Line: n})
	}
	return out, sc.Err()
}

func dotenvMap(t *testing.T, rel string) (map[string]string, []envEntry) {
	t.Helper()
	entries, err := parseDotenv(readFile(t, rel))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	m := map[string]string{}
	for _, e := range entries {
		if _, dup := m[e.Key]; dup {
			t.Errorf("%s:%d: %s is set twice", rel, e.Line, e.Key)
		}
		m[e.Key] = e.Value
	}
	return m, entries
}

// testSecrets are syntactically valid, never-deployed values for the secrets that
// .env.example and secret.example.yaml leave empty or as placeholders on purpose.
func testSecrets(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("testdata/secrets.env")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := parseDotenv(b)
	if err != nil {
		t.Fatalf("testdata/secrets.env: %v", err)
	}
	m := map[string]string{}
	for _, e := range entries {
		m[e.Key] = e.Value
	}
	return m
}

// hostPort splits a listen address and returns its port.
func portOf(addr string) string {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return ""
	}
	return addr[i+1:]
}

func hostOf(addr string) string {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return addr
	}
	return strings.Trim(addr[:i], "[]")
}

// reachable reports whether a listen address accepts connections from outside the
// container (all interfaces).
func reachable(addr string) bool {
	h := hostOf(addr)
	return h == "" || h == "0.0.0.0" || h == "::"
}

// addrVars returns the listen-address variables of b: OPS_ADDR and every *_HTTP_ADDR.
func addrVars(b binary) (httpVars []string, opsVar string) {
	for _, v := range b.vars() {
		switch {
		case v.Name == "OPS_ADDR":
			opsVar = v.Name
		case strings.HasSuffix(v.Name, "_HTTP_ADDR"):
			httpVars = append(httpVars, v.Name)
		}
	}
	return httpVars, opsVar
}
