package config

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type Inner struct {
	Brokers []string `env:"KAFKA_BROKERS" envDefault:"127.0.0.1:9092" envSeparator:"," help:"Kafka bootstrap servers"`
}

type testConfig struct {
	Inner
	Port    int           `env:"PORT" envDefault:"8080" help:"listen port"`
	Timeout time.Duration `env:"TIMEOUT" envDefault:"5s" help:"write timeout"`
	Token   string        `env:"TOKEN,required" help:"bearer token"`
}

func (c *testConfig) Validate() error {
	var p Problems
	if c.Port <= 0 || c.Port > 65535 {
		p.Addf("PORT", "must be 1..65535, got %d", c.Port)
	}
	if c.Timeout <= 0 {
		p.Addf("TIMEOUT", "must be positive")
	}
	return p.Err()
}

func TestLoadDefaultsAndOverrides(t *testing.T) {
	var c testConfig
	require.NoError(t, LoadFrom(&c, map[string]string{"TOKEN": "x", "KAFKA_BROKERS": "a:1,b:2"}))
	require.Equal(t, 8080, c.Port)
	require.Equal(t, 5*time.Second, c.Timeout)
	require.Equal(t, []string{"a:1", "b:2"}, c.Brokers)
}

func TestLoadRejectsInvalid(t *testing.T) {
	var c testConfig
	err := LoadFrom(&c, map[string]string{"TOKEN": "x", "PORT": "0", "TIMEOUT": "-1s"})
	require.ErrorContains(t, err, "PORT: must be 1..65535")
	require.ErrorContains(t, err, "TIMEOUT: must be positive")

	err = LoadFrom(&c, map[string]string{"TOKEN": "x", "PORT": "eighty"})
	require.ErrorContains(t, err, "PORT")

	err = LoadFrom(&testConfig{}, map[string]string{})
	require.ErrorContains(t, err, "TOKEN")
}

func TestParseHelpListsEveryVariable(t *testing.T) {
	var out bytes.Buffer
	err := Parse("svc", []string{"-h"}, &testConfig{}, &out)
	require.True(t, errors.Is(err, ErrHelp))
	for _, want := range []string{"KAFKA_BROKERS", "127.0.0.1:9092", "PORT", "8080", "TIMEOUT", "5s", "TOKEN", "(required)", "bearer token"} {
		require.Contains(t, out.String(), want)
	}
}

func TestParseRejectsArguments(t *testing.T) {
	err := Parse("svc", []string{"extra"}, &testConfig{}, &bytes.Buffer{})
	require.ErrorContains(t, err, "environment variables")
}

func TestFileVariables(t *testing.T) {
	dir := t.TempDir()
	secret := dir + "/token"
	require.NoError(t, os.WriteFile(secret, []byte("s3cret-from-file\n"), 0o600))

	var c testConfig
	require.NoError(t, LoadFrom(&c, map[string]string{"TOKEN_FILE": secret}))
	require.Equal(t, "s3cret-from-file", c.Token, "value read, trailing newline removed")

	err := LoadFrom(&testConfig{}, map[string]string{"TOKEN_FILE": secret, "TOKEN": "x"})
	require.ErrorContains(t, err, "not both")

	err = LoadFrom(&testConfig{}, map[string]string{"TOKEN_FILE": dir + "/missing"})
	require.ErrorContains(t, err, "TOKEN_FILE")
}

type warnedConfig struct {
	Token    string `env:"TOKEN" help:"bearer token"`
	warnings []string
}

func (c *warnedConfig) Warn(msg string) { c.warnings = append(c.warnings, msg) }

// Secret files others may write are refused; ones they may read are loaded
// with a warning for the service to log.
func TestSecretFilePermissions(t *testing.T) {
	secret := t.TempDir() + "/token"
	require.NoError(t, os.WriteFile(secret, []byte("s3cret"), 0o600))
	var c warnedConfig
	require.NoError(t, LoadFrom(&c, map[string]string{"TOKEN_FILE": secret}))
	require.Empty(t, c.warnings)

	require.NoError(t, os.Chmod(secret, 0o644))
	c = warnedConfig{}
	require.NoError(t, LoadFrom(&c, map[string]string{"TOKEN_FILE": secret}))
	require.Equal(t, "s3cret", c.Token)
	require.Len(t, c.warnings, 1)
	require.Contains(t, c.warnings[0], "TOKEN_FILE: secret file")
	require.Contains(t, c.warnings[0], "readable by group or others (mode 0644)")
	require.NotContains(t, c.warnings[0], "s3cret", "never the secret")

	require.NoError(t, os.Chmod(secret, 0o620))
	err := LoadFrom(&warnedConfig{}, map[string]string{"TOKEN_FILE": secret})
	require.ErrorContains(t, err, "TOKEN_FILE")
	require.ErrorContains(t, err, "writable by group or others")
}

// TestEmptyDisables: a variable set to "" turns off a listener tagged
// `empty:"disables"` (unset keeps the default); untagged variables keep
// treating "" as unset.
func TestEmptyDisables(t *testing.T) {
	type listeners struct {
		Ops  string `env:"OPS_ADDR" envDefault:"127.0.0.1:9102" empty:"disables"`
		Name string `env:"NAME" envDefault:"filter"`
	}
	var off listeners
	require.NoError(t, LoadFrom(&off, map[string]string{"OPS_ADDR": "", "NAME": ""}))
	assert.Equal(t, "", off.Ops, "OPS_ADDR= disables the listener")
	assert.Equal(t, "filter", off.Name, "an untagged empty variable takes its default")

	var def listeners
	require.NoError(t, LoadFrom(&def, map[string]string{}))
	assert.Equal(t, "127.0.0.1:9102", def.Ops)
}
