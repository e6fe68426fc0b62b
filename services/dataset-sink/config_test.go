package datasetsink

import (
	"strings"
	"testing"

	"github.com/consentflow/consentflow/pkg/config"
)

func TestConfigTokensAndLoopbackRule(t *testing.T) {
	for _, c := range []struct {
		addr, tokens, wantErr string
	}{
		{"127.0.0.1:8083", "", ""},
		{"localhost:8083", "", ""},
		{"[::1]:8083", "", ""},
		{"", "", ""},
		{"0.0.0.0:8083", "", "SINK_HTTP_ADDR"},
		{"0.0.0.0:8083", "ml:plain:reader-token-1=datasets:read,ops:plain:writer-token-1=datasets:read|datasets:write", ""},
		{"0.0.0.0:8083", "ml:sha256:abcd=datasets:read", "SINK_TOKENS"},
		{"127.0.0.1:8083", "no-scopes:plain:reader-token-1=", "SINK_TOKENS"},
	} {
		cfg := testConfig(t.TempDir())
		cfg.HTTPAddr, cfg.Tokens = c.addr, c.tokens
		err := cfg.Validate()
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s %q: %v", c.addr, c.tokens, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s %q: got %v, want a %s problem", c.addr, c.tokens, err, c.wantErr)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	var cfg Config
	if err := config.LoadFrom(&cfg, map[string]string{"SINK_TOKENS": "ml:plain:reader-token-1=datasets:read"}); err != nil {
		t.Fatal(err)
	}
	if cfg.OpsAddr != "127.0.0.1:9104" || cfg.DedupeWindow != 1_000_000 || cfg.Tokens == "" {
		t.Fatalf("defaults: ops %q window %d tokens %q", cfg.OpsAddr, cfg.DedupeWindow, cfg.Tokens)
	}
}
