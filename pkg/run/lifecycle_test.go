package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/consentflow/consentflow/pkg/ops"
	"github.com/consentflow/consentflow/pkg/secure"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func readyz(addr string) (int, string) {
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestLifecycleDrainsPartsThenClosesThenStopsOps: on cancel, readiness turns 503
// while the parts drain, the ops server keeps answering until they are done, and
// the OnStop functions run after the parts, in reverse order.
func TestLifecycleDrainsPartsThenClosesThenStopsOps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addr := freeAddr(t)
	svc := Start(ctx, "t", addr, ops.NewRegistry(), zaptest.NewLogger(t))
	var mu sync.Mutex
	var events []string
	record := func(e string) { mu.Lock(); events = append(events, e); mu.Unlock() }
	draining := make(chan struct{})
	release := make(chan struct{})
	svc.Go(func(ctx context.Context) error {
		<-ctx.Done()
		close(draining)
		<-release // a batch in flight
		record("part drained")
		return ctx.Err() // context.Canceled after a stop is a clean exit
	})
	svc.OnStop("first", func() error { record("close first"); return nil })
	svc.OnStop("second", func() error { record("close second"); return errors.New("ignored") })
	require.Eventually(t, func() bool { code, _ := readyz(addr); return code == http.StatusOK }, 5*time.Second, 10*time.Millisecond)

	done := make(chan error, 1)
	go func() { done <- svc.Wait() }()
	cancel()
	<-draining
	require.Eventually(t, func() bool {
		code, body := readyz(addr)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "stopping")
	}, 5*time.Second, 10*time.Millisecond, "not ready while draining, and still answering")
	close(release)
	require.NoError(t, <-done)
	require.Equal(t, []string{"part drained", "close second", "close first"}, events)
	_, err := http.Get("http://" + addr + "/healthz")
	require.Error(t, err, "the ops server stops last")
}

// TestLifecycleAPartFailingStopsTheOthers: the first failure cancels every part
// and is what Wait returns.
func TestLifecycleAPartFailingStopsTheOthers(t *testing.T) {
	svc := Start(context.Background(), "t", "", ops.NewRegistry(), zaptest.NewLogger(t))
	boom := errors.New("storage failed")
	svc.Go(func(context.Context) error { return boom })
	stopped := make(chan struct{})
	svc.Go(func(ctx context.Context) error { <-ctx.Done(); close(stopped); return nil })
	require.ErrorIs(t, svc.Wait(), boom)
	<-stopped
}

// TestConnectRetriesUntilItSucceeds: readiness names what is awaited, and turns
// true once the connection works.
func TestConnectRetriesUntilItSucceeds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc := Start(ctx, "t", "", ops.NewRegistry(), zaptest.NewLogger(t))
	attempts := 0
	v, err := Connect(svc, "schema registry", func(context.Context) (int, error) {
		attempts++
		if attempts < 3 {
			require.ErrorContains(t, svc.Ops().Ready(context.Background()), "connecting to the schema registry")
			return 0, errors.New("connection refused")
		}
		return 42, nil
	})
	require.NoError(t, err)
	require.Equal(t, 42, v)
	require.Equal(t, 3, attempts)
	require.NoError(t, svc.Ops().Ready(context.Background()))
	cancel()
	require.NoError(t, svc.Wait())

	// Stopped while waiting: Connect gives up with the context's error.
	ctx2, cancel2 := context.WithCancel(context.Background())
	svc2 := Start(ctx2, "t", "", ops.NewRegistry(), zaptest.NewLogger(t))
	time.AfterFunc(50*time.Millisecond, cancel2)
	_, err = Connect(svc2, "schema registry", func(context.Context) (int, error) { return 0, errors.New("refused") })
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, svc2.Abort(err), context.Canceled)
}

// TestConnectStopsAtOnceOnARejection: a server refusing the credentials (or a
// certificate not trusted) is reported after one attempt with its own error,
// not retried; an outage before it is retried.
func TestConnectStopsAtOnceOnARejection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second) // bounds a retry loop
	defer cancel()
	svc := Start(ctx, "t", "", ops.NewRegistry(), zaptest.NewLogger(t))
	attempts := 0
	refused := secure.Reject("Kafka broker 10.0.0.1:9093", "it refused the SASL credentials", errors.New("SASL Authentication Failed"))
	start := time.Now()
	_, err := Connect(svc, "Kafka brokers", func(context.Context) (int, error) {
		attempts++
		if attempts == 1 {
			return 0, errors.New("connection refused") // down first: retried
		}
		return 0, refused
	})
	require.Equal(t, 2, attempts)
	require.ErrorIs(t, err, refused)
	require.Less(t, time.Since(start), 2*time.Second)
	require.ErrorContains(t, svc.Abort(err), "connect to the Kafka brokers: Kafka broker 10.0.0.1:9093: it refused the SASL credentials")
}

// TestAwaitStopsTheServiceOnARejectionOnly: a dependency awaited beside the
// service's other parts stops it on a rejection, and only waits while it is down.
func TestAwaitStopsTheServiceOnARejectionOnly(t *testing.T) {
	svc := Start(context.Background(), "t", "", ops.NewRegistry(), zaptest.NewLogger(t))
	var n int
	svc.Await("Redis", func(context.Context) error {
		if n++; n < 3 {
			return errors.New("dial tcp: connection refused")
		}
		return secure.Reject("Redis 10.0.0.2:6379", "it refused the credentials", errors.New("WRONGPASS"))
	})
	err := svc.Wait()
	require.ErrorContains(t, err, "connect to Redis: Redis 10.0.0.2:6379: it refused the credentials")
	require.Equal(t, 3, n)

	ctx, cancel := context.WithCancel(context.Background())
	svc2 := Start(ctx, "t", "", ops.NewRegistry(), zaptest.NewLogger(t))
	var calls atomic.Int32
	svc2.Await("Redis", func(context.Context) error { calls.Add(1); return errors.New("connection refused") })
	ok := make(chan struct{})
	svc2.Await("Redis", func(context.Context) error { close(ok); return nil })
	<-ok
	time.Sleep(300 * time.Millisecond)
	require.Greater(t, calls.Load(), int32(1), "a Redis that is down is retried")
	cancel()
	require.NoError(t, svc2.Wait(), "waiting for a dependency that is down is not a failure")
}

// TestAbortAfterAPartFailedReportsThatFailure: a start step interrupted because
// a part failed (Redis refused the credentials while the registry was being
// connected) reports the part's failure, not the interruption.
func TestAbortAfterAPartFailedReportsThatFailure(t *testing.T) {
	svc := Start(context.Background(), "t", "", ops.NewRegistry(), zaptest.NewLogger(t))
	refused := secure.Reject("Redis 10.0.0.2:6379", "it refused the credentials", errors.New("WRONGPASS"))
	svc.Go(func(context.Context) error { return refused })
	_, err := Connect(svc, "schema registry", func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 0, fmt.Errorf("POST /subjects: %w", context.Cause(ctx))
	})
	require.Error(t, err)
	err = svc.Abort(err)
	require.ErrorIs(t, err, refused)
	require.NotContains(t, err.Error(), "schema registry", "one clear error: %v", err)
}
