package centre

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/strictjson"
)

// Report is a tenant admin's aggregate view: no per-user data.
type Report struct {
	Tenant string `json:"tenant"`
	// Subjects counts the tenant's users per purpose by their own choice:
	// opted in, opted out, and seen in events without a record.
	Subjects []SubjectCounts `json:"subjects"`
	// Events counts the tenant's events decided over the last 7 and 30 days,
	// by decision reason.
	Events      []ReasonCounts `json:"events"`
	GeneratedAt time.Time      `json:"generated_at"`
}

// SubjectCounts are one purpose's user counts.
type SubjectCounts struct {
	Purpose  string `json:"purpose"`
	OptedIn  int64  `json:"opted_in"`
	OptedOut int64  `json:"opted_out"`
	NoRecord int64  `json:"no_record"`
}

// ReasonCounts are the events decided for one reason.
type ReasonCounts struct {
	Purpose string `json:"purpose"`
	Reason  string `json:"reason"`
	Allowed bool   `json:"collected"`
	Days7   int64  `json:"last_7_days"`
	Days30  int64  `json:"last_30_days"`
}

// Reporter computes a tenant's report.
type Reporter interface {
	Report(ctx context.Context, tenant string, now time.Time) (Report, error)
}

func (c *Centre) report(format string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l, _, ok := c.link(r)
		if !ok || l.Kind != KindAdmin {
			c.forbidden(w)
			return
		}
		if c.Report == nil {
			secure(w)
			http.Error(w, "No report is configured.", http.StatusNotFound)
			return
		}
		rep, err := c.Report.Report(r.Context(), l.Tenant, c.Now())
		if err != nil {
			c.unavailable(w, err)
			return
		}
		secure(w)
		w.Header().Set("Content-Disposition", `attachment; filename="consent-report.`+format+`"`)
		if format == "json" {
			writeJSON(w, http.StatusOK, rep)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"section", "purpose", "reason", "collected", "opted_in", "opted_out", "no_record", "last_7_days", "last_30_days"})
		for _, s := range rep.Subjects {
			_ = cw.Write([]string{"users", s.Purpose, "", "", strconv.FormatInt(s.OptedIn, 10), strconv.FormatInt(s.OptedOut, 10), strconv.FormatInt(s.NoRecord, 10), "", ""})
		}
		for _, e := range rep.Events {
			_ = cw.Write([]string{"events", e.Purpose, e.Reason, strconv.FormatBool(e.Allowed), "", "", "", strconv.FormatInt(e.Days7, 10), strconv.FormatInt(e.Days30, 10)})
		}
		cw.Flush()
	}
}

var colour = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// LoadTheme reads a theme file (JSON: product_name, accent, background, text,
// logo_file relative to the file, support_text); "" gives the default theme.
func LoadTheme(path string) (Theme, error) {
	var th Theme
	if path == "" {
		return th, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return th, err
	}
	if err := strictjson.Decode(bytes.NewReader(b), &th); err != nil {
		return th, fmt.Errorf("%s: %w", path, err)
	}
	var probs []string
	for name, v := range map[string]string{"accent": th.Accent, "background": th.Background, "text": th.Text} {
		if v != "" && !colour.MatchString(v) {
			probs = append(probs, name+": want #rrggbb")
		}
	}
	if len(th.ProductName) > 80 {
		probs = append(probs, "product_name: longer than 80 bytes")
	}
	if th.LogoFile != "" {
		p := th.LogoFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(path), p)
		}
		if th.logo, err = os.ReadFile(p); err != nil {
			probs = append(probs, "logo_file: "+err.Error())
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".png":
			th.logoType = "image/png"
		case ".svg":
			th.logoType = "image/svg+xml"
		default:
			probs = append(probs, "logo_file: want .png or .svg")
		}
	}
	if len(probs) > 0 {
		return th, errors.New(path + ": " + strings.Join(probs, "; "))
	}
	return th, nil
}

// HasLogo reports whether the theme serves a logo.
func (t Theme) HasLogo() bool { return len(t.logo) > 0 }
