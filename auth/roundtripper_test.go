package auth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeA365 stands in for the Agent 365 ingestion service: it answers 401
// to the first unauthorized requests and records what it got.
type fakeA365 struct {
	srv *httptest.Server

	mu       sync.Mutex
	unauth   int // answer 401 this many times
	auths    []string
	bodies   []string
	tenants  []string
	paths    []string
	statuses []int
}

func newFakeA365(t *testing.T, unauth int) *fakeA365 {
	s := &fakeA365{unauth: unauth}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.auths = append(s.auths, r.Header.Get("Authorization"))
		s.bodies = append(s.bodies, string(b))
		s.tenants = append(s.tenants, r.Header.Get(TenantHeader))
		s.paths = append(s.paths, r.URL.Path)
		status := http.StatusOK
		if s.unauth > 0 {
			s.unauth--
			status = http.StatusUnauthorized
		}
		s.statuses = append(s.statuses, status)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"partialSuccess":{"rejectedSpans":0,"errorMessage":""}}`)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *fakeA365) seen() (auths, bodies []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auths...), append([]string(nil), s.bodies...)
}

func a365URL(base, tenant, agent string) string {
	return base + "/observabilityService/tenants/" + tenant + "/otlp/agents/" + agent + "/traces?api-version=1"
}

func TestRoundTripperRetriesOnceOn401(t *testing.T) {
	f := newFakeEntra(t)
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))
	svc := newFakeA365(t, 1)
	rt, err := a.RoundTripper(http.DefaultTransport)
	require.NoError(t, err)
	client := &http.Client{Transport: rt}
	defer client.CloseIdleConnections()

	const body = `{"resourceSpans":[]}`
	req, err := http.NewRequest(http.MethodPost, a365URL(svc.srv.URL, testTenant, testAgent), strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set(TenantHeader, testTenant)
	resp, err := client.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the second answer is returned")

	auths, bodies := svc.seen()
	issued := f.issuedTokens()
	require.Len(t, issued, 2, "the refused token was dropped and a new one fetched")
	require.Len(t, auths, 2)
	assert.Equal(t, "Bearer "+issued[0], auths[0])
	assert.Equal(t, "Bearer "+issued[1], auths[1])
	assert.Equal(t, []string{body, body}, bodies, "the body is replayed")
	assert.Empty(t, req.Header.Get("Authorization"), "the caller's request is not changed")

	// the new token is cached: the next request uses it without a token request
	req2, err := http.NewRequestWithContext(context.Background(),
		http.MethodPost, a365URL(svc.srv.URL, testTenant, testAgent), strings.NewReader(body))
	require.NoError(t, err)
	req2.Header.Set(TenantHeader, testTenant)
	resp, err = client.Do(req2)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	auths, _ = svc.seen()
	assert.Equal(t, "Bearer "+issued[1], auths[2])
	assert.Len(t, f.issuedTokens(), 2)
}

func TestRoundTripper401Twice(t *testing.T) {
	f := newFakeEntra(t)
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))
	svc := newFakeA365(t, 5)
	rt, _ := a.RoundTripper(http.DefaultTransport)
	client := &http.Client{Transport: rt}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, a365URL(svc.srv.URL, testTenant, testAgent), strings.NewReader("x"))
	resp, err := client.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "retried once only")
	auths, _ := svc.seen()
	assert.Len(t, auths, 2)
}

func TestRoundTripperNoRetryWithoutGetBody(t *testing.T) {
	f := newFakeEntra(t)
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))
	svc := newFakeA365(t, 1)
	rt, _ := a.RoundTripper(http.DefaultTransport)
	client := &http.Client{Transport: rt}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, a365URL(svc.srv.URL, testTenant, testAgent), io.NopCloser(strings.NewReader("x")))
	require.Nil(t, req.GetBody)
	resp, err := client.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	auths, _ := svc.seen()
	assert.Len(t, auths, 1)
}

func TestRoundTripperStaticTokenNotRetried(t *testing.T) {
	cfg := testConfig(nil)
	cfg.Static = &StaticConfig{Token: "opaque-static-token"}
	a := startAuth(t, cfg, nil)
	svc := newFakeA365(t, 1)
	rt, _ := a.RoundTripper(http.DefaultTransport)
	client := &http.Client{Transport: rt}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, a365URL(svc.srv.URL, testTenant, testAgent), bytes.NewReader([]byte("x")))
	resp, err := client.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the same token would be refused again")
	auths, _ := svc.seen()
	assert.Equal(t, []string{"Bearer opaque-static-token"}, auths)
}

func TestRoundTripperErrors(t *testing.T) {
	f := newFakeEntra(t)
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))
	base := &countingTransport{}
	rt, _ := a.RoundTripper(base)

	body := &closeTracker{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest(http.MethodPost, "https://agent365.invalid/v1/traces", body)
	_, err := rt.RoundTrip(req)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot tell the tenant and agent")
	assert.True(t, body.closed, "the body is closed on errors")
	assert.Zero(t, base.calls)

	f.setFail(func(tokenRequest) (int, string) {
		return 401, entraError("invalid_client", 7000215, "Invalid client secret provided.")
	})
	body = &closeTracker{Reader: strings.NewReader("x")}
	req, _ = http.NewRequest(http.MethodPost, a365URL("https://agent365.invalid", testTenant, testAgent), body)
	_, err = rt.RoundTrip(req)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "AADSTS7000215")
	assert.True(t, body.closed)
	assert.Zero(t, base.calls, "nothing is sent without a token")
}

func TestRoundTripperCloseIdleConnections(t *testing.T) {
	a := newTestAuth(t, testConfig(nil), nil)
	base := &countingTransport{}
	rt, err := a.RoundTripper(base)
	require.NoError(t, err)
	(&http.Client{Transport: rt}).CloseIdleConnections()
	assert.Equal(t, 1, base.closed)

	// a base without CloseIdleConnections is fine too
	rt, _ = a.RoundTripper(roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("x") }))
	(&http.Client{Transport: rt}).CloseIdleConnections()
}

type countingTransport struct{ calls, closed int }

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.calls++
	return nil, errors.New("not reached")
}
func (c *countingTransport) CloseIdleConnections() { c.closed++ }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type closeTracker struct {
	io.Reader
	closed bool
}

func (c *closeTracker) Close() error { c.closed = true; return nil }
