package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/consentflow/consentflow/pkg/loadgen"
	"github.com/schollz/progressbar/v3"
)

// loadgenCommand implements `consentflow loadgen`: it generates the activity of a
// Jira/Confluence-like product (see pkg/loadgen), posts the events to the
// producer and the consent changes to the consent API, shows a progress bar on
// stderr, writes its log (what it sent, what the services answered) to --log
// and prints the totals and the
// events/s achieved. It stops after --events events or --max-duration, and fails
// (non-zero exit) when requests keep failing (--max-errors in a row).
func loadgenCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := loadgen.DefaultConfig()
	var (
		opts      loadgen.RunOptions
		cfg       = def
		truthPath string
		piiRates  string
		noBar     bool
		asJSON    bool
	)
	fs.StringVar(&opts.ProducerURL, "producer", "http://127.0.0.1:8080", "producer base URL (POST /v1/events)")
	fs.StringVar(&opts.ConsentURL, "consent", "http://127.0.0.1:8081", "consent API base URL (PUT /v1/{users|tenants}/{id}/consents/{purpose})")
	fs.StringVar(&opts.Token, "token", os.Getenv("CONSENTFLOW_TOKEN"), "producer bearer token with events:write (default $CONSENTFLOW_TOKEN)")
	fs.StringVar(&opts.ConsentToken, "consent-token", os.Getenv("CONSENTFLOW_CONSENT_TOKEN"), "consent API bearer token (default $CONSENTFLOW_CONSENT_TOKEN, else --token)")
	fs.IntVar(&opts.Events, "events", 10000, "events to send (consent changes come on top)")
	fs.Float64Var(&opts.Rate, "rate", 0, "target events per second; 0 sends as fast as the services allow")
	fs.IntVar(&opts.Workers, "workers", 4, "parallel senders; each owns a share of the tenants")
	fs.IntVar(&opts.Batch, "batch", 50, "most events per POST")
	fs.DurationVar(&opts.MaxDuration, "max-duration", 0, "stop generating after this long (0: no limit)")
	fs.IntVar(&opts.MaxConsecutiveErrors, "max-errors", 20, "abort after this many failed requests in a row")
	fs.IntVar(&opts.Retries, "retries", 0, "retries of a request answered 429, 5xx or not at all, with the same event ids (0 means 3; negative none)")
	fs.Uint64Var(&cfg.Seed, "seed", def.Seed, "random seed: the same seed and flags generate the same actions")
	fs.StringVar(&truthPath, "log", "", "write the log (JSON lines: every event and consent change as sent and as the services answered) to this file")
	fs.IntVar(&cfg.Tenants, "tenants", def.Tenants, "tenants in the simulated product")
	fs.IntVar(&cfg.UsersPerTenant, "users-per-tenant", def.UsersPerTenant, "users per tenant")
	fs.StringVar(&cfg.Purpose, "purpose", def.Purpose, "purpose of the consent traffic")
	fs.StringVar(&piiRates, "pii-rates", "", "per-kind probability that a text carries that PII, e.g. email=0.2,ssn=0 or all=0.1 (kinds: "+strings.Join(loadgen.AllKinds, ",")+")")
	fs.Float64Var(&cfg.Plan.WithdrawShare, "withdraw-share", def.Plan.WithdrawShare, "share of the users who withdraw (DENIED) once during the run")
	fs.Float64Var(&cfg.Plan.RegrantShare, "regrant-share", def.Plan.RegrantShare, "share of the withdrawing users who grant again later")
	fs.Float64Var(&cfg.Plan.GrantShare, "grant-share", def.Plan.GrantShare, "share of the users without an initial grant who grant during the run")
	fs.Float64Var(&cfg.Plan.TenantOptOutShare, "tenant-optout-share", def.Plan.TenantOptOutShare, "share of the tenants who opt out once during the run")
	fs.Float64Var(&cfg.Plan.TenantRegrantShare, "tenant-regrant-share", def.Plan.TenantRegrantShare, "share of the opted-out tenants who grant again later")
	fs.Float64Var(&cfg.Plan.ReactiveShare, "reactive-share", def.Plan.ReactiveShare, "share of the planned changes sent right after an event of their subject")
	fs.Float64Var(&cfg.WithdrawRate, "withdraw-rate", def.WithdrawRate, "steady churn on top of the plan: share of actions that are user withdrawals (DENIED)")
	fs.Float64Var(&cfg.GrantRate, "grant-rate", def.GrantRate, "steady churn: share of actions that are user grants (GRANTED)")
	fs.Float64Var(&cfg.TenantOptOutRate, "tenant-optout-rate", def.TenantOptOutRate, "steady churn: share of actions that are tenant opt-outs (DENIED)")
	fs.Float64Var(&cfg.TenantGrantRate, "tenant-grant-rate", def.TenantGrantRate, "steady churn: share of actions that are tenant re-grants (GRANTED)")
	fs.Float64Var(&cfg.InitialGrantShare, "initial-grant-share", def.InitialGrantShare, "share of users who grant consent before the first event")
	fs.Float64Var(&cfg.GPCRate, "gpc-rate", def.GPCRate, "share of events sent with Sec-GPC: 1")
	fs.Float64Var(&cfg.AnonymousRate, "anonymous-rate", def.AnonymousRate, "share of anonymous events (anonymous_id only)")
	fs.BoolVar(&noBar, "no-progress", false, "no progress bar")
	fs.BoolVar(&asJSON, "json", false, "print the totals as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("loadgen: unexpected arguments %q", fs.Args())
	}
	if opts.Token == "" {
		return errors.New("loadgen: --token is required (a producer token with events:write)")
	}
	rates, err := parsePIIRates(piiRates, def.PIIRates)
	if err != nil {
		return err
	}
	cfg.PIIRates = rates
	// Consent churn in proportion to the run: the plan spreads its changes over
	// --events events.
	cfg.Plan.Events = opts.Events
	gen, err := loadgen.NewGenerator(cfg)
	if err != nil {
		return err
	}

	if truthPath != "" {
		f, err := os.Create(truthPath)
		if err != nil {
			return fmt.Errorf("loadgen: create log file: %w", err)
		}
		defer f.Close()
		opts.Truth = f
	}
	if !noBar {
		bar := progressbar.NewOptions64(int64(opts.Events), progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("events"), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("events"), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(true))
		opts.Progress = func(s loadgen.Stats) { _ = bar.Set64(s.EventsSent) }
		defer func() {
			_ = bar.Finish()
			fmt.Fprintln(stderr)
		}()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stats, runErr := loadgen.Run(ctx, gen, opts)
	if asJSON {
		out := struct {
			loadgen.Stats
			ElapsedSeconds  float64 `json:"elapsed_seconds"`
			EventsPerSecond float64 `json:"events_per_second"`
		}{stats, stats.Elapsed.Seconds(), stats.EventsPerSecond()}
		_ = json.NewEncoder(stdout).Encode(out)
	} else {
		fmt.Fprintf(stdout, "sent %d events (%d accepted, %d failed) and %d consent changes (%d failed) in %s: %.0f events/s\n",
			stats.EventsSent, stats.EventsAccepted, stats.EventsFailed, stats.ConsentsApplied+stats.ConsentsFailed,
			stats.ConsentsFailed, stats.Elapsed.Round(time.Millisecond), stats.EventsPerSecond())
	}
	if runErr != nil {
		return fmt.Errorf("loadgen: %w", runErr)
	}
	if stats.EventsSent > 0 && stats.EventsAccepted == 0 {
		return errors.New("loadgen: no event was accepted")
	}
	return nil
}

// parsePIIRates applies "kind=rate,..." (or all=rate) over the defaults.
func parsePIIRates(s string, defaults map[string]float64) (map[string]float64, error) {
	out := make(map[string]float64, len(defaults))
	for k, v := range defaults {
		out[k] = v
	}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	known := map[string]bool{"all": true}
	for _, k := range loadgen.AllKinds {
		known[k] = true
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !known[k] {
			return nil, fmt.Errorf("loadgen: --pii-rates: want kind=rate with kind one of all,%s; got %q", strings.Join(loadgen.AllKinds, ","), part)
		}
		rate, err := strconv.ParseFloat(v, 64)
		if err != nil || rate < 0 || rate > 1 {
			return nil, fmt.Errorf("loadgen: --pii-rates: %s: want a rate in [0, 1], got %q", k, v)
		}
		if k == "all" {
			for _, kind := range loadgen.AllKinds {
				out[kind] = rate
			}
			continue
		}
		out[k] = rate
	}
	return out, nil
}
