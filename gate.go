package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/collector/config/configretry"
)

// gate holds back the spans of an identity (tenant, agent) that the service
// throttles or whose requests keep failing, so that its waits never take a
// queue consumer from another identity. A gated identity gets no request
// until its gate opens: the Retry-After the service asked for (up to
// max_retry_after, whatever max_elapsed_time says) or its own exponential
// backoff (retry_on_failure, per identity). Its spans are held meanwhile,
// in arrival order, and released in that order when the gate opens.
type gate struct {
	now      func() time.Time
	jitter   func() float64 // in [0, 1)
	retry    configretry.BackOffConfig
	maxWait  time.Duration // max_retry_after
	maxBytes int           // max_held_bytes, over all identities

	mu     sync.Mutex
	states map[identity]*gateState
	bytes  int // held, over all identities
	spans  int
	pruned time.Time
	// sums are the digests of the chunks held and of those settled lately:
	// a batch that the persistent queue hands out again after a crash is
	// recognised, and its spans are not held, nor sent, twice.
	sums   map[[32]byte]int
	recent recentSums
	// wake tells the releaser that a gate or its held spans changed.
	wake chan struct{}
}

// gateState is one identity's gate.
type gateState struct {
	until      time.Time     // no request before
	retryAfter time.Duration // the last wait the service asked for
	failures   int           // consecutive failed attempts
	// backoffSpent sums the backoff waits since the last success; the
	// service's own Retry-After waits do not count against max_elapsed_time.
	backoffSpent time.Duration
	held         []*heldChunk
	heldBytes    int
	heldSpans    int
	releasing    bool
}

func newGate(retry configretry.BackOffConfig, maxWait time.Duration, maxBytes int) *gate {
	return &gate{
		now:      time.Now,
		jitter:   rand.Float64,
		retry:    retry,
		maxWait:  maxWait,
		maxBytes: maxBytes,
		states:   map[identity]*gateState{},
		wake:     make(chan struct{}, 1),
		sums:     map[[32]byte]int{},
		recent:   newRecentSums(4096),
	}
}

// open reports whether a request of id may go out now: its gate is open and
// none of its spans wait before it.
func (g *gate) open(id identity) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.states[id]
	return s == nil || (len(s.held) == 0 && !s.releasing && !g.now().Before(s.until))
}

// gateDecision is what the gate decided about a failed request.
type gateDecision struct {
	wait time.Duration // until the identity's next request
	drop dropReason    // when the spans cannot be held
	hold bool          // the spans are to be held
}

// failed records a failed attempt of id and gates it. retryAfter is the
// service's Retry-After (0 when it gave none); final says the spans
// themselves are not retried (a 403), only the identity waits.
func (g *gate) failed(id identity, retryAfter time.Duration, final bool) gateDecision {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.retry.Enabled {
		// No retries: nothing is held, and no identity is gated.
		return gateDecision{drop: dropRetryDisabled}
	}
	s := g.stateLocked(id)
	s.failures++
	wait := g.backoffLocked(s.failures)
	if retryAfter > wait {
		wait = retryAfter
	} else {
		s.backoffSpent += wait
	}
	s.retryAfter = retryAfter
	now := g.now()
	if until := now.Add(wait); until.After(s.until) {
		s.until = until
	}
	g.signalLocked()
	d := gateDecision{wait: s.until.Sub(now)}
	switch {
	case final:
	case retryAfter > g.maxWait:
		d.drop = dropRetryAfterTooLong
	case g.retry.MaxElapsedTime > 0 && s.backoffSpent > g.retry.MaxElapsedTime:
		d.drop = dropRetriesExhausted
	default:
		d.hold = true
	}
	return d
}

// succeeded records a delivered request of id: its backoff starts over.
func (g *gate) succeeded(id identity) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.states[id]
	if s == nil {
		return
	}
	s.failures, s.backoffSpent, s.retryAfter = 0, 0, 0
	g.forgetLocked(id, s)
}

// backoffLocked is the wait after the n-th consecutive failure:
// retry_on_failure's exponential backoff with its randomization.
func (g *gate) backoffLocked(n int) time.Duration {
	r := g.retry
	d := float64(r.InitialInterval) * math.Pow(max(r.Multiplier, 1), float64(n-1))
	if r.MaxInterval > 0 {
		d = min(d, float64(r.MaxInterval))
	}
	if f := r.RandomizationFactor; f > 0 {
		d *= 1 + f*(2*g.jitter()-1)
	}
	return time.Duration(d)
}

// hold appends c to its identity's held spans, in order. It refuses (with
// the reason) when the bound on held bytes is reached, or when the service
// asked the identity to wait longer than max_retry_after.
func (g *gate) hold(c *heldChunk) (dropReason, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.stateLocked(c.id)
	if s.until.Sub(g.now()) > g.maxWait {
		return dropRetryAfterTooLong, false
	}
	if g.bytes+c.size() > g.maxBytes {
		return dropHoldFull, false
	}
	g.addLocked(s, c)
	return 0, true
}

// restore puts back a chunk read from storage at start, whatever the
// bounds: it was held before the restart.
func (g *gate) restore(c *heldChunk) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.stateLocked(c.id)
	if c.until.After(s.until) {
		s.until = c.until
	}
	g.addLocked(s, c)
}

func (g *gate) addLocked(s *gateState, c *heldChunk) {
	g.sums[c.sum]++
	s.held = append(s.held, c)
	n := c.size()
	s.heldBytes += n
	s.heldSpans += len(c.spans)
	g.bytes += n
	g.spans += len(c.spans)
	g.signalLocked()
}

// due returns the identities whose gate is open and that hold spans, and
// marks them as being released; next is when the next gate opens (zero
// when none waits).
func (g *gate) due() (ids []identity, next time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	for id, s := range g.states {
		if len(s.held) == 0 || s.releasing {
			continue
		}
		if !now.Before(s.until) {
			s.releasing = true
			ids = append(ids, id)
		} else if next.IsZero() || s.until.Before(next) {
			next = s.until
		}
	}
	return ids, next
}

// front returns the oldest held chunk of id being released, or nil when
// none is left or its gate closed again; then the release of id ends.
func (g *gate) front(id identity) *heldChunk {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.states[id]
	if s == nil {
		return nil
	}
	if len(s.held) == 0 || g.now().Before(s.until) {
		s.releasing = false
		g.forgetLocked(id, s)
		g.signalLocked()
		return nil
	}
	return s.held[0]
}

// settle removes c from the front of its identity's held spans (delivered
// or dropped), or replaces it with what is left of it.
func (g *gate) settle(c *heldChunk, rest *heldChunk) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.states[c.id]
	if s == nil || len(s.held) == 0 || s.held[0] != c {
		return
	}
	g.unaccountLocked(s, c)
	if rest != nil {
		s.held[0] = rest
		g.sums[rest.sum]++
		n := rest.size()
		s.heldBytes += n
		s.heldSpans += len(rest.spans)
		g.bytes += n
		g.spans += len(rest.spans)
		return
	}
	s.held[0] = nil
	s.held = s.held[1:]
}

// known reports whether a chunk with this digest is held, or was settled
// lately.
func (g *gate) known(sum [32]byte) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sums[sum] > 0 || g.recent.has(sum)
}

// deduplicating reports whether chunks are held or were settled lately:
// only then can a batch be one handed out again, and is worth a digest.
func (g *gate) deduplicating() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.sums) > 0 || g.recent.active(g.now())
}

// take removes and returns the chunks id holds.
func (g *gate) take(id identity) []*heldChunk {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.states[id]
	if s == nil {
		return nil
	}
	out := s.held
	for _, c := range out {
		g.unaccountLocked(s, c)
	}
	s.held = nil
	return out
}

// endRelease marks the release of id as ended without sending (shutdown).
func (g *gate) endRelease(id identity) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := g.states[id]; s != nil {
		s.releasing = false
	}
}

// drain removes and returns every held chunk (at shutdown).
func (g *gate) drain() []*heldChunk {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []*heldChunk
	for id, s := range g.states {
		out = append(out, s.held...)
		delete(g.states, id)
	}
	g.bytes, g.spans = 0, 0
	return out
}

func (g *gate) unaccountLocked(s *gateState, c *heldChunk) {
	if g.sums[c.sum]--; g.sums[c.sum] <= 0 {
		delete(g.sums, c.sum)
	}
	g.recent.add(c.sum, g.now())
	n := c.size()
	s.heldBytes -= n
	s.heldSpans -= len(c.spans)
	g.bytes -= n
	g.spans -= len(c.spans)
}

// stats are the gauges: spans held and identities gated (waiting or
// holding spans).
func (g *gate) stats() (heldSpans, gated int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	for _, s := range g.states {
		if len(s.held) > 0 || now.Before(s.until) {
			gated++
		}
	}
	return g.spans, gated
}

// until is when id's gate opens (zero when it is open).
func (g *gate) until(id identity) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := g.states[id]; s != nil {
		return s.until
	}
	return time.Time{}
}

// retryAfterOf is the last Retry-After the service gave id, for logs.
func (g *gate) retryAfterOf(id identity) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := g.states[id]; s != nil {
		return s.retryAfter
	}
	return 0
}

func (g *gate) stateLocked(id identity) *gateState {
	s := g.states[id]
	if s == nil {
		g.pruneLocked()
		s = &gateState{}
		g.states[id] = s
	}
	return s
}

// pruneLocked forgets, at most once a minute, identities that failed once
// but neither wait nor hold spans any more: without it, every identity that
// ever failed would stay in memory.
func (g *gate) pruneLocked() {
	now := g.now()
	if now.Sub(g.pruned) < time.Minute {
		return
	}
	g.pruned = now
	stale := max(2*g.retry.MaxInterval, time.Minute)
	for id, s := range g.states {
		if len(s.held) == 0 && !s.releasing && now.Sub(s.until) > stale {
			delete(g.states, id)
		}
	}
}

// forgetLocked drops the state of an identity that neither waits nor holds
// spans, so that the map stays as small as the identities in trouble.
func (g *gate) forgetLocked(id identity, s *gateState) {
	if len(s.held) == 0 && !s.releasing && s.failures == 0 && !g.now().Before(s.until) {
		delete(g.states, id)
	}
}

func (g *gate) signalLocked() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// recentSums remembers the digests of the last chunks settled, for a
// while: a batch the persistent queue hands out again after a restart
// comes within seconds. A circular buffer, oldest at head.
type recentSums struct {
	ring    []recentSum
	head, n int
	set     map[[32]byte]int
}

type recentSum struct {
	sum [32]byte
	at  time.Time
}

// recentFor is how long a settled chunk's digest is remembered.
const recentFor = 10 * time.Minute

func newRecentSums(size int) recentSums {
	return recentSums{ring: make([]recentSum, size), set: map[[32]byte]int{}}
}

func (r *recentSums) add(sum [32]byte, now time.Time) {
	if r.n == len(r.ring) {
		r.popOldest()
	}
	r.ring[(r.head+r.n)%len(r.ring)] = recentSum{sum, now}
	r.n++
	r.set[sum]++
}

func (r *recentSums) popOldest() {
	e := r.ring[r.head]
	if r.set[e.sum]--; r.set[e.sum] <= 0 {
		delete(r.set, e.sum)
	}
	r.ring[r.head] = recentSum{}
	r.head = (r.head + 1) % len(r.ring)
	r.n--
}

// active forgets digests older than recentFor and reports whether any is left.
func (r *recentSums) active(now time.Time) bool {
	for r.n > 0 && now.Sub(r.ring[r.head].at) >= recentFor {
		r.popOldest()
	}
	return r.n > 0
}

func (r *recentSums) has(sum [32]byte) bool { return r.set[sum] > 0 }
