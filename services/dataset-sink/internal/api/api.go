// Package api serves the dataset HTTP API over the catalogs: listings,
// snapshots, files with ETag and Range, dataset cards and Croissant metadata.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/catalog"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/storage"
	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

// API serves the dataset HTTP API:
//
//	GET  /v1/datasets                                      datasets:read
//	GET  /v1/datasets/{name}/snapshots                     datasets:read
//	POST /v1/datasets/{name}/snapshots                     datasets:write (201 + manifest)
//	GET  /v1/datasets/{name}/snapshots/{id}                datasets:read (id or "latest"; 410 if expired)
//	GET  /v1/datasets/{name}/snapshots/{id}/files/{path}   datasets:read (ETag = sha256, Range)
//	GET  /v1/datasets/{name}/snapshots/{id}/README.md      datasets:read (dataset card)
//	GET  /v1/datasets/{name}/snapshots/{id}/croissant.json datasets:read
type API struct {
	catalogs map[string]*catalog.Catalog
	guard    guard
	log      *zap.Logger
	// Flush, when set, is called before a snapshot is taken on request, so
	// that it holds every record consumed so far (the sink publishes its open
	// files).
	Flush func(ctx context.Context) error
}

// New returns the API over the catalogs by dataset name, checking bearer
// tokens (pkg/auth, scopes datasets:read and datasets:write). Nil or empty tokens
// leave the API open: only for a loopback listener (Config.Validate enforces it).
func New(catalogs map[string]*catalog.Catalog, tokens *auth.Tokens, log *zap.Logger) *API {
	if unbound := tokens.Unbound(); len(unbound) > 0 && log != nil {
		log.Info("dataset API tokens not bound to a tenant (a bound one is refused: snapshots hold every tenant's rows)", zap.Strings("tokens", unbound))
	}
	return &API{catalogs: catalogs, guard: guard{tokens}, log: log}
}

// Handler returns the API's routes.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	r := a.guard.require
	mux.Handle("GET /v1/datasets", r(ScopeRead, a.listDatasets))
	mux.Handle("GET /v1/datasets/{name}/snapshots", r(ScopeRead, a.listSnapshots))
	mux.Handle("POST /v1/datasets/{name}/snapshots", r(ScopeWrite, a.createSnapshot))
	mux.Handle("GET /v1/datasets/{name}/snapshots/{id}", r(ScopeRead, a.getSnapshot))
	mux.Handle("GET /v1/datasets/{name}/snapshots/{id}/files/{path...}", r(ScopeRead, a.getFile))
	mux.Handle("GET /v1/datasets/{name}/snapshots/{id}/README.md", r(ScopeRead, a.getMeta(catalog.CardName, "text/markdown; charset=utf-8")))
	mux.Handle("GET /v1/datasets/{name}/snapshots/{id}/croissant.json", r(ScopeRead, a.getMeta(catalog.CroissantName, "application/ld+json")))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { httpError(w, http.StatusNotFound, "no such endpoint") })
	return mux
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func (a *API) catalog(w http.ResponseWriter, r *http.Request) *catalog.Catalog {
	c := a.catalogs[r.PathValue("name")]
	if c == nil {
		httpError(w, http.StatusNotFound, "no dataset "+r.PathValue("name"))
	}
	return c
}

func (a *API) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		httpError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, catalog.ErrExpired):
		httpError(w, http.StatusGone, err.Error())
	case errors.Is(err, catalog.ErrEmpty):
		httpError(w, http.StatusConflict, err.Error())
	case errors.Is(err, catalog.ErrCorrupt):
		a.log.Error("refusing to serve a file that does not match its manifest", zap.Error(err))
		httpError(w, http.StatusInternalServerError, err.Error())
	case errors.Is(err, context.Canceled):
		httpError(w, 499, "request cancelled")
	default:
		a.log.Error("dataset api", zap.Error(err))
		httpError(w, http.StatusInternalServerError, "internal error")
	}
}

func (a *API) listDatasets(w http.ResponseWriter, r *http.Request) {
	out := []manifest.DatasetInfo{}
	for name, c := range a.catalogs {
		snaps, err := c.Snapshots(r.Context())
		if err != nil {
			a.fail(w, err)
			return
		}
		d := manifest.DatasetInfo{Name: name, Snapshots: len(snaps)}
		for i := len(snaps) - 1; i >= 0; i-- {
			if snaps[i].Expired == nil {
				d.Latest = &snaps[i]
				break
			}
		}
		out = append(out, d)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) listSnapshots(w http.ResponseWriter, r *http.Request) {
	c := a.catalog(w, r)
	if c == nil {
		return
	}
	snaps, err := c.Snapshots(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, snaps)
}

func (a *API) createSnapshot(w http.ResponseWriter, r *http.Request) {
	c := a.catalog(w, r)
	if c == nil {
		return
	}
	if a.Flush != nil {
		if err := a.Flush(r.Context()); err != nil {
			a.fail(w, err)
			return
		}
	}
	m, err := c.Snapshot(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	w.Header().Set("Location", "/v1/datasets/"+m.Dataset+"/snapshots/"+m.ID)
	writeJSON(w, http.StatusCreated, m)
}

func (a *API) manifest(w http.ResponseWriter, r *http.Request) (*catalog.Catalog, *manifest.Manifest) {
	c := a.catalog(w, r)
	if c == nil {
		return nil, nil
	}
	m, err := c.Manifest(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, err)
		return nil, nil
	}
	return c, &m
}

func (a *API) getSnapshot(w http.ResponseWriter, r *http.Request) {
	if _, m := a.manifest(w, r); m != nil {
		w.Header().Set("ETag", `"`+m.ID+`"`)
		writeJSON(w, http.StatusOK, m)
	}
}

func (a *API) getFile(w http.ResponseWriter, r *http.Request) {
	c, m := a.manifest(w, r)
	if m == nil {
		return
	}
	f, ok := m.File(r.PathValue("path"))
	if !ok {
		httpError(w, http.StatusNotFound, "no file "+r.PathValue("path")+" in snapshot "+m.ID)
		return
	}
	obj, err := c.OpenVerified(r.Context(), f)
	if err != nil {
		a.fail(w, err)
		return
	}
	defer obj.Close()
	w.Header().Set("ETag", `"`+f.SHA256+`"`)
	w.Header().Set("Content-Type", "application/vnd.apache.parquet")
	w.Header().Set("Cache-Control", "private, immutable")
	http.ServeContent(w, r, "", time.Time{}, obj)
}

func (a *API) getMeta(name, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, m := a.manifest(w, r)
		if m == nil {
			return
		}
		obj, err := c.SnapshotObject(r.Context(), *m, name)
		if err != nil {
			a.fail(w, err)
			return
		}
		defer obj.Close()
		w.Header().Set("Content-Type", contentType)
		http.ServeContent(w, r, "", time.Time{}, obj)
	}
}
