package schema

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/consentflow/consentflow/schemas"
	"github.com/stretchr/testify/require"
)

func records(t *testing.T) (Record, Record) {
	t.Helper()
	raw, err := ParseRecord(schemas.MustRead(schemas.InteractionEvent))
	require.NoError(t, err)
	cur, err := ParseRecord(schemas.MustRead(schemas.CuratedEvent))
	require.NoError(t, err)
	return raw, cur
}

func TestCommittedSchemasAreClassified(t *testing.T) {
	raw, cur := records(t)
	require.Empty(t, CheckAnnotations(raw, cur))
}

func TestClassificationRuleRejects(t *testing.T) {
	cases := map[string]struct {
		mutate func(raw, cur *Record)
		want   string
	}{
		"unclassified field": {func(raw, _ *Record) { raw.Fields[0].PII = "" }, "x-pii"},
		"unknown action":     {func(raw, _ *Record) { raw.Fields[0].Action = "shred" }, "x-action"},
		"direct kept": {func(raw, _ *Record) {
			for i := range raw.Fields {
				if raw.Fields[i].Name == "user_id" {
					raw.Fields[i].Action = ActionKeep
				}
			}
		}, "direct identifier"},
		"free text kept": {func(raw, _ *Record) {
			for i := range raw.Fields {
				if raw.Fields[i].Name == "text" {
					raw.Fields[i].Action = ActionKeep
				}
			}
		}, "free text"},
		"curated field without source": {func(_, cur *Record) {
			cur.Fields = append(cur.Fields, Field{Name: "leak"})
		}, "no raw field maps onto it"},
		"action names missing curated field": {func(raw, _ *Record) {
			raw.Fields[0].Curated = "nope"
		}, "is not a field"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			raw, cur := records(t)
			tc.mutate(&raw, &cur)
			errs := CheckAnnotations(raw, cur)
			require.NotEmpty(t, errs)
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			require.Contains(t, strings.Join(all, "\n"), tc.want)
		})
	}
}

func TestCheckBackward(t *testing.T) {
	base := `{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"s","type":{"type":"enum","name":"S","symbols":["X","Y"]}}]}`
	ok := map[string]string{
		"same":               base,
		"added with default": `{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"s","type":{"type":"enum","name":"S","symbols":["X","Y"]}},{"name":"b","type":["null","string"],"default":null}]}`,
		"removed field":      `{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}`,
		"string to nullable": `{"type":"record","name":"R","fields":[{"name":"a","type":["null","string"]},{"name":"s","type":{"type":"enum","name":"S","symbols":["X","Y"]}}]}`,
		"enum symbol added":  `{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"s","type":{"type":"enum","name":"S","symbols":["X","Y","Z"]}}]}`,
	}
	for name, next := range ok {
		require.Empty(t, CheckBackward(base, next), name)
	}
	bad := map[string]string{
		"added without default": `{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"s","type":{"type":"enum","name":"S","symbols":["X","Y"]}},{"name":"b","type":"string"}]}`,
		"type changed":          `{"type":"record","name":"R","fields":[{"name":"a","type":"long"},{"name":"s","type":{"type":"enum","name":"S","symbols":["X","Y"]}}]}`,
		"enum symbol removed":   `{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"s","type":{"type":"enum","name":"S","symbols":["X"]}}]}`,
	}
	for name, next := range bad {
		require.NotEmpty(t, CheckBackward(base, next), name)
	}
}

// TestSchemasBackwardCompatibleWithPreviousCommit compares every schema with its
// previous committed version: the version in HEAD when the working tree changed
// it, otherwise the version before the last commit that touched it.
func TestSchemasBackwardCompatibleWithPreviousCommit(t *testing.T) {
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skip("not in a git checkout")
	}
	root := strings.TrimSpace(string(top))
	entries, err := schemas.FS.ReadDir(".")
	require.NoError(t, err)
	for _, e := range entries {
		path := "schemas/" + e.Name()
		current := schemas.MustRead(e.Name())
		prev, ok := previousVersion(t, root, path, current)
		if !ok {
			t.Logf("%s: no previous committed version", path)
			continue
		}
		for _, err := range CheckBackward(prev, current) {
			t.Errorf("%s is not backward compatible with its previous version: %v", path, err)
		}
	}
}

func previousVersion(t *testing.T, root, path, current string) (string, bool) {
	t.Helper()
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		out, err := cmd.Output()
		return string(out), err
	}
	head, err := git("show", "HEAD:"+path)
	if err == nil && head != current {
		return head, true
	}
	log, err := git("log", "--format=%H", "-n", "2", "--", path)
	if err != nil {
		return "", false
	}
	commits := strings.Fields(log)
	if len(commits) < 2 {
		return "", false
	}
	old, err := git("show", commits[1]+":"+path)
	if err != nil {
		return "", false
	}
	return old, true
}

func TestVersion(t *testing.T) {
	v, ok := ParseVersion("2:41")
	require.True(t, ok)
	require.Equal(t, Version{2, 41}, v)
	require.Equal(t, "2:41", v.String())
	for _, bad := range []string{"", "2", "a:1", "1:b", "-1:3", "1:-3"} {
		_, ok := ParseVersion(bad)
		require.False(t, ok, bad)
	}
	require.True(t, Version{1, 9}.NewerThan(Version{1, 3}))
	require.False(t, Version{1, 3}.NewerThan(Version{1, 9}))
	require.False(t, Version{2, 9}.NewerThan(Version{1, 3}), "different partitions are not ordered")
}
