// Package client lists and pulls dataset snapshots from a dataset sink's HTTP API,
// verifying every file's sha256 against the manifest and resuming partial
// downloads.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

// Client talks to one dataset sink.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client for the API at baseURL (e.g. http://127.0.0.1:8083); token
// may be empty; httpClient nil means NewHTTPClient().
func New(baseURL, token string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = NewHTTPClient()
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, http: httpClient}
}

// Client-side timeouts of NewHTTPClient. A download has no overall time
// limit (snapshots can be large), but a body that stops flowing for
// BodyIdleTimeout fails, and a pull run again resumes it.
const (
	DialTimeout           = 10 * time.Second
	ResponseHeaderTimeout = 30 * time.Second
	BodyIdleTimeout       = time.Minute
)

// NewHTTPClient returns the client a pull uses: bounded dial, TLS handshake
// and response-header waits, and bodies that fail after BodyIdleTimeout
// without a byte.
func NewHTTPClient() *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   DialTimeout,
		ResponseHeaderTimeout: ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
	}
	return &http.Client{Transport: idleBodies{tr, BodyIdleTimeout}}
}

// idleBodies cancels a request whose body goes quiet for d.
type idleBodies struct {
	next http.RoundTripper
	d    time.Duration
}

func (t idleBodies) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	timer := time.AfterFunc(t.d, cancel)
	resp.Body = &idleBody{ReadCloser: resp.Body, timer: timer, d: t.d, cancel: cancel}
	return resp, nil
}

type idleBody struct {
	io.ReadCloser
	timer  *time.Timer
	d      time.Duration
	cancel context.CancelFunc
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.timer.Reset(b.d)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	b.cancel()
	return b.ReadCloser.Close()
}

// APIError is a non-2xx answer of the API.
type APIError struct {
	Status  int
	Message string
	URL     string
}

func (e *APIError) Error() string {
	hint := ""
	switch e.Status {
	case http.StatusUnauthorized:
		hint = " (set --token or CONSENTFLOW_TOKEN)"
	case http.StatusForbidden:
		hint = " (the token lacks the scope this needs)"
	case http.StatusGone:
		hint = " (pull a newer snapshot, e.g. latest)"
	}
	return fmt.Sprintf("%s: %d %s: %s%s", e.URL, e.Status, http.StatusText(e.Status), e.Message, hint)
}

func (c *Client) request(ctx context.Context, method, path string, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	return resp, nil
}

func apiError(resp *http.Response) error {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	return &APIError{Status: resp.StatusCode, Message: msg, URL: resp.Request.URL.String()}
}

func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	resp, err := c.request(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return apiError(resp)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, MaxMetadataBytes)).Decode(v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// Datasets lists the datasets.
func (c *Client) Datasets(ctx context.Context) ([]manifest.DatasetInfo, error) {
	var out []manifest.DatasetInfo
	return out, c.getJSON(ctx, "/v1/datasets", &out)
}

// Snapshots lists a dataset's snapshots, oldest first.
func (c *Client) Snapshots(ctx context.Context, dataset string) ([]manifest.SnapshotInfo, error) {
	var out []manifest.SnapshotInfo
	return out, c.getJSON(ctx, "/v1/datasets/"+url.PathEscape(dataset)+"/snapshots", &out)
}

// Manifest returns a snapshot's manifest; id may be "latest".
func (c *Client) Manifest(ctx context.Context, dataset, id string) (manifest.Manifest, error) {
	var m manifest.Manifest
	return m, c.getJSON(ctx, c.snapPath(dataset, id), &m)
}

// CreateSnapshot asks for a snapshot now (needs datasets:write).
func (c *Client) CreateSnapshot(ctx context.Context, dataset string) (manifest.Manifest, error) {
	var m manifest.Manifest
	resp, err := c.request(ctx, http.MethodPost, "/v1/datasets/"+url.PathEscape(dataset)+"/snapshots", nil)
	if err != nil {
		return m, err
	}
	if resp.StatusCode != http.StatusCreated {
		return m, apiError(resp)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return m, fmt.Errorf("decode snapshot: %w", err)
	}
	return m, nil
}

func (c *Client) snapPath(dataset, id string) string {
	return "/v1/datasets/" + url.PathEscape(dataset) + "/snapshots/" + url.PathEscape(id)
}

// ErrChecksum is returned when a downloaded file does not match its manifest.
var ErrChecksum = errors.New("checksum mismatch")
