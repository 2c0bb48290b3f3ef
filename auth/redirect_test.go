package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newRedirectTarget is a server that counts the requests it receives;
// none should reach it.
func newRedirectTarget(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var got atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		got.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3600,"access_token":"stolen"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestTokenEndpointRedirectRefused(t *testing.T) {
	target, got := newRedirectTarget(t)
	f := newFakeEntra(t)
	f.redirectTo = target.URL + "/collect?x=1"
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))

	_, err := a.Token(context.Background(), testTenant, testAgent)
	require.Error(t, err)
	assert.Zero(t, got.Load(), "the redirect target receives nothing, least of all the client secret")
	assert.Equal(t, 1, len(f.tokenRequests()))
	msg := err.Error()
	t.Log(msg)
	assert.Contains(t, msg, "307")
	assert.Contains(t, msg, target.URL+"/collect")
	assert.Contains(t, msg, "redirect")
	assert.NotContains(t, msg, testSecret)
}

func TestManagedIdentityRedirectRefused(t *testing.T) {
	target, got := newRedirectTarget(t)
	var asked atomic.Int32
	endpoint := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Redirect(w, r, target.URL+"/msi/token", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(endpoint.Close)
	t.Setenv("IDENTITY_ENDPOINT", endpoint.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", "identity-header-secret")

	cfg := testConfig(nil)
	// MSAL keeps managed identity tokens in a process-wide cache: a client
	// id of this test only keeps tests apart.
	cfg.ManagedIdentity = &ManagedIdentityConfig{ClientID: "mi-redirect-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	a := startAuth(t, cfg, nil, withHTTPClient(endpoint.Client()))
	_, err := a.Token(context.Background(), testTenant, testAgent)
	require.Error(t, err)
	assert.Zero(t, got.Load(), "the redirect target receives nothing, least of all the identity header")
	assert.EqualValues(t, 1, asked.Load(), "one request to the identity endpoint")
	msg := err.Error()
	t.Log(msg)
	assert.Contains(t, msg, "307")
	assert.Contains(t, msg, target.URL+"/msi/token")
	assert.NotContains(t, msg, "identity-header-secret")
}
