package deploycheck

import (
	"regexp"
	"strings"
	"testing"
)

// composeGuideBlock is one ```sh block of the README's docker-compose guide with its
// <!-- compose-test: ... --> mark.
type composeGuideBlock struct {
	Mark string // the block's name, or "skip (why)"
	Body string
	Line int
}

// composeGuideBlocks parses the README's "## Deploy with docker-compose" section the way
// deploy/compose/test/compose-test.sh does. Unmarked blocks are reported by the caller.
func composeGuideBlocks(t *testing.T) (blocks []composeGuideBlock, unmarked []int) {
	t.Helper()
	inSection, inBlock, mark := false, false, ""
	var body strings.Builder
	for i, line := range strings.Split(string(readFile(t, "README.md")), "\n") {
		if strings.HasPrefix(line, "## ") {
			inSection = line == "## Deploy with docker-compose"
		}
		switch {
		case !inSection:
		case inBlock && line == "```":
			blocks[len(blocks)-1].Body = body.String()
			inBlock = false
		case inBlock:
			body.WriteString(line + "\n")
		case strings.HasPrefix(line, "<!-- compose-test: "):
			mark = strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(line, "<!-- compose-test: ")), "-->")
			mark = strings.TrimSpace(mark)
		case line == "```sh":
			if mark == "" {
				unmarked = append(unmarked, i+1)
			}
			blocks = append(blocks, composeGuideBlock{Mark: mark, Line: i + 1})
			body.Reset()
			inBlock, mark = true, ""
		}
	}
	return blocks, unmarked
}

// TestComposeGuideIsWhatComposeTestRuns keeps the README's docker-compose guide and
// `make compose-test` in step without Docker: every ```sh block of the guide is marked
// (run under a name, or skipped with a reason), and the names, in order, are the blocks
// compose-test.sh runs (its BLOCKS list). The test itself extracts the commands from the
// README, so a marked block cannot drift from what runs.
func TestComposeGuideIsWhatComposeTestRuns(t *testing.T) {
	blocks, unmarked := composeGuideBlocks(t)
	for _, l := range unmarked {
		t.Errorf("README.md:%d: a ```sh block of the compose guide has no <!-- compose-test: NAME --> (or skip (why)) above it", l)
	}
	var run []string
	for _, b := range blocks {
		switch {
		case strings.HasPrefix(b.Mark, "skip"):
			if !regexp.MustCompile(`^skip \(.{10,}\)$`).MatchString(b.Mark) {
				t.Errorf("README.md:%d: %q: a skipped block says why, as skip (reason)", b.Line, b.Mark)
			}
		case b.Mark != "":
			run = append(run, b.Mark)
		}
	}
	m := regexp.MustCompile(`(?m)^BLOCKS=\(([^)]*)\)`).FindSubmatch(readFile(t, "deploy/compose/test/compose-test.sh"))
	if m == nil {
		t.Fatal("deploy/compose/test/compose-test.sh: no BLOCKS=(...) line")
	}
	want := strings.Fields(string(m[1]))
	if strings.Join(run, " ") != strings.Join(want, " ") {
		t.Errorf("README.md's compose guide runs the blocks %q, compose-test.sh expects %q", run, want)
	}
}

// TestComposeTestPortsCoverTheGuide: every http://localhost:PORT of a block the test runs is an
// API that compose.test.yml publishes on 127.0.0.1 (the test rewrites exactly those), and
// the override publishes nothing else, nowhere else.
func TestComposeTestPortsCoverTheGuide(t *testing.T) {
	override := string(readFile(t, "deploy/compose/test/compose.test.yml"))
	mapped := map[string]bool{}
	for _, m := range regexp.MustCompile(`"([0-9.]+):([0-9]+):([0-9]+)"`).FindAllStringSubmatch(override, -1) {
		if m[1] != "127.0.0.1" || len(m[2]) != 5 || !strings.HasPrefix(m[2], "25") {
			t.Errorf("compose.test.yml publishes %s:%s: the test publishes on 127.0.0.1:25000-25999 only", m[1], m[2])
		}
		mapped[m[3]] = true
	}
	blocks, _ := composeGuideBlocks(t)
	for _, b := range blocks {
		if strings.HasPrefix(b.Mark, "skip") {
			continue
		}
		for _, m := range regexp.MustCompile(`https?://localhost:([0-9]+)`).FindAllStringSubmatch(b.Body, -1) {
			if !mapped[m[1]] {
				t.Errorf("README.md:%d: block %s uses localhost:%s, which compose.test.yml does not publish", b.Line, b.Mark, m[1])
			}
		}
	}
	// Every published port of docker-compose.yml is replaced (!override) or removed (!reset).
	p := project(t)
	for name, s := range p.Services {
		if len(s.Ports) == 0 || contains(s.Profiles, "monitoring") {
			continue
		}
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(name) + `:\n    ports: !(override|reset) `).MatchString(override) {
			t.Errorf("compose.test.yml: service %s publishes ports in docker-compose.yml; the override must !override or !reset them", name)
		}
	}
}
