package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
	"go.uber.org/zap"
)

// ErrSustainedErrors ends a run whose requests kept failing.
var ErrSustainedErrors = errors.New("sustained request errors")

// RunOptions configure a Runner.
type RunOptions struct {
	// ProducerURL and ConsentURL are base URLs (http://host:port).
	ProducerURL, ConsentURL string
	// Token is the producer's bearer token (scope events:write); ConsentToken the
	// consent API's (defaults to Token).
	Token, ConsentToken string
	// Events to send (at least 1); consent actions come on top.
	Events int
	// Rate in events per second; 0 sends as fast as the services allow.
	Rate float64
	// Workers send in parallel; each owns a share of the tenants (default 4).
	Workers int
	// Batch is the most events per POST (default 50); events queue up into a
	// batch only while a worker is busy, so a slow rate sends single events.
	Batch int
	// MaxDuration stops generating after this long (0: no limit); what was
	// generated is still sent.
	MaxDuration time.Duration
	// MaxConsecutiveErrors failed requests in a row abort the run with
	// ErrSustainedErrors (default 20). A request that is retried successfully is
	// no failure.
	MaxConsecutiveErrors int
	// Retries of a request answered 429, 5xx or not at all (0 means 3, negative
	// none), after
	// Retry-After (at most 5 s) or a backoff. Retries resend the same event ids.
	Retries int
	// Truth receives the log lines: every event and consent change as sent and
	// as answered (nil: discarded).
	Truth io.Writer
	// Progress, when set, is called after every request with the running totals;
	// it is called from many goroutines.
	Progress func(Stats)
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
	// LinkTimeout bounds the wait for a new identity link to show in the
	// consent API (default 30 s); ConsentToken needs consent:read for it.
	// The Runner waits only when it writes a log (Truth), whose order the
	// wait is for; a negative LinkTimeout never waits (the log's link lines
	// then say observed: false). Waiting holds the tenant's worker for the
	// chain's latency once per new link, so it lowers the sending rate.
	LinkTimeout time.Duration
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
}

// Stats are a run's totals.
type Stats struct {
	EventsSent      int64         `json:"events_sent"`
	EventsAccepted  int64         `json:"events_accepted"`
	EventsFailed    int64         `json:"events_failed"`
	ConsentsApplied int64         `json:"consents_applied"`
	ConsentsFailed  int64         `json:"consents_failed"`
	Requests        int64         `json:"requests"`
	Elapsed         time.Duration `json:"elapsed"`
}

// EventsPerSecond is the accepted-event throughput.
func (s Stats) EventsPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.EventsAccepted) / s.Elapsed.Seconds()
}

type counters struct {
	sent, accepted, failed, consentsOK, consentsFailed, requests, consecutive atomic.Int64
	start                                                                     time.Time
}

func (c *counters) snapshot() Stats {
	return Stats{EventsSent: c.sent.Load(), EventsAccepted: c.accepted.Load(), EventsFailed: c.failed.Load(),
		ConsentsApplied: c.consentsOK.Load(), ConsentsFailed: c.consentsFailed.Load(), Requests: c.requests.Load(),
		Elapsed: time.Since(c.start)}
}

// Run sends gen's actions until opts.Events events were generated, ctx ends or
// MaxDuration passes, and writes the log. It returns the totals, and an
// error wrapping ErrSustainedErrors when requests kept failing.
func Run(ctx context.Context, gen *Generator, opts RunOptions) (Stats, error) {
	if err := opts.defaults(); err != nil {
		return Stats{}, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r := &runner{opts: opts, truth: newTruthWriter(opts.Truth), cancel: cancel, purpose: gen.cfg.Purpose}
	r.c.start = time.Now()

	chans := make([]chan Action, opts.Workers)
	var wg sync.WaitGroup
	for i := range chans {
		chans[i] = make(chan Action, 4*opts.Batch)
		w := &worker{r: r}
		wg.Add(1)
		go func(ch <-chan Action) {
			defer wg.Done()
			w.loop(ctx, ch)
		}(chans[i])
	}

	var deadline <-chan time.Time
	if opts.MaxDuration > 0 {
		t := time.NewTimer(opts.MaxDuration)
		defer t.Stop()
		deadline = t.C
	}
	events := 0
dispatch:
	for events < opts.Events {
		a := gen.Next()
		if a.Kind == ActionEvent {
			if opts.Rate > 0 {
				due := r.c.start.Add(time.Duration(float64(events) / opts.Rate * float64(time.Second)))
				if wait := time.Until(due); wait > 0 {
					select {
					case <-time.After(wait):
					case <-ctx.Done():
						break dispatch
					case <-deadline:
						break dispatch
					}
				}
			}
			events++
		}
		select {
		case chans[workerFor(a.TenantID(), len(chans))] <- a:
		case <-ctx.Done():
			break dispatch
		case <-deadline:
			break dispatch
		}
	}
	for _, ch := range chans {
		close(ch)
	}
	wg.Wait()
	stats := r.c.snapshot()
	err := r.truth.flush()
	if cause := context.Cause(ctx); errors.Is(cause, ErrSustainedErrors) {
		err = errors.Join(cause, err)
	}
	return stats, err
}

func (o *RunOptions) defaults() error {
	if o.ProducerURL == "" {
		return errors.New("loadgen: producer URL is required")
	}
	if o.Events < 1 {
		return fmt.Errorf("loadgen: events must be at least 1, got %d", o.Events)
	}
	if o.Rate < 0 {
		return fmt.Errorf("loadgen: rate must be >= 0, got %g", o.Rate)
	}
	if o.ConsentToken == "" {
		o.ConsentToken = o.Token
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Batch <= 0 {
		o.Batch = 50
	}
	if o.MaxConsecutiveErrors <= 0 {
		o.MaxConsecutiveErrors = 20
	}
	if o.Retries < 0 {
		o.Retries = 0
	} else if o.Retries == 0 {
		o.Retries = 3
	}
	if o.LinkTimeout == 0 {
		o.LinkTimeout = 30 * time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * o.Workers}}
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	o.ProducerURL = strings.TrimRight(o.ProducerURL, "/")
	o.ConsentURL = strings.TrimRight(o.ConsentURL, "/")
	return nil
}

func workerFor(tenant string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(tenant))
	return int(h.Sum32() % uint32(n))
}

type runner struct {
	opts    RunOptions
	truth   *truthWriter
	cancel  context.CancelCauseFunc
	purpose string
	c       counters
}

// outcome records a request's result for the consecutive-error rule.
func (r *runner) outcome(ok bool) {
	r.c.requests.Add(1)
	if ok {
		r.c.consecutive.Store(0)
	} else if n := r.c.consecutive.Add(1); n >= int64(r.opts.MaxConsecutiveErrors) {
		r.cancel(fmt.Errorf("%w: %d failed requests in a row", ErrSustainedErrors, n))
	}
	if r.opts.Progress != nil {
		r.opts.Progress(r.c.snapshot())
	}
}

// worker runs the actions of its tenants in order: an event is sent only after
// every earlier consent change of its tenant was answered, and a change only
// after every earlier event was answered.
type worker struct {
	r       *runner
	pending []*EventAction
	seqs    []int
}

func (w *worker) loop(ctx context.Context, ch <-chan Action) {
	for {
		var a Action
		var ok bool
		if len(w.pending) > 0 {
			select {
			case a, ok = <-ch:
			default:
				w.flush(ctx) // nothing queued behind: send what we have
				continue
			}
		} else {
			a, ok = <-ch
		}
		if !ok {
			w.flush(ctx)
			return
		}
		if ctx.Err() != nil {
			continue // aborted: drain without sending
		}
		switch a.Kind {
		case ActionEvent:
			w.pending = append(w.pending, a.Event)
			w.seqs = append(w.seqs, a.Seq)
			if a.Event.NewLink && w.r.awaitLinks() {
				// A new identity link: send it now and wait until it shows,
				// so the tenant's later actions all come after it.
				w.flush(ctx)
				w.awaitLink(ctx, a.Seq, a.Event)
			} else if len(w.pending) >= w.r.opts.Batch {
				w.flush(ctx)
			}
		case ActionConsent:
			// Earlier events go first, then the change; later events see it.
			w.flush(ctx)
			w.consent(ctx, a.Seq, a.Consent)
		}
	}
}

// flush sends the pending events: one request for those without GPC and one
// with Sec-GPC: 1 for the others.
func (w *worker) flush(ctx context.Context) {
	if len(w.pending) == 0 {
		return
	}
	for _, gpc := range []bool{false, true} {
		var evs []*EventAction
		var seqs []int
		for i, e := range w.pending {
			if e.GPC == gpc {
				evs, seqs = append(evs, e), append(seqs, w.seqs[i])
			}
		}
		if len(evs) > 0 && ctx.Err() == nil {
			w.postEvents(ctx, evs, seqs, gpc)
		}
	}
	w.pending, w.seqs = w.pending[:0], w.seqs[:0]
}

func (w *worker) postEvents(ctx context.Context, evs []*EventAction, seqs []int, gpc bool) {
	events := make([]schema.InteractionEvent, len(evs))
	for i, e := range evs {
		events[i] = e.Event
	}
	b := EventsBody(events)
	hdr := map[string]string{"Authorization": "Bearer " + w.r.opts.Token}
	if gpc {
		hdr["Sec-GPC"] = "1"
	}
	w.r.c.sent.Add(int64(len(evs)))
	res := w.r.send(ctx, http.MethodPost, w.r.opts.ProducerURL+"/v1/events", b, hdr)
	accepted := res.status == http.StatusAccepted
	var receivedAt *time.Time
	if accepted {
		w.r.c.accepted.Add(int64(len(evs)))
		var ans struct {
			ReceivedAt time.Time `json:"received_at"`
		}
		if json.Unmarshal(res.body, &ans) == nil && !ans.ReceivedAt.IsZero() {
			t := ans.ReceivedAt.UTC()
			receivedAt = &t
		}
	} else {
		w.r.c.failed.Add(int64(len(evs)))
	}
	for i, e := range evs {
		ev := e.Event
		if accepted && e.NewLink {
			e.linkSentAt = res.sentAt
		}
		w.r.truth.write(EventTruth{
			Kind: "event", Seq: seqs[i], EventID: ev.EventID, EventType: ev.EventType, UserID: ev.UserID,
			AnonymousID: ev.AnonymousID, TenantID: ev.TenantID, Jurisdiction: ev.Jurisdiction, GPC: e.GPC,
			SentAt: res.sentAt, AckedAt: res.done, Attempts: res.attempts, HTTPStatus: res.status, Accepted: accepted,
			ReceivedAt: receivedAt, PII: nonNil(e.PII),
		})
	}
	w.r.outcome(accepted)
}

// awaitLinks reports whether new identity links are awaited (see
// RunOptions.LinkTimeout).
func (r *runner) awaitLinks() bool { return r.opts.Truth != nil && r.opts.LinkTimeout > 0 }

// awaitLink polls the consent API until it shows the link of the identify
// event (at most LinkTimeout), records it and writes its truth line.
func (w *worker) awaitLink(ctx context.Context, seq int, e *EventAction) {
	ev := e.Event
	lt := LinkTruth{Kind: "link", Seq: seq, TenantID: ev.TenantID, UserID: ev.UserID, AnonymousID: ev.AnonymousID, SentAt: e.linkSentAt}
	if !e.linkSentAt.IsZero() {
		url := fmt.Sprintf("%s/v1/tenants/%s/users/%s/consents", w.r.opts.ConsentURL, neturl.PathEscape(ev.TenantID), neturl.PathEscape(ev.UserID))
		deadline := time.Now().Add(w.r.opts.LinkTimeout)
		for ctx.Err() == nil && time.Now().Before(deadline) {
			if w.r.linked(ctx, url, ev.AnonymousID) {
				lt.Observed, lt.LinkedAt = true, time.Now()
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	if !lt.Observed {
		w.r.opts.Logger.Warn("identity link not visible in time", zap.Int("seq", seq))
	}
	w.r.truth.write(lt)
}

// linked reports whether GET url lists anon among the user's linked subjects.
func (r *runner) linked(ctx context.Context, url, anon string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+r.opts.ConsentToken)
	resp, err := r.opts.HTTPClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var body struct {
		Linked []struct {
			SubjectType string `json:"subject_type"`
			SubjectID   string `json:"subject_id"`
		} `json:"linked"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body) != nil {
		return false
	}
	for _, l := range body.Linked {
		if l.SubjectType == "anonymous" && l.SubjectID == anon {
			return true
		}
	}
	return false
}

func (w *worker) consent(ctx context.Context, seq int, c *ConsentAction) {
	status := "granted"
	if c.Status == schema.StatusDenied {
		status = "denied"
	}
	b, _ := json.Marshal(map[string]string{"status": status, "source": "loadgen"})
	hdr := map[string]string{"Authorization": "Bearer " + w.r.opts.ConsentToken}
	res := w.r.send(ctx, http.MethodPut, w.r.opts.ConsentURL+c.Path(), b, hdr)
	line := ConsentTruth{
		Kind: "consent", Seq: seq, SubjectType: strings.ToLower(c.SubjectType), SubjectID: c.SubjectID,
		TenantID: c.TenantID, Purpose: c.Purpose, Status: c.Status, SentAt: res.sentAt, CompletedAt: res.done,
		Attempts: res.attempts, HTTPStatus: res.status, Applied: res.status >= 200 && res.status < 300,
	}
	if line.Applied {
		var ans struct {
			Version     string    `json:"version"`
			EffectiveAt time.Time `json:"effective_at"`
		}
		if json.Unmarshal(res.body, &ans) == nil {
			line.Version = ans.Version
			if !ans.EffectiveAt.IsZero() {
				t := ans.EffectiveAt.UTC()
				line.EffectiveAt = &t
			}
		}
		w.r.c.consentsOK.Add(1)
	} else {
		w.r.c.consentsFailed.Add(1)
	}
	w.r.truth.write(line)
	w.r.outcome(line.Applied)
}

// result is the outcome of a request: when its last attempt was sent, its
// status (0 without a response) and body, when it completed, and how many
// attempts were sent.
type result struct {
	sentAt, done time.Time
	status       int
	body         []byte
	attempts     int
}

// send performs a JSON request with retries on 429, 5xx and transport errors.
func (r *runner) send(ctx context.Context, method, url string, body []byte, hdr map[string]string) result {
	backoff := 100 * time.Millisecond
	var res result
	for attempt := 0; ; attempt++ {
		res.sentAt = time.Now()
		res.attempts = attempt + 1
		var retryAfter time.Duration
		res.status, res.body, retryAfter = r.attempt(ctx, method, url, body, hdr)
		res.done = time.Now()
		retryable := res.status == 0 || res.status == http.StatusTooManyRequests || res.status >= 500
		if !retryable || attempt >= r.opts.Retries || ctx.Err() != nil {
			if res.status != 0 && (res.status < 200 || res.status >= 300) {
				r.opts.Logger.Warn("request failed", zap.String("method", method), zap.Int("status", res.status), zap.Int("attempts", attempt+1))
			}
			return res
		}
		wait := backoff
		if retryAfter > 0 {
			wait = min(retryAfter, 5*time.Second)
		}
		backoff = min(2*backoff, 2*time.Second)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return res
		}
	}
}

// attempt sends one request; it returns the status (0 without a response), the
// body of a 2xx answer (at most 1 MiB) and the Retry-After of a refusal.
func (r *runner) attempt(ctx context.Context, method, url string, body []byte, hdr map[string]string) (int, []byte, time.Duration) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := r.opts.HTTPClient.Do(req)
	if err != nil {
		r.opts.Logger.Debug("request error", zap.String("method", method), zap.Error(err))
		return 0, nil, 0
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// The answer was cut off: the request may or may not have taken effect.
		return 0, nil, 0
	}
	var ra time.Duration
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		ra = time.Duration(s) * time.Second
	}
	return resp.StatusCode, b, ra
}

func nonNil(p []PII) []PII {
	if p == nil {
		return []PII{}
	}
	return p
}
