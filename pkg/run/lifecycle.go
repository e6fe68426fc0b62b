package run

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/consentflow/consentflow/pkg/ops"
	"github.com/consentflow/consentflow/pkg/secure"
	"github.com/consentflow/consentflow/pkg/stream"
)

// Lifecycle is how every consentflow service runs: the ops server (/healthz,
// /readyz, /metrics) first and last, the service's parts (stream loops, HTTP
// servers, the materializer) in an errgroup, and the shutdown. The first part
// that fails, or ctx (SIGINT/SIGTERM), stops the service: readiness turns false
// at once, every part drains (loops deliver their batch in flight and commit,
// HTTP servers finish in-flight requests), the OnStop functions run in reverse
// order, and the ops server stops last.
//
//	svc := run.Start(ctx, "anonymizer", cfg.OpsAddr, reg, logger)
//	codecs, err := run.Connect(svc, "schema registry", register)
//	if err != nil {
//		return svc.Abort(err)
//	}
//	svc.Loop(&stream.Loop{…})
//	return svc.Wait()
type Lifecycle struct {
	name string
	log  *zap.Logger
	ops  *ops.Server
	g    *errgroup.Group
	ctx  context.Context

	stopOps func()
	opsDone chan error

	mu      sync.Mutex
	onStop  []func()
	aborted error
	cancel  context.CancelFunc
}

// Start starts the ops server of service name on opsAddr (empty: none) with the
// metrics of reg, and returns the lifecycle whose parts stop when ctx ends.
func Start(ctx context.Context, name, opsAddr string, reg *prometheus.Registry, logger *zap.Logger) *Lifecycle {
	ctx, cancel := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(ctx)
	l := &Lifecycle{name: name, log: logger, ops: ops.New(reg, logger), g: g, ctx: gctx, cancel: cancel, opsDone: make(chan error, 1)}
	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	l.stopOps = stopOps
	go func() {
		err := l.ops.Serve(opsCtx, opsAddr)
		if err != nil {
			l.abort(err) // a taken ops port stops the service
		}
		l.opsDone <- err
	}()
	g.Go(func() error {
		<-gctx.Done()
		l.ops.Stopping() // load balancers drain while the parts do
		return nil
	})
	return l
}

// Context is cancelled when the service stops.
func (l *Lifecycle) Context() context.Context { return l.ctx }

// Ops is the service's ops server (readiness flags and checks).
func (l *Lifecycle) Ops() *ops.Server { return l.ops }

// Go runs part until the service stops; it must return when ctx is cancelled
// (nil, or context.Canceled). An error stops the service.
func (l *Lifecycle) Go(part func(ctx context.Context) error) {
	l.g.Go(func() error {
		err := part(l.ctx)
		if errors.Is(err, context.Canceled) && l.ctx.Err() != nil {
			return nil
		}
		return err
	})
}

// Loop runs a stream loop as a part. Unless the loop reports blocking itself,
// readiness is false while a batch stays blocked for longer than its
// BlockedGrace (the loop's name says which).
func (l *Lifecycle) Loop(loop *stream.Loop) {
	if loop.OnBlocked == nil {
		loop.OnBlocked = func(blocked bool, reason error) {
			if blocked {
				l.ops.SetReady(loop.Name, "blocked: "+reason.Error())
			} else {
				l.ops.SetReady(loop.Name, "")
			}
		}
	}
	l.Go(loop.Run)
}

// Serve serves h on ln (listen early, so that a taken port fails at start) as a
// part until the service stops, then lets in-flight requests finish within
// shutdownTimeout. The server has ops.DefaultTimeouts (read, write, idle, a
// header limit: a slow client cannot hold a connection); opts adjust it.
func (l *Lifecycle) Serve(what string, ln net.Listener, h http.Handler, shutdownTimeout time.Duration, opts ...func(*http.Server)) {
	srv := ops.NewServer(h, ops.DefaultTimeouts, l.log.With(zap.String("component", what)))
	for _, o := range opts {
		o(srv)
	}
	l.g.Go(func() error {
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		l.log.Info("listening", zap.String("component", what), zap.String("addr", ln.Addr().String()))
		select {
		case err := <-errc:
			return fmt.Errorf("%s serve %s: %w", what, ln.Addr(), err)
		case <-l.ctx.Done():
		}
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			return fmt.Errorf("%s drain: %w", what, err)
		}
		return nil
	})
}

// OnStop registers closing what (a reader, a writer, a client) after every part
// returned; they run in reverse order of registration. A close error is logged:
// the service has stopped either way.
func (l *Lifecycle) OnStop(what string, close func() error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.onStop = append(l.onStop, func() {
		if err := close(); err != nil {
			l.log.Warn("close "+what, zap.Error(err))
		}
	})
}

// Abort stops the service because of err (a failure at start) and returns err
// together with whatever the stop itself reported. When a part failed first, err
// is only its consequence (the start step was cancelled by that failure), and
// the part's failure alone is returned.
func (l *Lifecycle) Abort(err error) error {
	if cause := context.Cause(l.ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return l.Wait()
	}
	l.abort(err)
	return l.Wait()
}

func (l *Lifecycle) abort(err error) {
	l.mu.Lock()
	if l.aborted == nil {
		l.aborted = err
	}
	l.mu.Unlock()
	l.cancel()
}

// Wait blocks until the service stops (ctx cancelled, a part failed, Abort) and
// has drained, then runs the OnStop functions and stops the ops server. It
// returns nil after a clean shutdown, and otherwise every error that stopped or
// troubled it.
func (l *Lifecycle) Wait() error {
	err := l.g.Wait()
	l.cancel()
	l.mu.Lock()
	err = errors.Join(l.aborted, err)
	fns := l.onStop
	l.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
	l.stopOps()
	if oerr := <-l.opsDone; oerr != nil && !errors.Is(err, oerr) {
		err = errors.Join(err, oerr)
	}
	if err == nil {
		l.log.Info(l.name + " stopped")
	}
	return err
}

// connectAttempt bounds one attempt of Connect.
const connectAttempt = 10 * time.Second

// Connect calls connect until it succeeds or the service stops, with
// stream.DefaultBackoff between attempts (each bounded to 10 s): the schema
// registry, Kafka or Redis may start after the service. Readiness says
// "connecting to <what>" meanwhile, and each failure is logged. A
// *secure.Rejection (a server refusing the credentials, a certificate not
// trusted) ends the attempts at once: retrying cannot fix it, and the service
// stops with that one error instead of a retry loop that hides it.
func Connect[T any](l *Lifecycle, what string, connect func(ctx context.Context) (T, error)) (T, error) {
	l.ops.SetReady(what, "connecting to the "+what)
	var v T
	err := stream.Retry{
		Stop: secure.IsRejection,
		Failed: func(err error, failures int, _ time.Time) {
			l.log.Warn(what+" not ready; retrying", zap.Int("attempt", failures), zap.Error(err))
		},
	}.Do(l.ctx, func() error {
		ctx, cancel := context.WithTimeout(l.ctx, connectAttempt)
		defer cancel()
		var err error
		v, err = connect(ctx)
		return err
	})
	if err != nil {
		return v, fmt.Errorf("connect to the %s: %w", what, err)
	}
	l.ops.SetReady(what, "")
	return v, nil
}

// Await checks a dependency the service starts without (Redis for the
// consent-filter, which starts paused, failing closed) as a part: check is called
// with backoff until it succeeds, each failure logged. A *secure.Rejection stops
// the service with that one error; a dependency that is merely down is waited
// for.
func (l *Lifecycle) Await(what string, check func(ctx context.Context) error) {
	l.Go(func(ctx context.Context) error {
		err := stream.Retry{
			Stop: secure.IsRejection,
			Failed: func(err error, failures int, _ time.Time) {
				l.log.Warn(what+" not ready; retrying", zap.Int("attempt", failures), zap.Error(err))
			},
		}.Do(ctx, func() error {
			cctx, cancel := context.WithTimeout(ctx, connectAttempt)
			defer cancel()
			return check(cctx)
		})
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("connect to %s: %w", what, err)
		}
		return nil
	})
}

// ConnectKafka waits, as Connect does, until the Kafka brokers answer and accept
// the connection's TLS and SASL settings (stream.Config.Check); every service
// calls it before it builds its readers and writers.
func ConnectKafka(l *Lifecycle, k stream.Config) error {
	_, err := Connect(l, "Kafka brokers", func(ctx context.Context) (struct{}, error) { return struct{}{}, k.Check(ctx) })
	return err
}
