package deploycheck

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with continuation lines joined.
type instruction struct {
	Cmd  string // upper case: FROM, COPY, RUN, ...
	Args string
	Line int
}

func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(string(readFile(t, "Dockerfile")), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // comment inside a continued instruction
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start})
		cur.Reset()
	}
	return out
}

// goWorkUses lists the `use` directories of go.work.
func goWorkUses(t *testing.T) []string {
	t.Helper()
	var dirs []string
	inBlock := false
	for _, line := range strings.Split(string(readFile(t, "go.work")), "\n") {
		line = strings.TrimSpace(line)
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case strings.HasPrefix(line, "use ("):
			inBlock = true
		case inBlock && line == ")":
			inBlock = false
		case inBlock && line != "":
			dirs = append(dirs, path.Clean(strings.Trim(line, `"`)))
		case strings.HasPrefix(line, "use "):
			dirs = append(dirs, path.Clean(strings.Trim(strings.TrimSpace(strings.TrimPrefix(line, "use ")), `"`)))
		}
	}
	if len(dirs) == 0 {
		t.Fatal("go.work lists no `use` directories")
	}
	return dirs
}

// copiedSources returns the source paths of every COPY before the first RUN that
// mentions `go mod download`, and whether that RUN exists.
func copiedBeforeDownload(ins []instruction) (map[string]bool, bool) {
	srcs := map[string]bool{}
	for _, in := range ins {
		if in.Cmd == "RUN" && strings.Contains(in.Args, "go mod download") {
			return srcs, true
		}
		if in.Cmd != "COPY" {
			continue
		}
		fields := strings.Fields(in.Args)
		var plain []string
		for _, f := range fields {
			if !strings.HasPrefix(f, "--") {
				plain = append(plain, f)
			}
		}
		if len(plain) < 2 || strings.Contains(in.Args, "--from") {
			continue
		}
		for _, s := range plain[:len(plain)-1] {
			srcs[path.Clean(s)] = true
		}
	}
	return srcs, false
}

// copies reports whether a COPY source list includes file (literally or through a
// glob pattern such as go.su[m]).
func copies(srcs map[string]bool, file string) bool {
	for s := range srcs {
		if s == file {
			return true
		}
		if ok, _ := path.Match(s, file); ok {
			return true
		}
	}
	return false
}

// TestDockerfileCopiesEveryWorkspaceModule keeps workspace-mode builds working: go.work
// names every module, so `go mod download` needs each module's go.mod (and go.sum)
// in the build stage before the source is copied.
func TestDockerfileCopiesEveryWorkspaceModule(t *testing.T) {
	ins := parseDockerfile(t)
	srcs, ok := copiedBeforeDownload(ins)
	if !ok {
		t.Fatal("Dockerfile: no `RUN go mod download` (the module download layer that caches dependencies)")
	}
	for _, f := range []string{"go.work", "go.work.sum"} {
		if _, err := os.Stat(filepath.Join(root(t), f)); err == nil && !copies(srcs, f) {
			t.Errorf("Dockerfile: %s is not copied before `go mod download`", f)
		}
	}
	for _, dir := range goWorkUses(t) {
		mod := path.Join(dir, "go.mod")
		if !copies(srcs, mod) {
			t.Errorf("Dockerfile: go.work uses %s but its go.mod is not copied before `go mod download`; add\n\tCOPY %s %s ./%s/", dir, mod, path.Join(dir, "go.su[m]"), dir)
		}
		sum := path.Join(dir, "go.sum")
		if _, err := os.Stat(filepath.Join(root(t), sum)); err == nil && !copies(srcs, sum) {
			t.Errorf("Dockerfile: %s exists but is not copied before `go mod download`", sum)
		}
	}
}

// builtBinaries returns the names of the binaries the Dockerfile's `go build` makes
// (the last element of each package path).
func builtBinaries(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, in := range parseDockerfile(t) {
		if in.Cmd != "RUN" || !strings.Contains(in.Args, "go build") {
			continue
		}
		for _, f := range strings.Fields(in.Args[strings.Index(in.Args, "go build"):]) {
			if strings.HasPrefix(f, "./") {
				p := path.Clean(f)
				out[path.Base(p)] = p
			}
		}
	}
	return out
}

// TestDockerfileBuildsEveryBinary: every main package of the repository
// (cmd/consentflow and services/*/cmd/*) is built into the image, and every program
// deploy files run is one of them.
func TestDockerfileBuildsEveryBinary(t *testing.T) {
	built := builtBinaries(t)
	mains, _ := filepath.Glob(filepath.Join(root(t), "services", "*", "cmd", "*", "main.go"))
	want := []string{"cmd/consentflow"}
	for _, m := range mains {
		rel, _ := filepath.Rel(root(t), filepath.Dir(m))
		want = append(want, filepath.ToSlash(rel))
	}
	for _, w := range want {
		if built[path.Base(w)] != w {
			t.Errorf("Dockerfile: `go build` does not build ./%s (built: %v)", w, built)
		}
	}
	for _, b := range binaries {
		if _, ok := built[b.name]; !ok {
			t.Errorf("Dockerfile: deploy files run %q but the image does not contain it", b.name)
		}
	}
}

// TestDockerfileStagesPinnedStaticNonRoot: base images pinned (tag or digest, never
// latest), CGO disabled for static binaries, the final stage runs as a non-root user.
func TestDockerfileStagesPinnedStaticNonRoot(t *testing.T) {
	ins := parseDockerfile(t)
	args := map[string]string{}
	var froms []instruction
	lastUser := ""
	for _, in := range ins {
		switch in.Cmd {
		case "ARG":
			k, v, ok := strings.Cut(in.Args, "=")
			if ok {
				args[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
			}
		case "FROM":
			froms = append(froms, in)
			lastUser = ""
		case "USER":
			lastUser = strings.TrimSpace(in.Args)
		}
	}
	if len(froms) < 2 {
		t.Errorf("Dockerfile: want a multi-stage build (builder + small final image), got %d stage(s)", len(froms))
	}
	stages := map[string]bool{}
	for _, f := range froms {
		fields := strings.Fields(f.Args)
		var image string
		for _, fl := range fields {
			if !strings.HasPrefix(fl, "--") {
				image = fl
				break
			}
		}
		image = os.Expand(image, func(k string) string { return args[k] })
		if !stages[image] {
			if err := pinned(image); err != nil {
				t.Errorf("Dockerfile:%d: FROM %s: %v", f.Line, image, err)
			}
		}
		if i := indexFold(fields, "AS"); i >= 0 && i+1 < len(fields) {
			stages[fields[i+1]] = true
		}
	}
	dockerfile := string(readFile(t, "Dockerfile"))
	if !regexp.MustCompile(`CGO_ENABLED=0`).MatchString(dockerfile) {
		t.Error("Dockerfile: CGO_ENABLED=0 not set: the binaries must be static")
	}
	user := strings.SplitN(lastUser, ":", 2)[0]
	if user == "" || user == "root" || user == "0" {
		t.Errorf("Dockerfile: the final stage must switch to a non-root USER (numeric, so Kubernetes runAsNonRoot can verify it), got %q", lastUser)
	}
}

func indexFold(fields []string, s string) int {
	for i, f := range fields {
		if strings.EqualFold(f, s) {
			return i
		}
	}
	return -1
}

// pinned checks that an image reference names a tag other than latest, or a digest.
func pinned(ref string) error {
	if ref == "" {
		return fmt.Errorf("empty image reference")
	}
	if strings.Contains(ref, "$") {
		return fmt.Errorf("unresolved variable in %q", ref)
	}
	if strings.Contains(ref, "@sha256:") {
		return nil
	}
	name := ref[strings.LastIndex(ref, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	switch {
	case !ok || tag == "":
		return fmt.Errorf("%q has no tag: pin a version", ref)
	case tag == "latest" || strings.HasPrefix(tag, "latest-") || strings.HasSuffix(tag, "-latest"):
		return fmt.Errorf("%q uses a latest tag: pin a version", ref)
	}
	return nil
}

// repoOf returns an image reference without its tag or digest.
func repoOf(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		ref = ref[:i]
	}
	return ref
}

func TestPinned(t *testing.T) {
	for ref, ok := range map[string]bool{
		"apache/kafka:4.1.1": true, "redis:7.4.2-alpine": true, "alpine@sha256:abc": true,
		"localhost:5000/x:1": true, "redis": false, "redis:latest": false, "localhost:5000/x": false,
	} {
		if err := pinned(ref); (err == nil) != ok {
			t.Errorf("pinned(%q) = %v, want ok=%v", ref, err, ok)
		}
	}
}

// TestDockerignore keeps the workspace in the build context and secrets out of it.
func TestDockerignore(t *testing.T) {
	var patterns []string
	for _, l := range strings.Split(string(readFile(t, ".dockerignore")), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	ignored := func(p string) bool {
		res := false
		for _, pat := range patterns {
			neg := strings.HasPrefix(pat, "!")
			pat = strings.TrimPrefix(strings.TrimPrefix(pat, "!"), "/")
			for _, cand := range []string{pat, strings.TrimPrefix(pat, "**/")} {
				if ok, _ := path.Match(cand, p); ok || strings.HasPrefix(p, strings.TrimSuffix(cand, "/")+"/") {
					res = !neg
				}
			}
		}
		return res
	}
	keep := []string{"go.work", "go.work.sum"}
	for _, d := range goWorkUses(t) {
		keep = append(keep, d, path.Join(d, "go.mod"), path.Join(d, "go.sum"))
	}
	for _, p := range keep {
		if ignored(p) {
			t.Errorf(".dockerignore excludes %s, which the workspace build needs", p)
		}
	}
	for _, p := range []string{".env", "deploy/compose/secrets/pseudonym_keyring", ".git"} {
		if !ignored(p) {
			t.Errorf(".dockerignore must exclude %s from the build context", p)
		}
	}
}

// TestDockerfileBuildsWithoutRegistriesAndShipsNoBuildCA: the image builds where no image
// registry is reachable (no `# syntax=` directive, which makes BuildKit pull a frontend
// image) and on a minimal runtime base (the final stage runs no command: distroless has no
// shell, no package manager, no adduser); the CA bundle a build may need behind a
// TLS-intercepting proxy is a build secret of the download step only, never a file of the
// image.
func TestDockerfileBuildsWithoutRegistriesAndShipsNoBuildCA(t *testing.T) {
	for i, line := range strings.Split(string(readFile(t, "Dockerfile")), "\n") {
		l := strings.ToLower(strings.ReplaceAll(line, " ", ""))
		if strings.HasPrefix(l, "#syntax=") {
			t.Errorf("Dockerfile:%d: %q makes BuildKit pull a frontend image; the built-in frontend suffices", i+1, line)
		}
		if !strings.HasPrefix(l, "#") {
			break // parser directives only come first
		}
	}
	ins := parseDockerfile(t)
	final := 0
	for i, in := range ins {
		if in.Cmd == "FROM" {
			final = i
		}
	}
	for i, in := range ins {
		secret := strings.Contains(in.Args, "type=secret") && strings.Contains(in.Args, "id=build_ca")
		switch {
		case i > final && in.Cmd == "RUN":
			t.Errorf("Dockerfile:%d: RUN in the final stage: its base (distroless) has no shell; prepare files in the build stage and COPY --from them", in.Line)
		case i > final && (in.Cmd == "COPY" || in.Cmd == "ADD") && strings.Contains(in.Args, "ca-certificates") && !strings.Contains(in.Args, "--from"):
			t.Errorf("Dockerfile:%d: the final stage copies a CA bundle from the build context: the image must carry only its base's CA bundle", in.Line)
		case secret && !(in.Cmd == "RUN" && strings.Contains(in.Args, "go mod download")):
			t.Errorf("Dockerfile:%d: the build_ca secret is mounted outside the `go mod download` step", in.Line)
		case secret && i > final:
			t.Errorf("Dockerfile:%d: the build_ca secret is mounted in the final stage", in.Line)
		}
	}
}
