package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/config/configopaque"
)

func TestStaticInline(t *testing.T) {
	cfg := testConfig(nil)
	cfg.Static = &StaticConfig{Token: "  opaque-token \n"}
	a := startAuth(t, cfg, nil)
	tok, err := a.Token(context.Background(), testTenant, testAgent)
	require.NoError(t, err)
	assert.Equal(t, "opaque-token", tok)
}

func TestStaticJWTExpiry(t *testing.T) {
	clock := newTestClock()
	jwt := fakeJWT(map[string]any{"appid": testAgent, "exp": clock.Now().Add(time.Hour).Unix()})
	cfg := testConfig(nil)
	cfg.Static = &StaticConfig{Token: configopaque.String(jwt)}
	a := startAuth(t, cfg, nil, withClock(clock.Now))
	tok, err := a.Token(context.Background(), testTenant, testAgent)
	require.NoError(t, err)
	assert.Equal(t, jwt, tok)

	clock.Advance(2 * time.Hour)
	_, err = a.Token(context.Background(), testTenant, testAgent)
	require.Error(t, err, "a static JWT is not valid past its exp")
	assert.Contains(t, err.Error(), "expired")
	assert.Contains(t, err.Error(), "static::token")
	assert.NotContains(t, err.Error(), jwt)
}

func TestStaticTokenFileReload(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "token", "token-one\n")
	cfg := testConfig(nil)
	cfg.Static = &StaticConfig{TokenFile: file}
	a := startAuth(t, cfg, nil)
	ctx := context.Background()

	tok, err := a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	assert.Equal(t, "token-one", tok, "trailing whitespace is trimmed")

	require.NoError(t, os.WriteFile(file, []byte("token-two-is-longer \r\n"), 0o600))
	later := time.Now().Add(time.Minute)
	require.NoError(t, os.Chtimes(file, later, later))
	tok, err = a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	assert.Equal(t, "token-two-is-longer", tok)

	// Kubernetes replaces a mounted secret with a new file behind a symlink
	next := writeFile(t, dir, "token.new", "token-three")
	require.NoError(t, os.Rename(next, file))
	tok, err = a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	assert.Equal(t, "token-three", tok)

	require.NoError(t, os.WriteFile(file, []byte(" \n"), 0o600))
	require.NoError(t, os.Chtimes(file, later.Add(time.Minute), later.Add(time.Minute)))
	_, err = a.Token(ctx, testTenant, testAgent)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is empty")

	require.NoError(t, os.Remove(file))
	_, err = a.Token(ctx, testTenant, testAgent)
	require.Error(t, err)
	assert.Contains(t, err.Error(), file)
}

func metadataCtx(header, value string) context.Context {
	return client.NewContext(context.Background(), client.Info{Metadata: client.NewMetadata(map[string][]string{header: {value}})})
}

func TestFromContext(t *testing.T) {
	clock := newTestClock()
	exp := clock.Now().Add(time.Hour).Unix()
	own := fakeJWT(map[string]any{"appid": testAgent, "tid": testTenant, "exp": exp})
	ownV2 := fakeJWT(map[string]any{"azp": testAgent, "exp": exp})
	other := fakeJWT(map[string]any{"appid": testAgent2, "tid": testTenant, "exp": exp})
	otherTenant := fakeJWT(map[string]any{"appid": testAgent, "tid": testTenant2, "exp": exp})
	expired := fakeJWT(map[string]any{"appid": testAgent, "exp": clock.Now().Add(-time.Minute).Unix()})

	tests := []struct {
		name    string
		header  string // config
		ctx     context.Context
		want    string
		wantErr []string
	}{
		{name: "own token", ctx: metadataCtx("x-a365-token", own), want: own},
		{name: "bearer prefix and other case", ctx: metadataCtx("X-A365-Token", "Bearer "+ownV2), want: ownV2},
		{name: "opaque token is passed on", ctx: metadataCtx("x-a365-token", "opaque"), want: "opaque"},
		{name: "custom header", header: "authorization", ctx: metadataCtx("Authorization", "Bearer "+own), want: own},
		{name: "another agent's token", ctx: metadataCtx("x-a365-token", other), wantErr: []string{"refusing", testAgent2, testAgent}},
		{name: "another tenant's token", ctx: metadataCtx("x-a365-token", otherTenant), wantErr: []string{"refusing", testTenant2}},
		{name: "expired", ctx: metadataCtx("x-a365-token", expired), wantErr: []string{"expired"}},
		{name: "missing", ctx: context.Background(), wantErr: []string{`"x-a365-token"`, "include_metadata: true", "metadata_keys"}},
		{name: "missing custom header", header: "x-agent-token", ctx: metadataCtx("x-a365-token", own), wantErr: []string{`"x-agent-token"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(nil)
			cfg.FromContext = &FromContextConfig{Header: tt.header}
			a := startAuth(t, cfg, nil, withClock(clock.Now))
			tok, err := a.Token(tt.ctx, testTenant, testAgent)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.want, tok)
				return
			}
			require.Error(t, err)
			for _, s := range tt.wantErr {
				assert.Contains(t, err.Error(), s)
			}
			for _, tok := range []string{own, other, otherTenant, expired} {
				assert.NotContains(t, err.Error(), tok)
			}
		})
	}
}

func TestFromContextThroughRoundTripper(t *testing.T) {
	cfg := testConfig(nil)
	cfg.FromContext = &FromContextConfig{}
	a := startAuth(t, cfg, nil)
	svc := newFakeA365(t, 0)
	rt, _ := a.RoundTripper(http.DefaultTransport)
	c := &http.Client{Transport: rt}
	defer c.CloseIdleConnections()
	own := fakeJWT(map[string]any{"appid": testAgent})
	req, _ := http.NewRequestWithContext(metadataCtx(DefaultHeader, own), http.MethodPost, a365URL(svc.srv.URL, testTenant, testAgent), nil)
	resp, err := c.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	other := fakeJWT(map[string]any{"appid": testAgent2})
	req, _ = http.NewRequestWithContext(metadataCtx(DefaultHeader, other), http.MethodPost, a365URL(svc.srv.URL, testTenant, testAgent), nil)
	_, err = c.Do(req) //nolint:bodyclose // no response
	require.Error(t, err)
	auths, _ := svc.seen()
	assert.Equal(t, []string{"Bearer " + own}, auths, "another agent's token is never sent")
	svc.mu.Lock()
	defer svc.mu.Unlock()
	assert.Equal(t, []string{"/observability/tenants/" + testTenant + "/otlp/agents/" + testAgent + "/traces"}, svc.paths,
		"the agent's own token goes to the standard route, not the exporter's default service-to-service route")
}

func TestAgentsOverride(t *testing.T) {
	f := newFakeEntra(t)
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("default-app", testSecret)
	cfg.Agents = map[string]AgentConfig{
		"AAAAAAAA-0000-1111-2222-BBBBBBBBBBBB": {Static: &StaticConfig{Token: "token-of-agent-a"}},
		testAgent2:                             {ClientCredentials: secretCC("app-of-agent-2", "other-secret-value")},
	}
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))
	ctx := context.Background()

	tok, err := a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	assert.Equal(t, "token-of-agent-a", tok, "agent ids match without case")
	assert.Empty(t, f.tokenRequests())

	_, err = a.Token(ctx, testTenant, testAgent2)
	require.NoError(t, err)
	_, err = a.Token(ctx, testTenant, "99999999-0000-0000-0000-000000000000")
	require.NoError(t, err)
	reqs := f.tokenRequests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "app-of-agent-2", reqs[0].Form.Get("client_id"))
	assert.Equal(t, "other-secret-value", reqs[0].Form.Get("client_secret"))
	assert.Equal(t, "default-app", reqs[1].Form.Get("client_id"))
}

func TestAgentsOnlyUnknownAgent(t *testing.T) {
	cfg := testConfig(nil)
	cfg.Agents = map[string]AgentConfig{testAgent: {Static: &StaticConfig{Token: "t"}}}
	a := startAuth(t, cfg, nil)
	_, err := a.Token(context.Background(), testTenant, testAgent2)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no token source for agent "+testAgent2)
}

// fakeIdentityEndpoint is an App Service managed identity endpoint.
type fakeIdentityEndpoint struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []*http.Request
}

func newFakeIdentityEndpoint(t *testing.T) *fakeIdentityEndpoint {
	e := &fakeIdentityEndpoint{}
	e.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.calls = append(e.calls, r.Clone(context.Background()))
		n := len(e.calls)
		e.mu.Unlock()
		if r.Header.Get("X-IDENTITY-HEADER") != "identity-header-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"access_token": fmt.Sprintf("mi-token-%d", n),
			"expires_on":   strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10),
			"resource":     r.URL.Query().Get("resource"),
			"token_type":   "Bearer",
			"client_id":    r.URL.Query().Get("client_id"),
		})
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func TestManagedIdentityAppService(t *testing.T) {
	e := newFakeIdentityEndpoint(t)
	t.Setenv("IDENTITY_ENDPOINT", e.srv.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", "identity-header-secret")
	// MSAL keeps managed identity tokens in a process-wide cache: a client
	// id of this test only keeps tests apart.
	clientID := "mi-" + strconv.FormatInt(time.Now().UnixNano(), 36)

	cfg := testConfig(nil)
	cfg.ManagedIdentity = &ManagedIdentityConfig{ClientID: clientID}
	a := startAuth(t, cfg, nil, withHTTPClient(e.srv.Client()))
	tok, err := a.Token(context.Background(), testTenant, testAgent)
	require.NoError(t, err)
	assert.Equal(t, "mi-token-1", tok)
	tok, err = a.Token(context.Background(), testTenant2, testAgent2)
	require.NoError(t, err)
	assert.Equal(t, "mi-token-1", tok, "one identity, one token")

	e.mu.Lock()
	defer e.mu.Unlock()
	require.Len(t, e.calls, 1)
	q := e.calls[0].URL.Query()
	assert.Equal(t, "/msi/token", e.calls[0].URL.Path)
	assert.Equal(t, "api://9b975845-388f-4429-889e-eab1ef63949c", q.Get("resource"), "the resource is the scope without /.default")
	assert.Equal(t, clientID, q.Get("client_id"))
	assert.Equal(t, "2019-08-01", q.Get("api-version"))
}

func TestManagedIdentityError(t *testing.T) {
	e := newFakeIdentityEndpoint(t)
	t.Setenv("IDENTITY_ENDPOINT", e.srv.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", "wrong-header")
	cfg := testConfig(nil)
	cfg.ManagedIdentity = &ManagedIdentityConfig{}
	a := startAuth(t, cfg, nil, withHTTPClient(e.srv.Client()))
	_, err := a.Token(context.Background(), testTenant, testAgent)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "managed_identity (system-assigned)")
	assert.Contains(t, err.Error(), "HTTP 401")
	assert.NotContains(t, err.Error(), "wrong-header")
}

func TestHTTPLoopbackAuthority(t *testing.T) {
	// An http authority on a loopback host is allowed for tests: MSAL only
	// speaks https, the extension sends its requests as http.
	f := &fakeEntra{expiresIn: 3600, entered: make(chan struct{}, 1)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	cfg := testConfig(f)
	require.NoError(t, validateAuthority(cfg.Authority))
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))
	_, err := a.Token(context.Background(), testTenant, testAgent)
	// the fake's discovery names http endpoints built from its own URL
	require.NoError(t, err)
	reqs := f.tokenRequests()
	require.Len(t, reqs, 1)
	u, _ := url.Parse(f.srv.URL)
	assert.Equal(t, "http", u.Scheme)
}
