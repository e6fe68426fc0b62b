package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

type tlsSettings struct {
	Enabled bool   `env:"TLS_ENABLED" envDefault:"false" help:"TLS on"`
	CAFile  string `env:"TLS_CA_FILE" help:"CA of ${PREFIX}TLS"`
}

type prefixed struct {
	Brokers  []string      `env:"KAFKA_BROKERS" envDefault:"k:1" envSeparator:","`
	Kafka    tlsSettings   `envPrefix:"KAFKA_"`
	Redis    tlsSettings   `envPrefix:"REDIS_"`
	Password Secret        `env:"KAFKA_SASL_PASSWORD"`
	Wait     time.Duration `env:"WAIT"`
}

// TestPrefixedSettings: one settings type nested under two prefixes gives two
// sets of variables, in Vars (so -h, the README and NAME_FILE know them) and in
// parsing; help texts name their own prefix.
func TestPrefixedSettings(t *testing.T) {
	var names []string
	for _, v := range Vars(&prefixed{}) {
		names = append(names, v.Name)
		if v.Name == "REDIS_TLS_CA_FILE" {
			require.Equal(t, "CA of REDIS_TLS", v.Help)
		}
	}
	require.Equal(t, []string{"KAFKA_BROKERS", "KAFKA_TLS_ENABLED", "KAFKA_TLS_CA_FILE", "REDIS_TLS_ENABLED", "REDIS_TLS_CA_FILE",
		"KAFKA_SASL_PASSWORD", "WAIT"}, names)

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(dir+"/pw", []byte("from-a-secret\n"), 0o600))
	var c prefixed
	require.NoError(t, LoadFrom(&c, map[string]string{"REDIS_TLS_CA_FILE": "/r.pem", "KAFKA_TLS_ENABLED": "true",
		"KAFKA_SASL_PASSWORD_FILE": dir + "/pw"}))
	require.Equal(t, tlsSettings{Enabled: true}, c.Kafka)
	require.Equal(t, tlsSettings{CAFile: "/r.pem"}, c.Redis)
	require.Equal(t, "from-a-secret", c.Password.Reveal(), "NAME_FILE works for prefixed and secret variables")

	err := LoadFrom(&prefixed{}, map[string]string{"REDIS_TLS_ENABLED": "maybe"})
	require.ErrorContains(t, err, "KAFKA_TLS_ENABLED or REDIS_TLS_ENABLED: cannot parse as bool")
}

// TestEnvironRoundTrip: Environ gives the variables that LoadFrom reads back
// into the same settings, secrets included (it is an environment for a child
// process), zero values left out.
func TestEnvironRoundTrip(t *testing.T) {
	in := prefixed{Brokers: []string{"a:1", "b:2"}, Redis: tlsSettings{Enabled: true, CAFile: "/ca.pem"}, Password: "pw", Wait: 1500 * time.Millisecond}
	env := Environ(&in)
	require.Equal(t, map[string]string{"KAFKA_BROKERS": "a:1,b:2", "REDIS_TLS_ENABLED": "true", "REDIS_TLS_CA_FILE": "/ca.pem",
		"KAFKA_SASL_PASSWORD": "pw", "WAIT": "1.5s"}, env)
	var out prefixed
	require.NoError(t, LoadFrom(&out, env))
	require.Equal(t, in, out)
}

// TestSecretNeverPrints: every way a configuration gets printed or encoded
// shows "[redacted]".
func TestSecretNeverPrints(t *testing.T) {
	c := prefixed{Password: "hunter2-secret"}
	j, err := json.Marshal(c)
	require.NoError(t, err)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s|%q|%x", c.Password, c.Password, c.Password), string(j)} {
		require.NotContains(t, s, "hunter2")
	}
	require.Contains(t, fmt.Sprint(c), "[redacted]")
	require.Equal(t, "", Secret("").String(), "an empty secret shows as empty")
}
