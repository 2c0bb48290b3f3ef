package auth // import "github.com/agent365-otel/agent365exporter/auth"

import (
	"context"
	"errors"
	"fmt"
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

type cacheEntry struct {
	tok        token
	obtainedAt time.Time
	// retryAfter holds back refreshes in the refresh window after a failed one.
	retryAfter time.Time
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
	// maxEntries triggers pruning of expired entries.
	maxEntries = 1024
)

// tokenCache caches tokens per key, renews them ahead of expiry and lets
// concurrent callers share one token request. Failures are not cached.
type tokenCache struct {
	now           func() time.Time
	refreshBefore time.Duration
	timeout       time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	entries map[cacheKey]*cacheEntry
	flights map[cacheKey]*flight
}

func newTokenCache(now func() time.Time, refreshBefore, timeout time.Duration) *tokenCache {
	ctx, cancel := context.WithCancel(context.Background())
	return &tokenCache{
		now:           now,
		refreshBefore: refreshBefore,
		timeout:       timeout,
		ctx:           ctx,
		cancel:        cancel,
		entries:       map[cacheKey]*cacheEntry{},
		flights:       map[cacheKey]*flight{},
	}
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

// get returns the token for key. A fresh cached token is returned at once
// (hit). In the refresh window one caller renews it while the others keep
// using the still valid token; a failed renewal keeps the old token. With
// no valid token, callers wait for one shared fetch; its error is theirs
// and is not remembered.
func (c *tokenCache) get(ctx context.Context, key cacheKey, fetch func(context.Context) (token, error)) (tok token, hit bool, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return token{}, false, errShutdown
	}
	now := c.now()
	if e := c.entries[key]; e != nil && !e.tok.expired(now) {
		if now.Before(c.refreshAt(e)) || c.flights[key] != nil || now.Before(e.retryAfter) {
			c.mu.Unlock()
			return e.tok, true, nil
		}
		old := e.tok
		f := c.startLocked(key, fetch)
		c.mu.Unlock()
		select {
		case <-f.done:
			if f.err != nil {
				return old, true, nil
			}
			return f.tok, false, nil
		case <-ctx.Done():
			return old, true, nil
		}
	}
	f := c.flights[key]
	if f == nil {
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

// startLocked starts the fetch of key; c.mu is held.
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
		now := c.now()
		if err == nil {
			if tok.expiresOn.IsZero() {
				tok.expiresOn = now.Add(noExpiryLifetime)
			}
			c.storeLocked(key, &cacheEntry{tok: tok, obtainedAt: now}, now)
		} else if e := c.entries[key]; e != nil && !e.tok.expired(now) {
			backoff := min(max(e.tok.expiresOn.Sub(now)/10, time.Second), 30*time.Second)
			e.retryAfter = now.Add(backoff)
		}
		delete(c.flights, key)
		f.tok, f.err = tok, err
		c.mu.Unlock()
		close(f.done)
	}()
	return f
}

func (c *tokenCache) storeLocked(key cacheKey, e *cacheEntry, now time.Time) {
	c.entries[key] = e
	if len(c.entries) <= maxEntries {
		return
	}
	for k, old := range c.entries {
		if old.tok.expired(now) {
			delete(c.entries, k)
		}
	}
}

// drop forgets the token of key if it is still value (after a 401), so
// that the next get fetches a new one.
func (c *tokenCache) drop(key cacheKey, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil && e.tok.value == value {
		delete(c.entries, key)
	}
}

// close stops the cache: running fetches are cancelled and waited for.
func (c *tokenCache) close() {
	c.mu.Lock()
	c.closed = true
	c.entries = map[cacheKey]*cacheEntry{}
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}
