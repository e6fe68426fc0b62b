package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTenantBoundTokens(t *testing.T) {
	toks, err := ParseTokens("ui:plain:acme-token-1=consent:read|consent:write;tenant=acme%2Fde, backend:plain:backend-tok=consent:write")
	require.NoError(t, err)
	ui := toks.Lookup("acme-token-1")
	require.NotNil(t, ui)
	assert.Equal(t, "acme/de", ui.Tenant, "tenant is percent-decoded")
	assert.True(t, ui.Bound())
	assert.NoError(t, ui.CheckTenant("acme/de"))
	err = ui.CheckTenant("globex")
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrWrongTenant))
	assert.Contains(t, err.Error(), `bound to tenant "acme/de", not "globex"`)
	assert.Error(t, ui.CheckTenant(""), "a bound credential cannot act for a global subject")

	be := toks.Lookup("backend-tok")
	assert.False(t, be.Bound())
	assert.NoError(t, be.CheckTenant("anything"))
	assert.NoError(t, be.CheckTenant(""))
	assert.Equal(t, []string{"backend"}, toks.Unbound())
	var nilCred *Credential
	assert.Error(t, nilCred.CheckTenant("acme"))

	for _, bad := range []string{
		"a:plain:longenough=s;tenant=",          // empty tenant
		"a:plain:longenough=s;tenant=%zz",       // bad escape
		"a:plain:longenough=s;tenant=a%00b",     // control character
		"a:plain:longenough=s;browser",          // tokens have no browser option
		"a:plain:longenough=s;tenant=x;color=1", // unknown option
	} {
		_, err := ParseTokens(bad)
		assert.Error(t, err, bad)
	}
}

func TestRequirePutsCredentialAndRefusesBound(t *testing.T) {
	toks, err := ParseTokens("ui:plain:acme-token-1=datasets:read;tenant=acme,ml:plain:ml-token-1=datasets:read")
	require.NoError(t, err)
	var seen *Credential
	h := toks.Require("datasets:read", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = FromContext(r.Context()) }))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer acme-token-1")
	h.ServeHTTP(httptest.NewRecorder(), req)
	require.NotNil(t, seen)
	assert.Equal(t, "acme", seen.Tenant)

	u := toks.RequireUnbound("datasets:read", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	rec := httptest.NewRecorder()
	u.ServeHTTP(rec, req)
	assert.Equal(t, 403, rec.Code)
	assert.Contains(t, rec.Body.String(), "bound to tenant")
	req.Header.Set("Authorization", "Bearer ml-token-1")
	rec = httptest.NewRecorder()
	u.ServeHTTP(rec, req)
	assert.Equal(t, 204, rec.Code)
}

func TestWriteKeys(t *testing.T) {
	ks, err := ParseWriteKeys("web:plain:pub-key;tenant=acme;browser;jurisdiction=DE, srv:plain:server-key=globex, old:plain:old-key, b2:plain:b2;tenant=x;browser")
	require.NoError(t, err)
	require.Equal(t, 4, ks.Len())
	web := ks.Lookup("pub-key")
	require.NotNil(t, web)
	assert.Equal(t, Credential{Name: "web", Tenant: "acme", Browser: true, Jurisdiction: "DE"}, *web)
	srv := ks.Lookup("server-key")
	assert.Equal(t, "globex", srv.Tenant)
	assert.False(t, srv.Browser)
	assert.Nil(t, ks.Lookup("nope"))
	assert.Nil(t, ks.Lookup(""))
	assert.Equal(t, []string{"old"}, ks.Unbound())
	assert.Empty(t, ks.Lookup("b2").Jurisdiction, "no jurisdiction: the policy's default regime")

	for _, bad := range []string{
		"w:plain:k;browser",                  // browser keys must be bound
		"w:plain:k;tenant=a;jurisdiction=DE", // jurisdiction only for browser keys
		"w:plain:k;tenant=a;browser;jurisdiction=germany",
		"w:plain:k=",
		"w:md5:abc",
	} {
		_, err := ParseWriteKeys(bad)
		assert.Error(t, err, bad)
		if err != nil {
			assert.False(t, strings.Contains(err.Error(), "plain:k"), "errors never echo secrets")
		}
	}
}

// A browser key lists the web origins whose pages may use it; the union of
// every key's origins answers CORS preflights, which carry no credential.
func TestBrowserKeyOrigins(t *testing.T) {
	ks, err := ParseWriteKeys("web:plain:pub-key;tenant=acme;browser;origins=https://App.Example.com|http://127.0.0.2:8080," +
		"any:plain:any-key;tenant=acme;browser;origins=*, srv:plain:server-key=globex, b2:plain:b2;tenant=x;browser")
	require.NoError(t, err)
	web := ks.Lookup("pub-key")
	assert.Equal(t, []string{"https://app.example.com", "http://127.0.0.2:8080"}, web.Origins, "lower case, as browsers send them")
	assert.True(t, web.AllowsOrigin("https://app.example.com"))
	assert.True(t, web.AllowsOrigin("http://127.0.0.2:8080"))
	assert.False(t, web.AllowsOrigin("https://app.example.com:8443"), "another port is another origin")
	assert.False(t, web.AllowsOrigin("http://app.example.com"), "another scheme is another origin")
	assert.False(t, web.AllowsOrigin("https://evil.example"))
	assert.False(t, web.AllowsOrigin(""))
	assert.True(t, ks.Lookup("any-key").AllowsOrigin("https://anything.example"))
	assert.False(t, ks.Lookup("server-key").AllowsOrigin("https://app.example.com"), "a server key serves no page")
	assert.False(t, ks.Lookup("b2").AllowsOrigin("https://app.example.com"), "a browser key without origins serves no page")
	assert.Equal(t, []string{"https://app.example.com", "http://127.0.0.2:8080", "*"}, ks.Origins())

	for _, bad := range []string{
		"w:plain:k;tenant=a;origins=https://a.example",                  // origins only for browser keys
		"w:plain:k;tenant=a;browser;origins=a.example",                  // no scheme
		"w:plain:k;tenant=a;browser;origins=ftp://a.example",            // not http(s)
		"w:plain:k;tenant=a;browser;origins=https://a.example/app",      // a path is not an origin
		"w:plain:k;tenant=a;browser;origins=https://u@a.example",        // user info
		"w:plain:k;tenant=a;browser;origins=null",                       // the opaque origin
		"w:plain:k;tenant=a;browser;origins=https://a.example|",         // empty entry
		"w:plain:k;tenant=a;browser;origins=https://a.example?x=1",      // query
		"w:plain:k;tenant=a;browser;origins=https://a.example#fragment", // fragment
	} {
		_, err := ParseWriteKeys(bad)
		assert.Error(t, err, bad)
	}
}
