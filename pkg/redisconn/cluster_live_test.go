package redisconn

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/secure"
	"github.com/consentflow/consentflow/pkg/secure/securetest"
)

// freeClusterPort finds a port p with p and its cluster bus port p+10000 free.
func freeClusterPort(t *testing.T) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if p+10000 > 65535 {
			continue
		}
		if bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000)); err == nil {
			bus.Close()
			return p
		}
	}
	t.Fatal("no free port pair for a cluster node")
	return 0
}

// TestLiveClusterOverTLSWithACLUser starts a real three-node Redis Cluster that
// speaks only TLS (client certificates required, TLS on the cluster bus too)
// with an ACL user and the default user off, and reaches it with one address
// and REDIS_CLUSTER=true (as a managed cluster's configuration endpoint is
// reached): keys spread over every node, a script and pub/sub work, and a wrong
// password or an untrusted CA are rejections naming Redis. It needs
// redis-server and redis-cli (Debian's, which scripts/services.sh installs).
func TestLiveClusterOverTLSWithACLUser(t *testing.T) {
	if os.Getenv("CONSENTFLOW_LIVE") != "1" { // the live suite (pkg/testenv imports this package)
		t.Skip("starts real redis-server processes: run `make test-live`")
	}
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed", bin)
		}
	}
	dir := t.TempDir()
	ca, err := securetest.NewCA(dir, "cluster")
	require.NoError(t, err)
	server, err := ca.Server("node")
	require.NoError(t, err)
	client, err := ca.Client("client")
	require.NoError(t, err)
	const user, pass = "cf", "cluster-secret"

	var addrs []string
	for i := range 3 {
		port := freeClusterPort(t)
		conf := filepath.Join(dir, fmt.Sprintf("node%d.conf", i))
		require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`bind 127.0.0.1
port 0
tls-port %d
tls-cert-file %s
tls-key-file %s
tls-ca-cert-file %s
tls-auth-clients yes
tls-cluster yes
cluster-enabled yes
cluster-config-file %s
dir %s
save ""
appendonly no
user default off
user %s on >%s ~* &* +@all
`, port, server.CertFile, server.KeyFile, ca.CertFile, filepath.Join(dir, fmt.Sprintf("nodes%d.conf", i)), dir, user, pass)), 0o600))
		cmd := exec.Command("redis-server", conf)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		log, err := os.Create(filepath.Join(dir, fmt.Sprintf("node%d.log", i)))
		require.NoError(t, err)
		cmd.Stdout, cmd.Stderr = log, log
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait(); log.Close() })
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(port))
	}
	tlsOpts := secure.TLSOptions{CAFile: ca.CertFile, CertFile: client.CertFile, KeyFile: client.KeyFile}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, a := range addrs {
		node := Config{Addr: a, Username: user, Password: pass, TLS: secure.TLS{TLSOptions: tlsOpts}}
		require.Eventually(t, func() bool { return check(t, node) == nil }, 10*time.Second, 50*time.Millisecond, "node %s", a)
	}
	create := exec.CommandContext(ctx, "redis-cli", "--tls", "--cacert", ca.CertFile, "--cert", client.CertFile, "--key", client.KeyFile,
		"--user", user, "--pass", pass, "--no-auth-warning", "--cluster", "create", addrs[0], addrs[1], addrs[2], "--cluster-yes")
	out, err := create.CombinedOutput()
	require.NoError(t, err, "%s", out)

	cfg := Config{Addr: addrs[0], Cluster: true, Username: user, Password: pass, TLS: secure.TLS{TLSOptions: tlsOpts}}
	rdb, err := cfg.NewClient(Options{})
	require.NoError(t, err)
	defer rdb.Close()
	cc, ok := rdb.(*redis.ClusterClient)
	require.True(t, ok, "REDIS_CLUSTER=true with one address is a cluster client")
	require.Eventually(t, func() bool {
		info, err := cc.ClusterInfo(ctx).Result()
		return err == nil && strings.Contains(info, "cluster_state:ok")
	}, 20*time.Second, 100*time.Millisecond)
	require.NoError(t, cfg.Check(ctx, rdb))

	sub := rdb.Subscribe(ctx, "cf:ch")
	defer sub.Close()
	_, err = sub.Receive(ctx)
	require.NoError(t, err)
	for i := range 200 {
		require.NoError(t, rdb.HSet(ctx, fmt.Sprintf("cf:key:%d", i), "v", i).Err())
	}
	perNode := map[string]int64{}
	require.NoError(t, cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		n, err := node.DBSize(ctx).Result()
		perNode[node.Options().Addr] = n
		return err
	}))
	require.Len(t, perNode, 3)
	for a, n := range perNode {
		require.Positive(t, n, "node %s holds keys: every node was reached over TLS as the ACL user", a)
	}
	v, err := redis.NewScript(`redis.call('PUBLISH', 'cf:ch', 'hi'); return redis.call('HGET', KEYS[1], 'v')`).Run(ctx, rdb, []string{"cf:key:7"}).Text()
	require.NoError(t, err)
	require.Equal(t, "7", v)
	msg, err := sub.ReceiveMessage(ctx)
	require.NoError(t, err)
	require.Equal(t, "hi", msg.Payload)

	wrong := cfg
	wrong.Password = "wrong"
	err = check(t, wrong)
	require.True(t, secure.IsRejection(err), "%v", err)
	other, err := securetest.NewCA(t.TempDir(), "other")
	require.NoError(t, err)
	untrusted := cfg
	untrusted.TLS.CAFile = other.CertFile
	err = check(t, untrusted)
	require.True(t, secure.IsRejection(err), "%v", err)
	require.ErrorContains(t, err, "REDIS_TLS_CA_FILE")
}
