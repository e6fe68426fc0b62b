package consentfilter

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/consent-filter/internal/api"
	"github.com/consentflow/consentflow/services/consent-filter/internal/centre"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
	"github.com/consentflow/consentflow/services/consent-filter/internal/history"
	"github.com/consentflow/consentflow/services/consent-filter/internal/tally"
)

// CentreConfig configures the privacy centre, served on the consent API's
// listener. It is on when CENTRE_LINK_KEY (or CENTRE_LINK_KEY_EPHEMERAL) is
// set. PROPERTIES_ALLOWLIST, TIME_GRANULARITY and ERASURE_PURGE_DEADLINE are
// the anonymizer's and the sink's variables, read here so the pages describe
// what those services do: give them the same values.
type CentreConfig struct {
	LinkKey       string        `env:"CENTRE_LINK_KEY" help:"base64 key (>= 32 bytes) signing privacy-centre links; empty (and no ephemeral key) turns the privacy centre off"`
	LinkEphemeral bool          `env:"CENTRE_LINK_KEY_EPHEMERAL" envDefault:"false" help:"generate a random link key at start (demo only: links die with the process)"`
	LinkTTL       time.Duration `env:"CENTRE_LINK_TTL" envDefault:"15m" help:"lifetime of a privacy-centre link unless the request asks for less or more (at most 24h)"`
	PublicURL     string        `env:"CENTRE_PUBLIC_URL" help:"prefix of minted links, e.g. https://privacy.example.com; empty answers a path"`
	ThemeFile     string        `env:"CENTRE_THEME_FILE" help:"JSON theme: product_name, accent, background, text (#rrggbb), logo_file (.png/.svg), support_text"`
	Allowlist     []string      `env:"PROPERTIES_ALLOWLIST" envSeparator:"," help:"the anonymizer's property allowlist (the privacy centre describes it)"`
	Granularity   time.Duration `env:"TIME_GRANULARITY" envDefault:"1h" help:"the anonymizer's time granularity (the privacy centre describes it)"`
	PurgeDeadline time.Duration `env:"ERASURE_PURGE_DEADLINE" envDefault:"72h" help:"the dataset sink's purge deadline (the privacy centre promises it)"`

	key   []byte
	theme centre.Theme
}

// On reports whether the privacy centre is served.
func (c *CentreConfig) On() bool { return c.key != nil }

func (c *CentreConfig) validate(p *config.Problems) {
	switch {
	case c.LinkKey != "" && c.LinkEphemeral:
		p.Addf("CENTRE_LINK_KEY", "set either CENTRE_LINK_KEY or CENTRE_LINK_KEY_EPHEMERAL, not both")
	case c.LinkKey != "":
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(c.LinkKey))
		if err != nil || len(k) < 32 {
			p.Addf("CENTRE_LINK_KEY", "want base64 of at least 32 bytes")
		}
		c.key = k
	case c.LinkEphemeral:
		c.key = make([]byte, 32)
		if _, err := rand.Read(c.key); err != nil {
			p.Addf("CENTRE_LINK_KEY_EPHEMERAL", "%v", err)
		}
	}
	if c.LinkTTL <= 0 || c.LinkTTL > 24*time.Hour {
		p.Addf("CENTRE_LINK_TTL", "must be more than 0 and at most 24h")
	}
	if c.Granularity <= 0 {
		p.Addf("TIME_GRANULARITY", "must be positive")
	}
	th, err := centre.LoadTheme(c.ThemeFile)
	if err != nil {
		p.Addf("CENTRE_THEME_FILE", "%v", err)
	}
	c.theme = th
}

// centreParts is the privacy centre of a running consent-filter.
type centreParts struct {
	c        *centre.Centre
	receipts *centre.ReceiptIndex
}

func newCentre(cfg Config, a *api.API, store *consentstore.Store, t *tally.Tally, hist *history.History, logger *zap.Logger) (*centreParts, error) {
	fields, err := schema.RawFields()
	if err != nil {
		return nil, err
	}
	stories, err := centre.Describe(fields, centre.Processing{PropertiesAllowlist: cfg.Centre.Allowlist, TimeGranularity: cfg.Centre.Granularity})
	if err != nil {
		return nil, fmt.Errorf("privacy centre: %w", err)
	}
	idx := &centre.ReceiptIndex{}
	rep := &centre.TallyReport{Tally: t, Lookup: store.Lookup, Policy: cfg.policy}
	c := &centre.Centre{
		Policy: cfg.policy, Purpose: cfg.Purpose, Signer: &centre.Signer{Key: cfg.Centre.key, Now: time.Now}, Tokens: cfg.tokens,
		Lookup: store.Lookup, Record: a.Record, Caught: a.Caught, History: hist, Receipts: idx, Fields: stories, PurgeDeadline: cfg.Centre.PurgeDeadline,
		LinkTTL: cfg.Centre.LinkTTL, PublicURL: strings.TrimSuffix(cfg.Centre.PublicURL, "/"), Theme: cfg.Centre.theme,
		Report: rep, MaxLinks: cfg.MaxLinks, Now: time.Now, Logger: logger.With(zap.String("component", "centre")),
	}
	return &centreParts{c: c, receipts: idx}, nil
}

// mount serves the centre's routes beside the consent API's.
func (p *centreParts) mount(apiHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	h := p.c.Handler()
	mux.Handle("/centre/", h)
	mux.Handle("/v1/centre/", h)
	mux.Handle("/", apiHandler)
	return mux
}
