package agent365exporter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configretry"
)

// fakeClock is a settable clock for the gate.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newTestGate(retry configretry.BackOffConfig, maxWait time.Duration, maxBytes int) (*gate, *fakeClock) {
	clock := &fakeClock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	g := newGate(retry, maxWait, maxBytes)
	g.now = clock.now
	g.jitter = func() float64 { return 0.5 } // no randomization
	return g, clock
}

func testRetry() configretry.BackOffConfig {
	r := configretry.NewDefaultBackOffConfig() // 5s, x1.5, max 30s, 5m elapsed
	return r
}

var (
	idA = identity{tenant: tenantA, agent: agent1}
	idB = identity{tenant: tenantB, agent: agent1}
)

func TestGateBacksOffPerIdentity(t *testing.T) {
	g, clock := newTestGate(testRetry(), time.Hour, 1<<20)
	assert.True(t, g.open(idA))
	var waits []time.Duration
	for range 6 {
		d := g.failed(idA, 0, false)
		require.True(t, d.hold)
		waits = append(waits, d.wait)
	}
	assert.Equal(t, []time.Duration{5 * time.Second, 7500 * time.Millisecond, 11250 * time.Millisecond,
		16875 * time.Millisecond, 25312500 * time.Microsecond, 30 * time.Second}, waits)
	assert.False(t, g.open(idA))
	assert.True(t, g.open(idB), "another identity is not affected")
	clock.add(30 * time.Second)
	assert.True(t, g.open(idA))
	g.succeeded(idA)
	assert.Equal(t, 5*time.Second, g.failed(idA, 0, false).wait, "a success starts the backoff over")
}

func TestGateHonoursRetryAfterBeyondMaxElapsedTime(t *testing.T) {
	r := testRetry()
	r.MaxElapsedTime = 30 * time.Second
	g, clock := newTestGate(r, time.Hour, 1<<20)
	d := g.failed(idA, 3600*time.Second, false)
	assert.True(t, d.hold, "the service's Retry-After does not count against max_elapsed_time")
	assert.Equal(t, time.Hour, d.wait)
	clock.add(time.Hour)
	// The identity's own backoff does.
	for range 2 {
		require.True(t, g.failed(idA, 0, false).hold)
	}
	d = g.failed(idA, 0, false) // 7.5+11.25+16.9 s > 30 s
	assert.False(t, d.hold)
	assert.Equal(t, dropRetriesExhausted, d.drop)
}

func TestGateRetryAfterOverTheLimit(t *testing.T) {
	g, clock := newTestGate(testRetry(), time.Hour, 1<<20)
	d := g.failed(idA, 2*time.Hour, false)
	assert.Equal(t, dropRetryAfterTooLong, d.drop)
	assert.Equal(t, 2*time.Hour, d.wait, "the service's wait is still honoured")
	reason, ok := g.hold(testChunk(tenantA, agent1, `{}`))
	assert.False(t, ok, "nothing is held for longer than max_retry_after")
	assert.Equal(t, dropRetryAfterTooLong, reason)
	clock.add(90 * time.Minute) // 30 min left: under the limit
	_, ok = g.hold(testChunk(tenantA, agent1, `{}`))
	assert.True(t, ok)
}

func TestGateForbiddenGatesWithoutHolding(t *testing.T) {
	g, _ := newTestGate(testRetry(), time.Hour, 1<<20)
	d := g.failed(idA, 0, true)
	assert.False(t, d.hold)
	assert.Zero(t, d.drop, "the caller drops the spans with the service's reason")
	assert.False(t, g.open(idA))
}

func TestGateWithoutRetriesNeverGates(t *testing.T) {
	r := testRetry()
	r.Enabled = false
	g, _ := newTestGate(r, time.Hour, 1<<20)
	d := g.failed(idA, time.Minute, false)
	assert.Equal(t, dropRetryDisabled, d.drop)
	assert.True(t, g.open(idA))
}

func TestGateHeldBytesBound(t *testing.T) {
	g, _ := newTestGate(testRetry(), time.Hour, 160)
	g.failed(idA, 0, false)
	c1 := testChunk(tenantA, agent1, `{"pad":"0123456789"}`)
	_, ok := g.hold(c1)
	require.True(t, ok)
	spans, gated := g.stats()
	assert.Equal(t, 1, spans)
	assert.Equal(t, 1, gated)
	reason, ok := g.hold(testChunk(tenantB, agent1, `{"pad":"0123456789012345678901234567890123456789"}`))
	assert.False(t, ok)
	assert.Equal(t, dropHoldFull, reason)
}

func TestGateReleasesInOrderWhenOpen(t *testing.T) {
	g, clock := newTestGate(testRetry(), time.Hour, 1<<20)
	g.failed(idA, 10*time.Second, false)
	var held []*heldChunk
	for _, s := range []string{`{"n":1}`, `{"n":2}`, `{"n":3}`} {
		c := testChunk(tenantA, agent1, s)
		_, ok := g.hold(c)
		require.True(t, ok)
		held = append(held, c)
	}
	ids, next := g.due()
	assert.Empty(t, ids)
	assert.Equal(t, clock.t.Add(10*time.Second), next)
	assert.False(t, g.open(idA))

	clock.add(10 * time.Second)
	ids, _ = g.due()
	require.Equal(t, []identity{idA}, ids)
	assert.False(t, g.open(idA), "new spans wait behind the held ones while they are released")
	assert.Same(t, held[0], g.front(idA))
	g.settle(held[0], nil)
	assert.Same(t, held[1], g.front(idA))
	// The second fails again: the gate closes and the release ends.
	g.failed(idA, 0, false)
	assert.Nil(t, g.front(idA))
	spans, _ := g.stats()
	assert.Equal(t, 2, spans)
	clock.add(time.Minute)
	ids, _ = g.due()
	require.Equal(t, []identity{idA}, ids)
	assert.Same(t, held[1], g.front(idA), "released again from where it stopped")
	g.settle(held[1], nil)
	g.settle(held[2], nil)
	g.succeeded(idA)
	assert.Nil(t, g.front(idA))
	assert.True(t, g.open(idA))
	assert.Empty(t, g.states, "an identity with nothing to wait for is forgotten")
}

func TestGateForgetsIdentitiesThatFailedLongAgo(t *testing.T) {
	g, clock := newTestGate(testRetry(), time.Hour, 1<<20)
	for i := range 1000 {
		g.failed(identity{tenant: tenantA, agent: string(rune('a'+i%26)) + string(rune('a'+i/26))}, 0, false)
	}
	assert.Len(t, g.states, 1000)
	clock.add(10 * time.Minute)
	g.failed(idB, 0, false)
	assert.Len(t, g.states, 1, "stale states are pruned when a new identity fails")
}
