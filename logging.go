package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// cut shortens s to at most n bytes of valid UTF-8 and says so.
func cut(s string, n int) string {
	if len(s) <= n {
		return strings.ToValidUTF8(s, "\ufffd")
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return strings.ToValidUTF8(s[:i], "\ufffd") + fmt.Sprintf("… [cut, %d bytes in all]", len(s))
}

// onceSet remembers up to limit keys, for notices logged once per tenant.
type onceSet struct {
	mu    sync.Mutex
	seen  map[string]struct{}
	limit int
}

func newOnceSet(limit int) *onceSet { return &onceSet{seen: map[string]struct{}{}, limit: limit} }

// first reports whether key is new; past the limit every key is old.
func (o *onceSet) first(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.seen[key]; ok || len(o.seen) >= o.limit {
		return false
	}
	o.seen[key] = struct{}{}
	return true
}

// rateLimitedLog lets a message through once per interval and key, for up
// to limit keys at a time.
type rateLimitedLog struct {
	mu       sync.Mutex
	interval time.Duration
	limit    int
	last     map[string]time.Time
	now      func() time.Time
}

func newRateLimitedLog(interval time.Duration, limit int) *rateLimitedLog {
	return &rateLimitedLog{interval: interval, limit: limit, last: map[string]time.Time{}, now: time.Now}
}

func (r *rateLimitedLog) allow(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if t, ok := r.last[key]; ok && now.Sub(t) < r.interval {
		return false
	}
	if len(r.last) >= r.limit {
		for k, t := range r.last {
			if now.Sub(t) >= r.interval {
				delete(r.last, k)
			}
		}
		if len(r.last) >= r.limit {
			return false
		}
	}
	r.last[key] = now
	return true
}
