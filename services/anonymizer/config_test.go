package anonymizer

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/config/configtest"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/anonymizer/internal/pipeline"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestConfigDefaults(t *testing.T) {
	var c Config
	require.NoError(t, config.LoadFrom(&c, map[string]string{"PSEUDONYM_EPHEMERAL": "true"}))
	require.Equal(t, "ai_training", c.Purpose)
	require.Equal(t, time.Hour, c.TimeGranularity)
	require.Equal(t, "127.0.0.1:9103", c.OpsAddr)
	require.Equal(t, []string{"127.0.0.1:9092"}, c.Brokers)
	require.Equal(t, "events.consented", c.Topics.Consented)
	require.Equal(t, "anonymizer", c.GroupID)
	require.Empty(t, c.PropertiesAllowlist, "no property survives by default")
}

func TestConfigNeedsExactlyOneKeySource(t *testing.T) {
	key := "k1:" + base64.StdEncoding.EncodeToString(testSecret(1))
	path := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(path, []byte(key+"\n"), 0o600))
	for name, c := range map[string]struct {
		env map[string]string
		ok  bool
	}{
		"none":      {map[string]string{}, false},
		"env":       {map[string]string{"PSEUDONYM_KEYS": key}, true},
		"file":      {map[string]string{"KEYRING_FILE": path}, true},
		"ephemeral": {map[string]string{"PSEUDONYM_EPHEMERAL": "true"}, true},
		"two":       {map[string]string{"PSEUDONYM_KEYS": key, "PSEUDONYM_EPHEMERAL": "true"}, false},
	} {
		var cfg Config
		err := config.LoadFrom(&cfg, c.env)
		if !c.ok {
			require.ErrorContains(t, err, "exactly one key source", name)
			continue
		}
		require.NoError(t, err, name)
		kr, _, err := cfg.loadKeyring()
		require.NoError(t, err, name)
		require.NotEmpty(t, kr.ActiveID())
	}
}

func TestConfigValidationNamesVariablesNotSecrets(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("far too short a key"))
	var c Config
	err := config.LoadFrom(&c, map[string]string{
		"PSEUDONYM_KEYS": "k1:" + short, "TIME_GRANULARITY": "7m", "PURPOSE": "",
		"ANONYMIZER_MAX_BATCH": "0", "OPS_ADDR": "nope", "ANONYMIZER_ERASURE_GROUP_ID": "anonymizer",
	})
	require.Error(t, err)
	for _, v := range []string{"PSEUDONYM_KEYS", "TIME_GRANULARITY", "ANONYMIZER_MAX_BATCH", "OPS_ADDR", "ANONYMIZER_ERASURE_GROUP_ID"} {
		require.ErrorContains(t, err, v)
	}
	require.NotContains(t, err.Error(), short)
	require.NotContains(t, err.Error(), short[:10])
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("k1:c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==")
	c := Config{Keys: s}
	js, err := json.Marshal(c)
	require.NoError(t, err)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x", s, c, c, s, s, s), string(js)} {
		require.NotContains(t, out, "c2VjcmV0")
	}
	require.Contains(t, fmt.Sprint(s), "redacted")
	require.Equal(t, "", Secret("").String())
}

func TestEphemeralKeyIsAnnouncedNotLogged(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	cfg := DefaultConfig()
	kr, ephemeral, err := cfg.loadKeyring()
	require.NoError(t, err)
	require.True(t, ephemeral)
	logKeyring(zap.New(core), kr, ephemeral)
	entries := logs.FilterMessageSnippet("PSEUDONYM_EPHEMERAL").All()
	require.Len(t, entries, 1)
	require.Equal(t, kr.ActiveID(), entries[0].ContextMap()["key_id"])
	require.Len(t, entries[0].Context, 1, "the key id and nothing else")
}

// TestAnonymizerPipelineIsBounded: ANONYMIZER_PIPELINE is how many anonymized
// batches may wait for their write (default 1); a negative depth or one that
// would hold thousands of events in memory is refused at start, naming the
// variable.
func TestAnonymizerPipelineIsBounded(t *testing.T) {
	configtest.Values(t, map[string]string{"PSEUDONYM_EPHEMERAL": "true"}, "ANONYMIZER_PIPELINE",
		func(c *Config) any { return c.Pipeline },
		map[string]any{"": 1, "0": 0, "8": 8}, "-1", "9", "two")
}

// TestErasureMinBytesIsBounded: ANONYMIZER_ERASURE_MIN_BYTES defaults to 2 KiB
// and must be a fetch size kafka-go accepts (1 byte up to the readers' 16 MiB
// MaxBytes); anything else is refused at start, naming the variable.
func TestErasureMinBytesIsBounded(t *testing.T) {
	configtest.Values(t, map[string]string{"PSEUDONYM_EPHEMERAL": "true"}, "ANONYMIZER_ERASURE_MIN_BYTES",
		func(c *Config) any { return c.ErasureMinBytes },
		map[string]any{"": 2048, "1": 1, "16777216": 16 << 20}, "0", "-1", "16777217", "16k")
}

// TestOnlyTheErasureStageWaitsForBytes: the erasure stage reads consent.changes
// in its own group and waits for ANONYMIZER_ERASURE_MIN_BYTES; the events stage
// reads events.consented and gets every record at once (MinBytes unset: 1).
func TestOnlyTheErasureStageWaitsForBytes(t *testing.T) {
	var c Config
	require.NoError(t, config.LoadFrom(&c, map[string]string{"PSEUDONYM_EPHEMERAL": "true", "ANONYMIZER_ERASURE_MIN_BYTES": "4096"}))
	er := c.readerConfig(pipeline.StageErasures)
	require.Equal(t, stream.ReaderConfig{GroupID: c.ErasureGroupID, Topic: c.Topics.Changes, MinBytes: 4096}, er)
	ev := c.readerConfig(pipeline.StageEvents)
	require.Equal(t, stream.ReaderConfig{GroupID: c.GroupID, Topic: c.Topics.Consented}, ev)
}
