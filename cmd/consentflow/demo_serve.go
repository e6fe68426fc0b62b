package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/consentflow/consentflow/pkg/launch"
	"github.com/consentflow/consentflow/pkg/loadgen"
)

// serveCentre keeps the chain running after the demo's summary: it mints a
// privacy-centre link for one user of the run and an admin link for their
// tenant (24 h each, through the consent API as a product backend would),
// prints them, and returns when ctx ends (Ctrl-C).
func serveCentre(ctx context.Context, stdout io.Writer, chain *launch.Chain, u *loadgen.User) error {
	user, err := mintLink(ctx, chain, map[string]any{"kind": "user", "tenant_id": u.TenantID, "user_id": u.ID, "jurisdiction": u.Jurisdiction, "ttl_seconds": 86400})
	if err != nil {
		return err
	}
	admin, err := mintLink(ctx, chain, map[string]any{"kind": "admin", "tenant_id": u.TenantID, "ttl_seconds": 86400})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nThe chain keeps running (Ctrl-C stops it). Producer %s, consent API %s, datasets API %s, token %s\n",
		chain.ProducerURL(), chain.ConsentURL(), chain.DatasetsURL(), chain.Token)
	fmt.Fprintf(stdout, "privacy centre: %s\n", user)
	fmt.Fprintf(stdout, "admin console: %s\n", admin)
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping")
	return nil
}

func mintLink(ctx context.Context, chain *launch.Chain, body map[string]any) (string, error) {
	b, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, chain.ConsentURL()+"/v1/centre/links", bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+chain.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("mint privacy-centre link: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		URL string `json:"url"`
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return "", fmt.Errorf("mint privacy-centre link: %s: %s", resp.Status, msg)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", fmt.Errorf("mint privacy-centre link: %w", err)
	}
	return chain.ConsentURL() + out.URL, nil
}
