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

// noJitter makes backoffs exact.
func noJitter(d time.Duration) time.Duration { return d }

// newTestCache is a cache on clock, without jitter, closed at cleanup.
func newTestCache(t *testing.T, clock *testClock, maxEntries int) *tokenCache {
	c := newTokenCache(cacheSettings{
		now: clock.Now, refreshBefore: time.Minute, timeout: time.Minute,
		maxEntries: maxEntries, jitter: noJitter,
	})
	t.Cleanup(c.close)
	return c
}

// countingFetch is a fetch that counts its calls and fails while fail is set.
type countingFetch struct {
	clock *testClock
	calls atomic.Int32
	fail  atomic.Bool
}

func (f *countingFetch) fetch(context.Context) (token, error) {
	n := f.calls.Add(1)
	if f.fail.Load() {
		return token{}, errors.New("agent365auth: boom " + strconv.Itoa(int(n)))
	}
	return token{value: "t" + strconv.Itoa(int(n)), expiresOn: f.clock.Now().Add(time.Hour)}, nil
}

func TestRefreshBeforeExpiry(t *testing.T) {
	f := newFakeEntra(t)
	clock := newTestClock()
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	cfg.RefreshBefore = 5 * time.Minute
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()), withClock(clock.Now), withJitter(noJitter))
	ctx := context.Background()

	tok1, err := a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	clock.Advance(54 * time.Minute) // 6 minutes left: still fresh
	tok, err := a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	assert.Equal(t, tok1, tok)
	require.Equal(t, 1, len(f.tokenRequests()))

	clock.Advance(2 * time.Minute) // 4 minutes left: inside refresh_before
	tok, err = a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	assert.Equal(t, tok1, tok, "the valid token is returned while it is renewed")
	tok2 := awaitNewToken(t, a, tok1)
	require.Equal(t, 2, len(f.tokenRequests()))

	// a failed renewal while the token is still valid keeps the old token
	f.setFail(func(tokenRequest) (int, string) { return 503, `{"error":"temporarily_unavailable"}` })
	clock.Advance(56 * time.Minute)
	tok, err = a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	assert.Equal(t, tok2, tok)
	require.Eventually(t, func() bool { return len(f.tokenRequests()) == 3 }, 10*time.Second, time.Millisecond)
	awaitIdle(t, a)
	_, err = a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	awaitIdle(t, a)
	assert.Equal(t, 3, len(f.tokenRequests()), "no new attempt right after a failed renewal")

	// expired: the failure is the caller's error, and it is remembered
	// until its backoff ends
	clock.Advance(10 * time.Minute)
	_, err = a.Token(ctx, testTenant, testAgent)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HTTP 503")
	f.setFail(nil)
	_, err = a.Token(ctx, testTenant, testAgent)
	require.ErrorContains(t, err, "backing off")
	assert.Contains(t, err.Error(), "HTTP 503")
	clock.Advance(backoff(2))
	tok3, err := a.Token(ctx, testTenant, testAgent)
	require.NoError(t, err)
	assert.NotEqual(t, tok2, tok3)
}

// awaitNewToken waits for the background renewal to replace old.
func awaitNewToken(t *testing.T, a *Authenticator, old string) string {
	t.Helper()
	var tok string
	require.Eventually(t, func() bool {
		var err error
		tok, err = a.Token(context.Background(), testTenant, testAgent)
		return err == nil && tok != old
	}, 10*time.Second, time.Millisecond)
	return tok
}

// awaitIdle waits until no fetch of a's cache is under way.
func awaitIdle(t *testing.T, a *Authenticator) {
	t.Helper()
	c := a.state.Load().cache
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.flights) == 0
	}, 10*time.Second, time.Millisecond)
}

// TestRefreshAheadNeverBlocks: while the renewal of a valid token hangs,
// callers get the valid token at once.
func TestRefreshAheadNeverBlocks(t *testing.T) {
	f := newFakeEntra(t)
	clock := newTestClock()
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()), withClock(clock.Now))
	tok1, err := a.Token(context.Background(), testTenant, testAgent)
	require.NoError(t, err)
	<-f.entered

	gate := make(chan struct{})
	f.mu.Lock()
	f.gate = gate
	f.mu.Unlock()
	clock.Advance(57 * time.Minute) // inside refresh_before
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			tok, err := a.Token(context.Background(), testTenant, testAgent)
			assert.NoError(t, err)
			assert.Equal(t, tok1, tok)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		close(gate)
		t.Fatal("a caller holding a valid token waited for its renewal")
	}
	select {
	case <-f.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the renewal did not start")
	}
	close(gate)
	tok2 := awaitNewToken(t, a, tok1)
	assert.NotEqual(t, tok1, tok2)
	assert.Equal(t, 2, len(f.tokenRequests()), "one renewal for all the callers")
}

func TestCacheCallerContext(t *testing.T) {
	c := newTestCache(t, newTestClock(), 10)
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

func TestBackoffSteps(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{1, 2 * time.Second},
		{2, 4 * time.Second},
		{3, 8 * time.Second},
		{7, 128 * time.Second},
		{8, 256 * time.Second},
		{9, 5 * time.Minute},
		{1000, 5 * time.Minute},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, backoff(tt.failures), "after %d failures", tt.failures)
	}
	for range 1000 {
		d := randomJitter(10 * time.Second)
		require.GreaterOrEqual(t, d, 8*time.Second)
		require.LessOrEqual(t, d, 12*time.Second)
	}
}

// TestCacheFailureBackoff: a failed fetch is remembered; until its backoff
// ends callers get its error without a fetch; the backoff doubles; a
// success resets it.
func TestCacheFailureBackoff(t *testing.T) {
	clock := newTestClock()
	c := newTestCache(t, clock, 10)
	f := &countingFetch{clock: clock}
	f.fail.Store(true)
	key := cacheKey{client: "c"}
	ctx := context.Background()

	_, _, err := c.get(ctx, key, f.fetch)
	require.ErrorContains(t, err, "boom 1")
	var be *backoffError
	require.NotErrorAs(t, err, &be, "the caller of the fetch gets its error as is")
	for _, step := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} {
		failedAt := clock.Now()
		for range 5 {
			_, _, err = c.get(ctx, key, f.fetch)
			require.ErrorAs(t, err, &be)
			assert.Equal(t, failedAt.Add(step), be.until)
			assert.Contains(t, err.Error(), "backing off")
			assert.Contains(t, err.Error(), be.until.UTC().Format(time.RFC3339))
			assert.Contains(t, err.Error(), "boom")
			clock.Advance(step / 5)
		}
		_, _, err = c.get(ctx, key, f.fetch)
		require.ErrorContains(t, err, "boom")
		require.NotErrorAs(t, err, &be, "the backoff is over: a new fetch")
	}
	assert.EqualValues(t, 4, f.calls.Load(), "one fetch per backoff step")

	clock.Advance(16 * time.Second)
	f.fail.Store(false)
	tok, hit, err := c.get(ctx, key, f.fetch)
	require.NoError(t, err)
	assert.False(t, hit)
	assert.Equal(t, "t5", tok.value)
	c.drop(key, tok.value)
	f.fail.Store(true)
	_, _, err = c.get(ctx, key, f.fetch)
	require.Error(t, err)
	_, _, err = c.get(ctx, key, f.fetch)
	require.ErrorAs(t, err, &be)
	assert.Equal(t, clock.Now().Add(backoffInitial), be.until, "a success resets the backoff")
}

// TestCacheJitterSpreadsRetries: keys that failed together do not all
// retry at the same moment.
func TestCacheJitterSpreadsRetries(t *testing.T) {
	clock := newTestClock()
	c := newTokenCache(cacheSettings{now: clock.Now, refreshBefore: time.Minute, timeout: time.Minute, maxEntries: 100})
	t.Cleanup(c.close)
	f := &countingFetch{clock: clock}
	f.fail.Store(true)
	retries := map[time.Time]bool{}
	for i := range 50 {
		key := cacheKey{tenant: strconv.Itoa(i)}
		_, _, _ = c.get(context.Background(), key, f.fetch)
		_, _, err := c.get(context.Background(), key, f.fetch)
		var be *backoffError
		require.ErrorAs(t, err, &be)
		require.WithinDuration(t, clock.Now().Add(backoffInitial), be.until, backoffInitial/5)
		retries[be.until] = true
	}
	assert.Greater(t, len(retries), 1)
}

func TestCacheConcurrentCallersShareAFailure(t *testing.T) {
	clock := newTestClock()
	c := newTestCache(t, clock, 10)
	release := make(chan struct{})
	var calls atomic.Int32
	fetch := func(context.Context) (token, error) {
		calls.Add(1)
		<-release
		return token{}, errors.New("refused")
	}
	const callers = 50
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = c.get(context.Background(), cacheKey{}, fetch)
		}()
	}
	require.Eventually(t, func() bool { return calls.Load() == 1 }, 10*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	for _, err := range errs {
		require.ErrorContains(t, err, "refused")
	}
	assert.EqualValues(t, 1, calls.Load())
}

func TestCacheDrop(t *testing.T) {
	clock := newTestClock()
	c := newTestCache(t, clock, 10)
	f := &countingFetch{clock: clock}
	key := cacheKey{client: "c"}
	tok, _, err := c.get(context.Background(), key, f.fetch)
	require.NoError(t, err)
	assert.Equal(t, "t1", tok.value)
	c.drop(key, "other") // not the cached token: kept
	c.drop(key, "")
	tok, hit, _ := c.get(context.Background(), key, f.fetch)
	assert.True(t, hit)
	assert.Equal(t, "t1", tok.value)
	c.drop(key, "t1")
	tok, hit, _ = c.get(context.Background(), key, f.fetch)
	assert.False(t, hit)
	assert.Equal(t, "t2", tok.value)
}

func TestCacheTokenWithoutExpiryIsNotForever(t *testing.T) {
	clock := newTestClock()
	c := newTestCache(t, clock, 10)
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
	c := newTokenCache(cacheSettings{now: time.Now, refreshBefore: time.Minute, timeout: time.Minute})
	c.close()
	_, _, err := c.get(context.Background(), cacheKey{}, func(context.Context) (token, error) { return token{value: "x"}, nil })
	require.ErrorIs(t, err, errShutdown)
}

// TestCacheEvictsLeastRecentlyUsed: the cache holds at most maxEntries
// keys, tokens and failures alike, and evicts the least recently used.
func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	clock := newTestClock()
	var evicted atomic.Int32
	c := newTokenCache(cacheSettings{
		now: clock.Now, refreshBefore: time.Minute, timeout: time.Minute, maxEntries: 3, jitter: noJitter,
		onEvict: func() { evicted.Add(1) },
	})
	t.Cleanup(c.close)
	f := &countingFetch{clock: clock}
	get := func(name string) (token, bool, error) {
		return c.get(context.Background(), cacheKey{tenant: name}, f.fetch)
	}
	for _, k := range []string{"a", "b", "c"} {
		_, _, err := get(k)
		require.NoError(t, err)
	}
	_, hit, _ := get("a") // a is used: b is the least recently used
	require.True(t, hit)
	f.fail.Store(true)
	_, _, err := get("d") // a failure is remembered too, and evicts b
	require.Error(t, err)
	assert.Equal(t, 3, c.size())
	assert.EqualValues(t, 1, evicted.Load())
	f.fail.Store(false)
	for _, k := range []string{"a", "c"} {
		_, hit, err := get(k)
		require.NoError(t, err)
		assert.True(t, hit, "%s is kept", k)
	}
	_, _, err = get("d")
	require.ErrorContains(t, err, "backing off", "the failure of d is remembered")
	calls := f.calls.Load()
	_, hit, err = get("b")
	require.NoError(t, err)
	assert.False(t, hit, "b, the least recently used, was evicted though valid")
	assert.Equal(t, calls+1, f.calls.Load())
	assert.Equal(t, 3, c.size())
	assert.EqualValues(t, 2, evicted.Load(), "b evicted a")
}
