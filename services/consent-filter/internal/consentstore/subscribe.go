package consentstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/identity"
)

// Subscribe keeps the cache's subscription to the writer's invalidation
// (cf:invalidate:*) and reset (cf:reset) channels, and blocks until ctx is
// done, returning ctx.Err(). The cache is enabled only after Redis has
// confirmed both subscriptions; on any receive error, unexpected
// unsubscribe, or a ping unanswered within PingInterval, it is cleared and
// disabled, the connection is dropped, and Subscribe resubscribes after
// RetryBackoff. Invalidations published while it was not subscribed can
// therefore never leave a stale entry behind.
func (c *CachedLookup) Subscribe(ctx context.Context) error {
	for {
		err := c.subscribeOnce(ctx)
		c.setEnabled(false)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.losses.Add(1)
		c.log.Warn("consent cache subscription lost; cache disabled until resubscribed", zap.Error(err))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(c.opts.RetryBackoff):
		}
	}
}

func (c *CachedLookup) subscribeOnce(ctx context.Context) error {
	k := c.store.k
	pattern := k.invalidatePrefix() + "*"
	ps := c.store.rdb.Subscribe(ctx)
	done := make(chan struct{})
	defer func() {
		close(done)
		_ = ps.Close()
	}()
	go func() {
		// ReceiveTimeout does not watch ctx; closing unblocks it.
		select {
		case <-ctx.Done():
			_ = ps.Close()
		case <-done:
		}
	}()
	if err := ps.Subscribe(ctx, k.reset()); err != nil {
		return fmt.Errorf("subscribe %s: %w", k.reset(), err)
	}
	if err := ps.PSubscribe(ctx, pattern); err != nil {
		return fmt.Errorf("psubscribe %s: %w", pattern, err)
	}

	confirmed := map[string]bool{}
	pinged := false
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		msg, err := ps.ReceiveTimeout(ctx, c.opts.PingInterval)
		if err != nil {
			if isTimeout(err) && !pinged && ctx.Err() == nil {
				if err := ps.Ping(ctx); err != nil {
					return fmt.Errorf("ping subscription: %w", err)
				}
				pinged = true
				continue
			}
			return fmt.Errorf("receive: %w", err)
		}
		pinged = false // any message proves the connection is alive
		switch m := msg.(type) {
		case *redis.Subscription:
			switch m.Kind {
			case "subscribe", "psubscribe":
				confirmed[m.Channel] = true
				if confirmed[k.reset()] && confirmed[pattern] && !c.Enabled() {
					c.setEnabled(true)
					c.log.Info("consent cache subscribed; cache enabled")
				}
			default:
				return fmt.Errorf("unexpected %s of %s", m.Kind, m.Channel)
			}
		case *redis.Message:
			c.handle(k, m)
		case *redis.Pong:
		}
	}
}

func (c *CachedLookup) handle(k keys, m *redis.Message) {
	if m.Channel == k.reset() {
		c.resets.Add(1)
		c.Clear()
		return
	}
	purpose, ok := strings.CutPrefix(m.Channel, k.invalidatePrefix())
	ref, err := identity.ParseCode(m.Payload)
	if !ok || err != nil {
		// Unknown message on our channels: be safe, drop everything.
		c.log.Warn("unparseable consent invalidation; clearing cache", zap.String("channel", m.Channel))
		c.Clear()
		return
	}
	c.invalidate(purpose, ref)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
