package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/agent365-otel/agent365exporter/auth/internal/metadata"
)

const (
	testTenant  = "e3064512-cc6d-4703-be71-a2ecaecaa98a"
	testTenant2 = "11111111-2222-3333-4444-555555555555"
	testAgent   = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"
	testAgent2  = "cccccccc-0000-1111-2222-dddddddddddd"
	testSecret  = "s3cr3t~VALUE.that-must-never-leak"
)

// fakeJWT is an unsigned JWT with the given claims.
func fakeJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	payload, _ := json.Marshal(claims)
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(payload) + ".c2ln"
}

// tokenRequest is a token request the fake Entra received.
type tokenRequest struct {
	Tenant string
	Form   url.Values
}

// fakeEntra stands in for Microsoft Entra: OpenID discovery and the v2.0
// token endpoint, on a loopback TLS server.
type fakeEntra struct {
	srv *httptest.Server

	mu        sync.Mutex
	requests  []tokenRequest
	issued    []string
	expiresIn int
	// fail, when set, answers a token request with an error.
	fail func(r tokenRequest) (status int, body string)
	// gate, when set, holds token answers until it is closed.
	gate chan struct{}
	// entered is signalled (without blocking) when a token request arrives.
	entered chan struct{}
	// redirectTo, when set, answers token requests with a 307 to it.
	redirectTo string
	// served counts every request, discovery included.
	served int
}

func newFakeEntra(t *testing.T) *fakeEntra {
	f := &fakeEntra{expiresIn: 3600, entered: make(chan struct{}, 1)}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeEntra) serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	tenant := parts[0]
	f.mu.Lock()
	f.served++
	redirectTo := f.redirectTo
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
		if tenant == "nosuchtenant.example" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprint(w, `{"error":"invalid_tenant","error_description":"AADSTS90002: Tenant 'nosuchtenant.example' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.\r\nTrace ID: t\r\nCorrelation ID: c-90002\r\nTimestamp: 2026-01-01","error_codes":[90002],"correlation_id":"c-90002"}`)
			return
		}
		base := f.srv.URL + "/" + tenant
		_ = json.NewEncoder(w).Encode(map[string]string{
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"issuer":                 base + "/v2.0",
		})
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
		if err := r.ParseForm(); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		req := tokenRequest{Tenant: tenant, Form: r.PostForm}
		if redirectTo != "" {
			f.mu.Lock()
			f.requests = append(f.requests, req)
			f.mu.Unlock()
			w.Header().Set("Location", redirectTo)
			w.WriteHeader(http.StatusTemporaryRedirect)
			return
		}
		select {
		case f.entered <- struct{}{}:
		default:
		}
		f.mu.Lock()
		gate, fail, expiresIn := f.gate, f.fail, f.expiresIn
		f.requests = append(f.requests, req)
		n := len(f.requests)
		f.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		if fail != nil {
			if status, body := fail(req); status != 0 {
				w.WriteHeader(status)
				_, _ = fmt.Fprint(w, body)
				return
			}
		}
		tok := fakeJWT(map[string]any{
			"appid": req.Form.Get("client_id"), "tid": tenant, "aud": req.Form.Get("scope"),
			"exp": time.Now().Add(time.Duration(expiresIn) * time.Second).Unix(), "n": n,
		})
		f.mu.Lock()
		f.issued = append(f.issued, tok)
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": expiresIn, "access_token": tok})
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeEntra) tokenRequests() []tokenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]tokenRequest(nil), f.requests...)
}

// servedRequests is the number of requests of any kind the fake answered.
func (f *fakeEntra) servedRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.served
}

func (f *fakeEntra) issuedTokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.issued...)
}

func (f *fakeEntra) setFail(fn func(tokenRequest) (int, string)) {
	f.mu.Lock()
	f.fail = fn
	f.mu.Unlock()
}

// entraError is an Entra error body.
func entraError(oauthErr string, code int, desc string) string {
	b, _ := json.Marshal(map[string]any{
		"error":             oauthErr,
		"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: 0000\r\nCorrelation ID: corr-%d\r\nTimestamp: 2026-01-01 00:00:00Z", code, desc, code),
		"error_codes":       []int{code},
		"correlation_id":    fmt.Sprintf("corr-%d", code),
	})
	return string(b)
}

// testClock is a settable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// testConfig is a default configuration pointing at the fake Entra.
func testConfig(f *fakeEntra) *Config {
	cfg := createDefaultConfig()
	if f != nil {
		cfg.Authority = f.srv.URL
	}
	return cfg
}

func secretCC(clientID, secret string) *ClientCredentialsConfig {
	return &ClientCredentialsConfig{CredentialConfig{ClientID: clientID, ClientSecret: configopaque.String(secret)}}
}

// startAuth creates and starts the extension; it is shut down at cleanup.
func startAuth(t *testing.T, cfg *Config, set *component.TelemetrySettings, opts ...option) *Authenticator {
	t.Helper()
	a := newTestAuth(t, cfg, set, opts...)
	require.NoError(t, a.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, a.Shutdown(context.Background())) })
	return a
}

func newTestAuth(t *testing.T, cfg *Config, set *component.TelemetrySettings, opts ...option) *Authenticator {
	t.Helper()
	es := extensiontest.NewNopSettings(metadata.Type)
	if set != nil {
		es.TelemetrySettings = *set
	}
	a, err := newAuthenticator(cfg, es, opts...)
	require.NoError(t, err)
	return a
}

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// writeCert writes a self-signed certificate for the test key, with the
// key in the same file or in a separate one.
func writeCert(t *testing.T, separateKey bool) (certFile, keyFile string) {
	t.Helper()
	k := testKey()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "agent365auth test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	require.NoError(t, err)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	dir := t.TempDir()
	certFile = filepath.Join(dir, "cert.pem")
	if separateKey {
		keyFile = filepath.Join(dir, "key.pem")
		require.NoError(t, os.WriteFile(keyFile, keyPEM, 0o600))
		require.NoError(t, os.WriteFile(certFile, certPEM, 0o600))
		return certFile, keyFile
	}
	require.NoError(t, os.WriteFile(certFile, append(certPEM, keyPEM...), 0o600))
	return certFile, ""
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}
