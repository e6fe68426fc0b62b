package deploycheck

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const (
	composeFile = "docker-compose.yml"
	envExample  = "deploy/compose/.env.example"
)

// ---------------------------------------------------------------- interpolation

// ref is one ${...} use in the compose file.
type ref struct {
	Name, Op, Arg string
}

var interpRe = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// interpolate applies docker compose's variable substitution to s.
func interpolate(s string, env map[string]string, refs *[]ref) (string, error) {
	var firstErr error
	out := interpRe.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := interpRe.FindStringSubmatch(m)
		name, op, arg := sub[1], sub[2], sub[3]
		if name == "" {
			name = sub[4]
		}
		if refs != nil {
			*refs = append(*refs, ref{Name: name, Op: op, Arg: arg})
		}
		v, set := env[name]
		switch op {
		case "":
			return v
		case ":-":
			if v == "" {
				return arg
			}
		case "-":
			if !set {
				return arg
			}
		case ":?":
			if v == "" {
				if firstErr == nil {
					firstErr = fmt.Errorf("required variable %s is missing a value: %s", name, arg)
				}
			}
		case "?":
			if !set && firstErr == nil {
				firstErr = fmt.Errorf("required variable %s is unset: %s", name, arg)
			}
		case ":+":
			if v != "" {
				return arg
			}
			return ""
		case "+":
			if set {
				return arg
			}
			return ""
		}
		return v
	})
	return out, firstErr
}

// interpolateTree substitutes every string value (not keys) of a decoded YAML tree.
func interpolateTree(v any, env map[string]string, refs *[]ref, errs *[]error) any {
	switch x := v.(type) {
	case string:
		s, err := interpolate(x, env, refs)
		if err != nil {
			*errs = append(*errs, err)
		}
		return s
	case map[string]any:
		for k, e := range x {
			x[k] = interpolateTree(e, env, refs, errs)
		}
	case []any:
		for i, e := range x {
			x[i] = interpolateTree(e, env, refs, errs)
		}
	}
	return v
}

// ---------------------------------------------------------------- compose model

type composeService struct {
	Name        string
	Image       string
	Build       bool
	Command     []string
	Environment map[string]string
	EnvFile     bool
	Restart     string
	Profiles    []string
	Healthcheck []string // the test command; nil when absent or disabled
	DependsOn   map[string]string
	Ports       []portMapping
	Volumes     []volumeMount
	Secrets     []string
}

type portMapping struct {
	HostIP, Host, Container string
}

type volumeMount struct {
	Source, Target string
	Bind           bool
}

type composeProject struct {
	Services map[string]*composeService
	Volumes  map[string]bool
	Secrets  map[string]string // name -> file
	// Refs are the ${VAR} references of the file.
	Refs []ref
}

func asString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// stringList accepts a YAML list or a single string (split on spaces, as compose
// does for command).
func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return strings.Fields(x)
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = asString(e)
		}
		return out
	}
	return nil
}

// envMap accepts both forms of `environment:` (a map, or a list of KEY=VALUE).
func envMap(v any) (map[string]string, error) {
	out := map[string]string{}
	switch x := v.(type) {
	case nil:
	case map[string]any:
		for k, e := range x {
			if e == nil {
				return nil, fmt.Errorf("%s has no value (compose would pass the host's value through)", k)
			}
			out[k] = asString(e)
		}
	case []any:
		for _, e := range x {
			k, val, ok := strings.Cut(asString(e), "=")
			if !ok {
				return nil, fmt.Errorf("%s has no value (compose would pass the host's value through)", k)
			}
			out[k] = val
		}
	default:
		return nil, fmt.Errorf("environment: want a map or a list")
	}
	return out, nil
}

// loadCompose parses docker-compose.yml, interpolating with env.
func loadCompose(t *testing.T, env map[string]string) (*composeProject, []error) {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(readFile(t, composeFile), &doc); err != nil {
		t.Fatalf("%s does not parse: %v", composeFile, err)
	}
	var errs []error
	p := &composeProject{Services: map[string]*composeService{}, Volumes: map[string]bool{}, Secrets: map[string]string{}}
	interpolateTree(doc, env, &p.Refs, &errs)
	for k := range asMap(doc["volumes"]) {
		p.Volumes[k] = true
	}
	for k, v := range asMap(doc["secrets"]) {
		p.Secrets[k] = asString(asMap(v)["file"])
	}
	services := asMap(doc["services"])
	if len(services) == 0 {
		t.Fatalf("%s: no services", composeFile)
	}
	for name, raw := range services {
		m := asMap(raw)
		s := &composeService{Name: name, Image: asString(m["image"]), Build: m["build"] != nil,
			Command: stringList(m["command"]), Restart: asString(m["restart"]), Profiles: stringList(m["profiles"]),
			DependsOn: map[string]string{}, EnvFile: m["env_file"] != nil}
		env, err := envMap(m["environment"])
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", name, err))
		}
		s.Environment = env
		if hc := asMap(m["healthcheck"]); hc != nil && hc["disable"] != true {
			s.Healthcheck = stringList(hc["test"])
			if len(s.Healthcheck) > 0 && s.Healthcheck[0] == "NONE" {
				s.Healthcheck = nil
			}
		}
		switch d := m["depends_on"].(type) {
		case []any:
			for _, e := range d {
				s.DependsOn[asString(e)] = ""
			}
		case map[string]any:
			for k, e := range d {
				s.DependsOn[k] = asString(asMap(e)["condition"])
			}
		}
		for _, pr := range asSlice(m["ports"]) {
			s.Ports = append(s.Ports, parsePort(pr))
		}
		for _, v := range asSlice(m["volumes"]) {
			s.Volumes = append(s.Volumes, parseVolume(v))
		}
		for _, sec := range asSlice(m["secrets"]) {
			if sm := asMap(sec); sm != nil {
				s.Secrets = append(s.Secrets, asString(sm["source"]))
			} else {
				s.Secrets = append(s.Secrets, asString(sec))
			}
		}
		p.Services[name] = s
	}
	return p, errs
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func parsePort(v any) portMapping {
	if m := asMap(v); m != nil {
		return portMapping{HostIP: asString(m["host_ip"]), Host: asString(m["published"]), Container: asString(m["target"])}
	}
	s := strings.TrimSuffix(strings.TrimSuffix(asString(v), "/tcp"), "/udp")
	parts := strings.Split(s, ":")
	switch len(parts) {
	case 1:
		return portMapping{Container: parts[0]}
	case 2:
		return portMapping{Host: parts[0], Container: parts[1]}
	default:
		return portMapping{HostIP: strings.Join(parts[:len(parts)-2], ":"), Host: parts[len(parts)-2], Container: parts[len(parts)-1]}
	}
}

func parseVolume(v any) volumeMount {
	if m := asMap(v); m != nil {
		return volumeMount{Source: asString(m["source"]), Target: asString(m["target"]), Bind: asString(m["type"]) == "bind"}
	}
	parts := strings.Split(asString(v), ":")
	vm := volumeMount{Source: parts[0]}
	if len(parts) > 1 {
		vm.Target = parts[1]
	} else {
		vm.Source, vm.Target = "", parts[0]
	}
	vm.Bind = strings.HasPrefix(vm.Source, ".") || strings.HasPrefix(vm.Source, "/") || strings.HasPrefix(vm.Source, "~")
	return vm
}

// composeEnv is the variable environment the checks interpolate with: the values of
// .env.example, and for the secrets it leaves empty on purpose the test values of
// testdata/secrets.env.
func composeEnv(t *testing.T) map[string]string {
	t.Helper()
	env, _ := dotenvMap(t, envExample)
	for k, v := range testSecrets(t) {
		if cur, ok := env[k]; ok && cur == "" {
			env[k] = v
		}
	}
	return env
}

func project(t *testing.T) *composeProject {
	t.Helper()
	p, errs := loadCompose(t, composeEnv(t))
	for _, err := range errs {
		t.Errorf("%s: %v", composeFile, err)
	}
	return p
}

// consentflowImage is the image the compose file builds from the Dockerfile.
func consentflowImage(t *testing.T, p *composeProject) string {
	t.Helper()
	repos := map[string]bool{}
	for _, s := range p.Services {
		if s.Build {
			repos[repoOf(s.Image)] = true
		}
	}
	if len(repos) != 1 {
		t.Fatalf("%s: want exactly one image built from the Dockerfile (services with build: and the same image:), got %v", composeFile, repos)
	}
	for r := range repos {
		return r
	}
	return ""
}

// cfServices are the compose services running the consentflow image, with the
// program each one runs.
func cfServices(t *testing.T, p *composeProject) map[string]binary {
	t.Helper()
	img := consentflowImage(t, p)
	out := map[string]binary{}
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		if repoOf(s.Image) != img {
			continue
		}
		b, err := binaryFor(s.Command)
		if err != nil {
			t.Errorf("%s: service %s: %v", composeFile, name, err)
			continue
		}
		out[name] = b
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---------------------------------------------------------------- tests

// TestComposeParses: the file is valid YAML with services, and every variable it
// interpolates is documented in .env.example or has a default.
func TestComposeParses(t *testing.T) {
	p := project(t)
	example, entries := dotenvMap(t, envExample)
	secrets := testSecrets(t)
	used := map[string]bool{}
	for _, r := range p.Refs {
		used[r.Name] = true
		_, documented := example[r.Name]
		switch r.Op {
		case ":-", "-":
			// a default exists; documenting it in .env.example is optional
		case ":?", "?":
			if !documented {
				t.Errorf("%s: ${%s:?...} is required but %s does not list it", composeFile, r.Name, envExample)
			} else if example[r.Name] == "" && secrets[r.Name] == "" {
				t.Errorf("%s leaves %s empty (a secret the operator sets); add a syntactically valid test value to testdata/secrets.env so the checks can validate the wiring", envExample, r.Name)
			}
		default:
			if !documented {
				t.Errorf("%s: ${%s} has no default and %s does not set it (compose would substitute an empty string)", composeFile, r.Name, envExample)
			}
		}
	}
	for _, e := range entries {
		if !used[e.Key] {
			t.Errorf("%s:%d: %s is not used by %s", envExample, e.Line, e.Key, composeFile)
		}
	}
	// Secrets must not ship with values: an empty value plus ${VAR:?} stops
	// `docker compose up` until the operator sets them.
	for _, r := range p.Refs {
		if (r.Op == ":?") && example[r.Name] != "" && secrets[r.Name] != "" {
			t.Errorf("%s: %s has a value, but it is a secret (listed in testdata/secrets.env): leave it empty", envExample, r.Name)
		}
	}
}

// TestComposeImagesPinned: every image has a tag other than latest (or a digest).
func TestComposeImagesPinned(t *testing.T) {
	p := project(t)
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		if s.Image == "" {
			t.Errorf("%s: service %s has no image: (set one, also next to build:, so the tag is pinned)", composeFile, name)
			continue
		}
		if err := pinned(s.Image); err != nil {
			t.Errorf("%s: service %s: %v", composeFile, name, err)
		}
	}
}

// TestComposeEnvironmentMatchesConfig: every variable set on a consentflow service
// exists in that program's configuration, every required one is set, and the
// configuration loads and validates from exactly that environment. It runs twice:
// with the values of .env.example, and with the ${VAR:-default} defaults of the
// compose file (as if .env set only the secrets).
func TestComposeEnvironmentMatchesConfig(t *testing.T) {
	withExample := composeEnv(t)
	p, _ := loadCompose(t, withExample)
	withDefaults := map[string]string{}
	hasDefault := map[string]bool{}
	for _, r := range p.Refs {
		if r.Op == ":-" || r.Op == "-" {
			hasDefault[r.Name] = true
		}
	}
	for k, v := range withExample {
		if !hasDefault[k] {
			withDefaults[k] = v
		}
	}
	for _, run := range []struct {
		name string
		env  map[string]string
	}{{"values of " + envExample, withExample}, {"compose defaults", withDefaults}} {
		p, errs := loadCompose(t, run.env)
		for _, err := range errs {
			t.Errorf("%s (%s): %v", composeFile, run.name, err)
		}
		services := cfServices(t, p)
		if len(services) == 0 {
			t.Fatalf("%s: no service runs the consentflow image", composeFile)
		}
		seen := map[string]bool{}
		for _, name := range sortedKeys(services) {
			b := services[name]
			s := p.Services[name]
			seen[b.name+strings.Join(b.args, " ")] = true
			if s.EnvFile {
				t.Errorf("%s: service %s uses env_file:, which these checks cannot see; set variables under environment: with ${VAR} from .env", composeFile, name)
			}
			env := map[string]string{}
			for k, v := range s.Environment {
				env[k] = resolveComposePath(t, p, s, v)
			}
			checkEnv(t, fmt.Sprintf("%s: service %s (with %s)", composeFile, name, run.name), b, env)
		}
		for _, b := range binaries {
			if !seen[b.name+strings.Join(b.args, " ")] {
				t.Errorf("%s: no service runs %s %s", composeFile, b.name, strings.Join(b.args, " "))
			}
		}
	}
}

// resolveComposePath maps a container path that a service mounts from the
// repository (bind mounts, file secrets) back to the file in the repository, so
// that Validate can read e.g. a policy file. Other values are returned unchanged.
func resolveComposePath(t *testing.T, p *composeProject, s *composeService, v string) string {
	if !strings.HasPrefix(v, "/") {
		return v
	}
	for _, m := range s.Volumes {
		if m.Bind && (v == m.Target || strings.HasPrefix(v, m.Target+"/")) {
			host := filepath.Join(root(t), filepath.FromSlash(m.Source), strings.TrimPrefix(v, m.Target))
			return host
		}
	}
	for _, sec := range s.Secrets {
		if v == "/run/secrets/"+sec {
			host := filepath.Join(root(t), filepath.FromSlash(p.Secrets[sec]))
			if _, err := os.Stat(host); err == nil {
				return host
			}
		}
	}
	return v
}

// TestComposeHealthAndRestart: long-running services have a healthcheck and a
// restart policy; one-shot jobs have restart "no" and no healthcheck.
func TestComposeHealthAndRestart(t *testing.T) {
	p := project(t)
	cf := cfServices(t, p)
	valid := map[string]bool{"no": true, "always": true, "on-failure": true, "unless-stopped": true}
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		restart := s.Restart
		if strings.HasPrefix(restart, "on-failure:") {
			restart = "on-failure"
		}
		if !valid[restart] {
			t.Errorf("%s: service %s: restart %q: set one of no, always, on-failure, unless-stopped", composeFile, name, s.Restart)
			continue
		}
		oneShot := s.Restart == "no"
		if b, ok := cf[name]; ok && b.longRunning == oneShot {
			t.Errorf("%s: service %s runs %s (long-running=%v) but has restart %q", composeFile, name, b.name, b.longRunning, s.Restart)
		}
		if !oneShot && len(s.Healthcheck) == 0 {
			t.Errorf("%s: long-running service %s has no healthcheck", composeFile, name)
		}
	}
}

// TestComposeDependsOn: dependencies exist, carry a condition, wait for health only
// on services with a healthcheck and for completion only on one-shot jobs, and no
// default service depends on a profile-only one.
func TestComposeDependsOn(t *testing.T) {
	p := project(t)
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		for dep, cond := range s.DependsOn {
			d, ok := p.Services[dep]
			if !ok {
				t.Errorf("%s: service %s depends on %s, which does not exist", composeFile, name, dep)
				continue
			}
			switch cond {
			case "service_healthy":
				if len(d.Healthcheck) == 0 {
					t.Errorf("%s: service %s waits for %s to be healthy, but %s has no healthcheck", composeFile, name, dep, dep)
				}
			case "service_completed_successfully":
				if d.Restart != "no" {
					t.Errorf("%s: service %s waits for %s to complete, but %s is not a one-shot job (restart %q)", composeFile, name, dep, dep, d.Restart)
				}
			case "service_started":
			default:
				t.Errorf("%s: service %s depends on %s without a condition (want service_healthy or service_completed_successfully)", composeFile, name, dep)
			}
			if len(s.Profiles) == 0 && len(d.Profiles) > 0 {
				t.Errorf("%s: service %s (default profile) depends on %s, which only runs with profiles %v", composeFile, name, dep, d.Profiles)
			}
		}
	}
}

// TestComposeVolumesAndSecrets: named volumes and secrets are declared, bind-mounted
// repository files exist, and the datasets of the sink live on a named volume.
func TestComposeVolumesAndSecrets(t *testing.T) {
	p := project(t)
	cf := cfServices(t, p)
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		for _, m := range s.Volumes {
			switch {
			case m.Bind:
				if _, err := os.Stat(filepath.Join(root(t), filepath.FromSlash(m.Source))); err != nil {
					t.Errorf("%s: service %s mounts %s, which does not exist in the repository", composeFile, name, m.Source)
				}
			case m.Source != "" && !p.Volumes[m.Source]:
				t.Errorf("%s: service %s uses volume %s, which is not declared under volumes:", composeFile, name, m.Source)
			}
		}
		for _, sec := range s.Secrets {
			if _, ok := p.Secrets[sec]; !ok {
				t.Errorf("%s: service %s uses secret %s, which is not declared under secrets:", composeFile, name, sec)
			}
		}
		b, ok := cf[name]
		if !ok {
			continue
		}
		// A variable naming a file under /run/secrets needs that secret mounted.
		for k, v := range s.Environment {
			if sec, ok := strings.CutPrefix(v, "/run/secrets/"); ok && !contains(s.Secrets, sec) {
				t.Errorf("%s: service %s sets %s=%s but does not mount secret %s", composeFile, name, k, v, sec)
			}
		}
		// The dataset root must be on a named volume, or the datasets die with the container.
		if root := s.Environment["DATASET_ROOT"]; root != "" || b.name == "dataset-sink" {
			if root == "" {
				t.Errorf("%s: service %s: set DATASET_ROOT to a path on a named volume", composeFile, name)
				continue
			}
			onVolume := false
			for _, m := range s.Volumes {
				if !m.Bind && m.Source != "" && (root == m.Target || strings.HasPrefix(root, m.Target+"/")) {
					onVolume = true
				}
			}
			if !onVolume {
				t.Errorf("%s: service %s: DATASET_ROOT=%s is not on a named volume", composeFile, name, root)
			}
		}
	}
}

func firstOr(list []string, def string) string {
	if len(list) == 0 {
		return def
	}
	return list[0]
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// TestComposePorts: each service's listen addresses, healthcheck URL, published
// ports and Prometheus scrape target agree; ops ports stay internal; no host port
// is published twice.
func TestComposePorts(t *testing.T) {
	p := project(t)
	cf := cfServices(t, p)
	hostPorts := map[string]string{}
	for _, name := range sortedKeys(p.Services) {
		for _, pm := range p.Services[name].Ports {
			if pm.Host == "" {
				continue
			}
			if other, dup := hostPorts[pm.Host]; dup {
				t.Errorf("%s: host port %s is published by both %s and %s", composeFile, pm.Host, other, name)
			}
			hostPorts[pm.Host] = name
		}
	}
	targets := scrapeTargets(t)
	for _, name := range sortedKeys(cf) {
		b, s := cf[name], p.Services[name]
		if !b.longRunning {
			continue
		}
		httpVars, opsVar := addrVars(b)
		published := map[string]bool{}
		for _, pm := range s.Ports {
			published[pm.Container] = true
		}
		for _, v := range httpVars {
			addr := s.Environment[v]
			if addr == "" {
				continue // the API is disabled or on its default loopback address
			}
			if !reachable(addr) {
				t.Errorf("%s: service %s: %s=%s listens on loopback only; use 0.0.0.0:<port> in a container", composeFile, name, v, addr)
			}
			if !published[portOf(addr)] {
				t.Errorf("%s: service %s: %s=%s but container port %s is not under ports:", composeFile, name, v, addr, portOf(addr))
			}
		}
		ops := s.Environment[opsVar]
		if opsVar == "" || ops == "" {
			t.Errorf("%s: service %s: set OPS_ADDR (the healthcheck and Prometheus need /readyz and /metrics)", composeFile, name)
			continue
		}
		if !reachable(ops) {
			t.Errorf("%s: service %s: OPS_ADDR=%s listens on loopback only; Prometheus cannot scrape it", composeFile, name, ops)
		}
		if published[portOf(ops)] {
			t.Errorf("%s: service %s publishes its ops port %s on the host; keep /metrics inside the compose network", composeFile, name, portOf(ops))
		}
		// The image is distroless: no shell, no wget or curl. The service's own binary
		// probes itself (`<binary> healthcheck [/readyz|/healthz]`, pkg/run), reading the
		// same OPS_ADDR as the service, so the probe and the server cannot disagree.
		hc := s.Healthcheck
		switch {
		case len(hc) < 3 || hc[0] != "CMD" || len(s.Command) == 0 || hc[1] != s.Command[0] || hc[2] != "healthcheck":
			t.Errorf("%s: service %s: healthcheck %q, want [\"CMD\", %q, \"healthcheck\"] (the image has no shell or HTTP client)", composeFile, name, hc, firstOr(s.Command, "<binary>"))
		case len(hc) > 4 || (len(hc) == 4 && hc[3] != "/readyz" && hc[3] != "/healthz"):
			t.Errorf("%s: service %s: healthcheck %q probes something else than /readyz or /healthz", composeFile, name, hc)
		}
		want := name + ":" + portOf(ops)
		if !targets[want] {
			t.Errorf("deploy/prometheus/prometheus.yml: no scrape target %s for service %s (OPS_ADDR=%s); targets: %v", want, name, ops, sortedKeys(targets))
		}
		delete(targets, want)
	}
	for tg := range targets {
		host := hostOf(tg)
		if s, ok := p.Services[host]; ok {
			if _, isCF := cf[host]; isCF {
				t.Errorf("deploy/prometheus/prometheus.yml: target %s does not match the OPS_ADDR of %s (%s)", tg, host, s.Environment["OPS_ADDR"])
			}
		} else if host != "localhost" && host != "127.0.0.1" {
			t.Errorf("deploy/prometheus/prometheus.yml: target %s names no compose service", tg)
		}
	}
}

// scrapeTargets reads the static targets of deploy/prometheus/prometheus.yml.
func scrapeTargets(t *testing.T) map[string]bool {
	t.Helper()
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(readFile(t, "deploy/prometheus/prometheus.yml"), &cfg); err != nil {
		t.Fatalf("deploy/prometheus/prometheus.yml does not parse: %v", err)
	}
	out := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, tg := range st.Targets {
				out[tg] = true
			}
		}
	}
	return out
}

// TestComposeMountsPrometheusConfig: the monitoring profile uses the checked files.
func TestComposeMountsMonitoringFiles(t *testing.T) {
	p := project(t)
	want := map[string]bool{
		"./deploy/prometheus/prometheus.yml":          false,
		"./deploy/grafana/consentflow-dashboard.json": false,
		"./deploy/grafana/provisioning":               false,
	}
	for _, s := range p.Services {
		for _, m := range s.Volumes {
			if _, ok := want["./"+path.Clean(m.Source)]; ok {
				want["./"+path.Clean(m.Source)] = true
				if !contains(s.Profiles, "monitoring") {
					t.Errorf("%s: service %s mounts %s but is not in the monitoring profile", composeFile, s.Name, m.Source)
				}
			}
		}
	}
	for f, ok := range want {
		if !ok {
			t.Errorf("%s: no service mounts %s", composeFile, f)
		}
	}
}

func TestInterpolate(t *testing.T) {
	env := map[string]string{"A": "a", "E": ""}
	for in, want := range map[string]string{
		"${A}": "a", "${B:-d}": "d", "${E:-d}": "d", "${E-d}": "", "$$A": "$A", "x${A}y": "xay", "$A": "a", "${A:+r}": "r", "${E:+r}": "",
	} {
		got, err := interpolate(in, env, nil)
		if err != nil || got != want {
			t.Errorf("interpolate(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := interpolate("${E:?set it}", env, nil); err == nil {
		t.Error("${E:?} with E empty must fail")
	}
}
