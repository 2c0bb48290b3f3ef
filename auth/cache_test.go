package auth

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRefreshBeforeExpiry(t *testing.T) {
	f := newFakeEntra(t)
	clock := newTestClock()
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	cfg.RefreshBefore = 5 * time.Minute
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()), withClock(clock.Now))
	ctx := context.Background()

	tok1, err := a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	clock.Advance(54 * time.Minute) // 6 minutes left: still fresh
	tok, err := a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	assert.Equal(t, tok1, tok)
	require.Len(t, f.tokenRequests(), 1)

	clock.Advance(2 * time.Minute) // 4 minutes left: inside refresh_before
	tok2, err := a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	assert.NotEqual(t, tok1, tok2, "renewed ahead of expiry")
	require.Len(t, f.tokenRequests(), 2)

	// a failed renewal while the token is still valid keeps the old token
	f.setFail(func(tokenRequest) (int, string) { return 503, `{"error":"temporarily_unavailable"}` })
	clock.Advance(56 * time.Minute)
	tok, err = a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	assert.Equal(t, tok2, tok)
	n := len(f.tokenRequests())
	_, err = a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	assert.Len(t, f.tokenRequests(), n, "no new attempt right after a failed renewal")

	// expired: the failure is the caller's error, and it is not remembered
	clock.Advance(10 * time.Minute)
	_, err = a.Token(ctx, testTenant, testAgent)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HTTP 503")
	f.setFail(nil)
	tok3, err := a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	assert.NotEqual(t, tok2, tok3)
}

func TestShortLivedTokensRefreshAtHalfLife(t *testing.T) {
	f := newFakeEntra(t)
	f.expiresIn = 240 // 4 minutes, less than refresh_before
	clock := newTestClock()
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()), withClock(clock.Now))
	ctx := context.Background()
	tok1, err := a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	for range 10 {
		tok, err := a.Token(ctx, testTenant, testAgent)
		require.NoError(t, err)
		require.Equal(t, tok1, tok, "not renewed on every call")
	}
	clock.Advance(150 * time.Second)
	tok2, err := a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	assert.NotEqual(t, tok1, tok2)
}

func TestSingleFlight(t *testing.T) {
	f := newFakeEntra(t)
	f.gate = make(chan struct{})
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))

	const callers = 300
	var (
		wg      sync.WaitGroup
		started sync.WaitGroup
		tokens  = make([]string, callers)
		errs    = make([]error, callers)
	)
	started.Add(callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			tokens[i], errs[i] = a.Token(context.Background(), testTenant, testAgent)
		}()
	}
	started.Wait()
	select {
	case <-f.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no token request arrived")
	}
	close(f.gate)
	wg.Wait()
	require.Len(t, f.tokenRequests(), 1, "concurrent callers share one token request")
	for i := range callers {
		require.NoError(t, errs[i])
		require.Equal(t, tokens[0], tokens[i])
	}
}

func TestCacheCallerContext(t *testing.T) {
	c := newTokenCache(time.Now, time.Minute, time.Minute)
	defer c.close()
	release := make(chan struct{})
	fetch := func(ctx context.Context) (token, error) {
		select {
		case <-release:
			return token{value: "t", expiresOn: time.Now().Add(time.Hour)}, nil
		case <-ctx.Done():
			return token{}, ctx.Err()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := c.get(ctx, cacheKey{client: "c"}, fetch)
	require.ErrorIs(t, err, context.Canceled, "a caller stops waiting when its context ends")
	close(release)
	// the shared fetch went on and its token is cached
	tok, _, err := c.get(context.Background(), cacheKey{client: "c"}, fetch)
	require.NoError(t, err)
	assert.Equal(t, "t", tok.value)
}

func TestCacheFailureNotCachedAndDrop(t *testing.T) {
	c := newTokenCache(time.Now, time.Minute, time.Minute)
	defer c.close()
	var calls atomic.Int32
	fail := true
	fetch := func(context.Context) (token, error) {
		n := calls.Add(1)
		if fail {
			return token{}, errors.New("boom")
		}
		return token{value: "t" + string(rune('0'+n)), expiresOn: time.Now().Add(time.Hour)}, nil
	}
	key := cacheKey{client: "c"}
	_, _, err := c.get(context.Background(), key, fetch)
	require.Error(t, err)
	fail = false
	tok, hit, err := c.get(context.Background(), key, fetch)
	require.NoError(t, err)
	assert.False(t, hit)
	assert.Equal(t, "t2", tok.value)
	tok, hit, err = c.get(context.Background(), key, fetch)
	require.NoError(t, err)
	assert.True(t, hit)
	assert.Equal(t, "t2", tok.value)

	c.drop(key, "other") // not the cached token: kept
	tok, _, _ = c.get(context.Background(), key, fetch)
	assert.Equal(t, "t2", tok.value)
	c.drop(key, "t2")
	tok, _, _ = c.get(context.Background(), key, fetch)
	assert.Equal(t, "t3", tok.value)
}

func TestCacheTokenWithoutExpiryIsNotForever(t *testing.T) {
	clock := newTestClock()
	c := newTokenCache(clock.Now, time.Minute, time.Minute)
	defer c.close()
	var calls atomic.Int32
	fetch := func(context.Context) (token, error) {
		calls.Add(1)
		return token{value: "no-exp"}, nil
	}
	_, _, err := c.get(context.Background(), cacheKey{}, fetch)
	require.NoError(t, err)
	clock.Advance(noExpiryLifetime + time.Second)
	_, _, err = c.get(context.Background(), cacheKey{}, fetch)
	require.NoError(t, err)
	assert.EqualValues(t, 2, calls.Load())
}

func TestCacheClosed(t *testing.T) {
	c := newTokenCache(time.Now, time.Minute, time.Minute)
	c.close()
	_, _, err := c.get(context.Background(), cacheKey{}, func(context.Context) (token, error) { return token{value: "x"}, nil })
	require.ErrorIs(t, err, errShutdown)
}

func TestCachePrunesExpiredEntries(t *testing.T) {
	clock := newTestClock()
	c := newTokenCache(clock.Now, time.Minute, time.Minute)
	defer c.close()
	for i := range maxEntries {
		_, _, err := c.get(context.Background(), cacheKey{tenant: strconv.Itoa(i)}, func(context.Context) (token, error) {
			return token{value: "v", expiresOn: clock.Now().Add(time.Hour)}, nil
		})
		require.NoError(t, err)
	}
	clock.Advance(2 * time.Hour)
	_, _, err := c.get(context.Background(), cacheKey{tenant: "new"}, func(context.Context) (token, error) {
		return token{value: "v", expiresOn: clock.Now().Add(time.Hour)}, nil
	})
	require.NoError(t, err)
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.Len(t, c.entries, 1, "expired entries are pruned when the cache grows")
}
