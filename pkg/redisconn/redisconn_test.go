package redisconn

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/secure"
	"github.com/consentflow/consentflow/pkg/secure/securetest"
)

// securedRedis is a Redis over TLS (client certificate required) with an ACL
// user "cf" / "right", and the configuration that reaches it.
func securedRedis(t *testing.T) (Config, *securetest.CA) {
	t.Helper()
	ca, err := securetest.NewCA(t.TempDir(), "redis")
	require.NoError(t, err)
	server, err := ca.Server("redis")
	require.NoError(t, err)
	client, err := ca.Client("client")
	require.NoError(t, err)
	m, err := miniredis.RunTLS(ca.ServerTLS(server, true))
	require.NoError(t, err)
	t.Cleanup(m.Close)
	m.RequireUserAuth("cf", "right")
	return Config{Addr: m.Addr(), Username: "cf", Password: "right",
		TLS: secure.TLS{TLSOptions: secure.TLSOptions{CAFile: ca.CertFile, CertFile: client.CertFile, KeyFile: client.KeyFile}}}, ca
}

func check(t *testing.T, c Config) error {
	t.Helper()
	rdb, err := c.NewClient(Options{DialTimeout: time.Second, MaxRetries: -1})
	require.NoError(t, err)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Check(ctx, rdb)
}

// TestACLUserOverTLS: the client authenticates as the ACL user over TLS;
// a wrong password, an unknown user, an untrusted certificate and a missing
// client certificate are rejections naming Redis; Redis down is not.
func TestACLUserOverTLS(t *testing.T) {
	c, _ := securedRedis(t)
	require.NoError(t, c.Validate())
	require.NoError(t, check(t, c))
	rdb, err := c.NewClient(Options{})
	require.NoError(t, err)
	defer rdb.Close()
	ctx := context.Background()
	require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err())
	require.Equal(t, "v", rdb.Get(ctx, "k").Val())

	reject := func(c Config, why string) {
		t.Helper()
		err := check(t, c)
		require.True(t, secure.IsRejection(err), "%v", err)
		require.ErrorContains(t, err, "Redis "+c.Addr+": ")
		require.ErrorContains(t, err, why)
	}
	wrong := c
	wrong.Password = "wrong"
	reject(wrong, `it refused the credentials of user "cf" (REDIS_USERNAME, REDIS_PASSWORD)`)
	stranger := c
	stranger.Username = "nobody"
	reject(stranger, `it refused the credentials of user "nobody"`)
	anonymous := c
	anonymous.Username, anonymous.Password = "", ""
	reject(anonymous, "it requires authentication")

	other, err := securetest.NewCA(t.TempDir(), "other")
	require.NoError(t, err)
	untrusted := c
	untrusted.TLS.CAFile = other.CertFile
	reject(untrusted, "does not trust (REDIS_TLS_CA_FILE)")
	noCert := c
	noCert.TLS.CertFile, noCert.TLS.KeyFile = "", ""
	reject(noCert, "refused the TLS handshake")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := c
	down.Addr = ln.Addr().String()
	ln.Close()
	err = check(t, down)
	require.Error(t, err)
	require.False(t, secure.IsRejection(err), "Redis down is waited for: %v", err)
}

// TestPlaintextAndPasswordOnly: without TLS the same configuration reaches a
// Redis with requirepass (default user).
func TestPlaintextAndPasswordOnly(t *testing.T) {
	m := miniredis.RunT(t)
	m.RequireAuth("pw")
	require.NoError(t, check(t, Config{Addr: m.Addr(), Password: "pw"}))
	err := check(t, Config{Addr: m.Addr(), Password: "nope"})
	require.True(t, secure.IsRejection(err), "%v", err)
	require.ErrorContains(t, err, `user "default"`)
}

// TestClusterSelection: several addresses, or REDIS_CLUSTER with one (a managed
// cluster's configuration endpoint), make a Cluster client.
func TestClusterSelection(t *testing.T) {
	for _, tc := range []struct {
		c       Config
		cluster bool
	}{
		{Config{Addr: "a:1"}, false},
		{Config{Addr: "a:1, b:2"}, true},
		{Config{Addr: "cfg.cache.amazonaws.com:6379", Cluster: true}, true},
	} {
		rdb, err := tc.c.NewClient(Options{})
		require.NoError(t, err)
		_, isCluster := rdb.(*redis.ClusterClient)
		require.Equal(t, tc.cluster, isCluster, tc.c.Addr)
		rdb.Close()
	}
}

func TestConfigValidationAndSecrecy(t *testing.T) {
	require.ErrorContains(t, config.LoadFrom(&Config{}, map[string]string{"REDIS_USERNAME": "u"}), "REDIS_PASSWORD: required with REDIS_USERNAME")
	require.ErrorContains(t, config.LoadFrom(&Config{}, map[string]string{"REDIS_ADDR": " , "}), "REDIS_ADDR: required")
	require.ErrorContains(t, config.LoadFrom(&Config{}, map[string]string{"REDIS_TLS_KEY_FILE": "/k.pem"}), "REDIS_TLS_CERT_FILE: required with REDIS_TLS_KEY_FILE")
	var c Config
	require.NoError(t, config.LoadFrom(&c, map[string]string{"REDIS_USERNAME": "u", "REDIS_PASSWORD": "hunter2-secret", "REDIS_TLS_ENABLED": "true"}))
	require.Equal(t, "127.0.0.1:6379 (TLS) as u", c.String())
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		require.NotContains(t, s, "hunter2")
	}
}
