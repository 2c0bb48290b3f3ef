package auth

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// tenantID is the i-th of many distinct tenant ids.
func tenantID(i int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
}

// cacheLen is the number of entries (tokens and remembered failures) of
// the extension's token cache.
func cacheLen(a *Authenticator) int {
	return a.state.Load().cache.size()
}

// forTenants calls fn for tenants [from, to) from a few goroutines.
func forTenants(from, to int, fn func(i int)) {
	const workers = 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := from + w; i < to; i += workers {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// tokenRequestsByTenant counts the token requests of each tenant.
func tokenRequestsByTenant(f *fakeEntra) map[string]int {
	n := map[string]int{}
	for _, r := range f.tokenRequests() {
		n[r.Tenant]++
	}
	return n
}

// TestManyTenantsCacheIsBounded sends the spans of 5,000 tenants: each
// tenant costs one token request, the cache never holds more than its
// bound, and the least recently used tokens are evicted first.
func TestManyTenantsCacheIsBounded(t *testing.T) {
	const (
		tenants = 5000
		bound   = 1000
	)
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	set := tel.NewTelemetrySettings()
	f := newFakeEntra(t)
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	cfg.MaxCachedTokens = bound
	a := startAuth(t, cfg, &set, withHTTPClient(f.srv.Client()))
	ctx := context.Background()

	forTenants(0, bound, func(i int) {
		_, err := a.Token(ctx, tenantID(i), testAgent)
		assert.NoError(t, err)
	})
	for i := range bound { // cached: in this order from now on
		_, err := a.Token(ctx, tenantID(i), testAgent)
		require.NoError(t, err)
	}
	require.Equal(t, bound, len(f.tokenRequests()))
	// tenant 0 is used again: tenant 1 is now the least recently used
	_, err := a.Token(ctx, tenantID(0), testAgent)
	require.NoError(t, err)
	_, err = a.Token(ctx, tenantID(bound), testAgent)
	require.NoError(t, err)
	require.LessOrEqual(t, cacheLen(a), bound)
	n := len(f.tokenRequests())
	_, err = a.Token(ctx, tenantID(0), testAgent)
	require.NoError(t, err)
	assert.Equal(t, n, len(f.tokenRequests()), "a recently used token is kept")
	_, err = a.Token(ctx, tenantID(1), testAgent)
	require.NoError(t, err)
	assert.Equal(t, n+1, len(f.tokenRequests()), "the least recently used token was evicted")

	forTenants(bound+1, tenants, func(i int) {
		_, err := a.Token(ctx, tenantID(i), testAgent)
		assert.NoError(t, err)
		assert.LessOrEqual(t, cacheLen(a), bound)
	})
	assert.LessOrEqual(t, cacheLen(a), bound, "the cache holds at most its bound")
	perTenant := tokenRequestsByTenant(f)
	assert.Len(t, perTenant, tenants)
	assert.Equal(t, tenants+1, len(f.tokenRequests()), "one token request per tenant, and one for the evicted tenant 1")
	evictions, err := tel.GetMetric("otelcol_agent365auth_cache_evictions")
	require.NoError(t, err)
	assert.Equal(t, int64(tenants+1-bound), evictions.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
	// MSAL's memory of tenant endpoints is bounded too
	clients := a.state.Load().top.(*clientCredentialsSource).clients
	clients.mu.Lock()
	assert.LessOrEqual(t, len(clients.tenants), maxTenantsPerClient)
	clients.mu.Unlock()
	t.Logf("%d tenants: %d token requests, %d requests in all, %d cached", tenants, len(f.tokenRequests()), f.servedRequests(), cacheLen(a))
}

// TestManyFailingTenantsBackOff asks for the tokens of 1,000 tenants whose
// token requests fail, again and again for 5 seconds: each tenant's token
// is requested once per backoff step (at 0 s and 2 s), not on every call.
func TestManyFailingTenantsBackOff(t *testing.T) {
	const tenants = 1000
	f := newFakeEntra(t)
	f.setFail(func(tokenRequest) (int, string) {
		return 400, entraError("unauthorized_client", 700016, "Application with identifier 'app-1' was not found in the directory.")
	})
	clock := newTestClock()
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()), withClock(clock.Now), withJitter(noJitter))
	ctx := context.Background()

	var calls int
	for second := 0; second <= 5; second++ {
		for range 2 {
			forTenants(0, tenants, func(i int) {
				_, err := a.Token(ctx, tenantID(i), testAgent)
				assert.Error(t, err)
			})
			calls += tenants
		}
		clock.Advance(time.Second)
	}
	perTenant := tokenRequestsByTenant(f)
	require.Len(t, perTenant, tenants)
	for tenant, n := range perTenant {
		require.Equal(t, 2, n, "tenant %s: one token request per backoff step (0 s, 2 s)", tenant)
	}
	t.Logf("%d calls for %d failing tenants within 5 s: %d token requests, %d requests in all", calls, tenants, len(f.tokenRequests()), f.servedRequests())
}

// TestFailingTenantConcurrentCallersShareOneRequest: callers asking at
// the same time for a failing identity share one token request and its
// error; callers during the backoff get the error without a request.
func TestFailingTenantConcurrentCallersShareOneRequest(t *testing.T) {
	f := newFakeEntra(t)
	f.gate = make(chan struct{})
	f.setFail(func(tokenRequest) (int, string) {
		return 401, entraError("invalid_client", 7000215, "Invalid client secret provided.")
	})
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))

	const callers = 100
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = a.Token(context.Background(), testTenant, testAgent)
		}()
	}
	select {
	case <-f.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no token request arrived")
	}
	close(f.gate)
	wg.Wait()
	reqs := f.tokenRequests()
	require.Len(t, reqs, 1, "one token request for all the callers")
	for _, err := range errs {
		require.ErrorContains(t, err, "AADSTS7000215")
	}
	for range 10 {
		_, err := a.Token(context.Background(), testTenant, testAgent)
		require.ErrorContains(t, err, "AADSTS7000215")
		var ee *EntraError
		require.ErrorAs(t, err, &ee, "the remembered error is Entra's")
		assert.Contains(t, err.Error(), "backing off")
		assert.NotContains(t, err.Error(), testSecret)
	}
	assert.Equal(t, 1, len(f.tokenRequests()), "no token request during the backoff")
}

// TestMSALClientReplacedAfterItsTenants: an MSAL client remembers the
// endpoints of every tenant it served; it is replaced after limit tenants.
func TestMSALClientReplacedAfterItsTenants(t *testing.T) {
	f := newFakeEntra(t)
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))
	clients := a.state.Load().top.(*clientCredentialsSource).clients
	clients.limit = 3

	for i := range 7 {
		_, err := a.Token(context.Background(), tenantID(i), testAgent)
		require.NoError(t, err)
		clients.mu.Lock()
		n := len(clients.tenants)
		clients.mu.Unlock()
		assert.Equal(t, i%3+1, n, "after tenant %d", i)
	}
	assert.Equal(t, 7, len(f.tokenRequests()))
	assert.Equal(t, 14, f.servedRequests(), "a new client discovers each tenant's endpoints")
}
