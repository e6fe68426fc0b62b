package avro

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/secure"
	"github.com/consentflow/consentflow/pkg/secure/securetest"
)

// securedRegistry serves srfake over https under a throwaway CA, wanting basic
// auth "cf"/"right" (as Confluent Cloud, Redpanda and Apicurio do).
func securedRegistry(t *testing.T) (RegistryConfig, *securetest.CA) {
	t.Helper()
	ca, err := securetest.NewCA(t.TempDir(), "registry")
	require.NoError(t, err)
	pair, err := ca.Server("registry")
	require.NoError(t, err)
	reg := srfake.NewRegistry(srfake.WithAuth("Basic " + base64.StdEncoding.EncodeToString([]byte("cf:right"))))
	srv := httptest.NewUnstartedServer(reg.Handler())
	srv.TLS = ca.ServerTLS(pair, false)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return RegistryConfig{URL: srv.URL, Username: "cf", Password: "right", TLS: secureOpts(ca.CertFile)}, ca
}

func secureOpts(ca string) secure.TLSOptions { return secure.TLSOptions{CAFile: ca} }

// TestRegistryOverHTTPSWithBasicAuth: schemas register and records decode
// through a registry that wants TLS and basic auth; a wrong password and an
// untrusted certificate are rejections that name the registry.
func TestRegistryOverHTTPSWithBasicAuth(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, _ := securedRegistry(t)
	require.NoError(t, cfg.Validate())
	serde, err := NewSerdeFor(cfg)
	require.NoError(t, err)
	codec, err := ConsentChanges(ctx, serde, "consent.changes")
	require.NoError(t, err)
	in := schema.ConsentChange{SubjectType: schema.SubjectUser, SubjectID: "u", Purpose: "ai_training",
		Status: schema.StatusGranted, EffectiveAt: time.UnixMilli(1).UTC(), Source: "t", PolicyVersion: "p"}
	b, err := codec.Encode(&in)
	require.NoError(t, err)
	fresh, err := NewSerdeFor(cfg) // fetches the schema by id
	require.NoError(t, err)
	_, _, err = fresh.Decode(ctx, b)
	require.NoError(t, err)

	wrong := cfg
	wrong.Password = "wrong"
	serde, err = NewSerdeFor(wrong)
	require.NoError(t, err)
	_, err = ConsentChanges(ctx, serde, "consent.changes")
	require.True(t, secure.IsRejection(err), "%v", err)
	require.ErrorContains(t, err, "schema registry "+cfg.URL+": it refused the credentials (SCHEMA_REGISTRY_USERNAME, SCHEMA_REGISTRY_PASSWORD)")

	other, err := securetest.NewCA(t.TempDir(), "other")
	require.NoError(t, err)
	untrusted := cfg
	untrusted.TLS.CAFile = other.CertFile
	serde, err = NewSerdeFor(untrusted)
	require.NoError(t, err)
	_, err = ConsentChanges(ctx, serde, "consent.changes")
	require.True(t, secure.IsRejection(err), "%v", err)
	require.ErrorContains(t, err, "does not trust (SCHEMA_REGISTRY_TLS_CA_FILE)")
}

// TestRefusedFetchIsAnOutageNotPoison: when the registry refuses the client
// while records are decoded (credentials rotated or expired), the record is
// not poison: the error is ErrRegistryUnavailable, so the batch is retried and
// nothing goes to the dead-letter topic.
func TestRefusedFetchIsAnOutageNotPoison(t *testing.T) {
	ctx := context.Background()
	cfg, _ := securedRegistry(t)
	wrong := cfg
	wrong.Password = "expired"
	serde, err := NewSerdeFor(wrong)
	require.NoError(t, err)
	rec := make([]byte, 6)
	binary.BigEndian.PutUint32(rec[1:5], 1)
	_, _, err = serde.Decode(ctx, rec)
	require.True(t, errors.Is(err, ErrRegistryUnavailable), "refused is an outage, got %v", err)
}

// TestRegistryConfigValidation: credentials and certificates only over https,
// credentials never in the URL, user and password together.
func TestRegistryConfigValidation(t *testing.T) {
	for env, want := range map[string]string{
		"http://r:8081 SCHEMA_REGISTRY_USERNAME=u SCHEMA_REGISTRY_PASSWORD=p": "would send SCHEMA_REGISTRY_PASSWORD in clear",
		"http://r:8081 SCHEMA_REGISTRY_TLS_CA_FILE=/ca.pem":                   "SCHEMA_REGISTRY_TLS_* is set but the URL is http://",
		"https://u:p@r:8081":                                          "no credentials in the URL",
		"https://r:8081 SCHEMA_REGISTRY_USERNAME=u":                   "SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD go together",
		"https://r:8081 SCHEMA_REGISTRY_TLS_CA_FILE=/nonexistent.pem": "SCHEMA_REGISTRY_TLS_CA_FILE: open /nonexistent.pem",
		"r:8081": "want http(s)://host",
	} {
		m := map[string]string{}
		for i, kv := range strings.Fields(env) {
			if i == 0 {
				m["SCHEMA_REGISTRY_URL"] = kv
				continue
			}
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		var c RegistryConfig
		require.ErrorContains(t, config.LoadFrom(&c, m), want, env)
	}
	var c RegistryConfig
	require.NoError(t, config.LoadFrom(&c, map[string]string{"SCHEMA_REGISTRY_URL": "https://psrc-x.confluent.cloud",
		"SCHEMA_REGISTRY_USERNAME": "KEY", "SCHEMA_REGISTRY_PASSWORD": "s3cret-registry"}))
}
