package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/stream"
)

// WaitReady waits until every listed service (all when none) answers /readyz
// with 200, failing early when one exits.
func (c *Chain) WaitReady(ctx context.Context, timeout time.Duration, services ...string) error {
	if len(services) == 0 {
		services = Services
	}
	deadline := time.Now().Add(timeout)
	cl := &http.Client{Timeout: 2 * time.Second}
	for _, s := range services {
		url := "http://" + c.OpsAddr(s) + "/readyz"
		for {
			last := ""
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			resp, err := cl.Do(req)
			if err == nil {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
				last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
			} else {
				last = err.Error()
			}
			if !c.Running(s) {
				return fmt.Errorf("%s exited while waiting for readiness: %v", s, c.Instance(s).Err())
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not ready after %s: %s", s, timeout, last)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// LagGroups are the chain's consumer groups with the topic each consumes.
func (c *Chain) LagGroups() [][2]string {
	g, n := c.Groups, c.Names
	return [][2]string{
		{g.Filter, n.Raw}, {g.Anonymizer, n.Consented}, {g.AnonymizerErasures, n.Changes},
		{g.Sink, n.Curated}, {g.SinkErasures, n.Erasures},
	}
}

// Lag returns what each group has not committed yet, as "group=lag …" with the
// chain's prefix left out, and the total.
func (c *Chain) Lag(ctx context.Context) (string, int64, error) {
	var parts []string
	var total int64
	var errs []error
	for _, g := range c.LagGroups() {
		lag, err := stream.GroupLag(ctx, c.stack.Kafka, g[0], g[1])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		total += lag
		parts = append(parts, fmt.Sprintf("%s=%d", strings.TrimPrefix(g[0], c.Prefix), lag))
	}
	return strings.Join(parts, " "), total, errors.Join(errs...)
}

// WaitDrained waits until every group has committed everything (zero lag on two
// polls in a row, poll apart) and returns the last lags seen.
func (c *Chain) WaitDrained(ctx context.Context, timeout, poll time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	zeroes := 0
	for {
		lags, total, err := c.Lag(ctx)
		if err == nil && total == 0 {
			if zeroes++; zeroes >= 2 {
				return lags, nil
			}
		} else {
			zeroes = 0
		}
		if time.Now().After(deadline) {
			return lags, fmt.Errorf("chain not drained after %s: %s %v", timeout, lags, err)
		}
		select {
		case <-ctx.Done():
			return lags, ctx.Err()
		case <-time.After(poll):
		}
	}
}
