package auth // import "github.com/agent365-otel/agent365exporter/auth"

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// token is an access token and its expiry (zero when it has none).
type token struct {
	value     string
	expiresOn time.Time
}

func (t token) expired(now time.Time) bool {
	return !t.expiresOn.IsZero() && !now.Before(t.expiresOn)
}

// cacheKey names one cached token. Fields that do not change the token of
// a flow are left empty (a client credentials token is the same for every
// agent; a blueprint's token is per agent).
type cacheKey struct {
	authority, tenant, client, scope, agent string
}

// cacheEntry is what the cache knows of one key: its token, the failures
// of its last fetches, or both.
type cacheEntry struct {
	key        cacheKey
	tok        token
	obtainedAt time.Time // zero while no fetch has succeeded
	// failures counts the fetches that failed since the last success.
	failures int
	// retryAt holds back fetches after a failure.
	retryAt time.Time
	// err is the last failure; callers without a valid token get it until
	// retryAt.
	err error
}

func (e *cacheEntry) valid(now time.Time) bool {
	return !e.obtainedAt.IsZero() && !e.tok.expired(now)
}

// flight is one token request that concurrent callers for the same key share.
type flight struct {
	done chan struct{}
	tok  token
	err  error
}

var errShutdown = errors.New("agent365auth: the extension is shut down")

const (
	// noExpiryLifetime is how long a fetched token without an expiry is used.
	noExpiryLifetime = 10 * time.Minute

	// A failed fetch holds back the next one of its key for backoffInitial,
	// doubling with each further failure up to backoffMax, give or take
	// backoffJitter so that many failing keys do not retry in step.
	backoffInitial = 2 * time.Second
	backoffMax     = 5 * time.Minute
	backoffJitter  = 0.2
)

// cacheSettings configure a tokenCache.
type cacheSettings struct {
	now           func() time.Time
	refreshBefore time.Duration
	// timeout bounds one fetch.
	timeout time.Duration
	// maxEntries bounds the keys remembered, tokens and failures alike.
	maxEntries int
	// jitter spreads a backoff; nil for ±backoffJitter at random.
	jitter func(time.Duration) time.Duration
	// onEvict is called when an entry is evicted to keep the bound.
	onEvict func()
}

// tokenCache caches tokens per key, renews them ahead of expiry in the
// background, lets concurrent callers share one token request, remembers
// failures with an exponential backoff, and holds at most maxEntries keys,
// evicting the least recently used.
type tokenCache struct {
	cacheSettings

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	entries map[cacheKey]*list.Element // of *cacheEntry, in lru
	lru     *list.List                 // most recently used first
	flights map[cacheKey]*flight
}

func newTokenCache(s cacheSettings) *tokenCache {
	if s.maxEntries < 1 {
		s.maxEntries = DefaultMaxCachedTokens
	}
	if s.jitter == nil {
		s.jitter = randomJitter
	}
	if s.onEvict == nil {
		s.onEvict = func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &tokenCache{
		cacheSettings: s,
		ctx:           ctx,
		cancel:        cancel,
		entries:       map[cacheKey]*list.Element{},
		lru:           list.New(),
		flights:       map[cacheKey]*flight{},
	}
}

// randomJitter is d give or take backoffJitter.
func randomJitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (1 - backoffJitter + 2*backoffJitter*rand.Float64()))
}

// backoff is the wait after the given number of consecutive failures.
func backoff(failures int) time.Duration {
	d := backoffInitial
	for i := 1; i < failures && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

// refreshAt is when e should be renewed: refreshBefore ahead of expiry, but
// not before half of the token's lifetime has passed.
func (c *tokenCache) refreshAt(e *cacheEntry) time.Time {
	ahead := c.refreshBefore
	if half := e.tok.expiresOn.Sub(e.obtainedAt) / 2; half < ahead {
		ahead = half
	}
	return e.tok.expiresOn.Add(-ahead)
}

// get returns the token for key. A valid cached token is returned at once
// (hit); in the refresh window it is renewed in the background. Without a
// valid token, callers wait for one shared fetch and get its error; until
// the backoff of a failed fetch ends, callers get that error at once,
// without a request.
func (c *tokenCache) get(ctx context.Context, key cacheKey, fetch func(context.Context) (token, error)) (tok token, hit bool, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return token{}, false, errShutdown
	}
	now := c.now()
	var e *cacheEntry
	if el := c.entries[key]; el != nil {
		c.lru.MoveToFront(el)
		e = el.Value.(*cacheEntry)
	}
	if e != nil && e.valid(now) {
		if !now.Before(c.refreshAt(e)) && c.flights[key] == nil && !now.Before(e.retryAt) {
			c.startLocked(key, fetch)
		}
		tok := e.tok
		c.mu.Unlock()
		return tok, true, nil
	}
	f := c.flights[key]
	if f == nil {
		if e != nil && e.err != nil && now.Before(e.retryAt) {
			err := &backoffError{err: e.err, until: e.retryAt}
			c.mu.Unlock()
			return token{}, false, err
		}
		f = c.startLocked(key, fetch)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, false, f.err
	case <-ctx.Done():
		return token{}, false, fmt.Errorf("agent365auth: gave up waiting for a token: %w", ctx.Err())
	}
}

// startLocked starts the fetch of key, bounded by the cache's context and
// timeout; c.mu is held.
func (c *tokenCache) startLocked(key cacheKey, fetch func(context.Context) (token, error)) *flight {
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
		tok, err := fetch(ctx)
		cancel()
		c.mu.Lock()
		if !c.closed {
			c.doneLocked(key, tok, err)
		}
		delete(c.flights, key)
		f.tok, f.err = tok, err
		c.mu.Unlock()
		close(f.done)
	}()
	return f
}

// doneLocked records the outcome of a fetch of key; c.mu is held.
func (c *tokenCache) doneLocked(key cacheKey, tok token, err error) {
	now := c.now()
	e := c.entryLocked(key)
	if err == nil {
		if tok.expiresOn.IsZero() {
			tok.expiresOn = now.Add(noExpiryLifetime)
		}
		*e = cacheEntry{key: key, tok: tok, obtainedAt: now}
		return
	}
	e.failures++
	wait := backoff(e.failures)
	if e.valid(now) {
		// the token still serves: try again well before it expires
		wait = min(wait, max(e.tok.expiresOn.Sub(now)/10, time.Second))
	}
	e.retryAt = now.Add(c.jitter(wait))
	e.err = err
}

// entryLocked is the entry of key, made the most recently used; a new
// entry evicts the least recently used beyond the bound. c.mu is held.
func (c *tokenCache) entryLocked(key cacheKey) *cacheEntry {
	if el := c.entries[key]; el != nil {
		c.lru.MoveToFront(el)
		return el.Value.(*cacheEntry)
	}
	e := &cacheEntry{key: key}
	c.entries[key] = c.lru.PushFront(e)
	for c.lru.Len() > c.maxEntries {
		old := c.lru.Remove(c.lru.Back()).(*cacheEntry)
		delete(c.entries, old.key)
		c.onEvict()
	}
	return e
}

// drop forgets the token of key if it is still value (after a 401), so
// that the next get fetches a new one.
func (c *tokenCache) drop(key cacheKey, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.entries[key]
	if el == nil || value == "" {
		return
	}
	if e := el.Value.(*cacheEntry); !e.obtainedAt.IsZero() && e.tok.value == value {
		c.lru.Remove(el)
		delete(c.entries, key)
	}
}

// size is the number of keys the cache remembers.
func (c *tokenCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// close stops the cache: running fetches, renewals included, are
// cancelled and waited for.
func (c *tokenCache) close() {
	c.mu.Lock()
	c.closed = true
	c.entries = map[cacheKey]*list.Element{}
	c.lru.Init()
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// backoffError is the remembered failure of a key's last fetch, returned
// without a new token request until the backoff ends.
type backoffError struct {
	err   error
	until time.Time
}

func (e *backoffError) Error() string {
	return fmt.Sprintf("agent365auth: backing off: no token request for this identity before %s, after the last one failed: %s",
		e.until.UTC().Format(time.RFC3339), strings.TrimPrefix(e.err.Error(), "agent365auth: "))
}

func (e *backoffError) Unwrap() error { return e.err }
