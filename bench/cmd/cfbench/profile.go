package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"time"
)

// profile runs the consent-filter, the anonymizer and the producer once more
// through cmd/cfsvc (the same Run functions and configuration, in a process that
// writes a Go CPU profile) over the same input, to see what limits each stage.
// These runs are not timed figures.
func (b *bench) profile() error {
	if err := mustData(b); err != nil {
		return err
	}
	n, _, err := totalEnd(b.ctx, b.kafka, b.names.Raw)
	if err != nil {
		return err
	}
	// consent-filter over events.raw with a fresh group (Redis state as left by the stage run).
	prof := filepath.Join(b.outDir, "consent-filter.pprof")
	group := b.prefix + "filter-prof"
	// MEMPROFILE: the allocations at stop and at ready (.ready), for
	// `go tool pprof -diff_base consent-filter.mem.pprof.ready consent-filter.mem.pprof`.
	env := b.filterEnv(map[string]string{"CPUPROFILE": prof, "MEMPROFILE": filepath.Join(b.outDir, "consent-filter.mem.pprof"),
		"TOPIC_EVENTS_CONSENTED": b.prefix + "pt.out", "TOPIC_CONSENT_DECISIONS": b.prefix + "pt.out2"}, group)
	if err = b.profileDrain("consent-filter", env, group, b.names.Raw, n, prof); err != nil {
		return err
	}
	k, _, err := totalEnd(b.ctx, b.kafka, b.names.Consented)
	if err != nil {
		return err
	}
	prof = filepath.Join(b.outDir, "anonymizer.pprof")
	group = b.prefix + "anonymizer-prof"
	env = b.anonEnv(map[string]string{"CPUPROFILE": prof, "TOPIC_EVENTS_CURATED": b.prefix + "pt.out2"}, group)
	if err := b.profileDrain("anonymizer", env, group, b.names.Consented, k, prof); err != nil {
		return err
	}
	// producer under 8 clients × 500 events for at most 15 s.
	prof = filepath.Join(b.outDir, "producer.pprof")
	addr := freeAddr()
	env = b.serviceEnv("producer", map[string]string{"CPUPROFILE": prof, "PRODUCER_HTTP_ADDR": addr, "TOPIC_EVENTS_RAW": b.prefix + "ingest.http",
		"PRODUCER_TOKENS": "bench:plain:" + b.token + "=events:write"})
	p, err := startProc("producer-prof", b.cfsvc, []string{"producer"}, env, b.work)
	if err != nil {
		return err
	}
	if _, err := p.WaitReady(b.ctx, 30*time.Second); err != nil {
		p.Stop()
		return err
	}
	bd := body(b.data.events[:500])
	cl := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	loadLoop(b.ctx, 8, 500, 50_000, 15*time.Second, func(ctx context.Context, i int) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/events", bytes.NewReader(bd))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+b.token)
		resp, err := cl.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil
	})
	p.Stop()
	b.res.Profiles["producer"] = b.pprofTop(b.cfsvc, prof, "producer")
	return nil
}

func (b *bench) profileDrain(name string, env map[string]string, group, topic string, n int64, prof string) error {
	p, err := startProc(name+"-prof", b.cfsvc, []string{name}, env, b.work)
	if err != nil {
		return err
	}
	if _, err := p.WaitReady(b.ctx, 2*time.Minute); err != nil {
		p.Stop()
		return err
	}
	_, err = drain(b.ctx, b.kafka, group, topic, n, 3*time.Minute)
	p.Stop()
	if err != nil {
		return fmt.Errorf("%s profile run: %w", name, err)
	}
	b.res.Profiles[name] = b.pprofTop(b.cfsvc, prof, name)
	return nil
}
